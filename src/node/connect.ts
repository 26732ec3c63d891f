/**
 * `connect(url)`: a WebSocket client as a `MessageSocket`, from a ws:// or
 * wss:// URL.
 */
import { createContext, type Context } from '../core/context.js';
import type { Wsi } from '../core/wsi.js';
import type { CallbackArgs } from '../core/protocols.js';
import { Reason } from '../core/reasons.js';
import { PendingTimeout, TO_KILL_SYNC } from '../core/timeouts.js';
import { ErrorCode, rangeError, stateError, typeError, type TslwsError } from '../core/errors.js';
import type { ClientConnectInfo, PerMessageDeflateOptions } from '../index.js';
import { MessageSocket, libraryWsLimits, resolveMessageOptions, type MessageOptions } from './message-socket.js';

/** Options of `connect`. */
export interface ConnectOptions extends MessageOptions {
  /** Subprotocols to offer, a name or a list. */
  protocol?: string | readonly string[];
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** The `Origin` header; default none. */
  origin?: string;
  /** wss://: extra trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** wss://: client certificate and key (PEM). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * wss://: false accepts a self-signed certificate, an expired one and one
   * for another name (lws's three allowances); a certificate from an
   * unknown CA still needs `ca`. Default true.
   */
  rejectUnauthorized?: boolean;
  /** Offer permessage-deflate: `true` with the defaults, or settings. Default off. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * wss://: carry the WebSocket as a stream of an HTTP/2 connection (RFC
   * 8441) — `'require'` it, `'prefer'` it when the server allows it (else
   * HTTP/1.1), or `'forbid'` it. Default `'forbid'`, as `clientConnect`.
   */
  http2?: 'prefer' | 'require' | 'forbid';
  /** Milliseconds for TCP, TLS and the handshake together. Default 10000. */
  timeout?: number;
  /** Aborts the attempt; once connected it no longer applies. */
  signal?: AbortSignal;
}

/** The client's connection protocol's name (never sent: subprotocols come from `protocol`). */
const LOCAL = 'tslws-message-client';

function connectError(message: string): Error & TslwsError {
  return stateError(ErrorCode.CONNECT_FAILED, message);
}

/** Address, port, path and TLS of a ws:// or wss:// URL. */
function parseUrl(url: string | URL): { address: string; port: number; path: string; tls: boolean } {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw typeError(ErrorCode.INVALID_ARGUMENT, `connect: not a URL: ${String(url)}`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw typeError(ErrorCode.INVALID_ARGUMENT, `connect: the URL must be ws:// or wss://, got ${u.protocol}`);
  if (u.hash) throw typeError(ErrorCode.INVALID_ARGUMENT, 'connect: a WebSocket URL has no fragment');
  const tls = u.protocol === 'wss:';
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const address = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { address, port: u.port ? Number(u.port) : tls ? 443 : 80, path: (u.pathname || '/') + u.search, tls };
}

let clientLayer: Promise<unknown> | null = null;

/** The client layer loads with the first `connect`: a server that never connects out does not carry it. */
function loadClient(): Promise<unknown> {
  clientLayer ??= Promise.all([import('../client/vhost-client.js'), import('../client/wsi-api.js')]);
  return clientLayer;
}

/**
 * Open a WebSocket to a ws:// or wss:// URL; resolves with an open
 * `MessageSocket`, rejects (code `TSLWS_CONNECT_FAILED`, or the signal's
 * reason when aborted) if it cannot be established. A URL that is not
 * ws:// or wss:// (`TSLWS_INVALID_ARGUMENT`) or a bad option
 * (`TSLWS_INVALID_OPTION`) throws at once.
 *
 * ```ts
 * const socket = await connect('ws://localhost:7681/chat?room=1', { protocol: 'chat' });
 * socket.send('hello');
 * ```
 */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<MessageSocket> {
  const where = 'connect';
  const target = parseUrl(url);
  const mo = resolveMessageOptions(where, options);
  const timeout = options.timeout ?? 10000;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || !(timeout > 0))
    throw rangeError(ErrorCode.INVALID_OPTION, `${where}: timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  const offer = typeof options.protocol === 'string' ? options.protocol : options.protocol?.join(', ');
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);

  return loadClient().then(() => new Promise<MessageSocket>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = new MessageSocket(mo);
    let settled = false;
    let context: Context | null = null;
    const pwsi: { wsi?: Wsi } = {};
    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      // The context exists for this one connection; it goes once the connection has.
      const c = context;
      context = null;
      if (c) setImmediate(() => void c.destroy());
    };
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      finish();
      reject(e);
    };
    const onAbort = (): void => {
      if (settled) return;
      fail(signal?.reason);
      pwsi.wsi?.setTimeout(PendingTimeout.USER_BASE, TO_KILL_SYNC);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    context = createContext({
      protocols: [
        {
          name: LOCAL,
          rxBufferSize: 64 * 1024,
          callback: (...[wsi, reason, _user, input]: CallbackArgs): number => {
            switch (reason) {
              case Reason.CLIENT_CONNECTION_ERROR:
                fail(connectError(`connect ${String(url)}: ${input}`));
                return 0;
              case Reason.CLIENT_ESTABLISHED:
                if (settled) return -1; // aborted meanwhile
                settled = true;
                signal?.removeEventListener('abort', onAbort);
                socket.attach(wsi, wsi.hdrCopy('sec-websocket-protocol') ?? '', true);
                socket.once('close', finish);
                resolve(socket);
                return 0;
              case Reason.WSI_DESTROY:
                if (!settled) fail(connectError(`connect ${String(url)}: the connection closed before the handshake`));
                else socket.closed();
                return 0;
              default:
                return settled ? socket.handle(wsi, reason, input) : 0;
            }
          },
        },
      ],
      ws: { ...libraryWsLimits(mo) },
    });

    const rejectUnauthorized = options.rejectUnauthorized ?? true;
    const info: ClientConnectInfo = {
      address: target.address,
      port: target.port,
      path: target.path,
      localProtocolName: LOCAL,
      pwsi,
      connectTimeoutSecs: timeout / 1000,
      ...(offer ? { protocol: offer } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      ...(options.perMessageDeflate ? { perMessageDeflate: options.perMessageDeflate } : {}),
      ...(options.http2 !== undefined ? { http2: options.http2 } : {}),
      ...(target.tls
        ? {
            ssl: {
              ...(options.ca !== undefined ? { ca: options.ca } : {}),
              ...(options.cert !== undefined ? { cert: options.cert } : {}),
              ...(options.key !== undefined ? { key: options.key } : {}),
              ...(rejectUnauthorized ? {} : { allowSelfSigned: true, allowExpired: true, skipHostnameCheck: true }),
            },
          }
        : {}),
    };
    try {
      context.clientConnect(info);
    } catch (e) {
      fail(e);
    }
  }));
}
