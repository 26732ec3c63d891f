import type { Wsi } from '../core/wsi.js';
import { log } from '../core/log.js';
import { Reason } from '../core/reasons.js';
import { handshakeFailed } from '../core/diagnostics.js';
import { PendingTimeout } from '../core/timeouts.js';
import { establishClientWs } from '../roles/ws/establish.js';
import { clientNegotiateOffer } from '../roles/ws/deflate/handoff.js';
import type { H2ClientConn } from '../roles/h2/client-conn.js';
import type { H2StreamOwner } from '../roles/h2/client-stream.js';
import type { ClientConn } from './client-conn.js';
import { ClientResponse } from './response-head.js';
import { defaultHost, HeaderLines } from './request.js';
import { verifyConnectResponse } from './ws-verify.js';
import { establishHttp } from './establish.js';
import { redirectTarget, followRedirect } from './redirect.js';
import { originsOf } from './h2-origins.js';

/** Request headers HTTP/2 does not carry (RFC 9113 8.2.2), or carries as pseudo-headers. */
const NOT_ON_H2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te']);

/**
 * Send the request of `c` as a stream of `conn`: its head now, its body
 * (if any) through CLIENT_HTTP_WRITEABLE as the stream's credit allows.
 * The wsi becomes a child of the connection's wsi.
 */
export function sendOnStream(wsi: Wsi, c: ClientConn, conn: H2ClientConn): void {
  const info = c.info;
  c.phase = 'handshake';
  const extra = new HeaderLines(wsi.vhost.limits.maxHeaderBytes);
  if (wsi.callProtocolRaw(Reason.CLIENT_APPEND_HANDSHAKE_HEADER, extra) !== 0) {
    c.fail(wsi, 'HS: refused by CLIENT_APPEND_HANDSHAKE_HEADER');
    return;
  }
  const tls = !!info.ssl;
  const ws = c.kind === 'WS';
  const fields: Array<[string, string]> = [
    [':method', ws ? 'CONNECT' : c.kind],
    ...(ws ? [[':protocol', 'websocket'] as [string, string]] : []),
    [':scheme', tls ? 'https' : 'http'],
    [':authority', info.host ?? defaultHost(info.address, info.port, tls)],
    [':path', info.path || '/'],
  ];
  if (info.origin !== undefined) fields.push(['origin', info.origin.includes('://') ? info.origin : 'http://' + info.origin]);
  if (ws) {
    fields.push(['sec-websocket-version', '13']);
    if (info.protocol) fields.push(['sec-websocket-protocol', info.protocol]);
    const ext = clientNegotiateOffer(wsi, info.perMessageDeflate);
    if (ext) fields.push(['sec-websocket-extensions', ext]);
  }
  const add = (k: string, v: string) => {
    const n = k.toLowerCase();
    if (!NOT_ON_H2.has(n)) fields.push([n, v]);
  };
  for (const [k, v] of Object.entries(info.headers ?? {})) add(k, v);
  if (!ws && info.bodyLength !== undefined) fields.push(['content-length', String(info.bodyLength)]);
  for (const line of extra.text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) add(line.slice(0, i), line.slice(i + 1).trim());
  }
  const upload = !ws && info.bodyLength !== undefined && info.bodyLength > 0;
  const s = conn.open(fields, !ws && !upload, new StreamRequest(wsi, c));
  if (typeof s === 'string') {
    c.fail(wsi, `HS: ${s}`);
    return;
  }
  wsi.context.reparentWsi(wsi, conn.wsi);
  wsi.setTransport(s);
  c.h2 = s;
  log.debug('client wsi %d: request on HTTP/2 stream %d of wsi %d', wsi.id, s.id, conn.wsi.id);
  if (upload) {
    c.uploadLeft = info.bodyLength as number;
    wsi.callbackOnWritable();
  }
}

/** A request carried by a stream: what the stream reports, turned into the client's callbacks. */
class StreamRequest implements H2StreamOwner {
  constructor(readonly wsi: Wsi, readonly c: ClientConn) {}

  head(status: number, headers: Array<[string, string]>): void {
    const { wsi, c } = this;
    if (wsi.closed) return;
    c.response = new ClientResponse('HTTP/2', status, '', headers);
    if (c.kind === 'WS') {
      const why = verifyConnectResponse(c.response, c.offered, wsi);
      if (why) {
        handshakeFailed(wsi, 'websocket', true, status, why);
        c.fail(wsi, why);
        return;
      }
      if (wsi.callProtocolRaw(Reason.CLIENT_FILTER_PRE_ESTABLISH) !== 0) {
        handshakeFailed(wsi, 'websocket', true, status, 'refused by CLIENT_FILTER_PRE_ESTABLISH');
        c.fail(wsi, 'HS: refused by CLIENT_FILTER_PRE_ESTABLISH');
        return;
      }
      c.settle();
      wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
      establishClientWs(wsi, c.response, status, null);
      return;
    }
    const next = redirectTarget(c, c.response);
    if (typeof next === 'string') c.fail(wsi, `HS: ${next}`);
    else if (next) followRedirect(wsi, c, next);
    else establishHttp(wsi, c, Buffer.alloc(0));
  }

  data(buf: Buffer): void {
    this.wsi.deliverRx(buf);
  }

  end(): void {
    this.wsi.transportEnded();
  }

  failed(why: string, retry: boolean): void {
    const { wsi, c } = this;
    if (wsi.closed) return;
    c.h2 = null;
    if (!c.settled && retry && c.uploadLeft < 0) originsOf(wsi.vhost).retry(wsi, c, why);
    else if (!c.settled) c.fail(wsi, why);
    else {
      log.info('client wsi %d: %s', wsi.id, why);
      wsi.close(false);
    }
  }

  drained(): void {
    this.wsi.transportDrained();
  }
}
