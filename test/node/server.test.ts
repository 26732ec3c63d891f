/**
 * createWebSocketServer against `ws` clients: whole messages with their
 * type, fragments gathered, 16 MiB messages, the size limit, send-buffer
 * policies against a peer that does not read, async iteration with a slow
 * consumer, upgrade refusals, close codes both ways, AbortSignal, pings and
 * many connections at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { connect, createContext, createWebSocketServer, ErrorCode, MessageSocket, Option, type TslwsError } from '../../src/index.js';
import { makePki } from '../helpers/pki.js';
import { RawWs, until } from '../helpers/ws.js';
import { listen, next, within } from './helpers.js';

type WsMsg = [data: Buffer, isBinary: boolean];

function echo(s: MessageSocket): void {
  s.on('message', (data, isBinary) => s.send(data, { binary: isBinary }));
}

/** A server, a ws client connected to it, the server's socket for it, and what the client receives. */
async function pair(): Promise<{ server: Awaited<ReturnType<typeof listen>>; ws: WebSocket; socket: MessageSocket; back: WsMsg[] }> {
  const server = await listen();
  const conn = next<[MessageSocket]>(server, 'connection');
  const ws = await open(server.port as number);
  const [socket] = await conn;
  const back: WsMsg[] = [];
  ws.on('message', (d: Buffer, b: boolean) => back.push([d, b]));
  return { server, ws, socket, back };
}

async function open(port: number, path = '/', opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, opts);
  await next(ws, 'open');
  return ws;
}

test('text stays text, binary stays binary, fragments are one message', async () => {
  const server = await listen();
  const got: Array<[Buffer | string, boolean]> = [];
  server.on('connection', (s) => {
    s.on('message', (d, b) => got.push([d, b]));
    echo(s);
  });
  const ws = await open(server.port as number);
  const back: WsMsg[] = [];
  ws.on('message', (d: Buffer, b: boolean) => back.push([d, b]));
  ws.send('héllo');
  ws.send(Buffer.from([0, 1, 255]));
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  ws.send(Buffer.from([1]), { binary: true, fin: false });
  ws.send(Buffer.from([2]), { binary: true, fin: true });
  assert.ok(await until(() => back.length === 4, 5000));
  assert.deepEqual(got, [['héllo', false], [Buffer.from([0, 1, 255]), true], ['fragmented', false], [Buffer.from([1, 2]), true]]);
  assert.deepEqual(back.map(([d, b]) => [d.toString('latin1'), b]), [
    [Buffer.from('héllo').toString('latin1'), false], ['\x00\x01\xff', true], ['fragmented', false], ['\x01\x02', true],
  ]);
  ws.close();
  await server.close();
});

