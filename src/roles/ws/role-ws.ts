import type { RoleOps } from '../../core/role.js';
import { registerRole } from '../../core/features.js';
import { CloseStatus } from './frame.js';
import { limiterOf } from './deflate/limiter.js';
import type { WsConn } from './conn.js';

const GOING_AWAY = Buffer.from('vhost going away');
const CALLBACK_THREW = Buffer.from('internal error');

/** The WebSocket role (RFC 6455), server and client side alike. */
export const wsRole: RoleOps<WsConn> = {
  name: 'ws',
  rx(_wsi, ws, buf) {
    ws.rx(buf);
  },
  writable(_wsi, ws) {
    ws.writable();
  },
  write(_wsi, ws, buf, flags) {
    return ws.sender.write(buf, flags);
  },
  choked(_wsi, ws) {
    return ws.sender.choked;
  },
  txCredit(wsi) {
    // On a stream (RFC 8441) the stream's credit; on a socket of its own, no limit but TCP's.
    return wsi.transport?.txCredit ?? -1;
  },
  rxResumed(_wsi, ws, held) {
    ws.resumed(held);
  },
  timeout(wsi) {
    wsi.close(false);
  },
  peerEnded(_wsi, ws) {
    ws.peerEnded();
  },
  callbackThrew(wsi, ws) {
    // A close status the callback set before throwing gives way: the peer learns it failed.
    ws.sender.setCloseReason(CloseStatus.UNEXPECTED_CONDITION, CALLBACK_THREW, true);
    wsi.close();
  },
  goingAway(_wsi, ws) {
    ws.sender.setCloseReason(CloseStatus.GOINGAWAY, GOING_AWAY);
  },
  closing(_wsi, ws, flush) {
    return ws.closing(flush);
  },
  vhostDestroy(vh) {
    // The connections are closed: their spare zlib streams go now, not at GC.
    limiterOf(vh)?.closeSpares();
  },
};

registerRole(wsRole as RoleOps);
