/**
 * Reverse-proxy mounts (http:// and https:// origins) against in-process
 * upstream servers: path rewriting, hop-by-hop headers, X-Forwarded-*,
 * flow control both ways, 502/504, and proxied WebSockets.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { Mount, type HttpMount } from '../../src/index.js';
import { start, raw, parseResponses, openSocket, livePeer, sleep } from '../helpers/common.js';
import { makePki } from '../helpers/pki.js';

const BIG = 64 << 20;
let bigWritten = 0;
let slowReadPaused = false;

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  if (url.startsWith('/base/echo') || url.startsWith('/base/slowread')) {
    const h = createHash('sha256');
    let n = 0;
    if (url.startsWith('/base/slowread')) {
      req.pause();
      slowReadPaused = true;
      setTimeout(() => { slowReadPaused = false; req.resume(); }, 1000);
    }
    req.on('data', (d: Buffer) => { h.update(d); n += d.length; });
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url, headers: req.headers, length: n, sha: h.digest('hex') });
      res.writeHead(200, [
        ['Content-Type', 'application/json'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'],
        ['Connection', 'X-Up'], ['X-Up', 'hop'], ['Keep-Alive', 'timeout=5'], ['X-End', 'end-to-end'],
      ].flat());
      res.end(body);
    });
    return;
  }
  if (url === '/base/big') {
    bigWritten = 0;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(BIG) });
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    const pump = () => {
      while (bigWritten < BIG) {
        bigWritten += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  if (url === '/base/chunked') {
    res.writeHead(201, { 'Content-Type': 'text/plain' });
    let i = 0;
    const t = setInterval(() => {
      res.write(`part${i} `);
      if (++i === 5) { clearInterval(t); res.end(); }
    }, 10);
    return;
  }
  if (url === '/' || url.startsWith('/?')) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`root ${url}`);
    return;
  }
  if (url === '/base/hang') return; // never answers
  if (url.startsWith('/base/a;')) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(url);
    return;
  }
  if (url === '/base/cut') {
    res.writeHead(200, { 'Content-Length': '100000' });
    res.write(Buffer.alloc(1000));
    setTimeout(() => req.socket.destroy(), 50);
    return;
  }
  res.writeHead(404);
  res.end('upstream 404');
}

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

const upstream = createServer(handler);
const wss = new WebSocketServer({ server: upstream, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
wss.on('connection', (ws, req) => {
  ws.send(`hello ${req.url} ${req.headers['x-forwarded-for']}`);
  ws.on('message', (m, binary) => ws.send(m, { binary }));
});
const pki = makePki();
const leaf = pki.issue('localhost');
const tlsUpstream = createHttpsServer({ cert: leaf.cert, key: leaf.key }, handler);

/** A port where nothing listens. */
async function deadPort(): Promise<number> {
  const s = createNetServer();
  const p = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const setup = (async () => {
  const up = await listen(upstream);
  const tls = await listen(tlsUpstream as unknown as Server);
  const dead = await deadPort();
  const mounts: HttpMount[] = [
    { mountpoint: '/px', origin: `127.0.0.1:${up}/base`, originProtocol: Mount.HTTP, proxyTimeout: 1 },
    { mountpoint: '/py', origin: `127.0.0.1:${up}/base`, originProtocol: Mount.HTTP },
    { mountpoint: '/pz', origin: `127.0.0.1:${up}`, originProtocol: Mount.HTTP },
    { mountpoint: '/sx', origin: `https://localhost:${tls}/base`, originProtocol: Mount.HTTPS, proxyTls: { ca: pki.ca.cert } },
    { mountpoint: '/untrusted', origin: `localhost:${tls}/base`, originProtocol: Mount.HTTPS },
    { mountpoint: '/dead', origin: `http://127.0.0.1:${dead}`, originProtocol: Mount.HTTP },
  ];
  return { srv: await start({ mounts }), up };
})();
after(async () => {
  const { srv } = await setup;
  await srv.ctx.destroy();
  for (const c of wss.clients) c.terminate();
  upstream.closeAllConnections();
  upstream.close();
  (tlsUpstream as unknown as Server).closeAllConnections();
  tlsUpstream.close();
  pki.cleanup();
});

async function get(req: string, ms = 5000) {
  const { srv } = await setup;
  const r = await raw(srv.port, req, { timeoutMs: ms });
  return { ...parseResponses(r.data)[0], raw: r };
}

test('paths are rewritten, hop-by-hop headers dropped both ways, X-Forwarded-* added', async () => {
  const { up } = await setup;
  const r = await get('GET /px/echo/a%20b?x=1&y=2 HTTP/1.1\r\nHost: front.test\r\nConnection: close, X-Secret\r\n' +
    'X-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Authorization: basic x\r\nX-Forwarded-For: 10.0.0.1\r\nX-Keep: k\r\n\r\n');
  assert.equal(r.status, 200);
  const j = JSON.parse(r.body.toString());
  assert.equal(j.url, '/base/echo/a%20b?x=1&y=2');
  assert.equal(j.headers.host, `127.0.0.1:${up}`);
  assert.equal(j.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.equal(j.headers['x-forwarded-host'], 'front.test');
  assert.equal(j.headers['x-forwarded-proto'], 'http');
  assert.equal(j.headers['x-keep'], 'k');
  for (const h of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(j.headers[h], undefined, h);
  assert.equal(r.headers['x-end'], 'end-to-end');
  assert.equal(r.headers['set-cookie'], 'a=1, b=2', 'both cookies pass');
  assert.equal(r.headers['x-up'], undefined, 'a header the upstream listed in Connection stays behind');
  assert.equal(r.headers['keep-alive'], undefined);
  const c = await get('GET /px/chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(c.status, 201);
  assert.equal(c.headers['transfer-encoding'], 'chunked');
  assert.equal(c.body.toString(), 'part0 part1 part2 part3 part4 ');
  assert.equal((await get('GET /px/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 404);
});

test('the path below the mountpoint goes up as the client spelt it, unless it has dot segments', async () => {
  let r = await get('GET /px/a;v=1?x=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), '/base/a;v=1?x=2');
  const url = async (target: string) => {
    const res = await get(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 200, target);
    return JSON.parse(res.body.toString()).url as string;
  };
  assert.equal(await url('/px/echo/x%2Fy;p=%3B?q=%2F'), '/base/echo/x%2Fy;p=%3B?q=%2F', 'escapes are not decoded');
  // Dot segments an upstream could resolve (even out of the base) go up resolved, as we routed them.
  assert.equal(await url('/px/echo/x/../y'), '/base/echo/y');
  assert.equal(await url('/px/../px/echo/z'), '/base/echo/z');
  assert.equal(await url('/px/x%2F..%2F..%2Fpx/echo/w'), '/base/echo/w');
  assert.equal(await url('/px/echo/%2e%2E/echo/v'), '/base/echo/v');
  r = await get('GET /px/../../etc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 403, 'a path climbing above the root is refused before any mount');
});

test('the mountpoint itself, under an origin without a path, goes up as / with its query', async () => {
  let r = await get('GET /pz?id=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'root /?id=1');
  r = await get('GET /pz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.body.toString(), 'root /');
});

test('request bodies go up whole, by length and chunked, on a keep-alive connection', async () => {
  const { srv } = await setup;
  const body = Buffer.alloc(5 << 20);
  // Bytes below 128: the request travels as a latin1 string and must not change.
  for (let i = 0; i < body.length; i += 1000) body[i] = (i % 127) + 1;
  const sha = createHash('sha256').update(body).digest('hex');
  const peer = await livePeer(srv.port);
  let r = await peer.ask(`POST /px/echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n` + body.toString('latin1'));
  assert.equal(r.status, 200, r.body.toString());
  let j = JSON.parse(r.body.toString());
  assert.deepEqual([j.method, j.length, j.sha], ['POST', body.length, sha]);
  r = await peer.ask('PUT /px/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${(1 << 20).toString(16)}\r\n${body.toString('latin1', 0, 1 << 20)}\r\n0\r\n\r\n`);
  j = JSON.parse(r.body.toString());
  assert.deepEqual([j.method, j.length], ['PUT', 1 << 20]);
  peer.s.destroy();
});

test('a client pausing its upload longer than proxyTimeout is waited for', async () => {
  const body = 'first half|second half';
  const sha = createHash('sha256').update(body).digest('hex');
  const { srv } = await setup;
  const r = await raw(srv.port, [
    `POST /px/echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 11)}`,
    body.slice(11),
  ], { gapMs: 1600, timeoutMs: 6000 });
  const [res] = parseResponses(r.data);
  assert.equal(res?.status, 200, r.text.slice(0, 200));
  const j = JSON.parse(res.body.toString());
  assert.deepEqual([j.length, j.sha], [body.length, sha]);
});

test('a slow client does not make the proxy buffer the upstream response', { timeout: 30000 }, async () => {
  const { srv } = await setup;
  const s = await openSocket(srv.port);
  s.pause();
  s.write('GET /px/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await sleep(1500);
  assert.ok(bigWritten > 0, 'the upstream started');
  assert.ok(bigWritten < 24 << 20, `the upstream was held back: ${bigWritten} of ${BIG} bytes written while the client read nothing`);
  let got = 0;
  s.on('data', (d: Buffer) => { got += d.length; });
  s.resume();
  await new Promise<void>((r) => { s.on('close', () => r()); setTimeout(r, 25000); });
  assert.ok(got > BIG, `all of it arrived once the client read (${got})`);
});

test('a slow upstream reader holds the client\'s upload back', { timeout: 20000 }, async () => {
  const { srv } = await setup;
  const size = 32 << 20;
  const s = await openSocket(srv.port);
  let answer = '';
  s.on('data', (d) => { answer += d.toString('latin1'); });
  s.write(`POST /py/slowread HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
  s.write(Buffer.alloc(size, 1));
  await sleep(600);
  assert.ok(slowReadPaused, 'the upstream is still not reading');
  assert.ok(s.writableLength > 8 << 20, `the client is held back (${s.writableLength} unsent)`);
  const end = Date.now() + 15000;
  while (!answer.includes('"length":') && Date.now() < end) await sleep(50);
  assert.match(answer, new RegExp(`"length":${size}`));
  s.destroy();
});

test('upstream failures: 502 refused, 504 silent, a cut-off body closes the client; others unharmed', async () => {
  let r = await get('GET /dead/x HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(r.status, 502);
  assert.ok(r.raw.closed);
  const t0 = Date.now();
  r = await get('GET /px/hang HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(r.status, 504);
  assert.ok(Date.now() - t0 < 3000, 'after about proxyTimeout');
  const cut = await get('GET /px/cut HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(cut.raw.closed, 'closed');
  assert.ok(cut.raw.data.length < 100000, 'short of its length');
  r = await get('GET /untrusted/echo HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(r.status, 502, 'an upstream certificate we cannot verify is refused');
  r = await get('GET /px/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
});

test('https origins', async () => {
  const r = await get('GET /sx/echo/q?z=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body.toString()).url, '/base/echo/q?z=1');
});

test('WebSocket upgrades are proxied both ways', async () => {
  const { srv } = await setup;
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/px/ws?room=1`, 'chat');
  const got: string[] = [];
  ws.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); setTimeout(() => rej(new Error('open timeout')), 3000); });
  assert.equal(ws.protocol, 'chat');
  const big = 'x'.repeat(300000);
  ws.send('ping one');
  ws.send(big);
  const end = Date.now() + 5000;
  while (got.length < 3 && Date.now() < end) await sleep(20);
  assert.deepEqual(got.map((g) => g.slice(0, 40)), ['hello /base/ws?room=1 127.0.0.1', 'ping one', big.slice(0, 40)]);
  assert.equal(got[2].length, big.length);
  const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
  ws.close(4000, 'bye');
  assert.equal(await closed, 4000);
});

test('proxy mounts are checked at creation', async () => {
  await assert.rejects(async () => start({ mounts: [{ mountpoint: '/p', origin: 'http://a b', originProtocol: Mount.HTTP }] }), /not host/);
  await assert.rejects(async () => start({ mounts: [{ mountpoint: '/p', origin: 'h:1', originProtocol: Mount.HTTP, proxyTimeout: 0 }] }), /proxyTimeout/);
});
