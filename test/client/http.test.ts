/**
 * The HTTP client: GET from our own FILE mount (content-length), chunked
 * and close-delimited bodies, POST upload through CLIENT_HTTP_WRITEABLE,
 * and a body read at the pace of another connection's WRITEABLE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Mount, Reason, Write, type Wsi } from '../../src/index.js';
import { start } from '../helpers/common.js';
import { Recorder, clientContext, fakeServer } from '../helpers/client.js';

/** Reads the whole body in RECEIVE_CLIENT_HTTP, the simple way. */
function reader(rec: Recorder): Buffer[] {
  const parts: Buffer[] = [];
  rec.on = (wsi, reason) => {
    if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(wsi.httpClientRead());
  };
  return parts;
}

async function listenHttp(h: Parameters<typeof createHttpServer>[1]): Promise<{ server: HttpServer; port: number; close(): Promise<void> }> {
  const server = createHttpServer(h);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server, port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

test('GET a file from our own FILE mount: status, headers, body, then COMPLETED and CLOSED', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-client-'));
  const content = randomBytes(200 * 1024);
  writeFileSync(join(dir, 'f.bin'), content);
  const { ctx: srv, port } = await start({ mounts: [{ mountpoint: '/', origin: dir, def: 'index.html', originProtocol: Mount.FILE }] });
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const parts = reader(rec);
    let status = 0;
    let ctype: string | undefined;
    const inner = rec.on;
    rec.on = (wsi, reason, input) => {
      if (reason === Reason.ESTABLISHED_CLIENT_HTTP) {
        status = wsi.httpClientStatus();
        ctype = wsi.hdrCopy('content-type');
      }
      return inner(wsi, reason, input);
    };
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port, path: '/f.bin', method: 'GET' });
    await rec.until(() => rec.has(Reason.CLOSED_CLIENT_HTTP), 'CLOSED_CLIENT_HTTP');
    assert.equal(status, 200);
    assert.ok(ctype);
    assert.equal(wsi.hdrCopy('content-length'), String(content.length));
    assert.ok(Buffer.concat(parts).equals(content));
    const rs = rec.reasons(wsi).filter((r) => r !== Reason.WSI_DESTROY);
    assert.deepEqual(rs.slice(-2), [Reason.COMPLETED_CLIENT_HTTP, Reason.CLOSED_CLIENT_HTTP]);
    assert.equal(rs[rs.indexOf(Reason.ESTABLISHED_CLIENT_HTTP) + 1], Reason.RECEIVE_CLIENT_HTTP);
    assert.ok(!rs.includes(Reason.CLIENT_CONNECTION_ERROR));
    // A 404 is an answer, not a connection error.
    const rec2 = new Recorder();
    const ctx2 = clientContext(rec2);
    reader(rec2);
    const w2 = ctx2.clientConnect({ address: '127.0.0.1', port, path: '/missing', method: 'GET' });
    await rec2.until(() => rec2.has(Reason.CLOSED_CLIENT_HTTP), 'second CLOSED_CLIENT_HTTP');
    assert.equal(w2.httpClientStatus(), 404);
    assert.ok(rec2.has(Reason.COMPLETED_CLIENT_HTTP));
    await ctx2.destroy();
  } finally {
    await ctx.destroy();
    await srv.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a chunked body is dechunked; a close-delimited body ends at close', async () => {
  const h = await listenHttp((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const t = setInterval(() => {
      if (i < 5) res.write(`chunk${i++};`);
      else { clearInterval(t); res.end('end'); }
    }, 5);
  });
  const fs = await fakeServer(() => 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil-the-end');
  fs.server.on('connection', (s) => setTimeout(() => s.end(), 50));
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const parts = reader(rec);
    const w = ctx.clientConnect({ address: 'localhost', port: h.port, path: '/c', method: 'GET' });
    await rec.until(() => rec.reasons(w).includes(Reason.CLOSED_CLIENT_HTTP), 'chunked done');
    assert.equal(w.hdrCopy('transfer-encoding'), 'chunked');
    assert.equal(Buffer.concat(parts).toString(), 'chunk0;chunk1;chunk2;chunk3;chunk4;end');
    assert.ok(rec.reasons(w).includes(Reason.COMPLETED_CLIENT_HTTP));
    parts.length = 0;
    const w2 = ctx.clientConnect({ address: '127.0.0.1', port: fs.port, method: 'GET' });
    await rec.until(() => rec.reasons(w2).includes(Reason.CLOSED_CLIENT_HTTP), 'close-delimited done');
    assert.equal(Buffer.concat(parts).toString(), 'until-the-end');
    assert.ok(rec.reasons(w2).includes(Reason.COMPLETED_CLIENT_HTTP));
    assert.match(fs.conns[0].request, /^GET \/ HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  } finally {
    await ctx.destroy();
    await h.close();
    await fs.close();
  }
});

