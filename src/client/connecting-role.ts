import type { Role } from '../core/role.js';
import { clientHeadRx } from './establish.js';
import { retryFresh } from './connect.js';

/**
 * A client connection that is only trying: TCP, TLS, then waiting for the
 * response head. Every way it can end here is a CLIENT_CONNECTION_ERROR.
 * An HTTP request body may already be going out.
 */
export const clientConnectingRole: Role = {
  name: 'client-connecting',
  rx(wsi, buf) {
    const c = wsi.client;
    if (c) clientHeadRx(wsi, c, buf);
  },
  writable(wsi) {
    wsi.client?.uploadWritable(wsi);
  },
  write(wsi, buf, flags) {
    return wsi.client ? wsi.client.uploadWrite(wsi, buf, flags) : -1;
  },
  timeout(wsi) {
    const c = wsi.client;
    if (!c) return wsi.close(false);
    const where = c.phase === 'tcp' ? 'connecting' : c.phase === 'tls' ? 'in the TLS handshake' : 'waiting for the server to answer';
    c.fail(wsi, `timed out after ${c.timeoutSecs} s ${where} (${c.address}:${c.port})`);
  },
  peerEnded(wsi) {
    const c = wsi.client;
    if (c && retryFresh(wsi, c)) return;
    if (c) c.fail(wsi, c.describeError(c.lastError));
    else wsi.close(false);
  },
  socketError(wsi, e) {
    // A kept connection reset under the request (the server closed it as it
    // was reused) is as stale as one closed cleanly: retried the same way.
    const c = wsi.client;
    return !!c && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && retryFresh(wsi, c);
  },
  closing(wsi) {
    // Closed from outside (socket error, context destroyed) before settling.
    const c = wsi.client;
    if (c && !c.settled) c.fail(wsi, c.describeError(c.lastError));
  },
};
