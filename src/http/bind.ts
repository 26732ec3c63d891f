import type { Wsi } from '../core/wsi.js';
import type { Protocol } from '../core/protocols.js';
import { Reason } from '../core/reasons.js';

/**
 * Move an HTTP connection to another protocol (lws's `lws_bind_protocol`):
 * the old protocol hears HTTP_DROP_PROTOCOL with its session data, which
 * is then released; the new one gets fresh session data and
 * HTTP_BIND_PROTOCOL. Returns non-zero when a callback closed the
 * connection.
 */
export function bindProtocol(wsi: Wsi, p: Protocol): number {
  if (wsi.protocol === p) return 0;
  if (wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL)) return -1;
  wsi.protocol = p;
  wsi.user = p.createSessionData ? p.createSessionData() : undefined;
  return wsi.callProtocol(Reason.HTTP_BIND_PROTOCOL);
}
