/** The TLS part of every vhost: its secure context, and what TLS reports on connections. */
import { TLSSocket } from 'node:tls';
import { Vhost } from '../core/vhost.js';
import { Reason } from '../core/reasons.js';
import { hasOption, Option } from '../core/options.js';
import { extendApi, registerConnectionHooks, registerVhostFeature } from '../core/features.js';
import { ErrorCode, stateError, typeError } from '../core/errors.js';
import { VhostTls, wantsTls, type VhostTlsInfo, type VhostTlsSetup } from './vhost-tls.js';
import { reportSslInfo, type ClientCertVerification } from './accept.js';
import { CLOSE_NOTIFY_SENT, type SslInfoEvent } from './ssl-info.js';

// The inputs only this layer delivers; see ReasonInput.
declare module '../core/protocols.js' {
  interface ReasonInput {
    /** What the vhost's secure context is being built from: add CA certificates, a CRL, or the certificate itself. */
    [Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS]: VhostTlsSetup;
    /** The same object as for OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: give the private key with `setPrivateKey()`. */
    [Reason.OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY]: VhostTlsSetup;
    /** Node's verdict on the client's certificate. */
    [Reason.OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION]: ClientCertVerification;
    /** The event, lws's `struct lws_ssl_info`. */
    [Reason.SSL_INFO]: SslInfoEvent;
  }
}

declare module '../core/vhost.js' {
  interface VhostCreationInfo extends VhostTlsInfo {}
  interface Vhost {
    /** The TLS side of this vhost, null when it serves clear text. */
    readonly tls: VhostTls | null;
    /**
     * Replace this vhost's certificate material while running: new
     * handshakes use it, live connections keep theirs. With no argument the
     * same files are read again (after renewing them on disk). Throws, and
     * keeps the old certificate, if the new one does not load.
     *
     * ```ts
     * vhost.reloadTls();                                   // re-read the files
     * vhost.reloadTls({ sslCert: newPem, sslPrivateKey: newKey });
     * ```
     */
    reloadTls(update?: VhostTlsInfo): void;
  }
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const TLS_ONLY = [Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT, Option.ALLOW_NON_SSL_ON_SSL_PORT, Option.REDIRECT_HTTP_TO_HTTPS, Option.SSL_ECDH];

registerVhostFeature({
  name: 'tls',
  order: 30,
  create(vh, info) {
    const opts = vh.options;
    (vh as Writable<Vhost>).tls = wantsTls(info, opts)
      ? new VhostTls(vh.name, info, opts, (what, setup) => vh.callVhostProtocol(vh.protocols[0],
        what === 'requires-private-key' ? Reason.OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY : Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS, setup))
      : null;
    if (!vh.tls) {
      for (const o of TLS_ONLY) {
        if (hasOption(opts, o))
          throw typeError(ErrorCode.TLS_SETUP, `vhost ${vh.name}: a TLS option is set but the vhost has no certificate (sslCertFilepath / sslCert, or Option.CREATE_VHOST_SSL_CTX)`);
      }
    }
  },
});

// Ending a TLS connection sends close_notify (destroying it does not).
registerConnectionHooks({
  ending(wsi, t) {
    if (t instanceof TLSSocket && t.encrypted && wsi.vhost.tls) reportSslInfo(wsi, CLOSE_NOTIFY_SENT);
  },
});

extendApi(Vhost, {
  reloadTls(update?: VhostTlsInfo): void {
    if (!this.tls) throw stateError(ErrorCode.TLS_SETUP, `reloadTls: ${this} has no TLS`);
    this.tls.reload(update);
  },
});
