import { readFileSync } from 'node:fs';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { hasOption, Option } from '../core/options.js';
import { ErrorCode, rangeError, stateError, typeError } from '../core/errors.js';

type Pem = string | Buffer;

/** The TLS members of a vhost's creation info (lws's `ssl_*` fields). */
export interface VhostTlsInfo {
  /** Server certificate (PEM, chain allowed) file; setting it (or `sslCert`) makes the vhost TLS. */
  sslCertFilepath?: string;
  /** Private key (PEM) file. */
  sslPrivateKeyFilepath?: string;
  /** Passphrase of an encrypted private key. */
  sslPrivateKeyPassword?: string;
  /** CA certificates (PEM) that client certificates are verified against. */
  sslCaFilepath?: string;
  /** Certificate revocation list (PEM) for client certificates. */
  sslCrlFilepath?: string;
  /** The certificate chain as PEM text, instead of a file. */
  sslCert?: Pem;
  /** The private key as PEM text, instead of a file. */
  sslPrivateKey?: Pem;
  /** CA certificates as PEM text, instead of a file. */
  sslCa?: Pem | Pem[];
  /** A CRL as PEM text, instead of a file. */
  sslCrl?: Pem | Pem[];
  /** OpenSSL cipher list for TLS 1.2 and lower, e.g. `ECDHE-ECDSA-AES128-GCM-SHA256:HIGH:!aNULL`. */
  sslCipherList?: string;
  /** TLS 1.3 ciphersuites, e.g. `TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256`. */
  tls13CipherList?: string;
  /** ECDHE curve(s), e.g. `prime256v1` or `X25519:P-384`; with `Option.SSL_ECDH` the default is `prime256v1`, else OpenSSL's automatic choice. */
  ecdhCurve?: string;
  /** Lowest TLS version accepted; default Node's (TLSv1.2). */
  tlsMinVersion?: SecureVersion;
  /** Highest TLS version offered; default TLSv1.3. */
  tlsMaxVersion?: SecureVersion;
  /** `SslInfo.*` bits: which SSL_INFO events connections of this vhost report. */
  sslInfoEventMask?: number;
  /** ALPN protocols offered, comma-separated, most preferred first; default `h2,http/1.1` (lws's; `h2` is left out when the vhost's `h2.enabled` is false). */
  alpn?: string;
}

/** The certificate material, gathered from files, PEM text and user code. */
interface Material {
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  ca: Buffer[];
  crl: Buffer[];
}

/**
 * The input of OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS and
 * OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY: lws hands user code the vhost's
 * `SSL_CTX`; tslws hands this, and builds the vhost's secure context from
 * what was put in once the callback returns.
 *
 * ```ts
 * case Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: // input: VhostTlsSetup
 *   input.setCertificate(myCertPem);
 *   input.setPrivateKey(myKeyPem);
 *   break;
 * ```
 */
export class VhostTlsSetup {
  /** @internal */
  constructor(readonly vhostName: string, m: Material) {
    this.#m = m;
  }

  #m: Material;

  /** True when a certificate was configured (by file, PEM or this object). */
  get hasCertificate(): boolean {
    return this.#m.cert !== undefined;
  }

  /** True when a private key was configured. */
  get hasPrivateKey(): boolean {
    return this.#m.key !== undefined;
  }

  /** Use this certificate chain (PEM). */
  setCertificate(pem: Pem): void {
    this.#m.cert = pemBuffer(pem, 'setCertificate');
  }

  /** Use this private key (PEM), with its passphrase if encrypted. */
  setPrivateKey(pem: Pem, passphrase?: string): void {
    this.#m.key = pemBuffer(pem, 'setPrivateKey');
    if (passphrase !== undefined) this.#m.passphrase = passphrase;
  }

  /** Trust this CA (PEM) for client certificates. */
  addCaCertificate(pem: Pem): void {
    this.#m.ca.push(pemBuffer(pem, 'addCaCertificate'));
  }

  /** Add a certificate revocation list (PEM). */
  addCrl(pem: Pem): void {
    this.#m.crl.push(pemBuffer(pem, 'addCrl'));
  }
}

function pemBuffer(pem: Pem, what: string): Buffer {
  if (typeof pem !== 'string' && !Buffer.isBuffer(pem)) throw typeError(ErrorCode.TLS_SETUP, `${what}: PEM text (string or Buffer) expected`);
  return typeof pem === 'string' ? Buffer.from(pem) : pem;
}

