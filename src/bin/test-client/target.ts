import { ErrorCode, rangeError, typeError } from '../../core/errors.js';

/** Where lws-test-client connects, parsed from its URL argument. */
export interface Target {
  mode: 'ws' | 'http' | 'raw';
  host: string;
  port: number;
  path: string;
  /** `Host:` / `Origin:` value, `host:port`. */
  hostHeader: string;
  tls: boolean;
  allowSelfSigned: boolean;
}

/** `-s` (TLS, self-signed allowed), `-S` / `'strict'` (TLS, full verification), or neither. */
export type SslFlag = boolean | 'strict';

const MODES: Readonly<Record<string, { mode: Target['mode']; tls: boolean }>> = {
  'ws:': { mode: 'ws', tls: false },
  'wss:': { mode: 'ws', tls: true },
  'http:': { mode: 'http', tls: false },
  'https:': { mode: 'http', tls: true },
  'raw:': { mode: 'raw', tls: false },
};

/**
 * Parse the address as the C test client does: a bare host means ws, a
 * scheme picks the mode, `-p` fills a missing port (default 7681), `-s`
 * turns TLS on and accepts self-signed certificates, `-S` (`'strict'`)
 * turns it on with full verification. Throws `TSLWS_INVALID_ARGUMENT` for
 * an unsupported scheme, no host or no usable port.
 *
 * ```ts
 * parseTarget('ws://localhost:7681/', undefined, false); // { mode: 'ws', host: 'localhost', port: 7681, … }
 * ```
 */
export function parseTarget(address: string, port: number | undefined, ssl: SslFlag): Target {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `ws://${address}`;
  const u = new URL(withScheme);
  const m = MODES[u.protocol.toLowerCase()];
  if (!m) throw typeError(ErrorCode.INVALID_ARGUMENT, `unsupported scheme ${u.protocol} (ws, wss, http, https, raw)`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw typeError(ErrorCode.INVALID_ARGUMENT, `no host in ${address}`);
  const p = u.port ? Number(u.port) : port ?? (m.mode === 'raw' ? NaN : 7681);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw rangeError(ErrorCode.INVALID_ARGUMENT, `bad or missing port in ${address}: give one in the URL or with -p`);
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    mode: m.mode, host, port: p, path: (u.pathname || '/') + u.search,
    hostHeader: `${shown}:${p}`, tls: m.tls || ssl !== false, allowSelfSigned: ssl === true,
  };
}

/** `done` wrapped so only its first call counts: a mode may end from several callbacks. */
export function firstOnly(done: (code: number) => void): (code: number) => void {
  let ended = false;
  return (code) => {
    if (ended) return;
    ended = true;
    done(code);
  };
}
