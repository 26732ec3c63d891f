import type { RoleOps } from '../core/role.js';
import { registerRole } from '../core/features.js';
import { clientHeadRx } from './establish.js';
import { retryFresh } from './connect.js';
import type { ClientConn } from './client-conn.js';

/**
 * A client connection that is only trying: TCP, TLS, then waiting for the
 * response head. Every way it can end here is a CLIENT_CONNECTION_ERROR.
 * An HTTP request body may already be going out.
 */
export const clientConnectingRole: RoleOps<ClientConn> = {
  name: 'client-connecting',
  rx(wsi, c, buf) {
    clientHeadRx(wsi, c, buf);
  },
  writable(wsi, c) {
    c.uploadWritable(wsi);
  },
  write(wsi, c, buf, flags) {
    return c.uploadWrite(wsi, buf, flags);
  },
  txCredit(_wsi, c) {
    return c.uploadCredit();
  },
  timeout(wsi, c) {
    const where = c.phase === 'tcp' ? 'connecting' : c.phase === 'tls' ? 'in the TLS handshake' : 'waiting for the server to answer';
    c.fail(wsi, `timed out after ${c.timeoutSecs} s ${where} (${c.address}:${c.port})`);
  },
  peerEnded(wsi, c) {
    if (retryFresh(wsi, c)) return;
    c.fail(wsi, c.describeError(c.lastError));
  },
  transportError(wsi, c, e) {
    // A kept connection reset under the request (the server closed it as it
    // was reused) is as stale as one closed cleanly: retried the same way.
    return (e.code === 'ECONNRESET' || e.code === 'EPIPE') && retryFresh(wsi, c);
  },
  closing(wsi, c) {
    // Closed from outside (socket error, context destroyed) before settling.
    if (!c.settled) c.fail(wsi, c.describeError(c.lastError));
  },
};

registerRole(clientConnectingRole as RoleOps);
