import { PendingTimeout } from '../../core/timeouts.js';
import { handshakeFailed } from '../../core/diagnostics.js';
import { admitWsProtocol, checkUpgrade } from '../ws/handshake.js';
import { serverNegotiate } from '../ws/deflate/handoff.js';
import { establishServerWs } from '../ws/establish.js';
import type { H1Conn } from './conn.js';

/**
 * An HTTP/1.1 request asking to become a WebSocket (RFC 6455 4.2): check
 * it, let FILTER_PROTOCOL_CONNECTION refuse it, answer 101 and hand the
 * connection to the ws role with whatever bytes followed the request.
 * A refusal is answered with the status the handshake rules give.
 */
export function upgradeToWebSocket(conn: H1Conn, hasBody: boolean, takeLeftover: () => Buffer | null): void {
  const wsi = conn.wsi;
  const ex = conn.exchange;
  const req = ex.req;
  const hs = checkUpgrade(wsi, req, hasBody);
  if (!hs.ok) {
    handshakeFailed(wsi, 'websocket', false, hs.status, hs.why);
    ex.fail(hs.status, hs.why, hs.headers);
    return;
  }
  if (!admitWsProtocol(ex, hs.protocol, hs.protocolHeader)) return;
  const s = wsi.socket;
  if (!s) return;
  let head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${hs.accept}\r\n`;
  if (hs.protocolHeader) head += `Sec-WebSocket-Protocol: ${hs.protocolHeader}\r\n`;
  const ext = serverNegotiate(wsi, req.header('sec-websocket-extensions'));
  if (ext) head += `Sec-WebSocket-Extensions: ${ext}\r\n`;
  s.write(head + '\r\n', 'latin1');
  // The HTTP request ends here, with its 101; the WebSocket's own events follow.
  ex.txn.finish(wsi, null, 101, undefined);
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  establishServerWs(wsi, req, takeLeftover());
}
