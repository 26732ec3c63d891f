/**
 * RAW server connections: FALLBACK_TO_RAW (first bytes that cannot begin
 * a request) and ONLY_RAW, over clear text and TLS, with the raw-test
 * plugin echoing; HTTP, WebSocket upgrades and HTTP/2 keep working on the
 * same port.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { connect as h2connect } from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  createContext, callbackHttpDummy, Mount, Option, Reason, rawTestProtocol, echoProtocol, type CallbackArgs, type Context, type Protocol, type Wsi,
} from '../../../src/index.js';
import { raw, sleep } from '../../helpers/common.js';
import { makePki } from '../../helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-rawfb-'));
writeFileSync(join(dir, 'index.html'), 'served over HTTP\n');
const pki = makePki();
const cert = pki.issue('localhost');
after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

interface Started {
  ctx: Context;
  port: number;
  /** Reasons the raw protocol saw, in order. */
  seen: string[];
}

/** A vhost with HTTP files, a WebSocket echo and a RAW protocol (the raw-test echo, watched). */
async function start(options: number, extra: Record<string, unknown> = {}): Promise<Started> {
  const seen: string[] = [];
  const inner = rawTestProtocol.callback as (...args: CallbackArgs<unknown>) => number;
  const watched: Protocol = {
    ...rawTestProtocol,
    callback(...args: CallbackArgs<unknown>) {
      const reason = args[1];
      if (reason === Reason.RAW_ADOPT || reason === Reason.RAW_CLOSE) seen.push(Reason[reason]);
      return inner(...args);
    },
  };
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', options,
    protocols: [{ name: 'http', callback: callbackHttpDummy }, echoProtocol, watched],
    pvo: { 'protocol-lws-raw-test': { raw: '1' }, 'lws-echo': { default: '1' } },
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }],
    ...extra,
  });
  await ctx.listening;
  return { ctx, port: ctx.vhosts[0].port as number, seen };
}

test('FALLBACK_TO_RAW: binary, a word, a partial line and one byte then a pause become RAW and are echoed byte for byte', async (t) => {
  const s = await start(Option.FALLBACK_TO_RAW);
  t.after(() => s.ctx.destroy());
  const bin = randomBytes(3000);
  bin[0] = 0x00;
  const cases: Array<[string, Array<string | Buffer>]> = [
    ['binary', [bin]],
    ['a word', ['hello\r\n']],
    ['a partial line', ['no end of line']],
    ['one byte, a pause, the rest', ['x', 'yz and more']],
    ['a method-like prefix that turns out not to be one', ['GE', 'TX']],
  ];
  for (const [what, chunks] of cases) {
    const want = Buffer.concat(chunks.map((c) => Buffer.from(c)));
    const r = await raw(s.port, chunks, { gapMs: 150, until: (text) => text.length >= want.length, timeoutMs: 5000 });
    assert.ok(r.data.equals(want), `${what}: echoed ${JSON.stringify(r.text.slice(0, 40))}`);
  }
  await sleep(100);
  assert.equal(s.seen.filter((x) => x === 'RAW_ADOPT').length, cases.length);
});

test('FALLBACK_TO_RAW: every method the server knows still goes to HTTP, and WebSocket upgrades still work', async (t) => {
  const s = await start(Option.FALLBACK_TO_RAW);
  t.after(() => s.ctx.destroy());
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
    const r = await raw(s.port, `${m} /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 \d{3} /, `${m} is answered as HTTP`);
  }
  // Sent a byte at a time: still judged HTTP once "GET " is complete.
  const slow = await raw(s.port, [...'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { gapMs: 5 });
  assert.match(slow.text, /^HTTP\/1\.1 200 OK[\s\S]*served over HTTP/);
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/`);
  const echoed = await new Promise<string>((res, rej) => {
    ws.on('open', () => ws.send('over the same port'));
    ws.on('message', (d) => res(String(d)));
    ws.on('error', rej);
  });
  ws.close();
  assert.equal(echoed, 'over the same port');
  assert.deepEqual(s.seen, [], 'nothing became RAW');
});

test('FALLBACK_TO_RAW: a silent peer, or one that stops inside a method name, is closed at the header timeout, never taken for RAW', async (t) => {
  const s = await start(Option.FALLBACK_TO_RAW, { limits: { headerTimeoutSecs: 1 } });
  t.after(() => s.ctx.destroy());
  const silent = await raw(s.port, [], { timeoutMs: 4000 });
  assert.ok(silent.closed, 'the silent connection was closed');
  assert.ok(silent.text === '' || /^HTTP\/1\.1 408 /.test(silent.text), `closed as HTTP: ${JSON.stringify(silent.text.slice(0, 30))}`);
  const stalled = await raw(s.port, ['PO'], { timeoutMs: 4000 });
  assert.ok(stalled.closed);
  assert.ok(stalled.text === '' || /^HTTP\/1\.1 408 /.test(stalled.text), 'answered as HTTP, not echoed: it was never RAW');
  assert.deepEqual(s.seen, []);
});

