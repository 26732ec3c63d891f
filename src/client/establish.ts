import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { PendingTimeout } from '../core/timeouts.js';
import { roleTransition } from '../core/role.js';
import { handshakeFailed } from '../core/diagnostics.js';
import { establishClientWs } from '../roles/ws/establish.js';
import type { ClientConn } from './client-conn.js';
import { findResponseHead } from './response-head.js';
import { verifyUpgradeResponse } from './ws-verify.js';
import { HttpClientBody } from './http-body.js';
import { httpClientRole } from './http-role.js';
import { redirectTarget, followRedirect } from './redirect.js';

/**
 * Response bytes before the head is complete: gather, parse, then become a
 * WebSocket or an HTTP client connection, or fail the attempt.
 */
export function clientHeadRx(wsi: Wsi, c: ClientConn, buf: Buffer): void {
  let all = c.headBuf ? Buffer.concat([c.headBuf, buf]) : buf;
  for (;;) {
    const r = findResponseHead(all, wsi.vhost.limits.maxHeaderBytes);
    if (r.kind === 'more') {
      c.headBuf = Buffer.from(all);
      return;
    }
    if (r.kind === 'error') {
      c.fail(wsi, `HS: ${r.why}`);
      return;
    }
    const rest = all.subarray(r.bodyStart);
    // 100 Continue and other interim answers come before the real one.
    if (c.kind !== 'WS' && r.response.status >= 100 && r.response.status < 200) {
      all = rest;
      continue;
    }
    c.headBuf = null;
    c.response = r.response;
    if (c.kind === 'WS') {
      establishWs(wsi, c, rest);
      return;
    }
    const next = redirectTarget(c, r.response);
    if (typeof next === 'string') c.fail(wsi, `HS: ${next}`);
    else if (next) followRedirect(wsi, c, next);
    else establishHttp(wsi, c, rest);
    return;
  }
}

function establishWs(wsi: Wsi, c: ClientConn, rest: Buffer): void {
  const why = verifyUpgradeResponse(c.response!, c.wsKey, c.offered, wsi);
  if (why) {
    handshakeFailed(wsi, 'websocket', true, c.response?.status ?? 0, why);
    c.fail(wsi, why);
    return;
  }
  if (wsi.callProtocolRaw(Reason.CLIENT_FILTER_PRE_ESTABLISH) !== 0) {
    handshakeFailed(wsi, 'websocket', true, c.response?.status ?? 0, 'refused by CLIENT_FILTER_PRE_ESTABLISH');
    c.fail(wsi, 'HS: refused by CLIENT_FILTER_PRE_ESTABLISH');
    return;
  }
  c.settle();
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  const r = c.response!;
  establishClientWs(wsi, r, r.status, rest.length ? Buffer.from(rest) : null);
}

export function establishHttp(wsi: Wsi, c: ClientConn, rest: Buffer): void {
  try {
    c.body = new HttpClientBody(c.response!, c.kind, wsi.vhost.limits);
  } catch (e) {
    c.fail(wsi, `HS: ${(e as Error).message}`);
    return;
  }
  c.settle();
  roleTransition(wsi, httpClientRole, c);
  c.armBodyTimeout(wsi);
  if (wsi.callProtocol(Reason.ESTABLISHED_CLIENT_HTTP)) return;
  if (rest.length && !wsi.closed) wsi.deliverRx(Buffer.from(rest));
  else c.maybeComplete(wsi);
}
