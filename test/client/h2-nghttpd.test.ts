/**
 * The HTTP/2 client against nghttpd (Debian's nghttp2-server), the C
 * reference implementation: many requests on one connection, 16 MiB
 * down and (echoed) up with flow control, its concurrency limit, and
 * prior knowledge in clear text.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createContext, type Context } from '../../src/index.js';
import { makePki } from '../helpers/pki.js';
import { request, requestHub, sha256 } from '../helpers/h2client.js';

const NGHTTPD = '/usr/sbin/nghttpd';
const dir = mkdtempSync(join(tmpdir(), 'tslws-nghttpd-'));
const big = randomBytes(16 * 1024 * 1024);
const pki = makePki();
const leaf = pki.issue('localhost');
const ssl = { ca: pki.ca.cert };
const servers: Array<{ p: ChildProcess; log: string[] }> = [];
const contexts: Context[] = [];

before(() => {
  if (!existsSync(NGHTTPD)) throw new Error(`${NGHTTPD} is missing: install Debian's nghttp2-server (apt-get install nghttp2-server)`);
  writeFileSync(join(dir, 'big.bin'), big);
  writeFileSync(join(dir, 'small.txt'), 'small\n');
});

after(async () => {
  await Promise.all(contexts.map((c) => c.destroy()));
  for (const s of servers) s.p.kill();
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Start nghttpd (verbose, so its sessions can be counted) and wait until it accepts connections. */
async function nghttpd(tls: boolean, extra: string[] = []): Promise<{ port: number; sessions(): number }> {
  const port = await freePort();
  const args = ['-v', '--echo-upload', '-d', dir, '-a', '127.0.0.1', ...extra, ...(tls ? [String(port), leaf.keyPath, leaf.certPath] : ['--no-tls', String(port)])];
  const p = spawn(NGHTTPD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  p.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  p.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  servers.push({ p, log });
  const end = Date.now() + 5000;
  // It says so once it listens.
  while (!/listen 127\.0\.0\.1/.test(log.join(''))) {
    if (Date.now() > end || p.exitCode !== null) throw new Error(`nghttpd did not start: ${log.join('')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Sessions are numbered in its log: "[id=N]".
  return { port, sessions: () => new Set(log.join('').match(/\[id=\d+\]/g) ?? []).size };
}

function client(): Context {
  const ctx = createContext({ protocols: [requestHub] });
  contexts.push(ctx);
  return ctx;
}

for (const tls of [true, false]) {
  const how = tls ? 'TLS' : 'clear text, prior knowledge';
  test(`nghttpd, ${how}: 20 parallel GETs share one connection; 16 MiB down and echoed up by hash`, async () => {
    const srv = await nghttpd(tls);
    const ctx = client();
    const http2 = tls ? 'prefer' : 'require';
    const sslOpt = tls ? ssl : undefined;
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      request(ctx, srv.port, { path: i % 4 ? '/small.txt' : '/big.bin', method: 'GET', ssl: sslOpt, http2 }, 60000)));
    for (const [i, o] of outs.entries()) {
      assert.equal(o.error, null);
      assert.equal(o.status, 200);
      if (i % 4) assert.equal(o.body.toString(), 'small\n');
      else assert.equal(sha256(o.body), sha256(big));
    }
    const up = await request(ctx, srv.port, { path: '/echo', method: 'POST', ssl: sslOpt, http2, upload: big, chunk: 65536, connectTimeoutSecs: 60 }, 60000);
    assert.equal(up.error, null);
    assert.equal(sha256(up.body), sha256(big), 'the upload came back whole');
    assert.equal(srv.sessions(), 1, 'nghttpd saw one connection');
  });
}

test('nghttpd with -m 2: requests beyond its MAX_CONCURRENT_STREAMS wait and all complete on one connection', async () => {
  const srv = await nghttpd(true, ['-m', '2']);
  const ctx = client();
  // Waiting for a stream counts against connectTimeoutSecs: room for six 16 MiB answers two at a time.
  const outs = await Promise.all(Array.from({ length: 6 }, () => request(ctx, srv.port, { path: '/big.bin', method: 'GET', ssl, connectTimeoutSecs: 60 }, 60000)));
  for (const o of outs) {
    assert.equal(o.error, null);
    assert.equal(o.status, 200);
    assert.equal(sha256(o.body), sha256(big));
  }
  assert.equal(srv.sessions(), 1);
});
