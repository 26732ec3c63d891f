/**
 * HTTP/2 limits and abuse, each with its option: concurrent streams,
 * header list size, frame size, HPACK table size, rapid reset, floods of
 * CONTINUATION, SETTINGS, PING, PRIORITY, empty DATA and tiny
 * WINDOW_UPDATE frames, a peer that gives no window, and a peer that
 * opens every window and reads nothing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, truncateSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { createContext, callbackHttpDummy, Mount, Reason, type Context, type Protocol, type Wsi } from '../../../src/index.js';
import { H2Error, FrameType, Flag, Setting, frame } from '../../../src/roles/h2/frames.js';
import type { H2Options } from '../../../src/roles/h2/options.js';
import type { H2Stream } from '../../../src/roles/h2/stream.js';
import { RawH2 } from '../../helpers/h2raw.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-h2lim-'));
writeFileSync(join(dir, 'small.txt'), 'small\n');
const contexts: Context[] = [];

after(async () => {
  await Promise.all(contexts.map((c) => c.destroy()));
  rmSync(dir, { recursive: true, force: true });
});

/** A protocol that never answers: its streams stay open. */
const hold: Protocol = { name: 'hold', callback: () => 0 };

async function server(h2: Partial<H2Options>, limits: Record<string, number> = {}): Promise<number> {
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', h2: { only: true, ...h2 }, limits,
    protocols: [{ name: 'http', callback: callbackHttpDummy }, hold],
    mounts: [
      { mountpoint: '/', origin: dir, originProtocol: Mount.FILE },
      { mountpoint: '/hold', origin: 'hold', originProtocol: Mount.CALLBACK },
    ],
  });
  contexts.push(ctx);
  await ctx.listening;
  return ctx.vhosts[0].port!;
}

test('streams past maxConcurrentStreams are refused with REFUSED_STREAM; the open ones and the connection go on', async () => {
  const port = await server({ maxConcurrentStreams: 3 });
  const c = await RawH2.connect(port);
  try {
    for (const id of [1, 3, 5, 7]) c.request(id, '/hold');
    assert.equal(await c.reset(7), H2Error.REFUSED_STREAM);
    assert.equal(c.frames.some((f) => f.type === FrameType.RST_STREAM && f.stream < 7), false);
    c.rst(1, H2Error.CANCEL);
    c.request(9, '/small.txt');
    assert.equal((await c.head(9)).get(':status'), '200', 'a place freed: the next stream is served');
  } finally {
    c.close();
  }
});

test('a header list over maxHeaderListSize is answered 431 on its stream; the connection goes on', async () => {
  const port = await server({ maxHeaderListSize: 2048 });
  const c = await RawH2.connect(port);
  try {
    c.request(1, '/small.txt', { extra: [['x-big', 'a'.repeat(3000)]] });
    assert.equal((await c.head(1)).get(':status'), '431');
    c.request(3, '/small.txt');
    assert.equal((await c.head(3)).get(':status'), '200');
  } finally {
    c.close();
  }
});

test('a frame over maxFrameSize is a FRAME_SIZE_ERROR', async () => {
  const port = await server({});
  const c = await RawH2.connect(port);
  c.request(1, '/hold', { endStream: false });
  c.rawHeader(16385, FrameType.DATA, 0, 1);
  c.send(Buffer.alloc(16385));
  assert.equal(await c.goaway(), H2Error.FRAME_SIZE_ERROR);
});

test('HPACK: once our SETTINGS are acknowledged, a table size update past headerTableSize is a COMPRESSION_ERROR', async () => {
  const port = await server({ headerTableSize: 256 });
  const c = await RawH2.connect(port);
  const settings = c.frames.find((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK))!;
  const values = new Map<number, number>();
  for (let at = 0; at < settings.payload.length; at += 6) values.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
  assert.equal(values.get(Setting.HEADER_TABLE_SIZE), 256);
  await new Promise((r) => setTimeout(r, 50));
  // A dynamic table size update to 200 (allowed), then a request.
  c.encoder.setMaxTableSize(200);
  c.request(1, '/small.txt');
  assert.equal((await c.head(1)).get(':status'), '200');
  // 0x3f 0xe1 0x1f: size update to 4096, past the 256 we allow.
  c.send(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, Buffer.from([0x3f, 0xe1, 0x1f, 0x82])));
  assert.equal(await c.goaway(), H2Error.COMPRESSION_ERROR);
});

test('rapid reset: streams reset before they were answered spend a budget; past it ENHANCE_YOUR_CALM', async () => {
  const port = await server({ resetBurst: 10, resetRate: 0.001 });
  const c = await RawH2.connect(port);
  for (let i = 0; i < 12; i++) {
    const id = 1 + 2 * i;
    c.request(id, '/hold');
    c.rst(id, H2Error.CANCEL);
  }
  assert.equal(await c.goaway(), H2Error.ENHANCE_YOUR_CALM);
});

test('a CONTINUATION flood ends with ENHANCE_YOUR_CALM, by frame count and by size', async () => {
  const port = await server({ maxContinuations: 4, maxHeaderListSize: 4096 });
  let c = await RawH2.connect(port);
  const block = c.encoder.encode([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'x']]);
  c.send(frame(FrameType.HEADERS, 0, 1, block.subarray(0, 2)));
  for (let i = 0; i < 6; i++) c.send(frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0)));
  assert.equal(await c.goaway(), H2Error.ENHANCE_YOUR_CALM);
  c = await RawH2.connect(port);
  c.send(frame(FrameType.HEADERS, 0, 1, block.subarray(0, 2)));
  for (let i = 0; i < 3; i++) c.send(frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16000, 0x40)));
  assert.equal(await c.goaway(), H2Error.ENHANCE_YOUR_CALM);
});

