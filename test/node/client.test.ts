/**
 * connect() against `ws` servers: URLs (localhost, port, path, query),
 * subprotocols and headers, text/binary fidelity, fragments, 16 MiB each
 * way, close codes both ways, wss:// with a CA, and the ways an attempt
 * fails: refused, timed out, aborted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { WebSocketServer as WsServer, type WebSocket } from 'ws';
import { connect, ErrorCode, MessageSocket, type TslwsError } from '../../src/index.js';
import { makePki } from '../helpers/pki.js';
import { until } from '../helpers/ws.js';
import { next, within } from './helpers.js';

async function wsServer(opts: ConstructorParameters<typeof WsServer>[0] = {}): Promise<{ wss: WsServer; port: number }> {
  const wss = new WsServer({ port: 0, ...opts });
  await next(wss, 'listening');
  return { wss, port: (wss.address() as { port: number }).port };
}

function wsEcho(ws: WebSocket): void {
  ws.on('message', (d, isBinary) => ws.send(d as Buffer, { binary: isBinary }));
}

function stop(wss: WsServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  return within(new Promise((resolve) => wss.close(() => resolve())), 'ws server close');
}

test('ws://localhost:PORT/path?query: the URL is parsed, localhost resolved, subprotocol and headers sent', async () => {
  const { wss, port } = await wsServer({ handleProtocols: (ps) => (ps.has('chat') ? 'chat' : false) });
  const seen: Array<{ url: string | undefined; proto: string; token: string | undefined }> = [];
  wss.on('connection', (ws, req) => {
    seen.push({ url: req.url, proto: ws.protocol, token: req.headers['x-token'] as string | undefined });
    wsEcho(ws);
  });
  const s = await connect(`ws://localhost:${port}/room/1?x=1&y=two`, { protocol: ['chat', 'other'], headers: { 'x-token': 'abc' } });
  assert.equal(s.readyState, MessageSocket.OPEN);
  assert.equal(s.protocol, 'chat');
  assert.deepEqual(seen, [{ url: '/room/1?x=1&y=two', proto: 'chat', token: 'abc' }]);
  const plain = await connect(`ws://127.0.0.1:${port}`);
  assert.equal(plain.protocol, '');
  plain.close();
  s.close();
  await next(s, 'close');
  await stop(wss);
});

test('text stays text, binary stays binary, both ways; fragments from the server are one message', async () => {
  const { wss, port } = await wsServer();
  const atServer: Array<[string, boolean]> = [];
  wss.on('connection', (ws) => {
    ws.on('message', (d, b) => atServer.push([(d as Buffer).toString('latin1'), b]));
    wsEcho(ws);
    ws.send('one ', { fin: false });
    ws.send('message', { fin: true });
  });
  const s = await connect(`ws://127.0.0.1:${port}/`);
  const got: Array<[Buffer | string, boolean]> = [];
  s.on('message', (d, b) => got.push([d, b]));
  s.send('héllo');
  s.send(Buffer.from([0, 255]));
  s.send(Buffer.from('text from a buffer'), { binary: false });
  assert.ok(await until(() => got.length === 4, 5000));
  assert.deepEqual(got, [['one message', false], ['héllo', false], [Buffer.from([0, 255]), true], ['text from a buffer', false]]);
  assert.deepEqual(atServer, [[Buffer.from('héllo').toString('latin1'), false], ['\x00\xff', true], ['text from a buffer', false]]);
  s.close();
  await next(s, 'close');
  await stop(wss);
});

test('a 16 MiB message each way, in fragments of fragmentSize', async () => {
  const { wss, port } = await wsServer();
  wss.on('connection', wsEcho);
  const s = await connect(`ws://127.0.0.1:${port}/`);
  const big = randomBytes(16 * 1024 * 1024);
  s.send(big);
  const [d, b] = await next<[Buffer, boolean]>(s, 'message', 30000);
  assert.equal(b, true);
  assert.ok(big.equals(d));
  s.close();
  await next(s, 'close');
  await stop(wss);
});

test('close codes both ways, with reasons', async () => {
  const { wss, port } = await wsServer();
  const serverSide: WebSocket[] = [];
  wss.on('connection', (ws) => serverSide.push(ws));
  const a = await connect(`ws://127.0.0.1:${port}/`);
  assert.ok(await until(() => serverSide.length === 1, 5000));
  const aClosed = next<[number, string]>(a, 'close');
  serverSide[0]?.close(4003, 'from ws');
  assert.deepEqual(await aClosed, [4003, 'from ws']);

  const b = await connect(`ws://127.0.0.1:${port}/`);
  assert.ok(await until(() => serverSide.length === 2, 5000));
  const wsClosed = next<[number, Buffer]>(serverSide[1] as WebSocket, 'close');
  const bClosed = next<[number, string]>(b, 'close');
  b.close(4004, 'from us');
  const [code, reason] = await wsClosed;
  assert.deepEqual([code, reason.toString()], [4004, 'from us']);
  assert.deepEqual(await bClosed, [4004, 'from us']);
  await stop(wss);
});

test('a message over maxMessageSize from the server closes with 1009', async () => {
  const { wss, port } = await wsServer();
  const closed = new Promise<number>((resolve) => wss.on('connection', (ws) => {
    ws.on('close', (c) => resolve(c));
    ws.send(Buffer.alloc(2048));
  }));
  const s = await connect(`ws://127.0.0.1:${port}/`, { maxMessageSize: 1024 });
  const [code] = await next<[number, string]>(s, 'close');
  assert.equal(code, 1009);
  assert.equal(await within(closed, 'ws close'), 1009);
  await stop(wss);
});

/** An https server with a `ws` echo on it, serving `cert`. */
async function wssServer(cert: { cert: Buffer; key: Buffer }): Promise<{ port: number; stop: () => Promise<void> }> {
  const https = createHttpsServer({ cert: cert.cert, key: cert.key });
  const wss = new WsServer({ server: https });
  wss.on('connection', wsEcho);
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  return {
    port: (https.address() as { port: number }).port,
    stop: async () => {
      await stop(wss);
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    },
  };
}

