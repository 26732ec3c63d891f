/**
 * The benchmarks' own HTTP(S) client: one GET of a file from a server
 * child, and waiting for a freshly started server to answer.
 */
import http from 'node:http';
import https from 'node:https';
import { alive, Fatal, sleep } from './proc.mjs';

/**
 * GET /FILE from `srv` ({ port }) on a fresh connection. `tls: true` for
 * https (the benchmarks' certificates are self-signed: not verified);
 * resolves with { status, headers, body }.
 */
export function get(srv, file, timeout = 10000, { tls = false, headers } = {}) {
  return new Promise((res, rej) => {
    const opts = { host: '127.0.0.1', port: srv.port, path: '/' + file, agent: false, timeout, headers };
    const cb = (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
      r.on('error', rej);
    };
    const req = tls ? https.get({ ...opts, rejectUnauthorized: false, servername: 'localhost' }, cb) : http.get(opts, cb);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

/**
 * Poll `srv` ({ name, port, child, out }) with GET /FILE until it answers
 * 200; a child that exits, or no answer within 10 s, is a Fatal error
 * quoting the child's output.
 */
export async function waitReady(srv, file, { tls = false } = {}) {
  const deadline = Date.now() + 10000;
  let exited = null;
  srv.child.once('exit', (code, sig) => (exited = sig ?? code));
  srv.child.once('error', (e) => (exited = e.message));
  while (Date.now() < deadline) {
    if (exited !== null || !alive(srv.child)) {
      throw new Fatal(`${srv.name} failed to start (exit ${exited ?? srv.child.exitCode ?? srv.child.signalCode}):\n${srv.out.text.trim()}`);
    }
    try {
      const r = await get(srv, file, 1000, { tls });
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Fatal(`${srv.name} did not answer on port ${srv.port} within 10 s:\n${srv.out.text.trim()}`);
}
