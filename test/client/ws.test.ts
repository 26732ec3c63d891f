/**
 * The WebSocket client against our own echo server, a `ws` server (which
 * refuses unmasked frames, so every exchange proves masking) and a
 * hand-written server for what the others never send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callbackHttpDummy, echoProtocol, Reason, Write, type Protocol, type Wsi, type ClientHeaderAppender } from '../../src/index.js';
import { start } from '../helpers/common.js';
import { Recorder, clientContext, fakeServer, good101, decodeFrames, serverFrame } from '../helpers/client.js';

const http: Protocol = { name: 'http-only', callback: callbackHttpDummy };

/** Queue of writes a client sends one per CLIENT_WRITEABLE. */
function sender(rec: Recorder, queue: Array<[Buffer | string, number]>): void {
  rec.on = (wsi, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED && queue.length) wsi.callbackOnWritable();
    if (reason === Reason.CLIENT_WRITEABLE) {
      const next = queue.shift();
      if (!next) return;
      const [d, flags] = next;
      wsi.write(typeof d === 'string' ? Buffer.from(d) : d, flags);
      if (queue.length) wsi.callbackOnWritable();
    }
  };
}

interface WsConnRec { ws: WsSocket; req: IncomingMessage; closed: Promise<[number, string]> }

async function wsServer(): Promise<{ wss: WebSocketServer; port: number; conns: WsConnRec[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (set) => (set.has('chat') ? 'chat' : false) });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const conns: WsConnRec[] = [];
  wss.on('connection', (ws, req) => {
    const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));
    conns.push({ ws, req, closed });
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return {
    wss, port: (wss.address() as { port: number }).port, conns,
    close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
  };
}

test('echo through our own server: text, binary, fragmented and 1 MiB, headers readable before ESTABLISHED', async () => {
  const { ctx: srv, port } = await start({ protocols: [http, echoProtocol], pvo: { 'lws-echo': { default: '1' } } });
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const big = randomBytes(1024 * 1024);
    const bin = randomBytes(300);
    sender(rec, [
      ['hello', Write.TEXT],
      [bin, Write.BINARY],
      ['frag-', Write.TEXT | Write.NO_FIN],
      ['men-', Write.CONTINUATION | Write.NO_FIN],
      ['ted', Write.CONTINUATION],
      [big, Write.BINARY],
    ]);
    let seen: { status: number; proto: string | undefined } | null = null;
    const inner = rec.on;
    rec.on = (wsi, reason, input) => {
      if (reason === Reason.CLIENT_FILTER_PRE_ESTABLISH) seen = { status: wsi.httpClientStatus(), proto: wsi.hdrCopy('sec-websocket-protocol') };
      return inner(wsi, reason, input);
    };
    const pwsi: { wsi?: Wsi } = {};
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port, protocol: 'lws-echo', pwsi });
    assert.equal(pwsi.wsi, wsi);
    await rec.until(() => rec.messages.length >= 4, 'four echoes', 10000);
    assert.deepEqual(seen, { status: 101, proto: 'lws-echo' });
    assert.deepEqual(rec.reasons(wsi).slice(0, 4),
      [Reason.WSI_CREATE, Reason.CLIENT_APPEND_HANDSHAKE_HEADER, Reason.CLIENT_FILTER_PRE_ESTABLISH, Reason.CLIENT_ESTABLISHED]);
    assert.equal(rec.messages[0].data.toString(), 'hello');
    assert.equal(rec.messages[0].binary, false);
    assert.ok(rec.messages[1].data.equals(bin));
    assert.equal(rec.messages[1].binary, true);
    assert.equal(rec.messages[2].data.toString(), 'frag-men-ted');
    assert.ok(rec.messages[3].data.equals(big), '1 MiB echoed intact');
    assert.equal(wsi.roleName, 'ws');
  } finally {
    await ctx.destroy();
    await srv.destroy();
  }
});

test('against ws: the request carries the listed headers, messages of every kind echo, masking accepted', async () => {
  const s = await wsServer();
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const big = randomBytes(1024 * 1024 + 3);
    sender(rec, [
      ['héllo', Write.TEXT],
      [Buffer.from([0, 1, 2]), Write.BINARY],
      [Buffer.from('ab'), Write.BINARY | Write.NO_FIN],
      [Buffer.from('cd'), Write.CONTINUATION],
      [big, Write.BINARY],
      [Buffer.alloc(0), Write.TEXT],
    ]);
    const inner = rec.on;
    rec.on = (wsi, reason, input) => {
      if (reason === Reason.CLIENT_APPEND_HANDSHAKE_HEADER) (input as ClientHeaderAppender).add('X-Appended', 'yes');
      return inner(wsi, reason, input);
    };
    ctx.clientConnect({ address: 'localhost', port: s.port, path: '/chat?x=1', origin: 'example.com', protocol: 'nope, chat', headers: { 'x-user': 'u1' } });
    await rec.until(() => rec.messages.length >= 5, 'five echoes', 10000);
    const h = s.conns[0].req.headers;
    assert.equal(s.conns[0].req.url, '/chat?x=1');
    assert.equal(h.host, `localhost:${s.port}`);
    assert.equal(h.origin, 'http://example.com');
    assert.equal(h['sec-websocket-version'], '13');
    assert.equal(h['sec-websocket-protocol'], 'nope, chat');
    assert.equal(h['x-appended'], 'yes');
    assert.equal(h['x-user'], 'u1');
    assert.equal(h.pragma, 'no-cache');
    assert.equal(h['cache-control'], 'no-cache');
    assert.equal(s.conns[0].ws.protocol, 'chat');
    assert.equal(rec.messages[0].data.toString(), 'héllo');
    assert.deepEqual([...rec.messages[1].data], [0, 1, 2]);
    assert.equal(rec.messages[2].data.toString(), 'abcd');
    assert.ok(rec.messages[3].data.equals(big));
    assert.equal(rec.messages[4].data.length, 0);
    assert.equal(rec.messages[4].binary, false);
  } finally {
    await ctx.destroy();
    await s.close();
  }
});