test('wss:// with the server CA, refused without it; a self-signed server with rejectUnauthorized: false', async () => {
  const pki = makePki();
  try {
    const a = await wssServer(pki.issue('localhost'));
    const s = await connect(`wss://localhost:${a.port}/secure`, { ca: pki.ca.cert });
    s.send('over tls');
    assert.deepEqual(await next(s, 'message'), ['over tls', false]);
    s.close();
    await next(s, 'close');
    await assert.rejects(connect(`wss://localhost:${a.port}/`), (e: TslwsError) => e.code === ErrorCode.CONNECT_FAILED);
    await a.stop();

    const b = await wssServer(pki.selfSigned('localhost'));
    await assert.rejects(connect(`wss://localhost:${b.port}/`), (e: TslwsError) => e.code === ErrorCode.CONNECT_FAILED);
    const loose = await connect(`wss://localhost:${b.port}/`, { rejectUnauthorized: false });
    loose.send(Buffer.from([7]));
    assert.deepEqual(await next(loose, 'message'), [Buffer.from([7]), true]);
    loose.close();
    await next(loose, 'close');
    await b.stop();
  } finally {
    pki.cleanup();
  }
});

test('failures: a refused port, a server that never answers (timeout), an aborted attempt, bad URLs', async () => {
  // A port that was just free.
  const tmp = createNetServer();
  await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
  const free = (tmp.address() as { port: number }).port;
  await new Promise<void>((resolve) => tmp.close(() => resolve()));
  await assert.rejects(connect(`ws://127.0.0.1:${free}/`), (e: TslwsError) => e.code === ErrorCode.CONNECT_FAILED);

  // Accepts TCP, says nothing.
  const held: Socket[] = [];
  const mute = createNetServer((c) => held.push(c));
  await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
  const port = (mute.address() as { port: number }).port;
  await assert.rejects(connect(`ws://127.0.0.1:${port}/`, { timeout: 300 }), (e: TslwsError) => e.code === ErrorCode.CONNECT_FAILED);

  const ac = new AbortController();
  const attempt = connect(`ws://127.0.0.1:${port}/`, { signal: ac.signal });
  assert.ok(await until(() => held.length === 2, 5000));
  ac.abort();
  await assert.rejects(attempt, (e: Error) => e.name === 'AbortError');
  await assert.rejects(connect(`ws://127.0.0.1:${port}/`, { signal: AbortSignal.abort() }), (e: Error) => e.name === 'AbortError');

  assert.throws(() => connect('http://localhost/'), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => connect('not a url'), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => connect('ws://localhost/', { timeout: -1 }), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION);
  for (const c of held) c.destroy();
  await new Promise<void>((resolve) => mute.close(() => resolve()));
});

test('async iteration on a client, ending at close', async () => {
  const { wss, port } = await wsServer();
  wss.on('connection', (ws) => {
    for (let i = 0; i < 50; i++) ws.send(`m${i}`);
    ws.close(1000, 'done');
  });
  const s = await connect(`ws://127.0.0.1:${port}/`, { maxQueuedMessages: 2 });
  const got: string[] = [];
  for await (const { data } of s) {
    await new Promise((r) => setImmediate(r)); // a slow consumer
    got.push(data as string);
  }
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `m${i}`));
  await stop(wss);
});

test('permessage-deflate offered to a ws server: agreed, messages intact both ways', async () => {
  const { wss, port } = await wsServer({ perMessageDeflate: true });
  let ext = '';
  wss.on('connection', (ws) => {
    ext = ws.extensions;
    wsEcho(ws);
  });
  const s = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
  const text = 'squeeze '.repeat(40000);
  s.send(text);
  assert.deepEqual(await next(s, 'message'), [text, false]);
  assert.match(ext, /permessage-deflate/);
  s.close();
  await next(s, 'close');
  await stop(wss);
});

test('many clients at once, each with its own messages', async () => {
  const { wss, port } = await wsServer();
  wss.on('connection', wsEcho);
  const N = 60;
  const results = await within(Promise.all(Array.from({ length: N }, async (_, i) => {
    const s = await connect(`ws://localhost:${port}/`);
    const got: string[] = [];
    s.on('message', (d) => got.push(d as string));
    for (let k = 0; k < 5; k++) s.send(`${i}:${k}`);
    assert.ok(await until(() => got.length === 5, 10000));
    s.close();
    await next(s, 'close');
    return got;
  })), 'all clients', 30000);
  results.forEach((got, i) => assert.deepEqual(got, [0, 1, 2, 3, 4].map((k) => `${i}:${k}`)));
  await stop(wss);
});
