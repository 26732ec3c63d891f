import type { Wsi } from '../../core/wsi.js';
import type { HttpRequest } from '../../http/request.js';

/** Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection and never travel on. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** Names listed in Connection are hop-by-hop too. */
function connectionListed(pairs: ReadonlyArray<readonly [string, string]>): Set<string> {
  const out = new Set<string>();
  for (const [n, v] of pairs) if (n === 'connection') for (const t of v.split(',')) out.add(t.trim().toLowerCase());
  return out;
}

/**
 * The headers sent upstream: the client's, less hop-by-hop ones, with
 * Host set to the upstream and X-Forwarded-For / -Host / -Proto added.
 * For a WebSocket upgrade, Connection and Upgrade go on as they must.
 */
export function upstreamHeaders(wsi: Wsi, req: HttpRequest, upstreamHost: string, upgrade: boolean): Array<[string, string]> {
  const listed = connectionListed(req.headers);
  const out: Array<[string, string]> = [];
  let xff: string | undefined;
  for (const [n, v] of req.headers) {
    if (n === 'host') continue;
    if (n === 'x-forwarded-for') {
      xff = xff === undefined ? v : `${xff}, ${v}`;
      continue;
    }
    if (n === 'x-forwarded-host' || n === 'x-forwarded-proto') continue;
    if (HOP.has(n) || listed.has(n)) continue;
    out.push([n, v]);
  }
  const peer = wsi.peerAddress;
  out.push(['host', upstreamHost]);
  out.push(['x-forwarded-for', xff ? `${xff}, ${peer}` : peer]);
  const host = req.first('host');
  if (host !== undefined) out.push(['x-forwarded-host', host]);
  out.push(['x-forwarded-proto', wsi.isSsl() ? 'https' : 'http']);
  if (upgrade) {
    out.push(['connection', 'Upgrade']);
    out.push(['upgrade', req.first('upgrade') ?? 'websocket']);
  }
  return out;
}

/** Response headers from `rawHeaders` worth passing to the client (framing is ours). */
export function downstreamHeaders(raw: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i].toLowerCase(), raw[i + 1]]);
  const listed = connectionListed(pairs);
  // Our own date: line is always sent; a second one would contradict it.
  return pairs.filter(([n]) => !HOP.has(n) && !listed.has(n) && n !== 'content-length' && n !== 'date');
}
