/**
 * Helpers for the TLS tests: run curl and `openssl s_client` without
 * blocking the event loop, and make one HTTPS request over node:tls
 * reporting what the handshake settled. Every wait is bounded.
 */
import { execFile } from 'node:child_process';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Reason, type Protocol } from '../../src/index.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program with stdin closed; resolves with its exit code and output. */
export function run(cmd: string, args: string[], timeoutMs = 10000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The subject CN of the certificate a TLS server presents for `servername`, as `openssl s_client` sees it. */
export async function presentedCN(port: number, servername: string | null): Promise<string> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`];
  if (servername) args.push('-servername', servername);
  else args.push('-noservername');
  const r = await run('openssl', args);
  const m = /^subject=.*?CN ?= ?([^,\n/]+)/m.exec(r.stdout);
  if (!m) throw new Error(`openssl s_client to ${servername ?? '(no SNI)'} showed no subject (exit ${r.code}): ${r.stderr.slice(0, 400)}`);
  return m[1].trim();
}

export interface TlsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  cipher: string;
  version: string | null;
  alpn: string | false;
  peerCN: string;
}

/** One GET over TLS with node:tls (connection: close); rejects on a failed handshake. */
export function tlsGet(port: number, opts: ConnectionOptions & { path?: string; hostHeader?: string }, timeoutMs = 5000): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    // `path` is the request's, not a UNIX socket's for tls.connect.
    const { path, hostHeader, ...tlsOpts } = opts;
    const s = tlsConnect({ host: '127.0.0.1', port, ...tlsOpts }, () => {
      s.write(`GET ${path ?? '/'} HTTP/1.1\r\nHost: ${hostHeader ?? opts.servername ?? 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('tlsGet: no complete answer in time'));
    }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('end', () => {
      clearTimeout(t);
      const txt = Buffer.concat(chunks).toString('latin1');
      if (!/^HTTP\/1\.\d \d{3}/.test(txt)) {
        s.destroy();
        reject(new Error(`tlsGet: closed without an HTTP answer (${JSON.stringify(txt.slice(0, 60))})`));
        return;
      }
      const [head, ...rest] = txt.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        status: Number(lines[0].split(' ')[1]),
        headers,
        body: rest.join('\r\n\r\n'),
        cipher: s.getCipher()?.name ?? '',
        version: s.getProtocol(),
        alpn: s.alpnProtocol ?? false,
        peerCN: String(s.getPeerCertificate()?.subject?.CN ?? ''),
      });
      s.destroy();
    });
  });
}

/** A TLS connection to 127.0.0.1:`port`, resolved once the handshake is done; rejects on an error or after `timeoutMs`. */
export function tlsOpen(port: number, opts: ConnectionOptions, timeoutMs = 5000): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...opts });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`tlsOpen: no TLS handshake with port ${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(t);
      resolve(s);
    });
    // Left on after the handshake: a later error ends the socket instead of going unhandled.
    s.once('error', (e) => {
      clearTimeout(t);
      s.destroy();
      reject(e);
    });
  });
}

/** What `s` sends until it includes `marker` (text); rejects on an error, an early close or after `timeoutMs`. */
export function readUntil(s: TLSSocket, marker: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const done = (e: Error | null) => {
      clearTimeout(t);
      s.off('data', onData).off('error', onError).off('close', onClose);
      if (e) reject(e);
      else resolve(got);
    };
    const t = setTimeout(() => done(new Error(`readUntil: no ${JSON.stringify(marker)} in ${timeoutMs} ms; got ${JSON.stringify(got.slice(0, 200))}`)), timeoutMs);
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.includes(marker)) done(null);
    };
    const onError = (e: Error) => done(e);
    const onClose = () => done(new Error(`readUntil: closed before ${JSON.stringify(marker)}; got ${JSON.stringify(got.slice(0, 200))}`));
    s.on('data', onData).on('error', onError).on('close', onClose);
  });
}

/** An HTTP protocol that answers every request with 200 and `name` in the body (keeping the connection), recording callbacks. */
export function namedHttp(name: string, seen?: Array<{ reason: Reason; input: unknown }>, answer?: (reason: Reason, input: unknown) => number | void): Protocol {
  return {
    name: 'http',
    callback(wsi, reason, _user, input) {
      seen?.push({ reason, input });
      const a = answer?.(reason, input);
      if (a !== undefined) return a;
      if (reason === Reason.HTTP) {
        // Keep-alive stays possible: the transaction ends, the connection may not.
        wsi.returnHttpStatus(200, `vhost ${name}`);
        return wsi.closed ? -1 : wsi.httpTransactionCompleted();
      }
      return 0;
    },
  };
}