test('POST: the body goes out from CLIENT_HTTP_WRITEABLE with its content-length', async () => {
  const h = await listenHttp((req, res) => {
    const got: Buffer[] = [];
    req.on('data', (d: Buffer) => got.push(d));
    req.on('end', () => {
      const b = Buffer.concat(got);
      res.end(JSON.stringify({ method: req.method, len: req.headers['content-length'], x: req.headers['x-kind'], body: b.toString() }));
    });
  });
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const parts: Buffer[] = [];
    const pieces = ['first,', 'second,', 'last'];
    rec.on = (wsi, reason) => {
      if (reason === Reason.CLIENT_HTTP_WRITEABLE) {
        const p = pieces.shift()!;
        wsi.write(Buffer.from(p), pieces.length ? Write.HTTP : Write.HTTP_FINAL);
        if (pieces.length) wsi.callbackOnWritable();
      }
      if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(wsi.httpClientRead());
    };
    const total = 'first,second,last'.length;
    ctx.clientConnect({ address: '127.0.0.1', port: h.port, path: '/post', method: 'POST', bodyLength: total, headers: { 'x-kind': 'form' } });
    await rec.until(() => rec.has(Reason.CLOSED_CLIENT_HTTP), 'POST answer');
    assert.deepEqual(JSON.parse(Buffer.concat(parts).toString()), { method: 'POST', len: String(total), x: 'form', body: 'first,second,last' });
    assert.equal(rec.reasons().filter((r) => r === Reason.CLIENT_HTTP_WRITEABLE).length, 3);
  } finally {
    await ctx.destroy();
    await h.close();
  }
});

test('flow control: the body is read from another connection\'s WRITEABLE, in bounded pieces', async () => {
  const body = randomBytes(3 * 1024 * 1024);
  const h = await listenHttp((req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  // The "other connection": a RAW client to a sink that collects what it gets.
  const sunk: Buffer[] = [];
  const sink = createNetServer((s) => s.on('data', (d) => sunk.push(d)));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const rec = new Recorder();
  const ctx = clientContext(rec);
  let httpWsi: Wsi | undefined;
  let rawWsi: Wsi | undefined;
  let maxRead = 0;
  let reads = 0;
  try {
    rec.on = (wsi, reason) => {
      if (reason === Reason.RECEIVE_CLIENT_HTTP) rawWsi?.callbackOnWritable(); // data is there: move it when the sink can take it
      if (reason === Reason.RAW_WRITEABLE && httpWsi) {
        const b = httpWsi.closed ? Buffer.alloc(0) : httpWsi.httpClientRead();
        maxRead = Math.max(maxRead, b.length);
        if (b.length) {
          reads++;
          wsi.write(b, Write.HTTP);
        }
      }
    };
    const rpwsi: { wsi?: Wsi } = {};
    ctx.clientConnect({ address: '127.0.0.1', port: (sink.address() as { port: number }).port, method: 'RAW', pwsi: rpwsi });
    rawWsi = rpwsi.wsi;
    await rec.until(() => rec.has(Reason.RAW_ADOPT), 'raw sink connected');
    httpWsi = ctx.clientConnect({ address: '127.0.0.1', port: h.port, method: 'GET', path: '/big' });
    await rec.until(() => rec.reasons(httpWsi).includes(Reason.CLOSED_CLIENT_HTTP), 'body completed', 15000);
    assert.ok(rec.reasons(httpWsi).includes(Reason.COMPLETED_CLIENT_HTTP));
    await rec.until(() => sunk.reduce((n, b) => n + b.length, 0) >= body.length, 'sink has everything');
    assert.ok(Buffer.concat(sunk).equals(body), 'every byte, in order');
    assert.ok(maxRead <= 256 * 1024, `unread data stays bounded (largest read ${maxRead})`);
    assert.ok(reads > 4);
  } finally {
    await ctx.destroy();
    await h.close();
    await new Promise<void>((r) => sink.close(() => r()));
  }
});

test('flow control: a body nobody reads stops being read at the bound, and resumes when taken', async () => {
  const body = randomBytes(4 * 1024 * 1024);
  const h = await listenHttp((req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const w = ctx.clientConnect({ address: '127.0.0.1', port: h.port, method: 'GET' });
    await rec.until(() => rec.has(Reason.RECEIVE_CLIENT_HTTP), 'first body data');
    await new Promise((r) => setTimeout(r, 300));
    const held = w.httpClientRead();
    assert.ok(held.length > 0 && held.length <= 192 * 1024, `held ${held.length} bytes, not the whole body`);
    const parts = [held];
    rec.on = (wsi, reason) => {
      if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(wsi.httpClientRead());
    };
    await rec.until(() => rec.has(Reason.COMPLETED_CLIENT_HTTP), 'completed after reading resumed', 10000);
    assert.ok(Buffer.concat(parts).equals(body));
  } finally {
    await ctx.destroy();
    await h.close();
  }
});
