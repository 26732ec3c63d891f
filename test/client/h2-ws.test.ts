/**
 * WebSocket client over HTTP/2 (RFC 8441) against a node:http2 server
 * that allows extended CONNECT and echoes WebSocket frames on the
 * stream (and, for the HTTP/1.1 fallback, on an upgraded socket):
 * echo, close codes both ways, and require / prefer / forbid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Reason, Write, createContext, callbackHttpDummy, type Context, type Wsi } from '../../src/index.js';
import { Recorder, clientContext, acceptOf } from '../helpers/client.js';
import { h2Fixtures, nodeH2, wsEcho, wsFrame, type WsEcho } from '../helpers/h2client.js';
import { connect, type MessageSocket } from '../../src/node/index.js';

const { pki, leaf, ssl, contexts, closers } = h2Fixtures();

interface Session extends WsEcho {
  via: 'h2' | 'h1';
  subprotocol: string | undefined;
  /** Send a frame from the server. */
  send(b: Buffer): void;
}

/** A node:http2 TLS server that echoes WebSockets over extended CONNECT (when `rfc8441`) and over HTTP/1.1 upgrades. */
async function echoServer(rfc8441: boolean, connectStatus = 200) {
  const sessions: Session[] = [];
  const h = await nodeH2((s, hd) => {
    if (hd[':method'] !== 'CONNECT' || hd[':protocol'] !== 'websocket') {
      s.respond({ ':status': 400 });
      s.end();
      return;
    }
    const offered = String(hd['sec-websocket-protocol'] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    const sub = offered[0];
    if (connectStatus !== 200) {
      s.respond({ ':status': connectStatus });
      s.end();
      return;
    }
    s.respond({ ':status': 200, ...(sub ? { 'sec-websocket-protocol': sub } : {}) });
    const st: Session = { via: 'h2', subprotocol: sub, got: [], masked: [], closeCode: null, send: (b) => s.write(b) };
    sessions.push(st);
    wsEcho(s, st);
  }, { cert: leaf, settings: { enableConnectProtocol: rfc8441 }, allowHTTP1: true });
  h.server.on('upgrade', (req: IncomingMessage, sock: Duplex) => {
    const sub = String(req.headers['sec-websocket-protocol'] ?? '').split(',')[0]?.trim();
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(String(req.headers['sec-websocket-key']))}\r\n${sub ? `Sec-WebSocket-Protocol: ${sub}\r\n` : ''}\r\n`);
    const st: Session = { via: 'h1', subprotocol: sub || undefined, got: [], masked: [], closeCode: null, send: (b) => sock.write(b) };
    sessions.push(st);
    wsEcho(sock, st);
  });
  closers.push(h.close);
  return { ...h, sessions };
}

function ctxFor(rec: Recorder): Context {
  const ctx = clientContext(rec);
  contexts.push(ctx);
  return ctx;
}

test('over HTTP/2: extended CONNECT, subprotocol, masked frames echoed, CLIENT_WRITEABLE by stream credit', async () => {
  const srv = await echoServer(true);
  const rec = new Recorder();
  const ctx = ctxFor(rec);
  const bin = randomBytes(200 * 1024);
  const queue: Array<[Buffer, number]> = [[Buffer.from('hello'), Write.TEXT], [bin, Write.BINARY]];
  rec.on = (wsi, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
    if (reason === Reason.CLIENT_WRITEABLE) {
      const next = queue.shift();
      if (next) wsi.write(next[0], next[1]);
      if (queue.length) wsi.callbackOnWritable();
    }
  };
  const wsi = ctx.clientConnect({ address: '127.0.0.1', port: srv.port, path: '/echo', protocol: 'echo, other', ssl, http2: 'require' });
  await rec.until(() => rec.messages.length === 2, 'two echoes', 10000);
  assert.equal(srv.sessions[0].via, 'h2');
  assert.equal(rec.messages[0].data.toString(), 'hello');
  assert.ok(rec.messages[1].data.equals(bin));
  assert.ok(srv.sessions[0].masked.every(Boolean), 'every client frame masked');
  assert.equal(wsi.parent?.roleName, 'h2-client');
  assert.equal(wsi.httpClientStatus(), 200);
  assert.equal(wsi.hdrCopy('sec-websocket-protocol'), 'echo');
});

test('over HTTP/2: close codes both ways', async () => {
  const srv = await echoServer(true);
  const rec = new Recorder();
  const ctx = ctxFor(rec);
  rec.on = (wsi, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
    if (reason === Reason.CLIENT_WRITEABLE) {
      wsi.closeReason(4001, 'bye');
      return -1;
    }
  };
  ctx.clientConnect({ address: '127.0.0.1', port: srv.port, ssl, http2: 'require' });
  await rec.until(() => rec.has(Reason.CLIENT_CLOSED), 'CLIENT_CLOSED');
  await rec.until(() => srv.sessions[0]?.closeCode !== null, 'close at the server');
  assert.equal(srv.sessions[0].closeCode, 4001);

  const rec2 = new Recorder();
  const ctx2 = ctxFor(rec2);
  ctx2.clientConnect({ address: '127.0.0.1', port: srv.port, ssl, http2: 'require' });
  await rec2.until(() => rec2.has(Reason.CLIENT_ESTABLISHED) && srv.sessions.length === 2, 'second session');
  const payload = Buffer.concat([Buffer.from([0x0f, 0xa2]), Buffer.from('srv')]); // 4002 "srv"
  srv.sessions[1].send(wsFrame(0x8, payload));
  await rec2.until(() => rec2.has(Reason.CLIENT_CLOSED), 'CLIENT_CLOSED');
  const peer = Buffer.from(rec2.first(Reason.WS_PEER_INITIATED_CLOSE)!.input as Uint8Array);
  assert.equal(peer.readUInt16BE(0), 4002);
  assert.equal(peer.subarray(2).toString(), 'srv');
  await rec2.until(() => srv.sessions[1].closeCode !== null, 'our Close echoed');
  assert.equal(srv.sessions[1].closeCode, 4002);
});

async function echoOnce(port: number, http2: 'require' | 'prefer' | 'forbid' | undefined): Promise<{ rec: Recorder; wsi: Wsi }> {
  const rec = new Recorder();
  const ctx = ctxFor(rec);
  rec.on = (w, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED) w.callbackOnWritable();
    if (reason === Reason.CLIENT_WRITEABLE) w.write(Buffer.from('ping'), Write.TEXT);
  };
  const wsi = ctx.clientConnect({ address: '127.0.0.1', port, ssl, http2 });
  await rec.until(() => rec.messages.length === 1 || rec.has(Reason.CLIENT_CONNECTION_ERROR), 'an echo or an error');
  return { rec, wsi };
}

test('a server without SETTINGS_ENABLE_CONNECT_PROTOCOL: "require" fails clearly, "prefer" falls back to HTTP/1.1', async () => {
  const srv = await echoServer(false);
  const req = await echoOnce(srv.port, 'require');
  assert.equal(req.rec.first(Reason.CLIENT_CONNECTION_ERROR)?.input, 'HS: the server does not take WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)');
  const pref = await echoOnce(srv.port, 'prefer');
  assert.equal(pref.rec.messages[0]?.data.toString(), 'ping');
  assert.deepEqual(srv.sessions.map((s) => s.via), ['h1']);
  assert.equal(pref.wsi.parent, null);
});

test('"forbid" (the default for WebSockets) stays on HTTP/1.1 even when the server allows RFC 8441', async () => {
  const srv = await echoServer(true);
  const def = await echoOnce(srv.port, undefined);
  const forbid = await echoOnce(srv.port, 'forbid');
  assert.equal(def.rec.messages[0]?.data.toString(), 'ping');
  assert.equal(forbid.rec.messages[0]?.data.toString(), 'ping');
  assert.deepEqual(srv.sessions.map((s) => s.via), ['h1', 'h1']);
  const pref = await echoOnce(srv.port, 'prefer');
  assert.equal(pref.rec.messages[0]?.data.toString(), 'ping');
  assert.equal(srv.sessions[2].via, 'h2');
});

test('an extended CONNECT answered with another status than 200 is a CONNECTION_ERROR naming it', async () => {
  const srv = await echoServer(true, 403);
  const r = await echoOnce(srv.port, 'require');
  assert.equal(r.rec.first(Reason.CLIENT_CONNECTION_ERROR)?.input, 'HS: ws extended CONNECT response not 200 (got 403)');
});

/** Send `text` on a MessageSocket and resolve with the first message that comes back (5 s at most). */
function echoOf(socket: MessageSocket, text: string): Promise<string> {
  const got = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no echo')), 5000);
    socket.once('message', (data: string | Buffer) => {
      clearTimeout(t);
      resolve(data.toString());
    });
  });
  socket.send(text);
  return got;
}

test('the message layer: connect(wss://…, { http2: "require" }) is a MessageSocket over an HTTP/2 stream', async () => {
  const srv = await echoServer(true);
  const socket = await connect(`wss://127.0.0.1:${srv.port}/m`, { ca: pki.ca.cert, http2: 'require', timeout: 5000 });
  try {
    assert.equal(await echoOf(socket, 'over h2'), 'over h2');
    assert.deepEqual(srv.sessions.map((s) => s.via), ['h2']);
  } finally {
    socket.close(1000);
  }
  await assert.rejects(connect(`wss://127.0.0.1:${(await echoServer(false)).port}/m`, { ca: pki.ca.cert, http2: 'require', timeout: 5000 }),
    /does not take WebSockets over HTTP\/2/);
});

test('against tslws itself: connect(wss://…, { http2: "require" }) rides an HTTP/2 stream of our server (RFC 8441 both sides)', async () => {
  const seen: Array<{ onStream: boolean; protocol: string }> = [];
  const server = createContext({
    port: 0, iface: '127.0.0.1', sslCertFilepath: leaf.certPath, sslPrivateKeyFilepath: leaf.keyPath,
    protocols: [{ name: 'http', callback: callbackHttpDummy }, {
      name: 'lws-echo',
      callback(wsi, reason, _user, input) {
        if (reason === Reason.ESTABLISHED) seen.push({ onStream: wsi.parent !== null, protocol: wsi.protocol.name });
        if (reason === Reason.RECEIVE) wsi.write(Buffer.from(input as Buffer), Write.TEXT);
        return 0;
      },
    }],
  });
  contexts.push(server);
  await server.listening;
  const port = server.vhosts[0].port!;
  const socket = await connect(`wss://localhost:${port}/`, { ca: pki.ca.cert, http2: 'require', protocol: 'lws-echo', timeout: 5000 });
  try {
    assert.equal(await echoOf(socket, 'both sides speak RFC 8441'), 'both sides speak RFC 8441');
    assert.deepEqual(seen, [{ onStream: true, protocol: 'lws-echo' }], 'the server established the WebSocket on an HTTP/2 stream');
  } finally {
    socket.close(1000);
  }
});
