/**
 * Throw-away certificates for the TLS tests, made at test time with the
 * openssl CLI: a private CA, leaf certificates it signs (server or client,
 * RSA or ECDSA, optionally with an encrypted key) and self-signed ones.
 * Everything lives in one temporary directory that `cleanup()` removes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

export interface LeafOptions {
  /** DNS names for subjectAltName; the first is also the CN. Default `[cn]`. */
  dns?: string[];
  /** Add IP:127.0.0.1 to subjectAltName. Default true for server certificates. */
  loopbackIp?: boolean;
  /** ECDSA P-256 key instead of RSA 2048. */
  ec?: boolean;
  /** A client certificate (extendedKeyUsage clientAuth) instead of a server one. */
  client?: boolean;
  /** Encrypt the key (AES-256) with this passphrase. */
  passphrase?: string;
  /** Validity in days (> 0). Default 2. */
  days?: number;
}

export interface Pki {
  dir: string;
  /** The CA certificate (PEM) and its path. */
  ca: Issued;
  /** A certificate for `cn` signed by the CA. */
  issue(cn: string, opts?: LeafOptions): Issued;
  /** A self-signed certificate for `cn` (not signed by the CA). */
  selfSigned(cn: string, opts?: LeafOptions): Issued;
  cleanup(): void;
}

let serial = 1;

function ssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyArgs(ec: boolean | undefined): string[] {
  return ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
}

function read(certPath: string, keyPath: string): Issued {
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/** Make a CA in a fresh temporary directory. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-pki-'));
  const caKey = join(dir, 'ca.key.pem');
  const caCert = join(dir, 'ca.pem');
  ssl(['req', '-x509', ...keyArgs(true), '-nodes', '-days', '3', '-subj', '/CN=tslws test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', caKey, '-out', caCert]);

  const names = (cn: string, o: LeafOptions): string => {
    const dns = o.dns ?? [cn];
    const parts = dns.map((d) => `DNS:${d}`);
    if (o.loopbackIp ?? !o.client) parts.push('IP:127.0.0.1');
    return parts.join(',');
  };
  const keyOut = (o: LeafOptions) => (o.passphrase ? ['-passout', `pass:${o.passphrase}`] : ['-nodes']);
  const base = (cn: string) => join(dir, `${cn.replace(/[^\w.-]/g, '_')}-${serial++}`);

  return {
    dir,
    ca: read(caCert, caKey),
    issue(cn, o = {}) {
      const b = base(cn);
      const ext = `${b}.ext`;
      writeFileSync(ext, [
        `subjectAltName=${names(cn, o)}`,
        'basicConstraints=CA:FALSE',
        `extendedKeyUsage=${o.client ? 'clientAuth' : 'serverAuth'}`,
      ].join('\n') + '\n');
      ssl(['req', '-new', ...keyArgs(o.ec), ...keyOut(o), '-subj', `/CN=${cn}`, '-keyout', `${b}.key.pem`, '-out', `${b}.csr`]);
      ssl(['x509', '-req', '-in', `${b}.csr`, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(serial++),
        '-days', String(o.days ?? 2), '-extfile', ext, '-out', `${b}.pem`]);
      return read(`${b}.pem`, `${b}.key.pem`);
    },
    selfSigned(cn, o = {}) {
      const b = base(cn);
      ssl(['req', '-x509', ...keyArgs(o.ec), ...keyOut(o), '-days', String(o.days ?? 2), '-subj', `/CN=${cn}`,
        '-addext', `subjectAltName=${names(cn, o)}`, '-keyout', `${b}.key.pem`, '-out', `${b}.pem`]);
      return read(`${b}.pem`, `${b}.key.pem`);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