test('send: a Buffer with binary:false goes as text, a string as text; sending before open throws', async () => {
  const server = await listen();
  server.on('connection', (s) => {
    s.send(Buffer.from('as text'), { binary: false });
    s.send('string');
    s.send(new Uint8Array([9]));
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
  const back: WsMsg[] = [];
  ws.on('message', (d: Buffer, b: boolean) => back.push([d, b]));
  assert.ok(await until(() => back.length === 3, 5000));
  assert.deepEqual(back.map(([d, b]) => [d.toString(), b]), [['as text', false], ['string', false], ['\t', true]]);
  ws.close();
  await server.close();
});

test('invalid UTF-8 in a text message closes with 1007, and the message is not delivered', async () => {
  const server = await listen();
  const msgs: unknown[] = [];
  const closed = new Promise<void>((resolve) => server.on('connection', (s) => {
    s.on('message', (d) => msgs.push(d));
    s.on('close', () => resolve());
  }));
  const ws = await open(server.port as number);
  ws.send(Buffer.from([0x61, 0xff, 0x62]), { binary: false });
  const [code] = await next<[number, Buffer]>(ws, 'close');
  assert.equal(code, 1007);
  await within(closed, 'server socket close');
  assert.deepEqual(msgs, []);
  await server.close();
});

test('a 16 MiB message each way, whole and intact', async () => {
  const server = await listen();
  server.on('connection', echo);
  const ws = await open(server.port as number);
  const big = randomBytes(16 * 1024 * 1024);
  ws.send(big);
  const [d, b] = await next<WsMsg>(ws, 'message', 30000);
  assert.equal(b, true);
  assert.ok(big.equals(d));
  ws.close();
  await server.close();
});

test('send() copies: a buffer reused at once after send() does not change what goes out, whatever the size', async () => {
  const { server, ws, socket, back } = await pair();
  // Sizes around Node's buffer pool (4 KiB) and the fragment size (64 KiB),
  // in two rounds, so buffers the layer reuses between messages are reused.
  const sizes = [0, 1, 4095, 4096, 4097, 30000, 65535, 65536, 65537, 200000];
  const sent: Array<[Buffer | string, boolean]> = [];
  const scratch = Buffer.alloc(200000);
  for (let round = 0; round < 2; round++) {
    for (const [i, n] of sizes.entries()) {
      const binary = randomBytes(n);
      scratch.set(binary);
      socket.send(scratch.subarray(0, n));
      scratch.fill(0xee); // the caller reuses its buffer at once
      sent.push([binary, true]);
      const text = 'é'.repeat(n >> 1) + String(i);
      socket.send(text);
      sent.push([text, false]);
    }
    assert.ok(await until(() => back.length === sent.length, 10000));
  }
  assert.deepEqual(back.map(([d, b]) => [b ? d : d.toString('utf8'), b]), sent);
  ws.close();
  await server.close();
});

test('a slow reader gets every message as sent: buffers the layer reuses wait until the socket has written them', async () => {
  const server = await listen();
  const conn = next<[MessageSocket]>(server, 'connection');
  const ws = await open(server.port as number);
  const [socket] = await conn;
  const back: Buffer[] = [];
  ws.on('message', (d: Buffer) => back.push(d));
  // The client reads nothing while 12 MB are sent (more than loopback
  // buffers), each message different, in sizes the layer copies into its
  // reused buffers; sent a few at a time, so new messages take buffers
  // while earlier ones wait in the socket.
  ws.pause();
  const sent: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const m = randomBytes(i % 2 ? 40000 : 65536);
    sent.push(m);
    socket.send(m);
    if (i % 4 === 3) await sleep(1);
  }
  try {
    await sleep(200);
    assert.ok(socket.bufferedAmount > 0, 'the stalled reader holds messages back');
    ws.resume();
    assert.ok(await until(() => back.length === sent.length, 10000), `${back.length} of ${sent.length} messages`);
    for (let i = 0; i < sent.length; i++) assert.ok(back[i].equals(sent[i]), `message ${i} as sent`);
  } finally {
    ws.terminate();
    await server.close();
  }
});

test('thousands of small messages queued behind a stalled reader, mixed with large ones, arrive in order', async () => {
  const { server, ws, socket, back } = await pair();
  // Large messages fill the socket first, so the small ones wait in the
  // send queue: far more than the slots it keeps between messages, and
  // long enough for it to move its written slots to the back.
  ws.pause();
  const sent: Array<[Buffer | string, boolean]> = [];
  for (let i = 0; i < 200; i++) {
    const m = randomBytes(65536);
    sent.push([m, true]);
    socket.send(m);
  }
  for (let i = 0; i < 3000; i++) {
    const text = `message ${i} ` + 'x'.repeat(i % 100);
    socket.send(text);
    sent.push([text, false]);
    if (i % 500 === 0) {
      const m = randomBytes(5000 + i);
      socket.send(m);
      sent.push([m, true]);
    }
  }
  try {
    await sleep(200);
    assert.ok(socket.bufferedAmount > 0, 'the stalled reader holds messages back');
    ws.resume();
    assert.ok(await until(() => back.length === sent.length, 20000), `${back.length} of ${sent.length} messages`);
    assert.deepEqual(back.map(([d, b]) => [b ? d : d.toString('utf8'), b]), sent);
    assert.equal(socket.bufferedAmount, 0);
  } finally {
    ws.terminate();
    await server.close();
  }
});

test('messages in many pieces and frames (ws fragments, 64 KiB reads) arrive whole', async () => {
  const server = await listen();
  const got: Array<[Buffer | string, boolean]> = [];
  server.on('connection', (s) => s.on('message', (d, b) => got.push([d, b])));
  const ws = await open(server.port as number);
  const want: Array<[Buffer | string, boolean]> = [];
  for (const n of [65536, 65550, 131072, 300001]) {
    const one = randomBytes(n);
    ws.send(one);
    want.push([one, true]);
    // The same bytes in frames of uneven sizes, a 0-byte one among them.
    const cuts = [0, 1, 1, Math.min(70000, n), n];
    for (let k = 1; k < cuts.length; k++) ws.send(one.subarray(cuts[k - 1], cuts[k]), { binary: true, fin: k === cuts.length - 1 });
    want.push([one, true]);
    const text = 'ab€'.repeat(Math.ceil(n / 5)).slice(0, n);
    ws.send(text.slice(0, 10), { fin: false });
    ws.send(text.slice(10), { fin: true });
    want.push([text, false]);
  }
  assert.ok(await until(() => got.length === want.length, 10000));
  assert.deepEqual(got, want);
  ws.close();
  await server.close();
});

test('a message over maxMessageSize closes with 1009', async () => {
  const server = await listen({ maxMessageSize: 1000 });
  const closes: Array<[number, string]> = [];
  server.on('connection', (s) => s.on('close', (c, r) => closes.push([c, r])));
  const ws = await open(server.port as number);
  ws.send('x'.repeat(1000)); // exactly the limit: accepted
  ws.send('y'.repeat(600), { fin: false });
  ws.send('y'.repeat(600), { fin: true });
  const [code] = await next<[number, Buffer]>(ws, 'close');
  assert.equal(code, 1009);
  assert.ok(await until(() => closes.length === 1, 5000));
  assert.equal(closes[0]?.[0], 1009);
  await server.close();
});

/** A server socket sending 256 KiB messages to a raw client that never reads, until `send` refuses. */
async function flood(policy: 'close' | 'drop'): Promise<{ maxSeen: number; refusedAt: number; socket: MessageSocket; raw: RawWs }> {
  const server = await listen({ maxBufferedAmount: 1024 * 1024, onBufferFull: policy, closeTimeout: 500 });
  const conn = next<[MessageSocket]>(server, 'connection');
  const raw = await RawWs.open(server.port as number);
  raw.socket.pause(); // never reads again: TCP fills, then our queue
  const [socket] = await conn;
  const chunk = Buffer.alloc(256 * 1024, 1);
  let maxSeen = 0;
  let refusedAt = -1;
  for (let i = 0; i < 10000 && refusedAt < 0; i++) {
    if (!socket.send(chunk)) refusedAt = i;
    maxSeen = Math.max(maxSeen, socket.bufferedAmount);
    await sleep(1); // let WRITEABLE run so the socket buffers fill first
  }
  assert.ok(refusedAt >= 0, 'send refused once the buffer is full');
  void server.close();
  return { maxSeen, refusedAt, socket, raw };
}

test("onBufferFull 'close': a peer that does not read is closed with 1008 once bufferedAmount reaches the bound", async () => {
  const { maxSeen, socket, raw } = await flood('close');
  assert.ok(maxSeen <= 1024 * 1024 && maxSeen >= 768 * 1024, `bufferedAmount grew to the bound: ${maxSeen}`);
  const [code] = socket.readyState === MessageSocket.CLOSED ? [1008] : await next<[number]>(socket, 'close');
  assert.equal(code, 1008);
  raw.socket.destroy();
});

test("onBufferFull 'drop': the message is dropped, the connection stays", async () => {
  const { maxSeen, socket, raw } = await flood('drop');
  assert.ok(maxSeen <= 1024 * 1024, `bufferedAmount stays within the bound: ${maxSeen}`);
  assert.equal(socket.bufferedAmount <= 1024 * 1024, true);
  assert.notEqual(socket.readyState, MessageSocket.CLOSED);
  raw.socket.destroy();
  await next(socket, 'close');
});

test("onBufferFull 'pause-reading': an echo to a peer that does not read stops reading it, and loses nothing", async () => {
  const MAX = 1024 * 1024;
  const server = await listen({ maxBufferedAmount: MAX, onBufferFull: 'pause-reading' });
  let received = 0;
  let maxBuffered = 0;
  server.on('connection', (s) => s.on('message', (d, b) => {
    received++;
    s.send(d, { binary: b });
    maxBuffered = Math.max(maxBuffered, s.bufferedAmount);
  }));
  const ws = await open(server.port as number);
  const back: number[] = [];
  ws.on('message', (d: Buffer) => back.push(d.readUInt32BE(0)));
  ws.pause(); // reads nothing: the echoes back up in TCP, then in the server's queue
  const N = 300;
  for (let i = 0; i < N; i++) {
    const b = Buffer.alloc(64 * 1024);
    b.writeUInt32BE(i, 0);
    ws.send(b);
  }
  assert.ok(await until(() => maxBuffered > MAX, 10000), 'the queue reached the bound');
  await sleep(200); // room for reads that should not happen
  assert.ok(received < N, `reading stopped: ${received} of ${N} read`);
  // The message that crossed the bound is queued, nothing after it.
  assert.ok(maxBuffered <= MAX + 64 * 1024, `bufferedAmount bounded: ${maxBuffered}`);
  ws.resume();
  assert.ok(await until(() => back.length === N, 30000), `all echoes: ${back.length}`);
  assert.deepEqual(back, Array.from({ length: N }, (_, i) => i));
  ws.close();
  await server.close();
});

test('async iteration: a slow consumer stops reading (the sender backs up), then gets every message in order', async () => {
  const Q = 4;
  const server = await listen({ maxQueuedMessages: Q });
  let release: () => void = () => {};
  let gated = true;
  const gate = new Promise<void>((r) => (release = r));
  const got: number[] = [];
  let received = 0;
  let maxWhileGated = 0;
  const N = 400;
  const done = new Promise<void>((resolve) => server.on('connection', async (s) => {
    s.on('message', () => {
      received++;
      if (gated) maxWhileGated = Math.max(maxWhileGated, received);
    });
    for await (const { data, isBinary } of s) {
      assert.equal(isBinary, true);
      if (got.length === 0) await gate;
      got.push((data as Buffer).readUInt32BE(0));
      if (got.length === N) break;
    }
    resolve();
  }));
  const ws = await open(server.port as number);
  for (let i = 0; i < N; i++) {
    const b = Buffer.alloc(64 * 1024);
    b.writeUInt32BE(i, 0);
    ws.send(b);
  }
  // 25 MiB sent; while the loop waits, reading stops after Q messages and the rest backs up in the client.
  assert.ok(await until(() => received >= Q + 1, 5000));
  await sleep(200); // room for a read that should not happen
  assert.ok(ws.bufferedAmount > 0, 'the sender is pushed back');
  gated = false;
  release();
  await within(done, 'all messages', 30000);
  // One message taken by the loop, Q waiting, and at most the pieces of one more already read when reading stopped.
  assert.ok(maxWhileGated <= Q + 2, `messages read while the consumer waited: ${maxWhileGated}`);
  assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
  ws.close();
  await server.close();
});

test('async iteration ends when the connection closes', async () => {
  const server = await listen();
  const seen: string[] = [];
  const ended = new Promise<void>((resolve) => server.on('connection', async (s) => {
    for await (const m of s) seen.push(m.data as string);
    resolve();
  }));
  const ws = await open(server.port as number);
  ws.send('a');
  ws.send('b');
  ws.close(1000);
  await within(ended, 'iteration end');
  assert.deepEqual(seen, ['a', 'b']);
  await server.close();
});

test('close codes both ways, with reasons', async () => {
  const server = await listen();
  const sockets: MessageSocket[] = [];
  server.on('connection', (s) => sockets.push(s));
  const a = await open(server.port as number);
  assert.ok(await until(() => sockets.length === 1, 5000));
  const aClosed = next<[number, Buffer]>(a, 'close');
  const sClosed = next<[number, string]>(sockets[0] as MessageSocket, 'close');
  sockets[0]?.close(4001, 'server bye');
  const [code, reason] = await aClosed;
  assert.deepEqual([code, reason.toString()], [4001, 'server bye']);
  assert.deepEqual(await sClosed, [4001, 'server bye']);

  const b = await open(server.port as number);
  assert.ok(await until(() => sockets.length === 2, 5000));
  const bClosed = next<[number, string]>(sockets[1] as MessageSocket, 'close');
  b.close(4002, 'client bye');
  assert.deepEqual(await bClosed, [4002, 'client bye']);
  assert.equal(sockets[1]?.readyState, MessageSocket.CLOSED);
  await server.close();
});

test('misuse throws coded errors', async () => {
  const server = await listen();
  const conn = next<[MessageSocket]>(server, 'connection');
  const ws = await open(server.port as number);
  const [s] = await conn;
  assert.throws(() => s.close(1005), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => s.close(1000, 'x'.repeat(124)), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => s.ping(Buffer.alloc(126)), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => new MessageSocket().send('x'),
    (e: TslwsError) => e.code === ErrorCode.NOT_OPEN);
  assert.throws(() => new MessageSocket({ fragmentSize: 1.5 }), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION);
  await assert.rejects(listen({ maxMessageSize: 0 }), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION);
  await assert.rejects(listen({ onBufferFull: 'explode' as 'drop' }), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION);
  ws.close();
  await server.close();
});

test('ping: the peer answers, a pong event comes', async () => {
  const server = await listen();
  const conn = next<[MessageSocket]>(server, 'connection');
  const ws = await open(server.port as number);
  const [s] = await conn;
  const pong = next<[Buffer]>(s, 'pong');
  s.ping('are you there');
  assert.equal((await pong)[0].toString(), 'are you there');
  ws.close();
  await server.close();
});

test('upgrade hook and path: refusals with their status and headers, the request as the hook sees it', async () => {
  const seen: Array<{ path: string; q: string | null; origin: string | undefined; token: string | undefined }> = [];
  const server = await listen({
    path: '/chat',
    upgrade: (req) => {
      seen.push({ path: req.path, q: req.query.get('room'), origin: req.origin, token: req.headers.find(([k]) => k === 'x-token')?.[1] });
      if (req.query.get('room') === 'secret') return { status: 401, headers: { 'www-authenticate': 'Bearer' } };
      if (req.query.get('room') === 'nope') return false;
      return true;
    },
  });
  const refused = (path: string): Promise<[number, string | undefined]> => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, { headers: { 'x-token': 't1' } });
    ws.on('error', () => {});
    return within(new Promise((resolve) => ws.on('unexpected-response', (_req, res) => {
      resolve([res.statusCode ?? 0, res.headers['www-authenticate'] as string | undefined]);
      res.resume();
      ws.terminate();
    })), 'refusal');
  };
  assert.deepEqual(await refused('/chat?room=secret'), [401, 'Bearer']);
  assert.deepEqual((await refused('/chat?room=nope'))[0], 403);
  assert.deepEqual((await refused('/elsewhere'))[0], 404);
  const ws = await open(server.port as number, '/chat?room=1', { origin: 'http://example.com', headers: { 'x-token': 't2' } });
  ws.close();
  assert.deepEqual(seen, [
    { path: '/chat', q: 'secret', origin: undefined, token: 't1' },
    { path: '/chat', q: 'nope', origin: undefined, token: 't1' },
    { path: '/chat', q: '1', origin: 'http://example.com', token: 't2' },
  ]);
  await server.close();
});

