/**
 * HTTP/2 with real clients: curl (prior knowledge and ALPN), nghttp and
 * h2load (Debian's nghttp2-client) and node:http2's client, against files,
 * ranges and conditional requests, CGI, a reverse proxy, many concurrent
 * streams, large downloads and uploads, and a request body read under rx
 * flow control while other streams of the same connection go on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createContext, callbackHttpDummy, Mount, Reason, Write, type Context, type Protocol, type Wsi,
} from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import type { H2Stream } from '../../src/roles/h2/stream.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-h2-'));
const small = Buffer.from('hello over HTTP/2\n'.repeat(60));
const big = randomBytes(5 * 1024 * 1024);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let ctx: Context;
let clearPort = 0;
let tlsPort = 0;
let upstream: Server;
const order: string[] = [];
let pausedUpload: Wsi | null = null;
/** Body bytes of the paused upload the server held when it was released: at most its window. */
let heldAtRelease = -1;

function need(bin: string): void {
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`this test needs ${bin} (apt-get install ${bin === 'curl' ? 'curl' : 'nghttp2-client'})`);
  }
}

interface UploadSession { hash: ReturnType<typeof createHash>; len: number; paused: boolean; reply: string }

/** Reads a POST body: the first stream to arrive pauses after its first piece until a GET on another stream finished. */
const upload: Protocol<UploadSession> = {
  name: 'upload',
  createSessionData: () => ({ hash: createHash('sha256'), len: 0, paused: false, reply: '' }),
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.HTTP:
        return 0;
      case Reason.HTTP_BODY: {
        const b = input;
        user.hash.update(b);
        user.len += b.length;
        if (wsi.getUrlArgByName('pause') === '1' && !pausedUpload && !user.paused) {
          user.paused = true;
          pausedUpload = wsi;
          order.push('upload paused');
          wsi.rxFlowControl(false);
        }
        return 0;
      }
      case Reason.HTTP_BODY_COMPLETION:
        user.reply = JSON.stringify({ len: user.len, sha: user.hash.digest('hex') });
        order.push('upload complete');
        wsi.callbackOnWritable();
        return 0;
      case Reason.HTTP_WRITEABLE: {
        const body = Buffer.from(user.reply);
        wsi.addHttpHeaderStatus(200);
        wsi.addHttpHeaderByName('content-type', 'application/json');
        wsi.addHttpHeaderContentLength(body.length);
        wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
        wsi.write(body, Write.HTTP_FINAL);
        return 0;
      }
    }
    return 0;
  },
};

/** Answers GET /release: lets the paused upload go on, after this response is complete. */
const release: Protocol = {
  name: 'release',
  callback(wsi, reason, _user, _input) {
    if (reason === Reason.HTTP) {
      order.push('release answered');
      wsi.returnHttpStatus(200, 'released');
      const p = pausedUpload;
      if (p) {
        const held = (p.roleState as H2Stream).held;
        heldAtRelease = held.reduce((n, b) => n + b.length, 0);
        setImmediate(() => p.rxFlowControl(true));
      }
      return 0;
    }
    return 0;
  },
};

