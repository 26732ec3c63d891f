import type { RoleOps } from '../../core/role.js';
import { Reason } from '../../core/reasons.js';
import { H2Error } from './frames.js';
import type { H2Stream } from './stream.js';

/**
 * An HTTP/2 stream's wsi (a child of the connection's): HTTP as on
 * HTTP/1, through the stream's exchange, with the stream's own credit.
 * Its bytes arrive through the connection, never through `rx`.
 */
export const h2StreamRole: RoleOps<H2Stream> = {
  name: 'h2-stream',
  rx() {},
  writable(wsi, s) {
    const p = s.exchange?.producer;
    if (p) p.pump();
    else wsi.deliverWriteable(Reason.HTTP_WRITEABLE);
  },
  write(_wsi, s, buf, flags) {
    return s.exchange ? s.exchange.write(buf, flags) : -1;
  },
  txCredit(_wsi, s) {
    return s.txCredit;
  },
  rxResumed() {
    // The stream's transport resumes itself (and gives credit back).
  },
  timeout(_wsi, s) {
    // No progress on the request or the response in time (this stream
    // only), or a request body still coming after its complete response.
    s.conn.resetStream(s, s.localClosed ? H2Error.NO_ERROR : H2Error.CANCEL);
  },
  callbackThrew(wsi, s) {
    // 500 if the response has not begun; else the stream (only) is cut.
    const ex = s.exchange;
    if (ex && !ex.headersSent && !ex.done) ex.fail(500, 'a protocol callback threw');
    else if (!s.localClosed) s.conn.resetStream(s, H2Error.INTERNAL_ERROR);
    if (!wsi.closed) wsi.close();
  },
  closing(wsi, s) {
    const ex = s.exchange;
    // Closed before its response ended: the client must learn it is incomplete.
    if (!s.reset && !(ex?.done)) s.conn.resetStream(s, H2Error.CANCEL);
    ex?.closing();
    wsi.callProtocol(Reason.CLOSED_HTTP);
    if (ex?.boundToMount) {
      ex.boundToMount = false;
      wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL);
    }
  },
};
