/**
 * WebSockets over HTTP/2 (RFC 8441), server side: the setting, the
 * extended CONNECT and its refusals, echo and close handshakes through
 * node:http2's client, permessage-deflate and subprotocols, many
 * WebSockets and requests on one connection with per-stream flow
 * control, resets, drain and destroy (1001), topics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { constants as h2c, type ClientHttp2Session } from 'node:http2';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { callbackHttpDummy, Mount, Reason, Write, type Protocol, type Wsi, type ContextCreationInfo } from '../../../src/index.js';
import { FrameType, Flag, H2Error, Setting } from '../../../src/roles/h2/frames.js';
import { start } from '../../helpers/common.js';
import { RawH2 } from '../../helpers/h2raw.js';
import { RawWs, OP, encodeFrame, closePayload, echoProtocol, until, h2Session, type EchoHook } from '../../helpers/ws.js';

const http: Protocol = { name: 'http', callback: callbackHttpDummy };

/** An echo server: protocols `http` (first, for requests) and `echo` (the pvo default, for WebSockets that name none). */
async function server(info: Partial<ContextCreationInfo> = {}, hook?: EchoHook) {
  const e = echoProtocol({ hook });
  const s = await start({ protocols: [http, e.proto], pvo: { echo: { default: '1' } }, ...info });
  return { ...s, log: e.log };
}

function settingsOf(f: { payload: Buffer }): Map<number, number> {
  const m = new Map<number, number>();
  for (let at = 0; at + 6 <= f.payload.length; at += 6) m.set(f.payload.readUInt16BE(at), f.payload.readUInt32BE(at + 2));
  return m;
}

/** The fields of an extended CONNECT, for a raw client. */
function connectFields(extra: Array<[string, string]> = [], drop: string[] = []): Array<[string, string]> {
  const f: Array<[string, string]> = [[':method', 'CONNECT'], [':protocol', 'websocket'], [':scheme', 'http'], [':path', '/'],
    [':authority', 'localhost'], ['sec-websocket-version', '13'], ...extra];
  return f.filter(([n]) => !drop.includes(n));
}