before(async () => {
  writeFileSync(join(dir, 'small.txt'), small);
  writeFileSync(join(dir, 'big.bin'), big);
  const cgi = join(dir, 'env.sh');
  writeFileSync(cgi, '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "proto=$SERVER_PROTOCOL method=$REQUEST_METHOD"\nwc -c\n');
  chmodSync(cgi, 0o755);
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`upstream saw ${req.method} ${req.url} over HTTP/${req.httpVersion}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upPort = (upstream.address() as { port: number }).port;
  const mounts = [
    { mountpoint: '/', origin: dir, originProtocol: Mount.FILE },
    { mountpoint: '/cgi', origin: cgi, originProtocol: Mount.CGI },
    { mountpoint: '/proxy', origin: `127.0.0.1:${upPort}/base`, originProtocol: Mount.HTTP },
    { mountpoint: '/upload', origin: 'upload', originProtocol: Mount.CALLBACK },
    { mountpoint: '/release', origin: 'release', originProtocol: Mount.CALLBACK },
  ];
  const protocols = [{ name: 'http', callback: callbackHttpDummy }, upload as Protocol, release];
  const c = makeSelfSignedCert();
  ctx = createContext({ options: 1 << 13 /* explicit vhosts */ });
  ctx.createVhost({ vhostName: 'clear', port: 0, iface: '127.0.0.1', mounts, protocols });
  ctx.createVhost({ vhostName: 'localhost', port: 0, iface: '127.0.0.1', sslCert: c.cert, sslPrivateKey: c.key, mounts, protocols });
  await ctx.listening;
  clearPort = ctx.vhosts[0].port!;
  tlsPort = ctx.vhosts[1].port!;
});

after(async () => {
  await ctx?.destroy();
  await new Promise<void>((r) => upstream.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function run(bin: string, args: string[]): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(bin, args, { encoding: 'buffer', timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ stdout: stdout as Buffer, stderr: (stderr as Buffer).toString(), code });
    });
  });
}

/** curl: status, HTTP version and body. */
async function curl(args: string[]): Promise<{ status: number; version: string; body: Buffer }> {
  const r = await run('curl', ['-s', '--max-time', '30', '-w', '\n%{http_code} %{http_version}', ...args]);
  const out = r.stdout;
  const nl = out.lastIndexOf(0x0a);
  const [status, version] = out.subarray(nl + 1).toString().split(' ');
  return { status: Number(status), version, body: out.subarray(0, nl) };
}

test('curl --http2-prior-knowledge: files, a range, a conditional request, HEAD', async () => {
  need('curl');
  const base = `http://127.0.0.1:${clearPort}`;
  let r = await curl(['--http2-prior-knowledge', `${base}/small.txt`]);
  assert.deepEqual([r.status, r.version], [200, '2']);
  assert.deepEqual(r.body, small);
  r = await curl(['--http2-prior-knowledge', '-r', '0-9', `${base}/big.bin`]);
  assert.equal(r.status, 206);
  assert.deepEqual(r.body, big.subarray(0, 10));
  const head = (await run('curl', ['-s', '-I', '--http2-prior-knowledge', `${base}/small.txt`])).stdout.toString();
  assert.match(head, /^HTTP\/2 200/);
  assert.match(head, new RegExp(`content-length: ${small.length}`, 'i'));
  const etag = /etag: ("[^"]+")/i.exec(head)?.[1];
  assert.ok(etag);
  r = await curl(['--http2-prior-knowledge', '-H', `If-None-Match: ${etag}`, `${base}/small.txt`]);
  assert.equal(r.status, 304);
  assert.equal(r.body.length, 0);
  // A clear-text HTTP/1.1 client is still served on the same port.
  r = await curl(['--http1.1', `${base}/small.txt`]);
  assert.deepEqual([r.status, r.version], [200, '1.1']);
});

test('curl --http2 over TLS negotiates h2 by ALPN; a 5 MiB file arrives whole', async () => {
  need('curl');
  const r = await curl(['--http2', '-k', `https://127.0.0.1:${tlsPort}/big.bin`]);
  assert.deepEqual([r.status, r.version], [200, '2']);
  assert.equal(sha(r.body), sha(big));
});

test('nghttp: 100 concurrent streams on one connection, all answered', async () => {
  need('nghttp');
  const r = await run('nghttp', ['-n', '-s', '-m', '100', `http://127.0.0.1:${clearPort}/small.txt`]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.toString().split('\n').filter((l) => /\/small\.txt/.test(l));
  assert.equal(lines.length, 100, r.stdout.toString().slice(0, 2000));
  // Over TLS too (nghttp's -s prints one line per stream).
  const t = await run('nghttp', ['-n', '-s', '-m', '20', `https://127.0.0.1:${tlsPort}/big.bin`]);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.stdout.toString().split('\n').filter((l) => /\/big\.bin/.test(l)).length, 20);
});

test('h2load: 2000 requests on 10 connections, 20 streams each, none failed', async () => {
  need('h2load');
  for (const url of [`http://127.0.0.1:${clearPort}/small.txt`, `https://127.0.0.1:${tlsPort}/small.txt`]) {
    const r = await run('h2load', ['-n', '2000', '-c', '10', '-m', '20', url]);
    const out = r.stdout.toString();
    assert.match(out, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/, out);
    assert.match(out, /status codes: 2000 2xx/, out);
  }
});