function readPem(vhost: string, field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw stateError(ErrorCode.TLS_SETUP, `vhost ${vhost}: cannot read ${field} ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
}

const list = (v: Pem | Pem[] | undefined): Pem[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** True when the info asks for a TLS vhost. */
export function wantsTls(info: VhostTlsInfo, options: number): boolean {
  return info.sslCertFilepath !== undefined || info.sslCert !== undefined || hasOption(options, Option.CREATE_VHOST_SSL_CTX);
}

const TLS13_DEFAULTS = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_')).join(':');
const ALPN_TOKEN = /^[\x21-\x7e]{1,255}$/;

/** Called with the setup object for the OPENSSL_* reasons; returns the callback's answer. */
export type TlsSetupHook = (reason: 'requires-private-key' | 'load-extra-server-verify-certs', setup: VhostTlsSetup) => number;

/**
 * A vhost's TLS side: its secure context (replaceable while running), the
 * ALPN list, client-certificate policy and which SSL_INFO events to report.
 */
export class VhostTls {
  /** ALPN protocols offered, most preferred first (lws's default `h2,http/1.1`). */
  alpn: readonly string[];
  /** Ask peers for a certificate. */
  readonly requestCert: boolean;
  /** Refuse peers whose certificate is missing or does not verify. */
  readonly requireValidCert: boolean;
  readonly allowNonTls: boolean;
  readonly redirectToHttps: boolean;
  readonly sts: boolean;
  readonly infoMask: number;
  #secureContext: SecureContext;
  #base: SecureContextOptions;
  #info: VhostTlsInfo;
  #vhostName: string;
  #hook: TlsSetupHook;

  constructor(vhostName: string, info: VhostTlsInfo, options: number, hook: TlsSetupHook) {
    this.#vhostName = vhostName;
    this.#hook = hook;
    this.#info = { ...info };
    const alpn = (info.alpn ?? 'h2,http/1.1').split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const a of alpn) if (!ALPN_TOKEN.test(a)) throw typeError(ErrorCode.INVALID_OPTION, `vhost ${vhostName}: bad ALPN protocol name ${JSON.stringify(a)}`);
    if (!alpn.length) throw typeError(ErrorCode.INVALID_OPTION, `vhost ${vhostName}: alpn lists no protocol`);
    this.alpn = alpn;
    this.requireValidCert = hasOption(options, Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT) && !hasOption(options, Option.PEER_CERT_NOT_REQUIRED);
    this.requestCert = hasOption(options, Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT);
    this.allowNonTls = hasOption(options, Option.ALLOW_NON_SSL_ON_SSL_PORT);
    this.redirectToHttps = hasOption(options, Option.REDIRECT_HTTP_TO_HTTPS);
    this.sts = hasOption(options, Option.STS);
    const mask = info.sslInfoEventMask ?? 0;
    if (!Number.isInteger(mask) || mask < 0) throw rangeError(ErrorCode.INVALID_OPTION, `vhost ${vhostName}: sslInfoEventMask must be a non-negative integer`);
    this.infoMask = mask;

    let ciphers: string | undefined;
    if (info.sslCipherList !== undefined || info.tls13CipherList !== undefined) {
      // Node takes one list for both; lws keeps TLS 1.3 suites apart and
      // leaves them at their defaults when only the 1.2 list is given.
      const tls12 = info.sslCipherList ?? DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_')).join(':');
      ciphers = `${info.tls13CipherList ?? TLS13_DEFAULTS}:${tls12}`;
    }
    const ecdhCurve = info.ecdhCurve ?? (hasOption(options, Option.SSL_ECDH) ? 'prime256v1' : undefined);
    this.#base = {
      ciphers,
      ecdhCurve,
      minVersion: info.tlsMinVersion,
      maxVersion: info.tlsMaxVersion,
      honorCipherOrder: info.sslCipherList !== undefined || info.tls13CipherList !== undefined,
      // Session resumption across connections of this vhost only.
      sessionIdContext: `tslws:${vhostName}`.slice(0, 32),
    };

    this.#secureContext = this.#build(this.#material(this.#info));
  }

  /** Files and PEM text, then whatever user code adds at the OPENSSL_* callbacks. */
  #material(info: VhostTlsInfo): Material {
    const m = this.#gather(info);
    const setup = new VhostTlsSetup(this.#vhostName, m);
    if (m.cert && !m.key && this.#hook('requires-private-key', setup) !== 0)
      throw stateError(ErrorCode.TLS_SETUP, `vhost ${this.#vhostName}: OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY refused`);
    if (this.#hook('load-extra-server-verify-certs', setup) !== 0)
      throw stateError(ErrorCode.TLS_SETUP, `vhost ${this.#vhostName}: OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS failed`);
    return m;
  }

  /** The context new handshakes use. */
  get secureContext(): SecureContext {
    return this.#secureContext;
  }

  /**
   * Build a new secure context from `update` over the current settings
   * (with no argument: re-read the same files). Live connections keep
   * theirs; new handshakes get the new one. Throws, changing nothing, if
   * the new material does not load. OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS
   * runs again, so user code that supplies certificates can supply new ones.
   */
  reload(update: VhostTlsInfo = {}): void {
    for (const k of Object.keys(update)) {
      if (!MATERIAL_KEYS.has(k as keyof VhostTlsInfo))
        throw typeError(ErrorCode.INVALID_ARGUMENT, `reloadTls: ${k} cannot be changed while running; only ${[...MATERIAL_KEYS].join(', ')}`);
    }
    const next: VhostTlsInfo = { ...this.#info, ...update };
    // A file and PEM text for the same thing: the one given now wins.
    for (const [file, pem] of PAIRS) {
      if (file in update && !(pem in update)) delete next[pem];
      if (pem in update && !(file in update)) delete next[file];
    }
    this.#secureContext = this.#build(this.#material(next));
    this.#info = next;
  }

  #gather(info: VhostTlsInfo): Material {
    const v = this.#vhostName;
    const m: Material = { ca: [], crl: [] };
    if (info.sslCertFilepath !== undefined) m.cert = readPem(v, 'sslCertFilepath', info.sslCertFilepath);
    else if (info.sslCert !== undefined) m.cert = pemBuffer(info.sslCert, 'sslCert');
    if (info.sslPrivateKeyFilepath !== undefined) m.key = readPem(v, 'sslPrivateKeyFilepath', info.sslPrivateKeyFilepath);
    else if (info.sslPrivateKey !== undefined) m.key = pemBuffer(info.sslPrivateKey, 'sslPrivateKey');
    m.passphrase = info.sslPrivateKeyPassword;
    if (info.sslCaFilepath !== undefined) m.ca.push(readPem(v, 'sslCaFilepath', info.sslCaFilepath));
    for (const c of list(info.sslCa)) m.ca.push(pemBuffer(c, 'sslCa'));
    if (info.sslCrlFilepath !== undefined) m.crl.push(readPem(v, 'sslCrlFilepath', info.sslCrlFilepath));
    for (const c of list(info.sslCrl)) m.crl.push(pemBuffer(c, 'sslCrl'));
    return m;
  }

  #build(m: Material): SecureContext {
    const v = this.#vhostName;
    if (!m.cert) throw stateError(ErrorCode.TLS_SETUP, `vhost ${v}: TLS needs a certificate: give sslCertFilepath (or sslCert), or set one at OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS`);
    if (!m.key) throw stateError(ErrorCode.TLS_SETUP, `vhost ${v}: TLS needs the certificate's private key: give sslPrivateKeyFilepath (or sslPrivateKey)`);
    if (this.requestCert && !m.ca.length) throw stateError(ErrorCode.TLS_SETUP, `vhost ${v}: client certificates are required but no CA is given to verify them (sslCaFilepath or sslCa)`);
    try {
      return createSecureContext({
        ...this.#base,
        cert: m.cert,
        key: m.key,
        passphrase: m.passphrase,
        ca: m.ca.length ? m.ca : undefined,
        crl: m.crl.length ? m.crl : undefined,
      });
    } catch (e) {
      const msg = (e as Error).message;
      const hint = /bad decrypt|bad password|PEM_read_bio_PrivateKey|interrupted or cancelled/i.test(msg)
        ? ' (wrong or missing sslPrivateKeyPassword?)' : '';
      throw stateError(ErrorCode.TLS_SETUP, `vhost ${v}: cannot set up TLS: ${msg}${hint}`);
    }
  }
}

const PAIRS: ReadonlyArray<readonly [keyof VhostTlsInfo, keyof VhostTlsInfo]> = [
  ['sslCertFilepath', 'sslCert'], ['sslPrivateKeyFilepath', 'sslPrivateKey'], ['sslCaFilepath', 'sslCa'], ['sslCrlFilepath', 'sslCrl'],
];

const MATERIAL_KEYS = new Set<keyof VhostTlsInfo>([
  'sslCertFilepath', 'sslPrivateKeyFilepath', 'sslPrivateKeyPassword', 'sslCaFilepath', 'sslCrlFilepath',
  'sslCert', 'sslPrivateKey', 'sslCa', 'sslCrl',
]);
