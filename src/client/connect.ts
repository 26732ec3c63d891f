import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, checkServerIdentity, type TLSSocket } from 'node:tls';
import type { Context } from '../core/context.js';
import { Wsi } from '../core/wsi.js';
import { roleTransition } from '../core/role.js';
import { ErrorCode, rangeError, typeError } from '../core/errors.js';
import { Reason } from '../core/reasons.js';
import { PendingTimeout } from '../core/timeouts.js';
import { wireSocket, unwireSocket } from '../core/transport.js';
import { log } from '../core/log.js';
import { poolKey } from './keepalive-pool.js';
import type { ClientConnectInfo, ClientSslOptions } from './info.js';
import { ClientConn } from './client-conn.js';
import { clientConnectingRole } from './connecting-role.js';
import { rawRole } from '../roles/raw/role-raw.js';
import { buildRequest, checkHeader, defaultHost, HeaderLines, newWsKey } from './request.js';
import { checkClientSetting, clientNegotiateOffer } from '../roles/ws/deflate/handoff.js';
import { h2Mode, originsOf } from './h2-origins.js';

const METHOD = /^[A-Z][A-Z0-9_-]*$/;
// Certificate errors that "allow self-signed" lets through.
const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

/**
 * Open a client connection (lws's `lws_client_connect_via_info`): a
 * WebSocket by default, an HTTP request when `method` is an HTTP method,
 * a raw socket when it is `'RAW'`. The wsi returned is only trying: success
 * is CLIENT_ESTABLISHED / ESTABLISHED_CLIENT_HTTP / RAW_ADOPT, failure is
 * CLIENT_CONNECTION_ERROR with a reason string, both on the callback of
 * `localProtocolName` (default the vhost's first protocol). Mistakes in
 * `info` itself throw.
 *
 * ```ts
 * const pwsi: { wsi?: Wsi } = {};
 * context.clientConnect({ address: 'localhost', port: 7681, path: '/',
 *   protocol: 'lws-echo', localProtocolName: 'my-client', pwsi });
 * // in my-client's callback:
 * //   Reason.CLIENT_ESTABLISHED → wsi.callbackOnWritable()
 * //   Reason.CLIENT_WRITEABLE   → wsi.write(Buffer.from('hi'), Write.TEXT)
 * //   Reason.CLIENT_RECEIVE     → input is the data
 * ```
 */