test('AbortSignal closes the server: clients get 1001, the port is released', async () => {
  const ac = new AbortController();
  const server = await listen({ signal: ac.signal });
  const ws = await open(server.port as number);
  const closed = next<[number, Buffer]>(ws, 'close');
  const serverClosed = next(server, 'close');
  ac.abort();
  assert.equal((await closed)[0], 1001);
  await serverClosed;
  const again = new WebSocket(`ws://127.0.0.1:${server.port}/`);
  const [err] = await next<[Error & { code?: string }]>(again, 'error');
  assert.equal(err.code, 'ECONNREFUSED');
});

test('many connections at once, each with its own messages', async () => {
  const server = await listen();
  server.on('connection', echo);
  const N = 100;
  const results = await within(Promise.all(Array.from({ length: N }, async (_, i) => {
    const ws = await open(server.port as number);
    const got: string[] = [];
    ws.on('message', (d: Buffer) => got.push(d.toString()));
    for (let k = 0; k < 5; k++) ws.send(`${i}:${k}`);
    assert.ok(await until(() => got.length === 5, 10000));
    ws.close();
    return got;
  })), 'all connections', 30000);
  results.forEach((got, i) => assert.deepEqual(got, [0, 1, 2, 3, 4].map((k) => `${i}:${k}`)));
  assert.ok(await until(() => server.clients.size === 0, 5000));
  await server.close();
});

