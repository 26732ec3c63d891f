/**
 * One file responder for every source of files: a plain FILE mount, the
 * same mount read through wrapped file ops, and members of a zip archive
 * behave the same for ranges, conditional requests, HEAD and cache
 * headers; preconditions that fail answer 412; OPTIONS and TRACE on a
 * FILE mount answer 405 with Allow.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connect } from 'node:net';
import { once } from 'node:events';
import { createContext, ErrorCode, Mount, Reason, platformFops, writeZip, type Context, type FileOps, type TslwsError } from '../../src/index.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tslws-files-'));
const www = join(dir, 'www');
// 100 KiB of varied bytes, so a range shows it is the right slice.
const big = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const text = Buffer.from('<html><body>' + 'a zip member that deflates well. '.repeat(200) + '</body></html>');
let ctxPlain: Context;
let ctxFops: Context;
let portPlain = 0;
let portFops = 0;
const opened: string[] = [];

before(async () => {
  mkdirSync(www);
  writeFileSync(join(www, 'big.bin'), big);
  writeFileSync(join(www, 'page.html'), text);
  writeFileSync(join(dir, 'site.zip'), writeZip([
    { name: 'big.bin', data: big, store: true },
    { name: 'page.html', data: text },
  ]));
  const mounts = [
    { mountpoint: '/', origin: www, originProtocol: Mount.FILE, cacheMaxAge: 60, cacheReusable: true },
    { mountpoint: '/zip', origin: join(dir, 'site.zip'), originProtocol: Mount.FILE, cacheMaxAge: 60, cacheReusable: true },
  ];
  ctxPlain = createContext({ port: 0, iface: '127.0.0.1', mounts });
  ctxFops = createContext({ port: 0, iface: '127.0.0.1', mounts });
  const wrapped: FileOps = {
    ...platformFops,
    open(path, flags) {
      opened.push(path);
      return platformFops.open(path, flags);
    },
  };
  ctxFops.fops = wrapped;
  await Promise.all([ctxPlain.listening, ctxFops.listening]);
  portPlain = ctxPlain.vhosts[0].port!;
  portFops = ctxFops.vhosts[0].port!;
});

after(async () => {
  await Promise.all([ctxPlain.destroy(), ctxFops.destroy()]);
  rmSync(dir, { recursive: true, force: true });
});

/** The three sources of the same 100 KiB file. */
function sources(): Array<{ name: string; port: () => number; path: string }> {
  return [
    { name: 'plain FILE mount', port: () => portPlain, path: '/big.bin' },
    { name: 'mount read through wrapped file ops', port: () => portFops, path: '/big.bin' },
    { name: 'stored zip member', port: () => portPlain, path: '/zip/big.bin' },
  ];
}

for (const s of sources()) {
  test(`${s.name}: a single range is answered 206 with exactly those bytes`, async () => {
    let r = await get(s.port(), s.path, { range: 'bytes=0-9' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], `bytes 0-9/${big.length}`);
    assert.equal(r.headers['content-length'], '10');
    assert.deepEqual(r.body, big.subarray(0, 10));
    r = await get(s.port(), s.path, { range: 'bytes=-100' });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, big.subarray(big.length - 100));
    r = await get(s.port(), s.path, { range: `bytes=50000-` });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, big.subarray(50000));
    r = await get(s.port(), s.path, { range: `bytes=${big.length}-` });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], `bytes */${big.length}`);
    r = await get(s.port(), s.path);
    assert.equal(r.status, 200);
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.deepEqual(r.body, big);
  });

  test(`${s.name}: If-None-Match with its etag is 304, If-Range with a stale etag gets the whole file`, async () => {
    const first = await get(s.port(), s.path);
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[0-9a-f-]+"$/);
    assert.equal(first.headers['cache-control'], 'private, max-age=60');
    let r = await get(s.port(), s.path, { 'if-none-match': etag });
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.etag, etag);
    r = await get(s.port(), s.path, { 'if-none-match': '"nope", ' + etag });
    assert.equal(r.status, 304);
    r = await get(s.port(), s.path, { range: 'bytes=0-1', 'if-range': etag });
    assert.equal(r.status, 206);
    r = await get(s.port(), s.path, { range: 'bytes=0-1', 'if-range': '"stale"' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, big.length);
  });

  test(`${s.name}: HEAD gives the headers of the GET and no body`, async () => {
    const g = await get(s.port(), s.path);
    const r = await get(s.port(), s.path, {}, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    for (const h of ['content-length', 'content-type', 'etag', 'last-modified', 'cache-control', 'accept-ranges'])
      assert.equal(r.headers[h], g.headers[h], h);
  });

  test(`${s.name}: If-Match and If-Unmodified-Since that fail answer 412`, async () => {
    const g = await get(s.port(), s.path);
    let r = await get(s.port(), s.path, { 'if-match': '"someone-else"' });
    assert.equal(r.status, 412);
    r = await get(s.port(), s.path, { 'if-match': g.headers.etag as string });
    assert.equal(r.status, 200);
    r = await get(s.port(), s.path, { 'if-match': '*' });
    assert.equal(r.status, 200);
    r = await get(s.port(), s.path, { 'if-unmodified-since': 'Thu, 01 Jan 1998 00:00:00 GMT' });
    assert.equal(r.status, 412);
    r = await get(s.port(), s.path, { 'if-unmodified-since': g.headers['last-modified'] as string });
    assert.equal(r.status, 200);
    // If-Match wins over If-Unmodified-Since (RFC 9110 13.2.2).
    r = await get(s.port(), s.path, { 'if-match': g.headers.etag as string, 'if-unmodified-since': 'Thu, 01 Jan 1998 00:00:00 GMT' });
    assert.equal(r.status, 200);
  });
}