/** The server's unmasked text frames on `stream` of a raw connection, as strings. */
function textsOn(c: RawH2, stream: number): string[] {
  const data = Buffer.concat(c.frames.filter((f) => f.type === FrameType.DATA && f.stream === stream).map((f) => f.payload));
  const out: string[] = [];
  for (let at = 0; at + 2 <= data.length;) {
    const len = data[at + 1] & 0x7f; // small frames only
    if (at + 2 + len > data.length) break;
    if ((data[at] & 0x0f) === OP.TEXT) out.push(data.toString('utf8', at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

test('SETTINGS_ENABLE_CONNECT_PROTOCOL is advertised; with h2.websockets false it is not, and :protocol is a malformed request', async () => {
  const on = await server();
  const off = await server({ h2: { websockets: false } });
  try {
    const a = await RawH2.connect(on.port);
    const sa = settingsOf(await a.waitFor((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), 'SETTINGS'));
    assert.equal(sa.get(Setting.ENABLE_CONNECT_PROTOCOL), 1);
    a.close();
    const b = await RawH2.connect(off.port);
    const sb = settingsOf(await b.waitFor((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), 'SETTINGS'));
    assert.equal(sb.has(Setting.ENABLE_CONNECT_PROTOCOL), false);
    b.headers(1, connectFields());
    assert.equal(await b.reset(1), H2Error.PROTOCOL_ERROR);
    b.request(3);
    assert.ok((await b.head(3)).get(':status'), 'the connection goes on: the next request is answered');
    b.close();
    // Node's client will not even try without the setting.
    const s = await h2Session(off.port);
    assert.equal(s.remoteSettings.enableConnectProtocol, false);
    s.destroy();
    assert.equal(off.log.established.length, 0);
  } finally {
    await on.ctx.destroy();
    await off.ctx.destroy();
  }
});

test('a client\'s SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1 is a connection error (PROTOCOL_ERROR)', async () => {
  const { ctx, port } = await server();
  try {
    const c = await RawH2.connect(port);
    c.settings([[Setting.ENABLE_CONNECT_PROTOCOL, 2]]);
    assert.equal(await c.goaway(), H2Error.PROTOCOL_ERROR);
  } finally {
    await ctx.destroy();
  }
});

test('echo through node:http2: 200 without an accept key, text, binary, fragments, ping/pong, and a close handshake ending the stream both ways', async () => {
  const roles: Array<[string, string | undefined]> = [];
  const { ctx, port, log } = await server({}, (wsi, reason) => {
    if (reason === Reason.ESTABLISHED) roles.push([wsi.roleName, wsi.parent?.roleName]);
  });
  try {
    const c = await RawWs.openH2(port, { path: '/chat?room=1' });
    assert.equal(c.h2Headers[':status'], 200);
    assert.equal(c.h2Headers['sec-websocket-accept'], undefined, 'RFC 8441: no accept key');
    assert.deepEqual(roles, [['ws', 'h2']], 'the stream\'s wsi is a WebSocket, a child of the HTTP/2 connection');
    c.send(OP.TEXT, 'hello');
    assert.equal((await c.message()).data.toString(), 'hello');
    const bin = Buffer.from([0, 1, 2, 255]);
    c.send(OP.BINARY, bin);
    const m = await c.message();
    assert.equal(m.opcode, OP.BINARY);
    assert.ok(m.data.equals(bin));
    c.send(OP.TEXT, 'frag-', { fin: false });
    c.send(OP.PING, 'between');
    c.send(OP.CONT, 'mented');
    const pong = await c.next();
    assert.deepEqual([pong.opcode, pong.payload.toString()], [OP.PONG, 'between']);
    assert.equal((await c.message()).data.toString(), 'frag-mented');
    c.send(OP.CLOSE, closePayload(1000, 'bye'));
    const cl = await c.close();
    assert.deepEqual([cl.code, cl.reason], [1000, 'bye'], 'the peer\'s status is echoed');
    assert.ok(await c.closedWithin(3000), 'the server ends its side of the stream (END_STREAM) after its Close');
    const stream = c.socket as import('node:http2').ClientHttp2Stream;
    const closed = new Promise<number>((r) => stream.once('close', () => r(stream.rstCode ?? -1)));
    stream.end();
    assert.equal(await closed, h2c.NGHTTP2_NO_ERROR, 'both sides ended: the stream closes without a reset');
    assert.ok(await until(() => log.closed === 1, 2000));
    assert.deepEqual(log.peerCloses.map((p) => p.readUInt16BE(0)), [1000]);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('the server closing first: Close with its status, END_STREAM, and a peer that never ends its side is reset with NO_ERROR', async () => {
  const { ctx, port } = await server({}, (wsi, reason, input) => {
    if (reason === Reason.RECEIVE && Buffer.from(input as Uint8Array).toString() === 'kick me') {
      wsi.closeReason(4001, 'kicked');
      return -1;
    }
  });
  try {
    const c = await RawH2.connect(port);
    c.headers(1, connectFields());
    assert.equal((await c.head(1)).get(':status'), '200');
    c.data(1, encodeFrame(OP.TEXT, 'kick me'));
    const end = await c.waitFor((f) => f.type === FrameType.DATA && f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0, 'END_STREAM');
    const all = Buffer.concat(c.frames.filter((f) => f.type === FrameType.DATA && f.stream === 1).map((f) => f.payload));
    assert.equal(all[0], 0x80 | OP.CLOSE, 'the Close frame comes before END_STREAM');
    assert.equal(all.readUInt16BE(2), 4001);
    assert.ok(end);
    // We never end our side: the server stops waiting after its bound.
    assert.equal(await c.reset(1, 6000), H2Error.NO_ERROR);
    c.request(3);
    assert.ok((await c.head(3)).get(':status'), 'the connection goes on');
    c.close();
  } finally {
    await ctx.destroy();
  }
});

test('the peer ending its side of the stream (its FIN) closes the WebSocket: CLOSED, and the server ends the stream too', async () => {
  const { ctx, port, log } = await server();
  try {
    const c = await RawH2.connect(port);
    c.headers(1, connectFields());
    assert.equal((await c.head(1)).get(':status'), '200');
    c.data(1, encodeFrame(OP.TEXT, 'last words'), true);
    await c.waitFor((f) => f.type === FrameType.DATA && f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0, 'the server\'s END_STREAM');
    assert.ok(await until(() => log.closed === 1, 2000), 'CLOSED delivered');
    assert.deepEqual(log.messages.map((m) => m.data.toString()), ['last words'], 'what came before the end was delivered');
    assert.ok(!c.frames.some((f) => f.type === FrameType.RST_STREAM), 'ended cleanly, no reset');
    c.close();
  } finally {
    await ctx.destroy();
  }
});

test('the peer resetting the stream closes the WebSocket: CLOSED, and tslws:ws:close says 1006', async () => {
  const closes: Array<{ code: number; initiator: string }> = [];
  const onClose = (m: unknown): void => {
    const x = m as { code: number; initiator: string };
    closes.push({ code: x.code, initiator: x.initiator });
  };
  subscribe('tslws:ws:close', onClose);
  const { ctx, port, log } = await server();
  try {
    const c = await RawWs.openH2(port);
    c.send(OP.TEXT, 'x');
    await c.message();
    (c.socket as import('node:http2').ClientHttp2Stream).close(h2c.NGHTTP2_CANCEL);
    assert.ok(await until(() => log.closed === 1, 3000), 'CLOSED delivered');
    assert.deepEqual(closes, [{ code: 1006, initiator: 'none' }]);
    // The connection is fine: another WebSocket on it works.
    const d = await RawWs.openH2(port, { session: c.session as ClientHttp2Session });
    d.send(OP.TEXT, 'still');
    assert.equal((await d.message()).data.toString(), 'still');
    c.destroy();
    d.destroy();
    c.session?.destroy();
  } finally {
    unsubscribe('tslws:ws:close', onClose);
    await ctx.destroy();
  }
});

test('subprotocol selection, FILTER_PROTOCOL_CONNECTION and permessage-deflate work as on an HTTP/1.1 upgrade', async () => {
  const filtered: string[] = [];
  const chat: Protocol = {
    name: 'chat',
    callback(wsi, reason, _u, input) {
      if (reason === Reason.FILTER_PROTOCOL_CONNECTION) filtered.push(String(input));
      if (reason === Reason.RECEIVE) {
        wsi.write(Buffer.from(`chat:${Buffer.from(input).toString()}`), 1);
      }
      return 0;
    },
  };
  const e = echoProtocol();
  const { ctx, port } = await start({ protocols: [http, chat, e.proto], ws: { perMessageDeflate: true } });
  try {
    const s = await h2Session(port);
    const c = await RawWs.openH2(port, { session: s, protocol: 'nope, chat' });
    assert.equal(c.h2Headers['sec-websocket-protocol'], 'chat');
    assert.deepEqual(filtered, ['chat']);
    c.send(OP.TEXT, 'hi');
    assert.equal((await c.message()).data.toString(), 'chat:hi');
    // permessage-deflate: a compressed message in, a compressed echo out
    const d = await RawWs.openH2(port, { session: s, protocol: 'echo', headers: ['sec-websocket-extensions: permessage-deflate; client_max_window_bits'] });
    assert.match(String(d.h2Headers['sec-websocket-extensions']), /^permessage-deflate/);
    const text = 'compress me '.repeat(200);
    const z = deflateRawSync(Buffer.from(text), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    d.send(OP.TEXT, z.subarray(0, z.length - 4), { rsv: 4 });
    const f = await d.next();
    assert.equal(f.rsv, 4, 'the echo is compressed (RSV1)');
    assert.ok(f.payload.length < text.length);
    assert.equal(inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 }).toString(), text);
    assert.equal(e.log.messages[0].data.toString(), text);
    c.destroy();
    d.destroy();
    s.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('malformed and refused extended CONNECTs get a precise answer on their own stream and harm no other', async () => {
  const { ctx, port, log } = await server({ mounts: [{ mountpoint: '/px', origin: '127.0.0.1:1/base', originProtocol: Mount.HTTP }] }, (wsi, reason) => {
    if (reason === Reason.FILTER_PROTOCOL_CONNECTION && wsi.getUrlArgByName('deny')) return 1;
  });
  try {
    const c = await RawH2.connect(port);
    // a good one first, used at the end
    c.headers(1, connectFields());
    assert.equal((await c.head(1)).get(':status'), '200');
    const resets: Array<[string, Array<[string, string]>]> = [
      ['no :path', connectFields([], [':path'])],
      ['no :scheme', connectFields([], [':scheme'])],
      ['no :authority', connectFields([], [':authority'])],
      [':protocol on a GET', [[':method', 'GET'], [':protocol', 'websocket'], [':scheme', 'http'], [':path', '/'], [':authority', 'localhost']]],
    ];
    let sid = 3;
    for (const [what, fields] of resets) {
      c.headers(sid, fields);
      assert.equal(await c.reset(sid), H2Error.PROTOCOL_ERROR, what);
      sid += 2;
    }
    const statuses: Array<[string, Array<[string, string]>, string, boolean?]> = [
      ['unknown :protocol', connectFields().map(([n, v]): [string, string] => [n, n === ':protocol' ? 'chat-v2' : v]), '501'],
      ['version 12', connectFields().map(([n, v]): [string, string] => [n, n === 'sec-websocket-version' ? '12' : v]), '400'],
      ['no version', connectFields([], ['sec-websocket-version']), '400'],
      ['no matching subprotocol', connectFields([['sec-websocket-protocol', 'nope, nada']]), '400'],
      ['refused by FILTER_PROTOCOL_CONNECTION', connectFields().map(([n, v]): [string, string] => [n, n === ':path' ? '/?deny=1' : v]), '403'],
      ['END_STREAM on the CONNECT', connectFields(), '400', true],
      ['a proxy mount\'s path', connectFields().map(([n, v]): [string, string] => [n, n === ':path' ? '/px/ws' : v]), '501'],
    ];
    for (const [what, fields, status, end] of statuses) {
      c.headers(sid, fields, end === true);
      const h = await c.head(sid);
      assert.equal(h.get(':status'), status, what);
      if (what.startsWith('version') || what === 'no version') assert.equal(h.get('sec-websocket-version'), '13', `${what}: names the version`);
      sid += 2;
    }
    // A plain CONNECT (no :protocol) is still not a tunnel here.
    c.headers(sid, [[':method', 'CONNECT'], [':authority', 'example.com:443']]);
    const plain = await c.waitFor((f) => f.stream === sid && (f.type === FrameType.HEADERS || f.type === FrameType.RST_STREAM), 'an answer to CONNECT');
    if (plain.type === FrameType.HEADERS) assert.notEqual(c.decoder.decode(plain.payload).fields.find(([n]) => n === ':status')?.[1], '200');
    sid += 2;
    // The first WebSocket and plain requests carry on.
    c.data(1, encodeFrame(OP.TEXT, 'still here'));
    await c.waitFor((f) => f.type === FrameType.DATA && f.stream === 1, 'the echo');
    assert.deepEqual(textsOn(c, 1), ['still here']);
    assert.equal(log.established.length, 1, 'only the good request became a WebSocket');
    assert.ok(!c.frames.some((f) => f.type === FrameType.GOAWAY), 'no connection error');
    c.close();
  } finally {
    await ctx.destroy();
  }
});

test('SERVER_WRITEABLE waits for the stream\'s credit; getPeerWriteAllowance gives it', async () => {
  const seen: Array<[string, number]> = [];
  const writer: Protocol = {
    name: 'writer',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED) {
        seen.push(['established', wsi.getPeerWriteAllowance()]);
        wsi.write(Buffer.alloc(300, 0x78), Write.BINARY);
        wsi.callbackOnWritable();
      }
      if (reason === Reason.SERVER_WRITEABLE) seen.push(['writeable', wsi.getPeerWriteAllowance()]);
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [http, writer], pvo: { writer: { default: '1' } } });
  try {
    // The client gives each stream 100 bytes of window.
    const c = await RawH2.connect(port, { settings: [[Setting.INITIAL_WINDOW_SIZE, 100]] });
    c.headers(1, connectFields());
    assert.equal((await c.head(1)).get(':status'), '200');
    const sent = () => c.frames.filter((f) => f.type === FrameType.DATA && f.stream === 1).reduce((n, f) => n + f.payload.length, 0);
    await c.waitFor((f) => f.type === FrameType.DATA && f.stream === 1, 'the first bytes');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sent(), 100, 'no more than the window');
    assert.deepEqual(seen, [['established', 100]], 'no WRITEABLE while the frame waits for credit');
    c.windowUpdate(1, 1000);
    assert.ok(await until(() => seen.length === 2, 3000), 'WRITEABLE once the credit came and the frame went');
    assert.equal(sent(), 304, 'the whole frame (4-byte header and 300 bytes)');
    assert.deepEqual(seen[1], ['writeable', 1100 - 304]);
    c.close();
  } finally {
    await ctx.destroy();
  }
});

test('many WebSockets and GETs share one connection; a paused reader withholds only its own stream\'s credit', async () => {
  let stalled: Wsi | null = null;
  const { ctx, port, log } = await server({}, (wsi, reason) => {
    if (reason === Reason.ESTABLISHED && wsi.getUrlArgByName('stall')) {
      stalled = wsi;
      wsi.rxFlowControl(false);
    }
  });
  try {
    const s = await h2Session(port);
    const slow = await RawWs.openH2(port, { session: s, path: '/?stall=1' });
    // More than the stream's window (65535): the client can send only that much until credit comes back.
    const big = Buffer.alloc(200 * 1024, 0x61);
    slow.send(OP.TEXT, big);
    const others = await Promise.all(Array.from({ length: 20 }, () => RawWs.openH2(port, { session: s })));
    const gets = Array.from({ length: 10 }, () => new Promise<number>((resolve, reject) => {
      const r = s.request({ ':path': '/nothing-here' });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.resume();
      r.end();
    }));
    for (let round = 0; round < 5; round++) {
      others.forEach((o, i) => o.send(OP.TEXT, `m${round}-${i}`));
      const got = await Promise.all(others.map((o) => o.message()));
      assert.deepEqual(got.map((m) => m.data.toString()), others.map((_, i) => `m${round}-${i}`));
    }
    for (const st of await Promise.all(gets)) assert.ok(st >= 200, 'the GETs are answered while a reader is paused');
    const slowStream = slow.socket as import('node:http2').ClientHttp2Stream;
    assert.ok(slowStream.writableLength > 0 || slowStream.bufferSize > 0, 'the paused stream\'s sender is held back by its window');
    assert.equal(log.messages.filter((m) => m.data.length === big.length).length, 0, 'nothing delivered while paused');
    (stalled as Wsi | null)?.rxFlowControl(true);
    const m = await slow.message(10000);
    assert.equal(m.data.length, big.length, 'resumed: the whole message arrives and is echoed');
    for (const o of others) o.destroy();
    slow.destroy();
    s.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('a client that does not read stalls only its own WebSocket; the others keep flowing', async () => {
  const { ctx, port } = await server();
  try {
    const s = await h2Session(port);
    const lazy = await RawWs.openH2(port, { session: s });
    const lazyStream = lazy.socket as import('node:http2').ClientHttp2Stream;
    const big = Buffer.alloc(1024 * 1024, 0x62);
    lazy.send(OP.BINARY, big);
    await new Promise((r) => setTimeout(r, 50));
    lazyStream.pause();
    const others = await Promise.all(Array.from({ length: 10 }, () => RawWs.openH2(port, { session: s })));
    for (let round = 0; round < 5; round++) {
      others.forEach((o, i) => o.send(OP.TEXT, `r${round}-${i}`));
      const got = await Promise.all(others.map((o) => o.message()));
      assert.deepEqual(got.map((m) => m.data.toString()), others.map((_, i) => `r${round}-${i}`));
    }
    lazyStream.resume();
    const m = await lazy.message(10000);
    assert.ok(m.data.equals(big), 'the stalled WebSocket gets all of its echo once it reads');
    for (const o of others) o.destroy();
    lazy.destroy();
    s.destroy();
  } finally {
    await ctx.destroy();
  }
});

for (const how of ['drain', 'destroy', 'vhost destroy'] as const) {
  test(`${how.startsWith('vhost') ? how : `context ${how}`}: WebSockets on HTTP/2 streams get Close 1001, their streams end, the connection gets GOAWAY`, async () => {
    const { ctx, port, log } = await server({ h2: { drainSecs: 5 } });
    const s = await h2Session(port);
    const goaway = new Promise<number>((r) => s.once('goaway', (code) => r(code)));
    const ws = await Promise.all(Array.from({ length: 3 }, () => RawWs.openH2(port, { session: s })));
    for (const c of ws) {
      c.send(OP.TEXT, 'before');
      await c.message();
    }
    const done = how === 'drain' ? ctx.drain({ timeoutSecs: 5 }) : how === 'destroy' ? ctx.destroy() : ctx.vhosts[0].destroy();
    for (const c of ws) {
      assert.equal((await c.close(5000)).code, 1001);
      assert.ok(await c.closedWithin(5000), 'its stream ends');
    }
    assert.equal(await goaway, h2c.NGHTTP2_NO_ERROR);
    await done;
    assert.equal(log.closed, 3);
    s.destroy();
    await ctx.destroy();
  });
}

test('vhost.publish reaches WebSockets on HTTP/2 streams and on HTTP/1.1 alike', async () => {
  const { ctx, port } = await server({}, (wsi, reason) => {
    if (reason === Reason.ESTABLISHED) wsi.subscribe('news');
  });
  try {
    const s = await h2Session(port);
    const viaH2 = await Promise.all(Array.from({ length: 5 }, () => RawWs.openH2(port, { session: s })));
    const viaH1 = await RawWs.open(port, { protocol: 'echo' });
    const vh = ctx.vhosts[0];
    for (let i = 0; i < 20; i++) vh.publish('news', `item ${i}`);
    for (const c of [...viaH2, viaH1]) {
      for (let i = 0; i < 20; i++) assert.equal((await c.message()).data.toString(), `item ${i}`);
    }
    for (const c of viaH2) c.destroy();
    viaH1.destroy();
    s.destroy();
  } finally {
    await ctx.destroy();
  }
});
