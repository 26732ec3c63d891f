import type { Role } from '../core/role.js';
import { Reason } from '../core/reasons.js';
import { log } from '../core/log.js';

/**
 * An HTTP client connection after the response head: the body is held
 * for `wsi.httpClientRead()`, and the request body may still be going out.
 */
export const httpClientRole: Role = {
  name: 'http-client',
  rx(wsi, buf) {
    wsi.client?.bodyRx(wsi, buf);
  },
  writable(wsi) {
    wsi.client?.uploadWritable(wsi);
  },
  write(wsi, buf, flags) {
    return wsi.client ? wsi.client.uploadWrite(wsi, buf, flags) : -1;
  },
  timeout(wsi) {
    // The body stalled (HTTP_CONTENT): established, so no CONNECTION_ERROR, just the close.
    log.info('client wsi %d: response body stalled for %d s', wsi.id, wsi.client?.bodyTimeoutSecs ?? 0);
    wsi.close(false);
  },
  peerEnded(wsi) {
    const c = wsi.client;
    // A truncated body closes without COMPLETED_CLIENT_HTTP.
    if (c?.body?.peerEnded()) c.maybeComplete(wsi);
    else wsi.close();
  },
  closing(wsi) {
    wsi.callProtocol(Reason.CLOSED_CLIENT_HTTP);
  },
};