test('the wrapped file ops saw the opens of the bytes they served', () => {
  assert.ok(opened.some((p) => p.endsWith('/big.bin')), 'the wrapper was used');
});

test('a deflated zip member: gzip as it is stored for clients that take it, else inflated and answered whole for a range', async () => {
  let r = await get(portPlain, '/zip/page.html', { 'accept-encoding': 'gzip' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers.vary, 'accept-encoding');
  assert.deepEqual(gunzipSync(r.body), text);
  // A range of the gzip representation is its bytes.
  const gz = r.body;
  r = await get(portPlain, '/zip/page.html', { 'accept-encoding': 'gzip', range: 'bytes=0-9' });
  assert.equal(r.status, 206);
  assert.deepEqual(r.body, gz.subarray(0, 10));
  // Inflated as it is read: it can only be answered whole.
  r = await get(portPlain, '/zip/page.html', { range: 'bytes=0-9' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['accept-ranges'], 'none');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers.vary, 'accept-encoding');
  assert.deepEqual(r.body, text);
  // The two representations have their own validators.
  const plain = await get(portPlain, '/zip/page.html');
  assert.notEqual(plain.headers.etag, (await get(portPlain, '/zip/page.html', { 'accept-encoding': 'gzip' })).headers.etag);
  r = await get(portPlain, '/zip/page.html', { 'if-none-match': plain.headers.etag as string });
  assert.equal(r.status, 304);
});

test('OPTIONS and TRACE on a FILE mount answer 405 with Allow; other methods still reach the protocol', async () => {
  for (const m of ['OPTIONS', 'TRACE']) {
    for (const path of ['/page.html', '/zip/page.html', '/missing']) {
      const r = await get(portPlain, path, {}, m);
      assert.equal(r.status, 405, `${m} ${path}`);
      assert.equal(r.headers.allow, 'GET, HEAD', `${m} ${path}`);
    }
  }
  // POST is the protocol's to answer (the default one says 404), as in lws.
  const r = await get(portPlain, '/page.html', {}, 'POST');
  assert.equal(r.status, 404);
});

test('serveHttpFile after the response is complete sends nothing and returns -1; the connection goes on', async () => {
  const results: Array<number | string> = [];
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{
      name: 'late',
      callback(wsi, reason, _user, _input) {
        if (reason !== Reason.HTTP) return 0;
        wsi.returnHttpStatus(200, 'done');
        try {
          results.push(wsi.serveHttpFile(join(www, 'page.html'), 'text/html'));
        } catch (e) {
          results.push((e as TslwsError).code); // the second request closed its connection
        }
        return 0;
      },
    }],
  });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port!;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await once(socket, 'end');
    socket.destroy();
    assert.equal((got.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, got);
    assert.ok(!got.includes('a zip member that deflates well'), 'no file bytes after the first response');
    assert.deepEqual(results, [-1, ErrorCode.NOT_HTTP]);
  } finally {
    await ctx.destroy();
  }
});
