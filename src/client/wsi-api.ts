/** The HTTP client calls of a connection. */
import { Wsi } from '../core/wsi.js';
import { extendApi } from '../core/features.js';
import { roleStateOf } from '../core/role.js';
import { ErrorCode, stateError } from '../core/errors.js';
import { wsOf } from '../roles/ws/wsi-api.js';
import { clientConnectingRole } from './connecting-role.js';
import { httpClientRole } from './http-role.js';

declare module '../core/wsi.js' {
  interface Wsi {
    /**
     * On a client connection, the server's response status (101 for a
     * WebSocket), or 0 before the response head has arrived.
     */
    httpClientStatus(): number;
    /**
     * On an HTTP client connection: take the response body bytes received so
     * far (dechunked), or an empty buffer when none are waiting. Reading
     * stops while more than a bound is unread, so a body can be consumed at
     * the pace of another connection's WRITEABLE. COMPLETED_CLIENT_HTTP comes
     * once the body has ended and everything has been taken.
     *
     * ```ts
     * case Reason.RECEIVE_CLIENT_HTTP: out.push(wsi.httpClientRead()); break;
     * ```
     */
    httpClientRead(): Buffer;
  }
}

extendApi(Wsi, {
  httpClientStatus(): number {
    const c = roleStateOf(this, httpClientRole) ?? roleStateOf(this, clientConnectingRole);
    if (c) return c.response?.status ?? 0;
    return wsOf(this)?.status ?? 0;
  },
  httpClientRead(): Buffer {
    const c = roleStateOf(this, httpClientRole) ?? roleStateOf(this, clientConnectingRole);
    if (!c) throw stateError(ErrorCode.NOT_HTTP_CLIENT, `httpClientRead: connection ${this.id} is not an HTTP client connection (role ${this.roleName})`);
    const out = c.read();
    c.afterRead(this);
    return out;
  },
});