test('against ws: pings are answered, our ping gets CLIENT_RECEIVE_PONG', async () => {
  const s = await wsServer();
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    sender(rec, [[Buffer.from('p1'), Write.PING]]);
    ctx.clientConnect({ address: '127.0.0.1', port: s.port });
    await rec.until(() => rec.has(Reason.CLIENT_RECEIVE_PONG), 'our pong');
    assert.equal(Buffer.from(rec.first(Reason.CLIENT_RECEIVE_PONG)!.input as Uint8Array).toString(), 'p1');
    const pong = new Promise<string>((r) => s.conns[0].ws.once('pong', (d) => r(d.toString())));
    s.conns[0].ws.ping('srv');
    assert.equal(await Promise.race([pong, new Promise((_, j) => setTimeout(() => j(new Error('no pong')), 3000))]), 'srv');
  } finally {
    await ctx.destroy();
    await s.close();
  }
});

test('against ws: close codes travel both ways', async () => {
  const s = await wsServer();
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    // Our close: 4001 "bye"
    rec.on = (wsi, reason) => {
      if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
      if (reason === Reason.CLIENT_WRITEABLE) {
        wsi.closeReason(4001, 'bye');
        return -1;
      }
    };
    ctx.clientConnect({ address: '127.0.0.1', port: s.port });
    await rec.until(() => s.conns.length === 1, 'server connection');
    const got = await Promise.race([s.conns[0].closed, new Promise<never>((_, j) => setTimeout(() => j(new Error('no close at the server')), 3000))]);
    assert.deepEqual(got, [4001, 'bye']);
    assert.ok(rec.has(Reason.CLIENT_CLOSED));

    // The server's close: 4002 "srv", echoed by us
    const rec2 = new Recorder();
    const ctx2 = clientContext(rec2);
    try {
      ctx2.clientConnect({ address: '127.0.0.1', port: s.port });
      await rec2.until(() => rec2.has(Reason.CLIENT_ESTABLISHED) && s.conns.length === 2, 'second connection');
      s.conns[1].ws.close(4002, 'srv');
      await rec2.until(() => rec2.has(Reason.CLIENT_CLOSED), 'CLIENT_CLOSED');
      const peer = Buffer.from(rec2.first(Reason.WS_PEER_INITIATED_CLOSE)!.input as Uint8Array);
      assert.equal(peer.readUInt16BE(0), 4002);
      assert.equal(peer.subarray(2).toString(), 'srv');
      assert.equal((await s.conns[1].closed)[0], 4002);
    } finally {
      await ctx2.destroy();
    }
  } finally {
    await ctx.destroy();
    await s.close();
  }
});

test('every frame is masked with a fresh key; a masked server frame is refused with 1002', async () => {
  const fs = await fakeServer((head) => good101(head));
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    sender(rec, [['one', Write.TEXT], ['two', Write.TEXT], ['three', Write.TEXT]]);
    ctx.clientConnect({ address: '127.0.0.1', port: fs.port });
    await rec.until(() => fs.conns.length === 1 && decodeFrames(Buffer.concat(fs.conns[0].after)).length >= 3, 'three frames');
    const frames = decodeFrames(Buffer.concat(fs.conns[0].after));
    assert.deepEqual(frames.map((f) => f.payload.toString()), ['one', 'two', 'three']);
    assert.ok(frames.every((f) => f.masked));
    assert.equal(new Set(frames.map((f) => f.mask!.toString('hex'))).size, 3, 'three different keys');
    // An unmasked server frame is fine, a masked one is a protocol error.
    fs.conns[0].socket.write(serverFrame(1, 'ok'));
    await rec.until(() => rec.messages.length === 1, 'server text');
    fs.conns[0].socket.write(serverFrame(1, 'bad', true));
    await rec.until(() => rec.has(Reason.CLIENT_CLOSED), 'CLIENT_CLOSED');
    await rec.until(() => decodeFrames(Buffer.concat(fs.conns[0].after)).some((f) => f.opcode === 8), 'close frame');
    const close = decodeFrames(Buffer.concat(fs.conns[0].after)).find((f) => f.opcode === 8)!;
    assert.equal(close.payload.readUInt16BE(0), 1002);
    assert.ok(close.masked);
  } finally {
    await ctx.destroy();
    await fs.close();
  }
});

