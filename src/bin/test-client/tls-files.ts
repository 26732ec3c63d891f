import { readFileSync } from 'node:fs';
import { ErrorCode, stateError, typeError } from '../../core/errors.js';
import type { ClientSslOptions } from '../../index.js';
import type { Target } from './target.js';

/** `-C` / `-K` / `-A` / `-R`: PEM files for the client's TLS. */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
  crl?: string;
}

/** The files' contents. */
export type TlsMaterial = Pick<ClientSslOptions, 'cert' | 'key' | 'ca' | 'crl'>;

const OPTION: Readonly<Record<keyof TlsFiles, string>> = { cert: '-C', key: '-K', ca: '-A', crl: '-R' };

/**
 * The files' contents, read once. Throws `TSLWS_INVALID_OPTION` for -C without
 * -K (or -K without -C) and `TSLWS_TLS_SETUP` naming the option of a file
 * that cannot be read.
 */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  if ((files.cert === undefined) !== (files.key === undefined)) throw typeError(ErrorCode.INVALID_OPTION, '-C (client certificate) and -K (its key) go together');
  const out: TlsMaterial = {};
  for (const k of Object.keys(OPTION) as Array<keyof TlsFiles>) {
    const path = files[k];
    if (path === undefined) continue;
    try {
      out[k] = readFileSync(path);
    } catch (e) {
      throw stateError(ErrorCode.TLS_SETUP, `cannot read ${OPTION[k]} file ${path}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * The `ssl` of every connection the test client makes: false without TLS;
 * with `-s` self-signed certificates and any name pass (as lws's
 * LCCSCF_ALLOW_SELFSIGNED | SKIP_SERVER_CERT_HOSTNAME_CHECK); with `-S`
 * everything is checked.
 */
export function sslFor(target: Target, material: TlsMaterial): ClientSslOptions | false {
  if (!target.tls) return false;
  return { allowSelfSigned: target.allowSelfSigned, skipHostnameCheck: target.allowSelfSigned, ...material };
}
