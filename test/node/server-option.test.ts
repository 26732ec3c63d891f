/**
 * createWebSocketServer({ server }): the message layer on the port of an
 * existing node:http server or Express app, as `ws`'s
 * `new WebSocketServer({ server })`, with `ws` as the client. The server
 * keeps its routes, and upgrades on other paths stay its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import express from 'express';
import WebSocket from 'ws';
import { createWebSocketServer, ErrorCode, type MessageSocket, type TslwsError, type WebSocketServer } from '../../src/index.js';
import { get, refusedUpgrade } from '../helpers/shared-port.js';
import { next, within } from './helpers.js';

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((res) => server.close(() => res()));
}

function listen(server: Server): Promise<number> {
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port)));
}

function echo(s: MessageSocket): void {
  s.on('message', (data, isBinary) => s.send(data, { binary: isBinary }));
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await next(ws, 'open');
  return ws;
}

/** Send each message and gather what comes back, with its type. */
async function roundTrip(ws: WebSocket, msgs: Array<string | Buffer>): Promise<Array<[string, boolean]>> {
  const back: Array<[string, boolean]> = [];
  const done = new Promise<void>((resolve) => {
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      back.push([isBinary ? d.toString('hex') : d.toString(), isBinary]);
      if (back.length === msgs.length) resolve();
    });
  });
  for (const m of msgs) ws.send(m);
  await within(done, 'the echoes');
  return back;
}

function closed(ws: WebSocket): Promise<[number, string]> {
  return within(new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))), 'close');
}

test('a node:http server: the message server takes upgrades to its path, the server answers the rest', async (t) => {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end('plain node:http');
  });
  t.after(() => closeServer(server));
  // Made before the server listens: 'listening' follows the server's.
  const wss = createWebSocketServer({ server, path: '/ws' });
  let listened = false;
  wss.on('listening', () => (listened = true));
  assert.equal(wss.address(), null);
  const port = await listen(server);
  await within(new Promise<void>((resolve) => (listened ? resolve() : wss.once('listening', () => resolve()))), "the message server's 'listening'");
  assert.equal(wss.port, port, "the server's port");
  assert.deepEqual(wss.address(), { address: '127.0.0.1', port });
  wss.on('connection', echo);

  const ws = await open(`ws://127.0.0.1:${port}/ws?token=1`);
  assert.equal(wss.clients.size, 1);
  assert.deepEqual(await roundTrip(ws, ['héllo', Buffer.from([0, 1, 255])]), [['héllo', false], ['0001ff', true]]);
  const r = await get(`http://127.0.0.1:${port}/anything`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'plain node:http');

  // Another path is not the message server's: the request listener answers it.
  const other = await refusedUpgrade(`ws://127.0.0.1:${port}/elsewhere`);
  assert.equal(other.status, 200);
  assert.equal(other.body, 'plain node:http');

  // close() closes the WebSockets and stops taking upgrades; the server stays.
  const c = closed(ws);
  await within(wss.close(), 'wss.close()');
  assert.deepEqual(await c, [1001, 'server closing']);
  const after = await refusedUpgrade(`ws://127.0.0.1:${port}/ws`);
  assert.equal(after.status, 200, 'upgrades go back to the server');
  assert.equal((await get(`http://127.0.0.1:${port}/`)).body, 'plain node:http');
});

test('an Express app: its routes answered while message sockets are open on /ws', async (t) => {
  const app = express();
  app.get('/api/hello', (_req, res) => {
    res.json({ hello: 'from express' });
  });
  const server = await new Promise<Server>((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  t.after(() => closeServer(server));
  const port = (server.address() as { port: number }).port;
  let wss: WebSocketServer | null = createWebSocketServer({
    server, path: '/ws', protocol: 'chat', maxMessageSize: 1024,
    upgrade: (req) => req.query.get('token') === 'ok' || { status: 401 },
  });
  t.after(() => wss?.close());
  await next(wss, 'listening');
  const seen: string[] = [];
  wss.on('connection', (s) => {
    seen.push(s.protocol);
    echo(s);
  });

  const a = await open(`ws://127.0.0.1:${port}/ws?token=ok`);
  const b = new WebSocket(`ws://127.0.0.1:${port}/ws?token=ok`, ['chat']);
  await next(b, 'open');
  assert.equal(b.protocol, 'chat');
  assert.deepEqual(await roundTrip(a, ['one', 'two', Buffer.from('three')]), [['one', false], ['two', false], ['7468726565', true]]);
  assert.deepEqual(await roundTrip(b, ['to chat']), [['to chat', false]]);
  assert.deepEqual(seen, ['', 'chat']);

  // Express answers its route, and its 404 for an upgrade no one takes.
  const hello = await get(`http://127.0.0.1:${port}/api/hello`);
  assert.equal(hello.status, 200);
  assert.deepEqual(JSON.parse(hello.body), { hello: 'from express' });
  const missing = await refusedUpgrade(`ws://127.0.0.1:${port}/nope`);
  assert.equal(missing.status, 404);
  assert.match(missing.body, /Cannot GET \/nope/);
  // The hook still decides on its path.
  assert.equal((await refusedUpgrade(`ws://127.0.0.1:${port}/ws?token=bad`)).status, 401);
  // The message limit holds.
  const big = closed(a);
  a.send(Buffer.alloc(2048));
  assert.equal((await big)[0], 1009);

  assert.deepEqual(await roundTrip(b, ['still open']), [['still open', false]]);
  const cb = closed(b);
  b.close(4000, 'bye');
  assert.deepEqual(await cb, [4000, 'bye']);
  await wss.close();
  wss = null;
  assert.equal((await get(`http://127.0.0.1:${port}/api/hello`)).status, 200, 'Express goes on after the message server closed');
});

test('server excludes port, iface and tls; without server a port is needed', () => {
  const server = createServer();
  for (const extra of [{ port: 0 }, { iface: '127.0.0.1' }, { tls: { sslCert: 'x', sslPrivateKey: 'y' } }]) {
    assert.throws(() => createWebSocketServer({ server, ...extra }), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION && /cannot be given with server/.test(e.message));
  }
  assert.throws(() => createWebSocketServer({}), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION && /port must be an integer/.test(e.message));
  assert.throws(() => createWebSocketServer({ server: {} as never }), (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION && /node:http or node:https server/.test(e.message));
});