export function clientConnect(info: ClientConnectInfo): Wsi {
  const context: Context | undefined = info.context ?? info.vhost?.context;
  if (!context) throw typeError(ErrorCode.INVALID_OPTION, 'clientConnect: info.context (or info.vhost) is required');
  const vh = info.vhost ?? context.vhosts[0];
  if (!vh) throw typeError(ErrorCode.INVALID_OPTION, 'clientConnect: the context has no vhost; pass info.vhost');
  const protocol = info.localProtocolName !== undefined ? vh.protocolByName(info.localProtocolName) : vh.protocols[0];
  if (!protocol) throw typeError(ErrorCode.INVALID_OPTION, `clientConnect: ${vh} has no protocol "${info.localProtocolName}"`);
  if (typeof info.address !== 'string' || !info.address) throw typeError(ErrorCode.INVALID_OPTION, 'clientConnect: info.address is required');
  const method = info.method === undefined ? 'WS' : info.method.toUpperCase();
  if (method !== 'WS' && !METHOD.test(method)) throw typeError(ErrorCode.INVALID_OPTION, `clientConnect: bad method ${JSON.stringify(info.method)}`);
  const secs = info.connectTimeoutSecs ?? 5;
  if (typeof secs !== 'number' || !Number.isFinite(secs) || !(secs > 0))
    throw rangeError(ErrorCode.INVALID_OPTION, `clientConnect: connectTimeoutSecs must be > 0 and finite, got ${String(secs)}`);
  if (info.bodyLength !== undefined && (!Number.isSafeInteger(info.bodyLength) || info.bodyLength < 0))
    throw rangeError(ErrorCode.INVALID_OPTION, 'clientConnect: bodyLength must be an integer >= 0');
  for (const [k, v] of Object.entries(info.headers ?? {})) checkHeader(k, v);
  checkClientSetting(info.perMessageDeflate, vh.wsOptions.maxMessageSize);
  if (info.keepAlive && (method === 'WS' || method === 'RAW'))
    throw typeError(ErrorCode.INVALID_OPTION, 'clientConnect: keepAlive is for HTTP requests (give an HTTP method)');
  if (info.path !== undefined && !/^[\x21-\x7e]+$/.test(info.path)) throw typeError(ErrorCode.INVALID_OPTION, `clientConnect: bad path ${JSON.stringify(info.path)}`);
  if (info.http2 !== undefined && info.http2 !== 'prefer' && info.http2 !== 'require' && info.http2 !== 'forbid')
    throw typeError(ErrorCode.INVALID_OPTION, `clientConnect: http2 must be 'prefer', 'require' or 'forbid', got ${JSON.stringify(info.http2)}`);
  if (info.http2 === 'require' && method === 'RAW') throw typeError(ErrorCode.INVALID_OPTION, 'clientConnect: http2 is for HTTP requests and WebSockets, not RAW');

  const bodySecs = info.bodyTimeoutSecs ?? 20;
  if (typeof bodySecs !== 'number' || !Number.isFinite(bodySecs) || !(bodySecs > 0))
    throw rangeError(ErrorCode.INVALID_OPTION, `clientConnect: bodyTimeoutSecs must be > 0 and finite, got ${String(bodySecs)}`);
  const hops = info.followRedirects ?? 0;
  if (!Number.isSafeInteger(hops) || hops < 0) throw rangeError(ErrorCode.INVALID_OPTION, 'clientConnect: followRedirects must be an integer >= 0');
  if (info.ssl && typeof info.ssl === 'object' && (info.ssl.cert === undefined) !== (info.ssl.key === undefined))
    throw typeError(ErrorCode.INVALID_OPTION, 'clientConnect: ssl.cert and ssl.key go together');

  const c = new ClientConn(method, info, secs, bodySecs, method === 'WS' ? newWsKey() : '', info.protocol);
  const wsi = new Wsi(context, vh, protocol, null, null, info.userdata === undefined);
  if (info.userdata !== undefined) wsi.user = info.userdata;
  roleTransition(wsi, clientConnectingRole, c);
  // Known to the user before anything can be reported about it.
  if (info.pwsi) info.pwsi.wsi = wsi;
  if (!context.adoptClientWsi(wsi)) {
    c.fail(wsi, context.destroyed ? 'the context is being destroyed' : `connection limit ${context.maxConnections} reached`);
    return wsi;
  }
  wsi.callProtocol(Reason.WSI_CREATE, undefined, vh.protocols[0]);
  if (wsi.closed) return wsi;
  openSocket(wsi, c);
  return wsi;
}

/**
 * Start (or, after a redirect, restart) the attempt described by `c.info`:
 * TCP, TLS if asked, then the request once connected.
 */
