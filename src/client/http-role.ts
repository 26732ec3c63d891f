import type { RoleOps } from '../core/role.js';
import { registerRole } from '../core/features.js';
import { Reason } from '../core/reasons.js';
import { log } from '../core/log.js';
import type { ClientConn } from './client-conn.js';

/**
 * An HTTP client connection after the response head: the body is held
 * for `wsi.httpClientRead()`, and the request body may still be going out.
 */
export const httpClientRole: RoleOps<ClientConn> = {
  name: 'http-client',
  rx(wsi, c, buf) {
    c.bodyRx(wsi, buf);
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
    // The body stalled (HTTP_CONTENT): established, so no CONNECTION_ERROR, just the close.
    log.info('client wsi %d: response body stalled for %d s', wsi.id, c.bodyTimeoutSecs);
    wsi.close(false);
  },
  peerEnded(wsi, c) {
    // A truncated body closes without COMPLETED_CLIENT_HTTP.
    if (c.body?.peerEnded()) c.maybeComplete(wsi);
    else wsi.close();
  },
  closing(wsi) {
    wsi.callProtocol(Reason.CLOSED_CLIENT_HTTP);
  },
};

registerRole(httpClientRole as RoleOps);
