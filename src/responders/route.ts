/**
 * Where a request goes once its head is read, on any wire: credentials,
 * a WebSocket upgrade, the CALLBACK mount binding, FILTER_HTTP_CONNECTION,
 * then the mount that covers it (files, CGI, proxy, redirect) or the
 * protocol's HTTP callback.
 */
import { Reason } from '../core/reasons.js';
import { log } from '../core/log.js';
import type { Protocol } from '../core/protocols.js';
import type { HttpExchange } from '../http/exchange.js';
import { matchMount, mountTakesMethod, bareOrigin, Mount, type ResolvedMount } from '../http/mount.js';
import { basicAuthOk, BASIC_AUTH_CHALLENGE } from '../http/basic-auth.js';
import { bindProtocol } from '../http/bind.js';
import { HttpError } from '../http/errors.js';
import { statusPage } from '../http/status.js';
import { serveFileMount } from './file/serve.js';
import { startCgi } from './cgi/cgi.js';
import { startProxy } from './proxy/proxy.js';

/** What a FILE mount allows; OPTIONS and TRACE get 405 with this. */
const FILE_ALLOW = 'GET, HEAD';

/**
 * Route the request of `ex`. Throws `HttpError` for answers that end the
 * connection (401 without credentials, a misconfigured mount); the wire
 * turns it into the response.
 */
export function routeRequest(ex: HttpExchange): void {
  const wsi = ex.wsi;
  const vh = wsi.vhost;
  const req = ex.req;
  const path = req.path;
  const m = matchMount(vh.mounts, path);
  if (m?.basicAuthLoginFile !== undefined && !basicAuthOk(m.basicAuthLoginFile, req.header('authorization')))
    throw new HttpError(401, `no valid credentials for ${m.mountpoint}`, BASIC_AUTH_CHALLENGE);
  const proxied = m !== undefined && (m.originProtocol === Mount.HTTP || m.originProtocol === Mount.HTTPS);
  if (ex.wantsWebSocket) {
    unbindMount(ex);
    if (proxied && m) {
      // The upstream speaks HTTP/1.1 upgrades; an extended CONNECT (a WebSocket on an HTTP/2 stream) has no way there.
      if (req.method === 'CONNECT') throw new HttpError(501, `a WebSocket on an HTTP/2 stream cannot go through the proxy mount ${m.mountpoint}`);
      startProxy(ex, m, path, true);
    } else ex.acceptWebSocket();
    return;
  }

  if (bindFor(ex, m)) return;
  if (wsi.callProtocol(Reason.FILTER_HTTP_CONNECTION, path)) return;

  let handled = false;
  let httpInput = path;
  if (m && mountTakesMethod(m, req.method)) {
    switch (m.originProtocol) {
      case Mount.CALLBACK:
        // The bound protocol sees the URL below its mountpoint, as in lws.
        httpInput = path.slice(m.mpLen);
        break;
      case Mount.CGI:
        handled = startCgi(ex, m, path);
        break;
      case Mount.HTTP:
      case Mount.HTTPS:
        handled = startProxy(ex, m, path, false);
        break;
      case Mount.FILE:
        handled = serveFileMount(ex, m, path);
        break;
      case Mount.REDIR_HTTP:
      case Mount.REDIR_HTTPS: {
        const scheme = m.originProtocol === Mount.REDIR_HTTPS ? 'https://' : 'http://';
        ex.redirect(301, scheme + m.origin.replace(/^(https?:\/\/|>)/i, ''));
        handled = true;
        break;
      }
    }
  } else if (m && m.originProtocol === Mount.FILE && path.charCodeAt(0) === 0x2f && (req.method === 'OPTIONS' || req.method === 'TRACE')) {
    // A directory of files answers these itself (RFC 9110 15.5.6), rather than "not found".
    ex.respondWhole(405, `allow: ${FILE_ALLOW}\r\ncontent-type: text/html\r\n`, Buffer.from(statusPage(405)));
    ex.complete();
    handled = true;
  }
  if (!handled && !wsi.closed) {
    ex.bodyToProtocol = true;
    wsi.callProtocol(Reason.HTTP, httpInput);
  }
}

/**
 * Bind to the protocol of the CALLBACK mount the request falls in, or
 * back to protocols[0] when it falls outside; the session data lives as
 * long as the binding. Returns non-zero when the connection closed.
 */
function bindFor(ex: HttpExchange, m: ResolvedMount | undefined): number {
  const wsi = ex.wsi;
  const vh = wsi.vhost;
  let target: Protocol = vh.protocols[0];
  if (m && m.originProtocol === Mount.CALLBACK) {
    const p = vh.protocolByName(bareOrigin(m));
    if (!p) {
      log.err('mount %s: no protocol named "%s" on vhost %s', m.mountpoint, bareOrigin(m), vh.name);
      throw new HttpError(500, 'callback mount names an unknown protocol');
    }
    target = p;
  }
  if (!ex.boundToMount && target === vh.protocols[0]) return 0;
  if (wsi.protocol === target) return 0;
  ex.boundToMount = target !== vh.protocols[0];
  return bindProtocol(wsi, target);
}

/** Leave a CALLBACK mount's protocol before the connection changes vhost or role. */
export function unbindMount(ex: HttpExchange): void {
  if (!ex.boundToMount) return;
  ex.boundToMount = false;
  ex.wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL);
}
