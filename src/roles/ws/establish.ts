import type { Wsi } from '../../core/wsi.js';
import { roleTransition } from '../../core/role.js';
import { Reason } from '../../core/reasons.js';
import { channels } from '../../core/diagnostics.js';
import type { HttpHead } from '../../http/head.js';
import { WsConn } from './conn.js';
import { wsRole } from './role-ws.js';
import { WS_CLIENT, WS_SERVER } from './sides.js';

/**
 * The server side of a handshake is done (101 sent): the connection
 * becomes a WebSocket, ESTABLISHED is delivered with the request's
 * headers still readable, then they are released and whatever bytes
 * followed the request are read as frames.
 */
export function establishServerWs(wsi: Wsi, req: HttpHead, leftover: Buffer | null): void {
  const ws = new WsConn(wsi, wsi.vhost.wsOptions, WS_SERVER, req);
  roleTransition(wsi, wsRole, ws);
  announce(wsi, ws);
  if (wsi.callProtocol(Reason.ESTABLISHED)) return;
  // Header information ends here (lws frees the header table after ESTABLISHED).
  ws.httpHead = null;
  ws.start();
  if (leftover && leftover.length && !wsi.closed) wsi.deliverRx(leftover);
}

/**
 * The client side of a handshake is done (a valid 101 read): the
 * connection becomes a WebSocket and CLIENT_ESTABLISHED is delivered; the
 * response's headers stay readable.
 */
export function establishClientWs(wsi: Wsi, response: HttpHead, status: number, leftover: Buffer | null): void {
  const ws = new WsConn(wsi, wsi.vhost.wsOptions, WS_CLIENT, response, status);
  roleTransition(wsi, wsRole, ws);
  announce(wsi, ws);
  if (wsi.callProtocol(ws.side.established)) return;
  ws.start();
  if (leftover && leftover.length && !wsi.closed) wsi.deliverRx(leftover);
}

/** `tslws:ws:open`, before ESTABLISHED: whatever the callback does (sends, closes) is told after it. */
function announce(wsi: Wsi, ws: WsConn): void {
  if (channels.wsOpen.hasSubscribers) {
    channels.wsOpen.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, protocol: wsi.protocol.name, client: !ws.side.isServer,
      deflate: ws.deflateActive });
  }
}