test('permessage-deflate with a ws client: compressed both ways, messages intact', async () => {
  const server = await listen({ perMessageDeflate: true });
  server.on('connection', echo);
  const ws = await open(server.port as number, '/', { perMessageDeflate: true });
  assert.match(ws.extensions, /permessage-deflate/);
  const text = 'compress me '.repeat(50000);
  ws.send(text);
  const [d, b] = await next<WsMsg>(ws, 'message');
  assert.deepEqual([d.toString(), b], [text, false]);
  ws.close();
  await server.close();
});

test('wss:// server (tls option) with our own client, and a subprotocol', async () => {
  const pki = makePki();
  try {
    const leaf = pki.issue('localhost');
    const server = await listen({ tls: { sslCert: leaf.cert, sslPrivateKey: leaf.key }, protocol: 'chat' });
    server.on('connection', echo);
    const s = await connect(`wss://localhost:${server.port}/`, { ca: pki.ca.cert, protocol: 'chat' });
    assert.equal(s.protocol, 'chat');
    s.send(Buffer.from('secret'));
    assert.deepEqual(await next(s, 'message'), [Buffer.from('secret'), true]);
    s.close();
    await next(s, 'close');
    await server.close();
  } finally {
    pki.cleanup();
  }
});

test('on an existing context: its own vhost, removed by close() while the context goes on; a busy port is an error event', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    const server = await listen({ context: ctx, vhostName: 'messages' });
    assert.equal(server.context, ctx);
    assert.ok(ctx.vhosts.includes(server.vhost));
    server.on('connection', echo);
    const s = await connect(`ws://127.0.0.1:${server.port}/`);
    s.send('on a shared context');
    assert.deepEqual(await next(s, 'message'), ['on a shared context', false]);

    const busy = createWebSocketServer({ port: server.port as number, iface: '127.0.0.1' });
    const [err] = await next<[Error & { code?: string }]>(busy, 'error');
    assert.equal(err.code, 'EADDRINUSE');
    await next(busy, 'close');

    const closed = next<[number, string]>(s, 'close');
    await server.close();
    assert.equal((await closed)[0], 1001);
    assert.ok(!ctx.vhosts.includes(server.vhost));
    assert.equal(ctx.destroyed, false);
  } finally {
    await ctx.destroy();
  }
});

