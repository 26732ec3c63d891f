import { PendingTimeout } from '../../core/timeouts.js';
import { handshakeFailed } from '../../core/diagnostics.js';
import { httpDate } from '../../http/date.js';
import { admitWsProtocol, chooseProtocol } from '../ws/handshake.js';
import { serverNegotiate } from '../ws/deflate/handoff.js';
import { establishServerWs } from '../ws/establish.js';
import type { H2Exchange } from './exchange.js';

/** The version every answer that refuses the handshake names (RFC 6455 4.4). */
const VERSION_HEADER = 'sec-websocket-version: 13\r\n';

/**
 * An extended CONNECT with `:protocol websocket` (RFC 8441 4-5): check
 * it, choose the protocol as an HTTP/1.1 upgrade does, let
 * FILTER_PROTOCOL_CONNECTION refuse it, answer `:status 200` (no accept
 * key: the stream itself proves the server understood) and hand the
 * stream's wsi to the ws role. RFC 6455 framing is kept whole on the
 * stream's DATA, masking included.
 *
 * A refusal is a status on this stream only: 400 for a request the
 * handshake rules reject (a wrong or missing `sec-websocket-version` too,
 * with `sec-websocket-version: 13`: 426 would need an Upgrade header,
 * which HTTP/2 forbids), 403 when FILTER_PROTOCOL_CONNECTION says no.
 */
export function acceptH2WebSocket(ex: H2Exchange): void {
  const wsi = ex.wsi;
  const req = ex.req;
  const s = ex.stream;
  const refuse = (status: number, why: string, headers?: string): void => {
    handshakeFailed(wsi, 'websocket', false, status, why);
    ex.fail(status, why, headers);
  };
  if (s.remoteClosed) return refuse(400, 'extended CONNECT that ends its stream');
  const version = req.header('sec-websocket-version');
  if (version === undefined) return refuse(400, 'extended CONNECT without sec-websocket-version', VERSION_HEADER);
  if (version.trim() !== '13') return refuse(400, 'unsupported WebSocket version', VERSION_HEADER);
  const chosen = chooseProtocol(wsi, req);
  if (!chosen.ok) return refuse(chosen.status, chosen.why, chosen.headers);
  if (!admitWsProtocol(ex, chosen.protocol, chosen.protocolHeader)) return;
  const fields: Array<[string, string]> = [[':status', '200']];
  if (chosen.protocolHeader) fields.push(['sec-websocket-protocol', chosen.protocolHeader]);
  const ext = serverNegotiate(wsi, req.fragments('sec-websocket-extensions').join(', '));
  if (ext) fields.push(['sec-websocket-extensions', ext]);
  fields.push(['date', httpDate()]);
  s.conn.sendHeaders(s, fields, false);
  ex.status = 200;
  ex.upgraded();
  s.websocket = true;
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  establishServerWs(wsi, req, null);
}
