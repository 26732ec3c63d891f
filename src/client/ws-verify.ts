import type { ClientResponse } from './response-head.js';
import type { Wsi } from '../core/wsi.js';
import { acceptKey } from '../roles/ws/handshake.js';
import { hasToken } from '../http/response.js';
import { clientNegotiateCheck } from '../roles/ws/deflate/handoff.js';

/**
 * Check the server's answer to our upgrade (RFC 6455 4.1, client side).
 * Returns why it is refused, in lws's "HS: …" words, or null when good.
 */
export function verifyUpgradeResponse(r: ClientResponse, key: string, offered: string | undefined, wsi: Wsi): string | null {
  if (r.status !== 101) return `HS: ws upgrade response not 101 (got ${r.status} ${r.reasonPhrase})`.trimEnd();
  if (!hasToken(r.header('upgrade'), 'websocket')) return 'HS: Upgrade header is not "websocket"';
  if (!hasToken(r.header('connection'), 'upgrade')) return 'HS: Connection header lacks "upgrade"';
  const accept = r.fragments('sec-websocket-accept');
  if (accept.length !== 1 || accept[0] !== acceptKey(key)) return 'HS: Accept hash wrong';
  return verifyChoices(r, offered, wsi);
}

/** The subprotocol and extensions the server chose: only what we offered may come back. */
function verifyChoices(r: ClientResponse, offered: string | undefined, wsi: Wsi): string | null {
  const chosen = r.fragments('sec-websocket-protocol');
  if (chosen.length > 1) return 'HS: more than one Sec-WebSocket-Protocol';
  if (chosen.length === 1) {
    const asked = (offered ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (!asked.includes(chosen[0])) return `HS: server chose subprotocol "${chosen[0]}", which was not offered`;
  }
  const ext = r.fragments('sec-websocket-extensions');
  const bad = clientNegotiateCheck(wsi, ext.length ? ext.join(', ') : undefined);
  if (bad) return `HS: ${bad}`;
  return null;
}

/**
 * Check the server's answer to our extended CONNECT (RFC 8441 5): 200
 * instead of 101 and no key to check, the subprotocol and extensions as
 * for HTTP/1.1. Returns why it is refused, or null when good.
 */
export function verifyConnectResponse(r: ClientResponse, offered: string | undefined, wsi: Wsi): string | null {
  if (r.status !== 200) return `HS: ws extended CONNECT response not 200 (got ${r.status})`;
  return verifyChoices(r, offered, wsi);
}