test('close() after send(): what is queued goes out first, then the Close; send() after close() returns false', async () => {
  const server = await listen();
  const big = randomBytes(4 * 1024 * 1024);
  server.on('connection', (s) => {
    s.send(big);
    s.send('last words');
    s.close(4000, 'done');
    assert.equal(s.readyState, MessageSocket.CLOSING);
    assert.equal(s.send('too late'), false);
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
  const got: WsMsg[] = [];
  ws.on('message', (d: Buffer, b: boolean) => got.push([d, b]));
  const [code, reason] = await next<[number, Buffer]>(ws, 'close');
  assert.deepEqual([code, reason.toString()], [4000, 'done']);
  assert.equal(got.length, 2);
  assert.ok(big.equals(got[0]?.[0] as Buffer));
  assert.deepEqual([got[1]?.[0].toString(), got[1]?.[1]], ['last words', false]);
  await server.close();
});

test('server.clients: size, has, forEach and iteration follow sockets opening and closing', async () => {
  const server = await listen();
  try {
    const sockets: MessageSocket[] = [];
    server.on('connection', (s) => sockets.push(s));
    const clients = await Promise.all([0, 1, 2].map(() => open(server.port as number)));
    assert.ok(await until(() => server.clients.size === 3, 5000));
    for (const s of sockets) assert.equal(server.clients.has(s), true);
    const seen: MessageSocket[] = [];
    server.clients.forEach((s, same, set) => {
      assert.equal(s, same);
      assert.equal(set, server.clients);
      seen.push(s);
    });
    assert.deepEqual(new Set(seen), new Set(sockets));
    assert.deepEqual(new Set([...server.clients]), new Set(sockets));
    clients[1].close();
    assert.ok(await until(() => server.clients.size === 2, 5000));
    const gone = sockets.find((s) => !server.clients.has(s));
    assert.ok(gone, 'the closed one left');
    assert.equal([...server.clients.values()].includes(gone), false);
    for (const s of server.clients) s.close(1000, 'bye'); // closing while iterating visits every one
    assert.ok(await until(() => server.clients.size === 0, 5000));
    for (const c of clients) c.terminate();
  } finally {
    await server.close();
  }
});