export function openSocket(wsi: Wsi, c: ClientConn): void {
  const info = c.info;
  // Only reusePooled below makes this a reused connection: a fresh socket is never retried as a stale one.
  c.reused = false;
  wsi.setTimeout(PendingTimeout.AWAITING_CONNECT_RESPONSE, c.timeoutSecs);
  // The vhost's initClientSsl settings are the defaults a connection's own override.
  const vhSsl = wsi.vhost.clientSsl;
  const ssl = info.ssl && vhSsl ? { ...vhSsl, ...(info.ssl === true ? {} : info.ssl) } : info.ssl;
  // From the settings this socket is really opened with; kept for parking it afterwards.
  c.poolKey = info.keepAlive ? poolKey(info, ssl) : '';
  const tls = ssl !== undefined && ssl !== false;
  let mode = h2Mode(c, tls);
  const h2Key = mode === 'off' ? '' : `${poolKey(info, ssl)}\0${mode}`;
  if (mode !== 'off') {
    const j = originsOf(wsi.vhost).join(wsi, c, h2Key);
    if (j === 'joined') return;
    if (j === 'h1') {
      if (info.http2 === 'require') {
        c.fail(wsi, `HS: ${c.address}:${c.port} does not speak HTTP/2 (its ALPN chose http/1.1)`);
        return;
      }
      mode = 'off';
    }
  }
  if (info.keepAlive && !c.noReuse && mode === 'off' && reusePooled(wsi, c, tls)) return;
  let socket: Socket;
  try {
    const base = { host: info.address, port: info.port, allowHalfOpen: true, noDelay: true, highWaterMark: wsi.vhost.limits.txHighWater,
      localAddress: wsi.vhost.clientLocalAddress };
    socket = ssl ? tlsConnect({ ...base, ...tlsOptions(info.address, info.host, ssl, mode === 'alpn') }) : netConnect(base);
    wsi.context.tuneSocket(socket);
  } catch (e) {
    // Bad port, unreadable key and the like: fails now, which is why pwsi exists.
    c.fail(wsi, `connect to ${info.address}:${info.port} failed: ${(e as Error).message}`);
    return;
  }
  wsi.setTransport(socket);
  // Before wireSocket's handler, which closes the wsi: keep the cause for the report.
  socket.on('error', c.noteError);
  wireSocket(wsi, socket);
  socket.once('connect', () => {
    wsi.notePeer(socket);
    if (ssl && c.phase === 'tcp') c.phase = 'tls';
  });
  socket.once(ssl ? 'secureConnect' : 'connect', () => {
    if (wsi.closed || wsi.socket !== socket) return;
    const why = ssl ? tlsRefusal(socket as TLSSocket, info.address, info.host, ssl) : null;
    if (why) {
      c.fail(wsi, `TLS handshake with ${info.address}:${info.port} failed: ${why}`);
      return;
    }
    if (mode !== 'off') {
      const alpn = ssl ? (socket as TLSSocket).alpnProtocol : 'h2';
      if (alpn === 'h2') {
        originsOf(wsi.vhost).upgraded(wsi, c, socket, h2Key);
        return;
      }
      originsOf(wsi.vhost).chose1(h2Key, c);
      if (info.http2 === 'require') {
        c.fail(wsi, `HS: ${info.address}:${info.port} did not choose HTTP/2 by ALPN (got ${alpn || 'nothing'})`);
        return;
      }
    }
    connected(wsi, c, info, tls);
  });
}

/** Send the request on a pooled connection to the same target, if one is parked. */
function reusePooled(wsi: Wsi, c: ClientConn, tls: boolean): boolean {
  const s = wsi.vhost.clientPool.take(c.poolKey);
  if (!s) return false;
  c.reused = true;
  wsi.setTransport(s);
  s.on('error', c.noteError);
  wireSocket(wsi, s);
  wsi.notePeer(s);
  log.debug('client wsi %d: reusing a kept connection to %s:%d', wsi.id, c.address, c.port);
  // Never synchronously inside clientConnect: the user gets the wsi first.
  setImmediate(() => {
    if (!wsi.closed && wsi.socket === s) connected(wsi, c, c.info, tls);
  });
  return true;
}

/**
 * Let go of the wsi's socket without any callback (a stale kept connection
 * being retried, a redirect being followed): our handlers off, a sink for
 * late errors, destroyed.
 */
export function discardSocket(wsi: Wsi, c: ClientConn): void {
  if (c.h2 || wsi.parent) {
    // A stream of an HTTP/2 connection: reset it; the connection stays for others.
    const t = wsi.transport;
    c.h2 = null;
    t?.destroy();
    wsi.context.reparentWsi(wsi, null);
    wsi.setTransport(null);
    return;
  }
  const old = wsi.socket;
  if (old) {
    unwireSocket(old);
    old.off('error', c.noteError);
    old.on('error', () => {});
    old.destroy();
  }
  wsi.setTransport(null);
}

