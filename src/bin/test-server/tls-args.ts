import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { Option } from '../../core/options.js';
import type { VhostCreationInfo } from '../../core/vhost.js';
import { makeSelfSignedCert } from '../../tls/self-signed.js';
import { userCacheDir } from '../cache-dir.js';

/** The test server's TLS switches, as the C test server spells them. */
export interface TlsArgs {
  ssl?: boolean;
  allowNonSsl?: boolean;
  cert?: string;
  key?: string;
  ca?: string;
  verifyClient?: boolean;
  crl?: string;
}

/** Where a certificate made on first run is kept between runs. */
export function certCacheDir(): string {
  return userCacheDir('test-server');
}

/**
 * The certificate to use when `-s` comes without `-C`/`-K`: the one made
 * on an earlier run if it is still valid for a day, else a new one.
 */
export function cachedSelfSigned(dir = certCacheDir()): { certPath: string; keyPath: string; made: boolean } {
  const certPath = join(dir, 'localhost.pem');
  const keyPath = join(dir, 'localhost.key.pem');
  try {
    if (existsSync(certPath) && existsSync(keyPath)) {
      const x = new X509Certificate(readFileSync(certPath));
      if (Date.parse(x.validTo) > Date.now() + 86_400_000) return { certPath, keyPath, made: false };
    }
  } catch {
    // unreadable or not a certificate: make a new one
  }
  const { cert, key } = makeSelfSignedCert({ commonName: 'localhost', days: 365 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, key, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, cert);
  return { certPath, keyPath, made: true };
}

/**
 * Vhost settings for the switches, or an error message. `-s` also
 * redirects clear text on the port to https, as the C test server does;
 * `-a` serves clear text there instead; `-v` asks for a client
 * certificate checked against `-A`.
 */
export function tlsVhostInfo(a: TlsArgs, note: (line: string) => void): Partial<VhostCreationInfo> | string {
  const wantTls = !!(a.ssl || a.verifyClient);
  if (!wantTls) {
    for (const [flag, v] of [['-C', a.cert], ['-K', a.key], ['-A', a.ca], ['-R', a.crl], ['-a', a.allowNonSsl]] as const)
      if (v) return `${flag} needs -s (TLS)`;
    return {};
  }
  if (!!a.cert !== !!a.key) return '-C and -K go together (certificate and its key)';
  if (a.verifyClient && !a.ca) return '-v needs -A: the CA that client certificates are checked against';
  let certPath = a.cert;
  let keyPath = a.key;
  if (!certPath || !keyPath) {
    const c = cachedSelfSigned();
    certPath = c.certPath;
    keyPath = c.keyPath;
    note(`${c.made ? 'made a self-signed certificate' : 'using the self-signed certificate'} ${certPath} (browsers will ask you to accept it)`);
  }
  let options = a.allowNonSsl ? Option.ALLOW_NON_SSL_ON_SSL_PORT : Option.REDIRECT_HTTP_TO_HTTPS;
  if (a.verifyClient) options |= Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT;
  return {
    sslCertFilepath: certPath,
    sslPrivateKeyFilepath: keyPath,
    sslCaFilepath: a.ca,
    sslCrlFilepath: a.crl,
    options,
  };
}
