import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { NO_ROLE, type RoleOps } from '../core/role.js';
import type { Wsi } from '../core/wsi.js';
import type { Vhost, VhostSelector } from '../core/vhost.js';
import { Reason } from '../core/reasons.js';
import { PendingTimeout } from '../core/timeouts.js';
import { log } from '../core/log.js';
import { handshakeFailed } from '../core/diagnostics.js';
import { SslInfo, alertFromError, type SslInfoEvent } from './ssl-info.js';
import type { VhostTls } from './vhost-tls.js';

/** What the TLS accept needs from the listen socket it came from. */
export interface TlsListener extends VhostSelector {
  /** True when some vhost of the port asks for client certificates. */
  readonly anyRequestsCert: boolean;
}

/** Connections between accept and the end of the TLS handshake: nothing to read or write yet. */
export const tlsAcceptRole: RoleOps<null> = {
  ...NO_ROLE,
  name: 'tls-accept',
  timeout(wsi) {
    // The handshake did not finish in time: a failed handshake, as an alert would be.
    handshakeFailed(wsi, 'tls', false, 0, 'handshake timed out');
    wsi.close(false);
  },
};

/**
 * Deliver an SSL_INFO event to the vhost's first protocol when its mask
 * asks for it. A non-zero answer closes the connection at the next check,
 * as lws does (the event may come from inside the TLS machinery).
 */
export function reportSslInfo(wsi: Wsi, ev: SslInfoEvent): boolean {
  const tls = wsi.vhost.tls;
  if (!tls || !(tls.infoMask & ev.where)) return false;
  const p0 = wsi.vhost.protocols[0];
  let r: number | void;
  try {
    r = p0.callback(wsi, Reason.SSL_INFO, wsi.user, ev);
  } catch (e) {
    wsi.context.reportCallbackError(p0, Reason.SSL_INFO, e, wsi);
    r = -1;
  }
  if (typeof r !== 'number' || r === 0) return false;
  if (!wsi.closed) wsi.setTimeout(PendingTimeout.KILLED_BY_SSL_INFO, -1);
  return true;
}

/** The input of OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION. */
export interface ClientCertVerification {
  /** True when the peer's certificate verified against the vhost's CA (and CRL). */
  readonly authorized: boolean;
  /** OpenSSL's verdict when it did not, e.g. `UNABLE_TO_GET_ISSUER_CERT`, or `NO_CERTIFICATE`. */
  readonly error: string | null;
  /** The peer's certificate subject CN, if it sent one. */
  readonly subjectCN: string | undefined;
}

// Node fills `authorized` only on sockets a tls.Server made; a socket wrapped
// here has the same verdict on its handle, which is what tls.Server reads.
function verifyError(t: TLSSocket): string | null {
  const h = (t as unknown as { _handle?: { verifyError?: () => { code?: string } | null | undefined } })._handle;
  if (!h || typeof h.verifyError !== 'function') return 'UNVERIFIABLE';
  const e = h.verifyError();
  return e ? e.code ?? 'CERT_VERIFY_FAILED' : null;
}

/**
 * Start the server side of TLS on an accepted socket already held by
 * `wsi`: SNI picks the vhost and its certificate, ALPN answers from that
 * vhost's list, client certificates are checked against its policy, and
 * `onSecure` runs once the connection can carry HTTP.
 */
export function startTlsAccept(wsi: Wsi, raw: Socket, listener: TlsListener, onSecure: (wsi: Wsi) => void): TLSSocket | null {
  const first = wsi.vhost.tls as VhostTls;
  // SNI, ALPN and the end of the handshake all ask which vhost a name
  // means: work it out once per connection.
  let named: { name: string; vh: Vhost } | null = null;
  const pick = (name: string): Vhost => {
    if (named?.name !== name) named = { name, vh: listener.selectVhost(name) };
    return named.vh;
  };
  const t = new TLSSocket(raw, {
    isServer: true,
    secureContext: first.secureContext,
    requestCert: listener.anyRequestsCert,
    // Verdicts are applied per vhost once SNI has chosen it.
    rejectUnauthorized: false,
    SNICallback: (name, cb) => {
      cb(null, (pick(name).tls ?? first).secureContext);
    },
    ALPNCallback: ({ servername, protocols }) => {
      const vh = servername ? pick(servername) : listener.defaultVhost();
      const mine = vh?.tls?.alpn ?? first.alpn;
      // Our preference order; no overlap is refused with an alert (RFC 7301 3.2).
      return mine.find((p) => protocols.includes(p));
    },
  });
  wsi.setTransport(t);
  wsi.setTimeout(PendingTimeout.SSL_ACCEPT, wsi.vhost.limits.tlsAcceptTimeoutSecs);
  reportSslInfo(wsi, { where: SslInfo.HANDSHAKE_START, ret: 1 });
  t.on('error', (e: NodeJS.ErrnoException) => {
    const ev = alertFromError(e);
    if (ev && !wsi.closed) reportSslInfo(wsi, ev);
    const inHandshake = wsi.roleName === 'tls-accept';
    log.info('wsi %d: TLS %s: %s', wsi.id, inHandshake ? 'handshake failed' : 'error', e.code ?? e.message);
    if (inHandshake) handshakeFailed(wsi, 'tls', false, 0, e.code ?? e.message);
  });
  t.once('secure', () => {
    if (wsi.closed) return;
    wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
    // SNI decides the vhost of a TLS connection; without SNI it is the port's first.
    const name = typeof t.servername === 'string' ? t.servername : undefined;
    const vh = name ? pick(name) : listener.defaultVhost() ?? wsi.vhost;
    if (vh !== wsi.vhost) wsi.switchVhost(vh);
    if (reportSslInfo(wsi, { where: SslInfo.HANDSHAKE_DONE, ret: 1 })) {
      // Nothing may be served on a connection the user refused.
      wsi.close(false);
      return;
    }
    const tls = vh.tls;
    if (tls?.requestCert) {
      const peer = t.getPeerCertificate();
      const hasCert = !!peer && Object.keys(peer).length > 0;
      const error = hasCert ? verifyError(t) : 'NO_CERTIFICATE';
      const verdict: ClientCertVerification = { authorized: error === null, error, subjectCN: hasCert ? String(peer.subject?.CN ?? '') : undefined };
      if (wsi.callProtocol(Reason.OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION, verdict, vh.protocols[0])) return;
      if (tls.requireValidCert && error !== null) {
        log.notice('wsi %d: client certificate refused on %s: %s', wsi.id, vh, error);
        wsi.close(false);
        return;
      }
    }
    onSecure(wsi);
  });
  return t;
}