/** A throw-away self-signed certificate for `localhost`, made with the openssl CLI. */
function selfSigned(): { key: Buffer; cert: Buffer; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('wss: allowSelfSigned and a given CA connect; default verification refuses a self-signed server', async () => {
  const pem = selfSigned();
  const https = createHttpsServer({ key: pem.key, cert: pem.cert });
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  const port = (https.address() as { port: number }).port;
  try {
    for (const ssl of [{ allowSelfSigned: true }, { ca: pem.cert }] as const) {
      const rec = new Recorder();
      const ctx = clientContext(rec);
      sender(rec, [['secure', Write.TEXT]]);
      ctx.clientConnect({ address: 'localhost', port, ssl });
      await rec.until(() => rec.messages.length === 1, `echo over TLS (${Object.keys(ssl)[0]})`);
      assert.equal(rec.messages[0].data.toString(), 'secure');
      await ctx.destroy();
    }
    const rec = new Recorder();
    const ctx = clientContext(rec);
    ctx.clientConnect({ address: '127.0.0.1', port, ssl: true });
    await rec.until(() => rec.has(Reason.CLIENT_CONNECTION_ERROR), 'certificate refused');
    assert.match(rec.first(Reason.CLIENT_CONNECTION_ERROR)!.input as string, /^TLS handshake with .*self[- ]signed/i);
    await ctx.destroy();
  } finally {
    for (const c of wss.clients) c.terminate();
    https.closeAllConnections();
    await new Promise<void>((r) => https.close(() => r()));
    pem.cleanup();
  }
});

test('IPv6: connect to [::1]', async () => {
  const wss = new WebSocketServer({ port: 0, host: '::1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const hosts: string[] = [];
  wss.on('connection', (ws, req) => { hosts.push(req.headers.host ?? ''); ws.on('message', (d, b) => ws.send(d, { binary: b })); });
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    sender(rec, [['six', Write.TEXT]]);
    ctx.clientConnect({ address: '::1', port: (wss.address() as { port: number }).port });
    await rec.until(() => rec.messages.length === 1, 'echo over IPv6');
    assert.equal(rec.messages[0].data.toString(), 'six');
    assert.match(hosts[0], /^\[::1\]:\d+$/);
  } finally {
    await ctx.destroy();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});

test('rx flow control on a client: nothing is delivered while off, everything in order once on', async () => {
  const s = await wsServer();
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    rec.on = (wsi, reason) => {
      if (reason === Reason.CLIENT_ESTABLISHED) wsi.rxFlowControl(false);
    };
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port: s.port });
    await rec.until(() => rec.has(Reason.CLIENT_ESTABLISHED) && s.conns.length === 1, 'established');
    for (let i = 0; i < 20; i++) s.conns[0].ws.send(`m${i}`);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(rec.messages.length, 0, 'held while reading is off');
    wsi.rxFlowControl(true);
    await rec.until(() => rec.messages.length === 20, 'all twenty');
    assert.deepEqual(rec.messages.map((m) => m.data.toString()), Array.from({ length: 20 }, (_, i) => `m${i}`));
  } finally {
    await ctx.destroy();
    await s.close();
  }
});

test('the upgrade request is exactly the spec\'s list, in order', async () => {
  const fs = await fakeServer((head) => good101(head, 'Sec-WebSocket-Protocol: b\r\n'));
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    rec.on = (_wsi, reason, input) => {
      if (reason === Reason.CLIENT_APPEND_HANDSHAKE_HEADER) {
        const a = input as ClientHeaderAppender;
        a.add('X-Extra', '1');
        assert.throws(() => a.add('Bad Name', 'x'), TypeError);
        assert.throws(() => a.add('x-split', 'a\r\nInjected: 1'), TypeError);
      }
    };
    ctx.clientConnect({ address: '127.0.0.1', port: fs.port, path: '/p', host: 'h.example', origin: 'o.example', protocol: 'a,b' });
    await rec.until(() => rec.has(Reason.CLIENT_ESTABLISHED), 'established');
    const lines = fs.conns[0].request.split('\r\n');
    const key = lines.find((l) => l.startsWith('Sec-WebSocket-Key: '))!.slice(19);
    assert.equal(Buffer.from(key, 'base64').length, 16);
    assert.deepEqual(lines, [
      'GET /p HTTP/1.1', 'Pragma: no-cache', 'Cache-Control: no-cache', 'Host: h.example', 'Origin: http://o.example',
      'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Protocol: a,b',
      'X-Extra: 1', 'Sec-WebSocket-Version: 13', '', '',
    ]);
    assert.equal(rec.first(Reason.CLIENT_ESTABLISHED)!.wsi.hdrCopy('sec-websocket-protocol'), 'b');
  } finally {
    await ctx.destroy();
    await fs.close();
  }
});
