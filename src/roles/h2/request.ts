import { TCHAR } from '../../http/chars.js';
import type { HeaderField } from './hpack/index.js';

/** A request as HTTP/2 carried it, checked (RFC 9113 8.1-8.3). */
export interface H2RequestHead {
  method: string;
  /** `:path` (for CONNECT, the authority). */
  target: string;
  scheme: string | undefined;
  /** `:authority`, else the Host header. */
  authority: string | undefined;
  /** `:protocol` of an extended CONNECT (RFC 8441). */
  protocol: string | undefined;
  /** Regular fields, lower-case names, in order; `host` added from `:authority` when absent. */
  headers: Array<readonly [string, string]>;
  /** The declared content-length, -1 when none. */
  contentLength: number;
}

/**
 * Header fields no HTTP/2 message may carry (RFC 9113 8.2.2): they belong
 * to one HTTP/1.1 connection.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function badValue(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  // No leading or trailing whitespace (RFC 9113 8.2.1), no CR, LF or NUL anywhere.
  const a = v.charCodeAt(0);
  const z = v.charCodeAt(n - 1);
  if (a === 0x20 || a === 0x09 || z === 0x20 || z === 0x09) return true;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return true;
  }
  return false;
}

function badName(n: string): boolean {
  if (n.length === 0) return true;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    // Upper case is malformed in HTTP/2 (8.2.1), as is anything that is not a token character.
    if (c > 255 || !TCHAR[c] || (c >= 0x41 && c <= 0x5a)) return true;
  }
  return false;
}

/**
 * Check a request's decoded header block and split its pseudo-headers
 * out. A string says why it is malformed (the stream is reset with
 * PROTOCOL_ERROR). `connectProtocol`: RFC 8441's `:protocol` is allowed.
 */
export function checkRequest(fields: readonly HeaderField[], connectProtocol: boolean): H2RequestHead | string {
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let protocol: string | undefined;
  let regular = false;
  let host: string | undefined;
  let contentLength = -1;
  const headers: Array<readonly [string, string]> = [];
  for (const [name, value] of fields) {
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after regular fields`;
      if (badValue(value)) return `malformed value of ${name}`;
      switch (name) {
        case ':method':
          if (method !== undefined) return 'duplicate :method';
          method = value;
          break;
        case ':path':
          if (path !== undefined) return 'duplicate :path';
          path = value;
          break;
        case ':scheme':
          if (scheme !== undefined) return 'duplicate :scheme';
          scheme = value;
          break;
        case ':authority':
          if (authority !== undefined) return 'duplicate :authority';
          authority = value;
          break;
        case ':protocol':
          if (!connectProtocol) return 'pseudo-header :protocol';
          if (protocol !== undefined) return 'duplicate :protocol';
          protocol = value;
          break;
        default:
          return `pseudo-header ${name} in a request`;
      }
      continue;
    }
    regular = true;
    if (badName(name)) return `malformed field name ${JSON.stringify(name)}`;
    if (badValue(value)) return `malformed value of ${name}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value.toLowerCase() !== 'trailers') return 'te other than "trailers"';
    if (name === 'host') host = value;
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return 'malformed content-length';
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) return 'conflicting content-length values';
      contentLength = n;
    }
    headers.push([name, value]);
  }
  if (method === undefined) return 'no :method';
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) return 'malformed :method';
  if (method === 'CONNECT' && protocol === undefined) {
    if (scheme !== undefined || path !== undefined) return 'CONNECT with :scheme or :path';
    if (authority === undefined) return 'CONNECT without :authority';
    path = authority;
  } else {
    if (protocol !== undefined && method !== 'CONNECT') return ':protocol without CONNECT';
    // An extended CONNECT names its target in full (RFC 8441 4).
    if (protocol !== undefined && authority === undefined) return 'extended CONNECT without :authority';
    if (scheme === undefined) return 'no :scheme';
    if (path === undefined || path === '') return 'no :path';
    if (path.charCodeAt(0) !== 0x2f && !(method === 'OPTIONS' && path === '*')) return 'malformed :path';
  }
  if (authority === undefined) authority = host;
  else if (host === undefined) headers.push(['host', authority]);
  return { method, target: path, scheme, authority, protocol, headers, contentLength };
}

/**
 * Check trailers (a second header block ending the request): regular
 * fields only, by the same rules.
 */
export function checkTrailers(fields: readonly HeaderField[]): string | null {
  for (const [name, value] of fields) {
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    if (badName(name)) return `malformed field name ${JSON.stringify(name)}`;
    if (badValue(value)) return `malformed value of ${name}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  }
  return null;
}
