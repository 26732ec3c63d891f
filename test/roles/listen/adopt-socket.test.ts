/**
 * vhost.adoptSocket(): connections accepted by the user's own server,
 * after peeking at their first bytes, served as HTTP, WebSocket, RAW and
 * TLS by a vhost that does not listen itself.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import {
  createContext, callbackHttpDummy, Mount, Option, rawTestProtocol, echoProtocol, type Context, type Vhost, type TslwsError,
} from '../../../src/index.js';
import { raw } from '../../helpers/common.js';
import { makePki } from '../../helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-adopt-'));
writeFileSync(join(dir, 'index.html'), 'adopted and served\n');
const pki = makePki();
const cert = pki.issue('localhost');
after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

function context(extra: Record<string, unknown> = {}): Context {
  // No port: the vhost only serves what is handed to it.
  return createContext({
    protocols: [{ name: 'http', callback: callbackHttpDummy }, echoProtocol, rawTestProtocol],
    pvo: { 'lws-echo': { default: '1' }, 'protocol-lws-raw-test': { raw: '1' } },
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }],
    ...extra,
  });
}

/** A server of our own that reads the first chunk of each connection, then hands it to `vh` with it. */
async function peekingServer(vh: Vhost, as: 'http' | 'raw'): Promise<{ server: Server; port: number; peeked: string[] }> {
  const peeked: string[] = [];
  const server = createServer({ allowHalfOpen: true }, (s: Socket) => {
    s.once('data', (b: Buffer) => {
      s.pause();
      peeked.push(b.toString('latin1'));
      vh.adoptSocket(s, { readbuf: b, as });
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return { server, port: (server.address() as { port: number }).port, peeked };
}

test('adoptSocket with the bytes already read: an HTTP request, then a keep-alive request on the same connection', async (t) => {
  const ctx = context();
  t.after(() => ctx.destroy());
  const p = await peekingServer(ctx.vhosts[0], 'http');
  t.after(() => p.server.close());
  const two = 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const r = await raw(p.port, two);
  assert.equal(r.text.match(/HTTP\/1\.1 200 OK/g)?.length, 2, r.text.slice(0, 200));
  assert.match(r.text, /adopted and served/);
  assert.match(p.peeked[0], /^GET \/index\.html/);
});

test('adoptSocket: a WebSocket upgrade whose head was peeked is accepted and echoes', async (t) => {
  const ctx = context();
  t.after(() => ctx.destroy());
  const p = await peekingServer(ctx.vhosts[0], 'http');
  t.after(() => p.server.close());
  const ws = new WebSocket(`ws://127.0.0.1:${p.port}/`);
  const got = await new Promise<string>((res, rej) => {
    ws.on('open', () => ws.send('through an adopted socket'));
    ws.on('message', (d) => res(String(d)));
    ws.on('error', rej);
  });
  ws.close();
  assert.equal(got, 'through an adopted socket');
  assert.match(p.peeked[0], /^GET \/ HTTP\/1\.1\r\n[\s\S]*Upgrade: websocket/i);
});

test('adoptSocket as RAW: RAW_ADOPT, then the peeked bytes and everything after are echoed', async (t) => {
  const ctx = context();
  t.after(() => ctx.destroy());
  const p = await peekingServer(ctx.vhosts[0], 'raw');
  t.after(() => p.server.close());
  const r = await raw(p.port, ['first bytes|', 'then more'], { gapMs: 100, until: (x) => x.length >= 21 });
  assert.equal(r.text, 'first bytes|then more');
});

test('adoptSocket as HTTP on a FALLBACK_TO_RAW vhost: bytes that are not HTTP become RAW', async (t) => {
  const ctx = context({ options: Option.FALLBACK_TO_RAW });
  t.after(() => ctx.destroy());
  const p = await peekingServer(ctx.vhosts[0], 'http');
  t.after(() => p.server.close());
  const r = await raw(p.port, '\x16not http', { until: (x) => x.length >= 9 });
  assert.equal(r.text, '\x16not http');
});

test('adoptSocket of a plain socket on a TLS vhost: the handshake first (the peeked ClientHello included), then HTTP', async (t) => {
  const ctx = context({ sslCert: cert.cert, sslPrivateKey: cert.key });
  t.after(() => ctx.destroy());
  const p = await peekingServer(ctx.vhosts[0], 'http');
  t.after(() => p.server.close());
  const sock = tlsConnect({ port: p.port, host: '127.0.0.1', servername: 'localhost', ca: pki.ca.cert, ALPNProtocols: ['http/1.1'] });
  t.after(() => sock.destroy());
  const text = await new Promise<string>((res, rej) => {
    let got = '';
    sock.once('secureConnect', () => sock.write('GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    sock.on('data', (d) => (got += d));
    sock.on('end', () => res(got));
    sock.on('error', rej);
  });
  assert.match(text, /^HTTP\/1\.1 200 OK[\s\S]*adopted and served/);
  assert.equal(p.peeked[0].charCodeAt(0), 0x16, 'what was peeked was the TLS handshake');
});

test('adoptSocket of a duplex stream that is not a socket', async (t) => {
  const ctx = context({ options: Option.FALLBACK_TO_RAW });
  t.after(() => ctx.destroy());
  // An in-memory pair: what the "client" writes, the server reads, and back.
  let toClient = '';
  let serverSide: Duplex | null = null;
  const clientSide = new Duplex({
    read() {},
    write(chunk, _e, cb) {
      serverSide?.push(chunk);
      cb();
    },
  });
  serverSide = new Duplex({
    read() {},
    write(chunk, _e, cb) {
      toClient += chunk;
      cb();
    },
  });
  const w = ctx.vhosts[0].adoptSocket(serverSide);
  assert.ok(w);
  clientSide.write('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
  const end = Date.now() + 5000;
  while (!/adopted and served/.test(toClient) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.match(toClient, /^HTTP\/1\.1 200 OK[\s\S]*adopted and served/);
  w.close();
});

test('adoptSocket refuses what it cannot serve, with a code', async (t) => {
  const ctx = context();
  t.after(() => ctx.destroy());
  const vh = ctx.vhosts[0];
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as TslwsError).code;
    }
    return 'no error';
  };
  assert.equal(code(() => vh.adoptSocket({} as Duplex)), 'TSLWS_INVALID_ARGUMENT');
  const s = connect({ port: 9, host: '127.0.0.1' });
  s.on('error', () => {});
  t.after(() => s.destroy());
  assert.equal(code(() => vh.adoptSocket(s, { as: 'websocket' as 'raw' })), 'TSLWS_INVALID_ARGUMENT');
  assert.equal(code(() => vh.adoptSocket(s, { as: 'raw', protocol: 'no-such' })), 'TSLWS_INVALID_ARGUMENT');
  assert.equal(code(() => vh.adoptSocket(s, { readbuf: 'text' as unknown as Uint8Array })), 'TSLWS_INVALID_ARGUMENT');
});
