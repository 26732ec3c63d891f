/**
 * WebSockets of a tslws vhost on the port of a node:http / node:https
 * server: vhost.handleUpgrade() from the server's `upgrade` event,
 * attachToServer(), and the `server` creation option; the server keeps
 * answering its own requests, and upgrades tslws does not take stay its.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { attachToServer, ErrorCode, type TslwsError } from '../../../src/index.js';
import { makePki } from '../../helpers/pki.js';
import { wsContext, exerciseSharedPort, open, echo, refusedUpgrade } from '../../helpers/shared-port.js';

const pki = makePki();
const cert = pki.issue('localhost');
after(() => pki.cleanup());

function app(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Content-Type', 'text/plain');
  res.end(`node:http answered ${req.method} ${req.url}`);
}

async function listen<S extends Server | ReturnType<typeof createHttpsServer>>(server: S): Promise<number> {
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return (server.address() as { port: number }).port;
}

function close(server: Server | ReturnType<typeof createHttpsServer>): Promise<void> {
  server.closeAllConnections();
  return new Promise((res) => server.close(() => res()));
}

test('node:http: vhost.handleUpgrade from the upgrade event, with the server answering its own requests on the same port', async (t) => {
  const ctx = wsContext();
  t.after(() => ctx.destroy());
  const server = createServer(app);
  server.timeout = 120_000; // Node puts it on every socket; tslws takes the socket without it
  const timeouts: (number | undefined)[] = [];
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    ctx.vhosts[0].handleUpgrade(req, socket, head);
    timeouts.push(socket.timeout);
  });
  const port = await listen(server);
  t.after(() => close(server));
  await exerciseSharedPort(`ws://127.0.0.1:${port}/ws?x=1`, { url: `http://127.0.0.1:${port}/hello`, body: 'node:http answered GET /hello' });
  assert.ok(timeouts.length >= 3 && timeouts.every((x) => !x), `socket timeouts after handleUpgrade: ${timeouts.join(',')}`);
});

test('node:https: attachToServer; the TLS socket is served as it is, no second handshake', async (t) => {
  const ctx = wsContext();
  t.after(() => ctx.destroy());
  const server = createHttpsServer({ cert: cert.cert, key: cert.key }, app);
  attachToServer(server, { vhost: ctx.vhosts[0], path: '/ws' });
  const port = await listen(server);
  t.after(() => close(server));
  await exerciseSharedPort(`wss://127.0.0.1:${port}/ws`, { url: `https://127.0.0.1:${port}/page`, body: 'node:http answered GET /page' }, pki.ca.cert);
});

test('node:https with a TLS vhost (its own certificate): still one handshake, the server\'s', async (t) => {
  const other = pki.issue('localhost');
  const ctx = wsContext({ sslCert: other.cert, sslPrivateKey: other.key });
  t.after(() => ctx.destroy());
  const server = createHttpsServer({ cert: cert.cert, key: cert.key }, app);
  attachToServer(server, { vhost: ctx.vhosts[0] });
  const port = await listen(server);
  t.after(() => close(server));
  const ws = await open(`wss://127.0.0.1:${port}/`, [], pki.ca.cert);
  assert.equal(await echo(ws, 'tls once'), 'tls once');
  ws.close();
});

test('createContext({ server, serverPath }): attached when the vhost starts, detached when it is destroyed', async (t) => {
  const server = createServer(app);
  const port = await listen(server);
  t.after(() => close(server));
  const ctx = wsContext({ server, serverPath: '/live' });
  assert.equal(server.listenerCount('upgrade'), 1);
  await exerciseSharedPort(`ws://127.0.0.1:${port}/live`, { url: `http://127.0.0.1:${port}/x`, body: 'node:http answered GET /x' });
  // Another path goes to the request handler, as it did before tslws was attached.
  const r = await refusedUpgrade(`ws://127.0.0.1:${port}/elsewhere`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'node:http answered GET /elsewhere');
  await ctx.destroy();
  assert.equal(server.listenerCount('upgrade'), 0);
  const after = await refusedUpgrade(`ws://127.0.0.1:${port}/live`);
  assert.equal(after.body, 'node:http answered GET /live');
});

test('attachToServer: an upgrade on another path is left to the server\'s own upgrade listener (a ws WebSocketServer)', async (t) => {
  const ctx = wsContext();
  t.after(() => ctx.destroy());
  const server = createServer(app);
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(`ws says ${String(d)}`)));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.url === '/other') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const a = attachToServer(server, { vhost: ctx.vhosts[0], path: '/ws' });
  const port = await listen(server);
  t.after(() => close(server));
  t.after(() => wss.close());
  const mine = await open(`ws://127.0.0.1:${port}/ws`);
  const theirs = await open(`ws://127.0.0.1:${port}/other`);
  assert.equal(await echo(mine, 'a'), 'a');
  assert.equal(await echo(theirs, 'b'), 'ws says b');
  mine.close();
  theirs.close();
  a.detach();
  a.detach(); // twice is harmless
  assert.equal(server.listenerCount('upgrade'), 1);
});

test('attachToServer: two vhosts on two paths of one server, and a server with no request handler answers 404', async (t) => {
  const one = wsContext();
  const two = wsContext({ pvo: { chat: { default: '1' } } });
  t.after(() => one.destroy());
  t.after(() => two.destroy());
  const server = createServer();
  attachToServer(server, { vhost: one.vhosts[0], path: '/one' });
  attachToServer(server, { vhost: two.vhosts[0], path: (p) => p.startsWith('/two/') });
  assert.equal(server.listenerCount('upgrade'), 1);
  const port = await listen(server);
  t.after(() => close(server));
  const a = await open(`ws://127.0.0.1:${port}/one`);
  const b = await open(`ws://127.0.0.1:${port}/two/x`);
  assert.equal(await echo(a, 'one'), 'one');
  assert.equal(await echo(b, 'two'), 'two');
  a.close();
  b.close();
  const r = await refusedUpgrade(`ws://127.0.0.1:${port}/three`);
  assert.equal(r.status, 404);
});

test('handleUpgrade and attachToServer misuse throws coded errors', async () => {
  const ctx = wsContext();
  const vh = ctx.vhosts[0];
  const req = { method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: ['Host', 'x'], headers: { host: 'x' } } as unknown as IncomingMessage;
  const sock = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
  const code = (f: () => unknown, c: string, re: RegExp): void => {
    assert.throws(f, (e: TslwsError) => e.code === c && re.test(e.message));
  };
  code(() => vh.handleUpgrade(req, {} as Duplex), ErrorCode.INVALID_ARGUMENT, /socket must be/);
  code(() => vh.handleUpgrade({} as IncomingMessage, sock), ErrorCode.INVALID_ARGUMENT, /req must be/);
  code(() => vh.handleUpgrade(req, sock, 'x' as unknown as Buffer), ErrorCode.INVALID_ARGUMENT, /head must be/);
  code(() => vh.handleUpgrade(req, sock), ErrorCode.NOT_UPGRADE, /has no Upgrade header/);
  assert.equal(sock.destroyed, false, 'a request that is not an upgrade leaves the socket to its owner');
  code(() => attachToServer({} as Server, { vhost: vh }), ErrorCode.INVALID_ARGUMENT, /node:http or node:https server/);
  code(() => attachToServer(createServer(), { vhost: {} as typeof vh }), ErrorCode.INVALID_ARGUMENT, /must be a tslws Vhost/);
  code(() => attachToServer(createServer(), { vhost: vh, path: 'ws' }), ErrorCode.INVALID_ARGUMENT, /path must be/);
  code(() => wsContext({ server: {} as Server }), ErrorCode.INVALID_OPTION, /server must be/);
  code(() => wsContext({ serverPath: '/ws' }), ErrorCode.INVALID_OPTION, /serverPath is given without server/);
  await ctx.destroy();
  const up = { ...req, headers: { host: 'x', upgrade: 'websocket' } } as unknown as IncomingMessage;
  code(() => vh.handleUpgrade(up, sock), ErrorCode.DESTROYED, /is destroyed/);
  assert.equal(sock.destroyed, true, 'the socket of a refused upgrade is not left open');
  code(() => attachToServer(createServer(), { vhost: vh }), ErrorCode.DESTROYED, /is destroyed/);
});