function h2req(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const parts: Buffer[] = [];
    let h: IncomingHttpHeaders = {};
    req.on('response', (x) => (h = x));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ headers: h, body: Buffer.concat(parts) }));
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

test('node:http2: 50 concurrent streams mixing small and large files on one session', async () => {
  const s = h2connect(`https://127.0.0.1:${tlsPort}`, { rejectUnauthorized: false });
  try {
    const reqs = Array.from({ length: 50 }, (_, i) => h2req(s, { ':path': i % 5 === 0 ? '/big.bin' : '/small.txt' }));
    const res = await Promise.all(reqs);
    res.forEach((r, i) => {
      assert.equal(r.headers[':status'], 200);
      if (i % 5 === 0) assert.equal(sha(r.body), sha(big));
      else assert.deepEqual(r.body, small);
    });
  } finally {
    s.close();
  }
});

test('node:http2: CGI (with a body) and the reverse proxy answer over HTTP/2', async () => {
  const s = h2connect(`http://127.0.0.1:${clearPort}`);
  try {
    const c = await h2req(s, { ':path': '/cgi', ':method': 'POST', 'content-length': '1000' }, Buffer.alloc(1000, 0x61));
    assert.equal(c.headers[':status'], 200);
    assert.match(c.body.toString(), /proto=HTTP\/2\.0 method=POST\s+1000/);
    assert.equal(c.headers['transfer-encoding'], undefined, 'no chunking on HTTP/2');
    const p = await h2req(s, { ':path': '/proxy/x?y=1' });
    assert.equal(p.headers[':status'], 200);
    assert.equal(p.body.toString(), 'upstream saw GET /base/x?y=1 over HTTP/1.1');
  } finally {
    s.close();
  }
});

test('node:http2: an upload read under rx flow control pauses that stream only; its window is not given back meanwhile', async () => {
  order.length = 0;
  pausedUpload = null;
  const s = h2connect(`http://127.0.0.1:${clearPort}`);
  try {
    const body = randomBytes(2 * 1024 * 1024);
    const up = h2req(s, { ':path': '/upload?pause=1', ':method': 'POST', 'content-length': String(body.length) }, body);
    // Wait until the upload's reader has paused, then a GET on the same connection must still be answered.
    const end = Date.now() + 5000;
    while (!order.includes('upload paused')) {
      if (Date.now() > end) throw new Error('the upload never started');
      await new Promise((r) => setTimeout(r, 5));
    }
    const g = await h2req(s, { ':path': '/release' });
    assert.equal(g.headers[':status'], 200);
    const u = await up;
    assert.equal(u.headers[':status'], 200);
    assert.deepEqual(JSON.parse(u.body.toString()), { len: body.length, sha: sha(body) });
    assert.deepEqual(order, ['upload paused', 'release answered', 'upload complete']);
    // While paused no credit went back: the client could send at most the stream's window (65535).
    assert.ok(heldAtRelease > 0 && heldAtRelease <= 65535, `${heldAtRelease} bytes were held while the reader was paused`);
  } finally {
    s.close();
  }
});

test('node:http2: many uploads and downloads at once on one session', async () => {
  const s = h2connect(`https://127.0.0.1:${tlsPort}`, { rejectUnauthorized: false });
  try {
    const bodies = Array.from({ length: 8 }, () => randomBytes(300 * 1024));
    const ups = bodies.map((b) => h2req(s, { ':path': '/upload', ':method': 'POST', 'content-length': String(b.length) }, b));
    const downs = Array.from({ length: 8 }, () => h2req(s, { ':path': '/big.bin' }));
    const [u, d] = await Promise.all([Promise.all(ups), Promise.all(downs)]);
    u.forEach((r, i) => assert.deepEqual(JSON.parse(r.body.toString()), { len: bodies[i].length, sha: sha(bodies[i]) }));
    d.forEach((r) => assert.equal(sha(r.body), sha(big)));
  } finally {
    s.close();
  }
});
