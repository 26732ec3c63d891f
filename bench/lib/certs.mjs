/**
 * Self-signed certificates for the TLS benchmarks, made at run time with
 * the openssl CLI into a temporary directory (none is ever committed).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Fatal } from './proc.mjs';

export const CERT_KINDS = {
  rsa: { label: 'RSA 2048', newkey: ['-newkey', 'rsa:2048'] },
  ec: { label: 'ECDSA P-256', newkey: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] },
};

/** `openssl version`, or a Fatal error saying how to get it. */
export function opensslVersion() {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Fatal('the openssl command is needed to make the certificates (apt-get install openssl)');
  return r.stdout.trim();
}

/**
 * A self-signed certificate for localhost / 127.0.0.1, valid 2 days, and
 * its unencrypted key, written as DIR/NAME.pem and DIR/NAME.key; `kind` is
 * a key of CERT_KINDS. Resolves to { label, certFile, keyFile }.
 */
export function makeCert(dir, name, kind = 'rsa') {
  const c = CERT_KINDS[kind];
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const r = spawnSync('openssl', ['req', '-x509', ...c.newkey, '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Fatal(`openssl could not make the ${c.label} certificate:\n${r.stderr}`);
  return { label: c.label, certFile, keyFile };
}
