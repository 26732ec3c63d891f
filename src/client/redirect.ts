import type { Wsi } from '../core/wsi.js';
import { log } from '../core/log.js';
import type { ClientConn } from './client-conn.js';
import type { ClientConnectInfo } from './info.js';
import type { ClientResponse } from './response-head.js';
import { defaultHost } from './request.js';
import { discardSocket, openSocket } from './connect.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * What to do with an HTTP response head when redirects may be followed:
 * null to deliver it as it is, the next request's info to follow it, or
 * why the attempt fails (too many hops, a TLS downgrade, a bad Location).
 */
export function redirectTarget(c: ClientConn, r: ClientResponse): ClientConnectInfo | string | null {
  const max = c.info.followRedirects ?? 0;
  if (max === 0 || !REDIRECTS.has(r.status)) return null;
  const loc = r.header('location');
  // A 3xx without somewhere to go is just an answer.
  if (!loc) return null;
  if (c.redirects >= max) return `too many redirects: ${r.status} to ${loc} would be hop ${c.redirects + 1}, followRedirects is ${max}`;
  const tls = !!c.info.ssl;
  const here = `${tls ? 'https' : 'http'}://${defaultHost(c.info.address, c.info.port, tls)}${c.info.path || '/'}`;
  let u: URL;
  try {
    u = new URL(loc, here);
  } catch {
    return `redirect to a malformed Location "${loc.slice(0, 100)}"`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `redirect to unsupported scheme ${u.protocol} (${loc})`;
  const toTls = u.protocol === 'https:';
  // As lws: a secure request is never continued in the clear.
  if (tls && !toTls) return `redirect from https to ${loc} refused: TLS downgrade`;
  const see = r.status === 303 && c.kind !== 'HEAD';
  // Same scheme, host and port (a relative Location, say): the same target,
  // so the caller's address and Host: (and with it the TLS server name) stay.
  const sameOrigin = u.origin === new URL(here).origin;
  const address = sameOrigin ? c.info.address : u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : toTls ? 443 : 80;
  // Credentials meant for one site are not handed to another (as curl and browsers do).
  let headers = c.info.headers;
  if (headers && (address.toLowerCase() !== c.info.address.toLowerCase() || port !== c.info.port)) {
    headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|cookie|proxy-authorization)$/i.test(k)));
  }
  return {
    ...c.info,
    headers,
    address,
    port,
    path: u.pathname + u.search,
    // Another authority gets its own Host:, not the caller's.
    host: sameOrigin ? c.info.host : undefined,
    ssl: toTls ? c.info.ssl || true : false,
    method: see ? 'GET' : c.kind,
    bodyLength: see ? undefined : c.info.bodyLength,
  };
}

/**
 * Follow a redirect on the same wsi: drop the old socket without any
 * callback and start the next request, as if the user had asked for it.
 */
export function followRedirect(wsi: Wsi, c: ClientConn, next: ClientConnectInfo): void {
  discardSocket(wsi, c);
  log.info('client wsi %d: %d redirect to %s:%d%s', wsi.id, c.response?.status ?? 0, next.address, next.port, next.path ?? '/');
  c.redirects++;
  c.info = next;
  c.kind = (next.method ?? 'GET').toUpperCase();
  c.phase = 'tcp';
  c.headBuf = null;
  c.response = null;
  c.uploadLeft = -1;
  c.lastError = null;
  wsi.peerEnded = false;
  wsi.heldRx = null;
  wsi.wantWritable = false;
  openSocket(wsi, c);
}