test('FALLBACK_TO_RAW: an HTTP/2 client preface is HTTP/2, not RAW', async (t) => {
  const s = await start(Option.FALLBACK_TO_RAW);
  t.after(() => s.ctx.destroy());
  const session = h2connect(`http://127.0.0.1:${s.port}`);
  t.after(() => session.close());
  const r = await new Promise<{ status: number; body: string }>((res, rej) => {
    const q = session.request({ ':path': '/index.html' });
    let body = '';
    let status = 0;
    q.on('response', (h) => (status = Number(h[':status'])));
    q.on('data', (d) => (body += d));
    q.on('end', () => res({ status, body }));
    q.on('error', rej);
  });
  assert.deepEqual(r, { status: 200, body: 'served over HTTP\n' });
  assert.deepEqual(s.seen, []);
});

test('FALLBACK_TO_RAW on TLS: the first bytes after the handshake decide; clear text on a port that also takes it is judged too', async (t) => {
  const s = await start(Option.FALLBACK_TO_RAW | Option.ALLOW_NON_SSL_ON_SSL_PORT, { sslCert: cert.cert, sslPrivateKey: cert.key });
  t.after(() => s.ctx.destroy());
  const sock = tlsConnect({ port: s.port, host: '127.0.0.1', servername: 'localhost', ca: pki.ca.cert, ALPNProtocols: ['http/1.1'] });
  t.after(() => sock.destroy());
  await new Promise<void>((res, rej) => sock.once('secureConnect', () => res()).once('error', rej));
  const echoed = await new Promise<string>((res) => {
    let got = '';
    sock.on('data', (d) => {
      got += d;
      if (got.length >= 12) res(got);
    });
    sock.write('secret words');
  });
  assert.equal(echoed, 'secret words');
  const clear = await raw(s.port, 'plain words', { until: (x) => x.length >= 11 });
  assert.equal(clear.text, 'plain words');
  const http = await raw(s.port, 'GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  assert.match(http.text, /^HTTP\/1\.1 200 OK/);
  assert.equal(s.seen.filter((x) => x === 'RAW_ADOPT').length, 2);
});

test('ONLY_RAW: every connection is RAW from its first byte, a request line included', async (t) => {
  const s = await start(Option.ONLY_RAW);
  t.after(() => s.ctx.destroy());
  const req = 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n';
  const r = await raw(s.port, req, { until: (x) => x.length >= req.length });
  assert.equal(r.text, req, 'echoed, not answered');
  // RAW_ADOPT comes at accept, before any byte.
  const idle = await raw(s.port, [], { timeoutMs: 300 });
  assert.equal(idle.closed, false, 'nothing times a RAW connection out by itself');
  await sleep(100);
  assert.equal(s.seen.filter((x) => x === 'RAW_ADOPT').length, 2);
});

test('RAW echo with a peer that does not read: reading stops (bounded queue), and everything arrives once it reads', async (t) => {
  const s = await start(Option.ONLY_RAW);
  t.after(() => s.ctx.destroy());
  const big = randomBytes(4 * 1024 * 1024);
  const { connect } = await import('node:net');
  const sock = connect(s.port, '127.0.0.1');
  t.after(() => sock.destroy());
  await new Promise<void>((res) => sock.once('connect', () => res()));
  sock.pause();
  sock.write(big);
  await sleep(500);
  // Not read yet: the server holds at most its echo bound plus the socket buffers, and the rest waits in TCP.
  const parts: Buffer[] = [];
  let n = 0;
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`only ${n} of ${big.length} bytes came back`)), 20000);
    sock.on('data', (d) => {
      parts.push(d);
      n += d.length;
      if (n >= big.length) {
        clearTimeout(timer);
        res();
      }
    });
    sock.resume();
  });
  assert.ok(Buffer.concat(parts).equals(big));
});

test('the raw protocol is the one whose pvo says raw, else default, else the first', async (t) => {
  const names: string[] = [];
  const mk = (name: string): Protocol => ({
    name,
    callback(_wsi: Wsi, reason: Reason, _user: unknown, _input: unknown) {
      if (reason === Reason.RAW_ADOPT) names.push(name);
      return reason === Reason.RAW_ADOPT ? -1 : 0;
    },
  });
  for (const [pvo, want] of [[{ b: { raw: '1' }, c: { default: '1' } }, 'b'], [{ c: { default: '1' } }, 'c'], [{}, 'a']] as const) {
    const ctx = createContext({ port: 0, iface: '127.0.0.1', options: Option.ONLY_RAW, protocols: [mk('a'), mk('b'), mk('c')], pvo });
    t.after(() => ctx.destroy());
    await ctx.listening;
    const r = await raw(ctx.vhosts[0].port as number, [], { timeoutMs: 2000 });
    assert.ok(r.closed, 'RAW_ADOPT returning non-zero closes the connection');
    assert.equal(names.at(-1), want);
  }
});
