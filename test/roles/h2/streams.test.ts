/**
 * Streams as connections of their own: callbacks and header helpers
 * unchanged over HTTP/2, per-stream credit, fair sending across streams,
 * and a graceful end (GOAWAY) when the vhost or the context goes away.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { mkdtempSync, writeFileSync, truncateSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createContext, callbackHttpDummy, Mount, Reason, Write, Option, type Context, type Protocol, type Wsi,
} from '../../../src/index.js';
import { H2Error, FrameType, Setting } from '../../../src/roles/h2/frames.js';
import { RawH2 } from '../../helpers/h2raw.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-h2s-'));
writeFileSync(join(dir, 'small.txt'), 'small\n');
writeFileSync(join(dir, 'large.bin'), '');
truncateSync(join(dir, 'large.bin'), 64 * 1024 * 1024);
const contexts: Context[] = [];
after(async () => {
  await Promise.all(contexts.map((c) => c.destroy()));
  rmSync(dir, { recursive: true, force: true });
});

function req(s: ClientHttp2Session, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = s.request(headers);
    const parts: Buffer[] = [];
    let h: IncomingHttpHeaders = {};
    r.on('response', (x) => (h = x));
    r.on('data', (d: Buffer) => parts.push(d));
    r.on('end', () => resolve({ headers: h, body: Buffer.concat(parts) }));
    r.on('error', reject);
    r.end();
  });
}

test('a protocol written for HTTP/1 answers unchanged: headers, URL args, cookies joined with "; ", the header helpers, WRITEABLE', async () => {
  const seen: Record<string, unknown> = {};
  const echo: Protocol = {
    name: 'http',
    callback(wsi: Wsi, reason, user, input) {
      switch (reason) {
        case Reason.HTTP:
          seen.uri = input;
          seen.method = wsi.method;
          seen.cookie = wsi.hdrCopy('cookie');
          seen.arg = wsi.getUrlArgByName('a');
          seen.host = wsi.hdrCopy('host');
          seen.role = wsi.roleName;
          seen.parentRole = wsi.parent?.roleName;
          seen.allowance = wsi.getPeerWriteAllowance();
          wsi.callbackOnWritable();
          return 0;
        case Reason.HTTP_WRITEABLE: {
          const body = Buffer.from('made by hand');
          wsi.addHttpHeaderStatus(200);
          wsi.addHttpHeaderByName('content-type', 'text/plain');
          wsi.addHttpHeaderByName('x-test', 'yes');
          wsi.addHttpHeaderByName('connection', 'close'); // never sent on HTTP/2
          wsi.addHttpHeaderContentLength(body.length);
          wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
          wsi.write(body, Write.HTTP_FINAL);
          return 0;
        }
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [echo], headers: { 'x-vhost': 'v' } });
  contexts.push(ctx);
  await ctx.listening;
  const s = h2connect(`http://127.0.0.1:${ctx.vhosts[0].port}`);
  try {
    const r = await req(s, { ':path': '/p/q?a=1&b=2', cookie: 'c1=1' });
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.headers['x-test'], 'yes');
    assert.equal(r.headers['x-vhost'], 'v');
    assert.equal(r.headers.connection, undefined);
    assert.equal(r.body.toString(), 'made by hand');
    assert.equal(seen.uri, '/p/q');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.arg, '1');
    assert.equal(seen.host, `127.0.0.1:${ctx.vhosts[0].port}`);
    assert.equal(seen.role, 'h2-stream');
    assert.equal(seen.parentRole, 'h2');
    assert.equal(seen.allowance, 65535, "the stream's credit");
    // Cookie crumbs (RFC 9113 8.2.3) are one cookie header to the callback.
    const crumbs = s.request({ ':path': '/', cookie: ['a=1', 'b=2'] as unknown as string });
    await new Promise((res) => crumbs.on('response', res).end());
    crumbs.resume();
    assert.equal(seen.cookie, 'a=1; b=2');
  } finally {
    s.close();
  }
});

test('streams are served in turn: small responses finish while a 64 MiB one is still being sent', async () => {
  const ctx = createContext({ port: 0, iface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }] });
  contexts.push(ctx);
  await ctx.listening;
  const s = h2connect(`http://127.0.0.1:${ctx.vhosts[0].port}`);
  try {
    const order: string[] = [];
    const big = req(s, { ':path': '/large.bin' }).then((r) => {
      order.push('large');
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    const smalls = Array.from({ length: 5 }, (_, i) => req(s, { ':path': '/small.txt' }).then((r) => order.push(`small ${i}`)));
    await Promise.all(smalls);
    const b = await big;
    assert.equal(b.body.length, 64 * 1024 * 1024);
    assert.equal(order[order.length - 1], 'large', order.join(', '));
  } finally {
    s.close();
  }
});

test('a client that starts with INITIAL_WINDOW_SIZE 0 and raises it by SETTINGS: the waiting stream gets its WRITEABLE then', async () => {
  let writeables = 0;
  const p: Protocol = {
    name: 'http',
    callback(wsi, reason, user, input) {
      if (reason === Reason.HTTP) {
        wsi.callbackOnWritable();
        return 0;
      }
      if (reason === Reason.HTTP_WRITEABLE) {
        writeables++;
        const body = Buffer.from('after the window opened');
        wsi.addHttpHeaderStatus(200);
        wsi.addHttpHeaderContentLength(body.length);
        wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
        wsi.write(body, Write.HTTP_FINAL);
        return 0;
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [p] });
  contexts.push(ctx);
  await ctx.listening;
  const c = await RawH2.connect(ctx.vhosts[0].port!, { settings: [[Setting.INITIAL_WINDOW_SIZE, 0]] });
  try {
    c.request(1, '/');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(writeables, 0, 'no WRITEABLE while the stream has no credit');
    assert.equal(c.frames.filter((f) => f.stream === 1).length, 0);
    c.settings([[Setting.INITIAL_WINDOW_SIZE, 65535]]);
    const head = await c.head(1);
    assert.equal(head.get(':status'), '200');
    const d = await c.waitFor((f) => f.type === FrameType.DATA && f.stream === 1, 'the body');
    assert.equal(d.payload.toString(), 'after the window opened');
    assert.equal(writeables, 1);
  } finally {
    c.close();
  }
});

test('vhost.destroy: GOAWAY NO_ERROR, the open stream finishes, new streams are refused', async () => {
  let answer: Wsi | null = null;
  const slow: Protocol = {
    name: 'http',
    callback(wsi, reason, user, input) {
      if (reason === Reason.HTTP && wsi.uri === '/slow') {
        answer = wsi;
        return 0;
      }
      if (reason === Reason.HTTP_WRITEABLE) {
        wsi.returnHttpStatus(200, 'finished');
        return 0;
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  contexts.push(ctx);
  const vh = ctx.createVhost({ port: 0, iface: '127.0.0.1', protocols: [slow], h2: { only: true, drainSecs: 5 } });
  await vh.listening;
  const c = await RawH2.connect(vh.port!);
  try {
    c.request(1, '/slow');
    const end = Date.now() + 3000;
    while (!answer && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.ok(answer, 'the slow request arrived');
    const destroyed = vh.destroy();
    const g = await c.waitFor((f) => f.type === FrameType.GOAWAY, 'GOAWAY');
    assert.equal(g.payload.readUInt32BE(4), H2Error.NO_ERROR);
    assert.equal(g.payload.readUInt32BE(0), 1, 'last stream: the one open');
    c.request(3, '/other');
    assert.equal(await c.reset(3), H2Error.REFUSED_STREAM);
    (answer as unknown as Wsi).callbackOnWritable();
    assert.equal((await c.head(1)).get(':status'), '200');
    await destroyed;
    await c.waitFor(() => c.closed, 'the connection to close');
  } finally {
    c.close();
  }
});

test('context.destroy: a stream that never ends is cut at drainSecs; destroy then resolves', async () => {
  const never: Protocol = { name: 'http', callback: () => 0 };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [never], h2: { only: true, drainSecs: 0.3 } });
  await ctx.listening;
  const c = await RawH2.connect(ctx.vhosts[0].port!);
  try {
    c.request(1, '/');
    await new Promise((r) => setTimeout(r, 50));
    await ctx.destroy();
    assert.ok(c.frames.some((f) => f.type === FrameType.GOAWAY), 'GOAWAY before the end');
    await c.waitFor(() => c.closed, 'the connection to close');
    assert.equal(ctx.connectionCount, 0);
  } finally {
    c.close();
  }
});