/**
 * A kept connection the server had closed meanwhile ended (or was reset)
 * before any answer: send the request once more, on a new connection.
 */
export function retryFresh(wsi: Wsi, c: ClientConn): boolean {
  if (!c.reused || c.noReuse || c.headBuf || c.settled || c.uploadLeft > 0) return false;
  log.debug('client wsi %d: kept connection to %s:%d closed before answering; retrying on a new one', wsi.id, c.address, c.port);
  discardSocket(wsi, c);
  wsi.peerEnded = false;
  c.reused = false;
  c.noReuse = true;
  c.phase = 'tcp';
  c.lastError = null;
  openSocket(wsi, c);
  return true;
}

/** The name the server's certificate must carry: `host` (without port or brackets), else the address. */
function serverName(address: string, host: string | undefined): string {
  return (host ?? address).replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

/**
 * With allowSelfSigned or allowExpired Node verifies without refusing; let
 * through only the errors those flags name, and then check the name too
 * (Node skips that once the chain has failed).
 */
function tlsRefusal(t: TLSSocket, address: string, host: string | undefined, ssl: true | ClientSslOptions): string | null {
  if (ssl === true || (!ssl.allowSelfSigned && !ssl.allowExpired) || t.authorized) return null;
  const err = String(t.authorizationError ?? 'not authorized');
  const allowed = (ssl.allowSelfSigned && SELF_SIGNED.has(err)) || (ssl.allowExpired && err === 'CERT_HAS_EXPIRED');
  if (!allowed) return err;
  if (ssl.skipHostnameCheck) return null;
  const name = serverName(address, host);
  const bad = checkServerIdentity(name, t.getPeerCertificate());
  return bad ? bad.message : null;
}

function tlsOptions(address: string, host: string | undefined, ssl: true | ClientSslOptions, h2: boolean) {
  const o = ssl === true ? {} : ssl;
  const name = serverName(address, host);
  return {
    servername: isIP(name) ? undefined : name,
    rejectUnauthorized: !o.allowSelfSigned && !o.allowExpired,
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    passphrase: o.passphrase,
    crl: o.crl,
    ALPNProtocols: h2 ? ['h2', 'http/1.1'] : ['http/1.1'],
    checkServerIdentity: o.skipHostnameCheck ? () => undefined : (h: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(name || h, cert),
  };
}

/** TCP (and TLS) is up: become RAW, or send the request and wait for the answer. */
function connected(wsi: Wsi, c: ClientConn, info: ClientConnectInfo, tls: boolean): void {
  const s = wsi.socket as Socket;
  if (c.kind === 'RAW') {
    c.settle();
    wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
    roleTransition(wsi, rawRole, null);
    wsi.callProtocol(Reason.RAW_ADOPT);
    return;
  }
  c.phase = 'handshake';
  const extra = new HeaderLines(wsi.vhost.limits.maxHeaderBytes);
  if (wsi.callProtocolRaw(Reason.CLIENT_APPEND_HANDSHAKE_HEADER, extra) !== 0) {
    c.fail(wsi, 'HS: refused by CLIENT_APPEND_HANDSHAKE_HEADER');
    return;
  }
  let user = '';
  for (const [k, v] of Object.entries(info.headers ?? {})) user += `${k}: ${v}\r\n`;
  const head = buildRequest({
    method: c.kind === 'WS' ? 'GET' : c.kind,
    path: info.path || '/',
    host: info.host ?? defaultHost(info.address, info.port, tls),
    origin: info.origin,
    ws: c.kind === 'WS' ? { key: c.wsKey, protocol: info.protocol, extensions: clientNegotiateOffer(wsi, info.perMessageDeflate) } : undefined,
    userHeaders: user,
    appended: extra.text,
    bodyLength: c.kind === 'WS' ? undefined : info.bodyLength,
  });
  s.write(head, 'latin1');
  if (c.kind !== 'WS' && info.bodyLength !== undefined && info.bodyLength > 0) {
    c.uploadLeft = info.bodyLength;
    wsi.callbackOnWritable();
  }
}