for (const [kind, send] of [
  ['SETTINGS', (c: RawH2) => c.settings([])],
  ['PING', (c: RawH2) => c.ping()],
  ['PRIORITY', (c: RawH2) => c.priority(101, 0)],
  ['empty DATA', (c: RawH2) => c.data(1, Buffer.alloc(0))],
  ['tiny WINDOW_UPDATE', (c: RawH2) => c.windowUpdate(0, 1)],
] as const) {
  test(`a ${kind} flood ends with GOAWAY ENHANCE_YOUR_CALM; the same number within the budget does not`, async () => {
    const port = await server({ floodBurst: 20, floodRate: 0.001 });
    const ok = await RawH2.connect(port);
    if (kind === 'empty DATA') ok.request(1, '/hold', { endStream: false });
    for (let i = 0; i < 15; i++) send(ok);
    ok.request(3, '/small.txt');
    assert.equal((await ok.head(3)).get(':status'), '200');
    ok.close();
    const c = await RawH2.connect(port);
    if (kind === 'empty DATA') c.request(1, '/hold', { endStream: false });
    for (let i = 0; i < 40; i++) send(c);
    assert.equal(await c.goaway(), H2Error.ENHANCE_YOUR_CALM);
  });
}

test('a peer that gives no window: the stream is reset (CANCEL) after timeoutSecs, the connection goes on', async () => {
  const port = await server({}, { timeoutSecs: 1 });
  const c = await RawH2.connect(port, { settings: [[Setting.INITIAL_WINDOW_SIZE, 0]] });
  try {
    writeFileSync(join(dir, 'ten.txt'), 'x'.repeat(10000));
    c.request(1, '/ten.txt');
    assert.equal((await c.head(1)).get(':status'), '200');
    assert.equal(await c.reset(1, 4000), H2Error.CANCEL);
    assert.equal(c.frames.some((f) => f.type === FrameType.DATA && f.stream === 1 && f.payload.length > 0), false);
    c.request(3, '/small.txt');
    await c.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 3, 'the next response');
  } finally {
    c.close();
  }
});

test('a peer that opens every window and reads nothing: a 1 GB file holds no more than a chunk and the socket\'s buffer', async () => {
  const big = join(dir, 'gigabyte.bin');
  writeFileSync(big, '');
  truncateSync(big, 1024 ** 3);
  let stream: H2Stream | null = null;
  const watch: Protocol = {
    name: 'http',
    callback(wsi: Wsi, reason, user, input) {
      if (reason === Reason.HTTP_FILE_COMPLETION) return 0;
      if (reason === Reason.FILTER_HTTP_CONNECTION) stream = wsi.roleState as H2Stream;
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', h2: { only: true }, protocols: [watch], mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }] });
  contexts.push(ctx);
  await ctx.listening;
  const c = await RawH2.connect(ctx.vhosts[0].port!, { settings: [[Setting.INITIAL_WINDOW_SIZE, 0x7fffffff]] });
  try {
    c.windowUpdate(0, 0x7fffffff - 65535);
    c.request(1, '/gigabyte.bin');
    await c.waitFor((f) => f.type === FrameType.DATA, 'the first DATA');
    c.socket.pause();
    const limits = ctx.vhosts[0].limits;
    let most = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const s = stream as H2Stream | null;
      assert.ok(s, 'the stream');
      const held = s.outBytes + (s.conn.wsi.transport?.writableLength ?? 0);
      most = Math.max(most, held);
    }
    const bound = 2 * limits.fileChunkSize + limits.txHighWater + 4 * 16393;
    assert.ok(most <= bound, `held ${most} bytes, bound ${bound}`);
    assert.ok(most > 0, 'the stalled bytes are seen');
  } finally {
    c.close();
  }
});

test('SETTINGS never acknowledged: GOAWAY SETTINGS_TIMEOUT after settingsTimeoutSecs', async () => {
  const port = await server({ settingsTimeoutSecs: 0.3 });
  const c = await RawH2.connect(port, { noAck: true });
  assert.equal(await c.goaway(3000), H2Error.SETTINGS_TIMEOUT);
});

test('a connection with no stream is closed after idleTimeoutSecs with GOAWAY NO_ERROR; one with a stream is not', async () => {
  const port = await server({ idleTimeoutSecs: 0.3 });
  const busy = await RawH2.connect(port);
  busy.request(1, '/hold');
  const c = await RawH2.connect(port);
  c.request(1, '/small.txt');
  await c.waitFor((f) => f.type === FrameType.HEADERS, 'the response');
  assert.equal(await c.goaway(3000), H2Error.NO_ERROR);
  assert.equal(busy.closed, false, 'a connection with an open stream stays');
  busy.close();
});

test('a partial preface and then the peer ends its side: closed at once, not at headerTimeoutSecs', async () => {
  const port = await server({ only: false }, { headerTimeoutSecs: 60 });
  for (const part of ['PRI * HTTP/2.0\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n']) {
    const s = netConnect({ host: '127.0.0.1', port });
    await once(s, 'connect');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.end(part);
    const closed = once(s, 'close').then(() => true);
    const late = new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref());
    const ok = await Promise.race([closed, late]);
    s.destroy();
    assert.equal(ok, true, `closed after ${JSON.stringify(part)} and the peer's FIN`);
    assert.equal(Buffer.concat(got).length, 0, 'nothing to answer: no request was made');
  }
});
