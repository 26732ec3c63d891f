/**
 * permessage-deflate conformance, after Autobahn groups 12 and 13
 * (compressed echo of many messages of many sizes, under each parameter
 * set) and the protocol errors RFC 7692 names: RSV1 where it may not be,
 * bad compressed data, messages inflating past the limit. Raw frames show
 * what the server puts on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeflateRaw, deflateRawSync, constants } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { Reason, Write, type Protocol } from '../../../src/index.js';
import { start } from '../../helpers/common.js';
import { RawWs, OP, encodeFrame, echoProtocol, until } from '../../helpers/ws.js';
import { openWs, nextMessages, wsClosed, textOf, pmdCompress, pmdInflate, headerOf, type PmdWsOptions } from '../../helpers/ws-peer.js';

const OFFER = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits';
// The server starts afresh per message, so each one inflates alone here.
const OFFER_NO_CTX = `${OFFER}; server_no_context_takeover`;

async function pmdServer(extra: Parameters<typeof echoProtocol>[0] = {}, pmd: object = { threshold: 0 }) {
  const e = echoProtocol(extra);
  const s = await start({ protocols: [e.proto], ws: { perMessageDeflate: pmd } });
  return { ...s, log: e.log };
}

// Autobahn 12.x/13.x: payload sizes 16 B … 128 KB, text and binary, under the offers of 13.1 … 13.7.
const SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
const PARAM_SETS: Array<[string, PmdWsOptions]> = [
  ['13.1 default offer', {}],
  ['13.2 no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ['13.3 client window 8', { clientMaxWindowBits: 8 }],
  ['13.4 client window 15', { clientMaxWindowBits: 15 }],
  ['13.5 client window 8, no client context takeover', { clientMaxWindowBits: 8, clientNoContextTakeover: true }],
  ['13.6 server window 9, no server context takeover', { serverMaxWindowBits: 9, serverNoContextTakeover: true }],
  ['13.7 every limit at its smallest', { serverMaxWindowBits: 8, clientMaxWindowBits: 8, serverNoContextTakeover: true, clientNoContextTakeover: true }],
];

test('Autobahn 12/13 style: compressed echo of 10 sizes x 20 messages, text and binary, under each parameter set', async () => {
  const { ctx, port } = await pmdServer();
  try {
    for (const [name, offer] of PARAM_SETS) {
      const ws = await openWs(`ws://127.0.0.1:${port}/`, { threshold: 0, ...offer }, ['echo']);
      const sent: Buffer[] = [];
      for (const size of SIZES) {
        for (let i = 0; i < 20; i++) {
          // Autobahn mixes compressible text with incompressible binary.
          sent.push(i % 4 === 3 ? randomBytes(size) : textOf(size + i).subarray(0, size));
        }
      }
      const p = nextMessages(ws, sent.length, 30000);
      sent.forEach((m, i) => ws.send(m, { binary: i % 4 === 3 }));
      const got = await p;
      got.forEach((g, i) => {
        assert.equal(g.binary, i % 4 === 3, `${name}: message ${i} type`);
        assert.ok(g.data.equals(sent[i]), `${name}: message ${i} (${sent[i].length} B) intact`);
      });
      ws.close(1000);
      assert.equal((await wsClosed(ws)).code, 1000, name);
    }
  } finally {
    await ctx.destroy();
  }
});

test('the server compresses with RSV1 on the first frame only, strips 00 00 ff ff, and never compresses control frames', async () => {
  const { ctx, port } = await pmdServer({
    hook(wsi, reason) {
      // 2^10: compressed output leaves in frames of at most 1 KB
      if (reason === Reason.ESTABLISHED) assert.equal(wsi.setExtensionOption('permessage-deflate', 'tx_buf_size', '10'), 0);
    },
  });
  const c = await RawWs.open(port, { protocol: 'echo', headers: [OFFER] });
  try {
    assert.equal(headerOf(c.head, 'sec-websocket-extensions'), 'permessage-deflate');
    const msg = randomBytes(6000); // incompressible: several 1 KB frames
    c.send(OP.BINARY, pmdCompress(msg), { rsv: 4 });
    c.send(OP.PING, 'are you there');
    const frames = [];
    let pong = null;
    while (!frames.length || !frames[frames.length - 1].fin || !pong) {
      const f = await c.next(5000);
      if (f.opcode === OP.PONG) pong = f;
      else frames.push(f);
    }
    assert.equal(pong.rsv, 0, 'pong not compressed');
    assert.equal(pong.payload.toString(), 'are you there');
    assert.ok(frames.length > 1, `split into ${frames.length} frames`);
    assert.equal(frames[0].opcode, OP.BINARY);
    assert.equal(frames[0].rsv, 4, 'RSV1 on the first frame');
    for (const f of frames.slice(1)) {
      assert.equal(f.opcode, OP.CONT);
      assert.equal(f.rsv, 0, 'no RSV1 on continuation frames');
    }
    for (const f of frames) assert.ok(f.payload.length <= 1024);
    const all = Buffer.concat(frames.map((f) => f.payload));
    assert.notDeepEqual([...all.subarray(-4)], [0, 0, 0xff, 0xff], 'the trailer is removed');
    assert.ok(pmdInflate(all).equals(msg), 'decompresses to what was sent');
  } finally {
    c.destroy();
    await ctx.destroy();
  }
});

test('incoming: BFINAL-terminated data, stripped-trailer data and uncompressed messages are all accepted', async () => {
  const { ctx, port } = await pmdServer();
  const c = await RawWs.open(port, { protocol: 'echo', headers: [OFFER] });
  try {
    c.send(OP.TEXT, deflateRawSync(Buffer.from('finished block')), { rsv: 4 }); // ends with a final block
    assert.equal(pmdInflate((await c.message()).data).toString(), 'finished block');
    c.send(OP.TEXT, pmdCompress('trailer stripped'), { rsv: 4 });
    assert.equal(pmdInflate((await c.message()).data).toString(), 'trailer stripped');
    c.send(OP.TEXT, 'plain'); // RSV1 clear: not compressed
    assert.equal(pmdInflate((await c.message()).data).toString(), 'plain');
    // a compressed message in three frames, RSV1 on the first only
    const full = pmdCompress(textOf(5000));
    c.send(OP.TEXT, full.subarray(0, 10), { rsv: 4, fin: false });
    c.send(OP.CONT, full.subarray(10, 20), { fin: false });
    c.send(OP.CONT, full.subarray(20));
    assert.ok(pmdInflate((await c.message()).data).equals(textOf(5000)));
  } finally {
    c.destroy();
    await ctx.destroy();
  }
});

test('context takeover is honoured both ways, and turned off when agreed', async () => {
  const { ctx, port } = await pmdServer();
  try {
    for (const noCtx of [false, true]) {
      const offer = noCtx ? `${OFFER}; server_no_context_takeover; client_no_context_takeover` : OFFER;
      const c = await RawWs.open(port, { protocol: 'echo', headers: [offer] });
      // The client compresses on one stream; the second message refers back to the first.
      const z = createDeflateRaw();
      try {
        const comp = (b: Buffer) => new Promise<Buffer>((resolve) => {
          const parts: Buffer[] = [];
          const on = (d: Buffer) => parts.push(d);
          z.on('data', on);
          z.write(b);
          z.flush(constants.Z_SYNC_FLUSH, () => {
            z.off('data', on);
            const o = Buffer.concat(parts);
            resolve(o.subarray(0, o.length - 4));
          });
        });
        const msg = randomBytes(4000);
        const m1 = noCtx ? pmdCompress(msg) : await comp(msg);
        const m2 = noCtx ? pmdCompress(msg) : await comp(msg);
        if (!noCtx) assert.ok(m2.length < 100, 'the second message is a back-reference');
        c.send(OP.BINARY, m1, { rsv: 4 });
        c.send(OP.BINARY, m2, { rsv: 4 });
        const r1 = await c.message();
        const r2 = await c.message();
        if (noCtx) {
          assert.ok(r2.data.length > 3000, 'server reset its compressor: no back-reference');
          assert.ok(pmdInflate(r1.data).equals(msg) && pmdInflate(r2.data).equals(msg));
        } else {
          assert.ok(r2.data.length < 100, `server kept its context (${r2.data.length} B)`);
        }
      } finally {
        z.close();
        c.destroy();
      }
    }
  } finally {
    await ctx.destroy();
  }
});

test('RSV1 without the extension, on a continuation or on a control frame: 1002', async () => {
  const plain = echoProtocol();
  const off = await start({ protocols: [plain.proto] });
  const on = await pmdServer();
  try {
    // not negotiated (vhost has it off, even though the client offers it)
    let c = await RawWs.open(off.port, { protocol: 'echo', headers: [OFFER] });
    assert.equal(headerOf(c.head, 'sec-websocket-extensions'), undefined);
    c.send(OP.TEXT, pmdCompress('hi'), { rsv: 4 });
    assert.equal((await c.close()).code, 1002);
    c.destroy();
    // negotiated, but RSV1 on a continuation frame
    c = await RawWs.open(on.port, { protocol: 'echo', headers: [OFFER] });
    const z = pmdCompress(textOf(200));
    c.send(OP.TEXT, z.subarray(0, 5), { rsv: 4, fin: false });
    c.send(OP.CONT, z.subarray(5), { rsv: 4 });
    assert.equal((await c.close()).code, 1002);
    c.destroy();
    // negotiated, RSV1 on a ping
    c = await RawWs.open(on.port, { protocol: 'echo', headers: [OFFER] });
    c.send(OP.PING, 'x', { rsv: 4 });
    assert.equal((await c.close()).code, 1002);
    c.destroy();
    // negotiated, RSV2 is still refused
    c = await RawWs.open(on.port, { protocol: 'echo', headers: [OFFER] });
    c.send(OP.TEXT, 'x', { rsv: 2 });
    assert.equal((await c.close()).code, 1002);
    c.destroy();
  } finally {
    await off.ctx.destroy();
    await on.ctx.destroy();
  }
});

test('corrupt compressed data and invalid UTF-8 inside compressed text: 1007', async () => {
  const { ctx, port } = await pmdServer();
  try {
    let c = await RawWs.open(port, { protocol: 'echo', headers: [OFFER] });
    c.send(OP.TEXT, Buffer.from([0xff, 0xff, 0xff, 0x13, 0x37, 0x00]), { rsv: 4 });
    let cl = await c.close();
    assert.equal(cl.code, 1007, cl.reason);
    assert.ok(await c.closedWithin(3000));
    c.destroy();
    c = await RawWs.open(port, { protocol: 'echo', headers: [OFFER] });
    c.send(OP.TEXT, pmdCompress(Buffer.from([0x68, 0x69, 0xc3, 0x28])), { rsv: 4 });
    cl = await c.close();
    assert.equal(cl.code, 1007, cl.reason);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

/** `mb` MB of zeros compressed as one message, made 1 MB at a time. */
function zeroBomb(mb: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const z = createDeflateRaw({ level: 9 });
    const parts: Buffer[] = [];
    z.on('data', (d: Buffer) => parts.push(d));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < mb; i++) z.write(zeros);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      const o = Buffer.concat(parts);
      z.close();
      resolve(o.subarray(0, o.length - 4));
    });
  });
}

test('a small message inflating past maxInflatedSize: 1009, without memory growing with the bomb', async () => {
  // A sink that keeps nothing, so only the library's own buffers count.
  let received = 0;
  const sink: Protocol = {
    name: 'sink',
    callback(_wsi, reason, _u, input) {
      if (reason === Reason.RECEIVE) received += input.length;
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [sink], ws: { perMessageDeflate: { maxInflatedSize: 4 * 1024 * 1024 } } });
  try {
    const bomb = await zeroBomb(512); // 512 MB of zeros, about 500 KB compressed
    assert.ok(bomb.length < 1024 * 1024);
    global.gc?.();
    const base = process.memoryUsage();
    let peak = 0;
    const timer = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.arrayBuffers - base.arrayBuffers);
    }, 2);
    const c = await RawWs.open(port, { protocol: 'sink', headers: [OFFER] });
    c.send(OP.BINARY, bomb, { rsv: 4 });
    const cl = await c.close(10000);
    clearInterval(timer);
    assert.equal(cl.code, 1009, cl.reason);
    assert.ok(received <= 4 * 1024 * 1024, `delivered ${received} B, no more than the limit`);
    assert.ok(peak < 48 * 1024 * 1024, `external memory grew by ${peak} B`);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('rx flow control and rxBufferSize hold with compressed input: the rest comes without new network data', async () => {
  const pieces: Array<{ len: number; first: boolean; final: boolean }> = [];
  const parts: Buffer[] = [];
  let paused = 0;
  let resumedDeliveries = 0;
  let resumedAt = 0;
  const p: Protocol = {
    name: 'slow',
    rxBufferSize: 1000,
    callback(wsi, reason, _u, input) {
      if (reason === Reason.RECEIVE) {
        const b = Buffer.from(input);
        parts.push(b);
        pieces.push({ len: b.length, first: wsi.isFirstFragment(), final: wsi.isFinalFragment() && wsi.remainingPacketPayload() === 0 });
        if (resumedAt) resumedDeliveries++;
        if (pieces.length % 50 === 0) {
          // stop reading for a while, then let the library catch up on its own
          wsi.rxFlowControl(false);
          paused++;
          setTimeout(() => {
            resumedAt = Date.now();
            wsi.rxFlowControl(true);
          }, 5);
        }
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p], ws: { perMessageDeflate: true } });
  try {
    const c = await RawWs.open(port, { protocol: 'slow', headers: [OFFER] });
    const msg = textOf(300 * 1024);
    c.send(OP.TEXT, pmdCompress(msg), { rsv: 4 });
    // nothing more is sent: everything after a pause is forced service
    assert.ok(await until(() => pieces.some((x) => x.final), 10000), `got ${pieces.length} pieces`);
    assert.ok(paused > 2 && resumedDeliveries > 0);
    assert.ok(pieces.every((x) => x.len <= 1000), 'pieces within rxBufferSize');
    assert.equal(pieces.filter((x) => x.first).length, 1);
    assert.equal(pieces.filter((x) => x.final).length, 1);
    assert.ok(pieces[pieces.length - 1].final);
    assert.ok(Buffer.concat(parts).equals(msg), 'reassembled intact');
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('writes with NO_FIN / CONTINUATION compress across fragments; small messages under the threshold go plain', async () => {
  const { ctx, port } = await start({
    protocols: [{
      name: 'frag',
      callback(wsi, reason, _user, _input) {
        if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
        if (reason === Reason.SERVER_WRITEABLE) {
          const t = textOf(9000);
          wsi.write(t.subarray(0, 3000), Write.TEXT | Write.NO_FIN);
          wsi.write(t.subarray(3000, 6000), Write.CONTINUATION | Write.NO_FIN);
          wsi.write(t.subarray(6000), Write.CONTINUATION);
          wsi.write(Buffer.from('tiny'), Write.TEXT); // under the 100-byte threshold
          wsi.write(Buffer.alloc(0), Write.BINARY | Write.NO_FIN); // a fragmented message always compresses
          wsi.write(Buffer.alloc(0), Write.CONTINUATION);
        }
        return 0;
      },
    }],
    ws: { perMessageDeflate: { threshold: 100 } },
  });
  const c = await RawWs.open(port, { protocol: 'frag', headers: [OFFER_NO_CTX] });
  try {
    const f = [await c.next(), await c.next(), await c.next()];
    assert.deepEqual(f.map((x) => [x.opcode, x.rsv, x.fin]), [[OP.TEXT, 4, false], [OP.CONT, 0, false], [OP.CONT, 0, true]]);
    assert.ok(pmdInflate(Buffer.concat(f.map((x) => x.payload))).equals(textOf(9000)));
    const tiny = await c.next();
    assert.deepEqual([tiny.opcode, tiny.rsv, tiny.payload.toString()], [OP.TEXT, 0, 'tiny']);
    const e1 = await c.next();
    const e2 = await c.next();
    assert.deepEqual([e1.opcode, e1.rsv, e2.opcode, e2.rsv, e2.fin], [OP.BINARY, 4, OP.CONT, 0, true]);
    assert.equal(pmdInflate(Buffer.concat([e1.payload, e2.payload])).length, 0);
  } finally {
    c.destroy();
    await ctx.destroy();
  }
});

test('closing right after writing: compressed messages still go out before the Close', async () => {
  const { ctx, port } = await start({
    protocols: [{
      name: 'bye',
      callback(wsi, reason, _user, _input) {
        if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
        if (reason === Reason.SERVER_WRITEABLE) {
          for (let i = 0; i < 5; i++) wsi.write(textOf(50000 + i), Write.TEXT);
          wsi.closeReason(4000, 'done');
          return -1;
        }
        return 0;
      },
    }],
    ws: { perMessageDeflate: true },
  });
  const c = await RawWs.open(port, { protocol: 'bye', headers: [OFFER_NO_CTX] });
  try {
    for (let i = 0; i < 5; i++) {
      const m = await c.message(5000);
      assert.ok(pmdInflate(m.data).equals(textOf(50000 + i)), `message ${i}`);
    }
    const cl = await c.close(5000);
    assert.deepEqual([cl.code, cl.reason], [4000, 'done']);
    assert.ok(await c.closedWithin(5000));
  } finally {
    c.destroy();
    await ctx.destroy();
  }
});

test('a sender looping on sendPipeChoked() stops while messages wait for the compressor', async () => {
  let written = 0;
  let rounds = 0;
  const { ctx, port } = await start({
    protocols: [{
      name: 'flood',
      callback(wsi, reason, _user, _input) {
        if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
        if (reason === Reason.SERVER_WRITEABLE && written < 200) {
          rounds++;
          while (!wsi.sendPipeChoked() && written < 200) {
            wsi.write(textOf(8192), Write.TEXT);
            written++;
          }
          wsi.callbackOnWritable();
        }
        return 0;
      },
    }],
    ws: { perMessageDeflate: true },
  });
  const c = await RawWs.open(port, { protocol: 'flood', headers: [OFFER_NO_CTX] });
  try {
    for (let i = 0; i < 200; i++) assert.ok(pmdInflate((await c.message(10000)).data).equals(textOf(8192)));
    assert.ok(rounds > 3, `the pipe choked on queued compression (${rounds} WRITEABLE rounds)`);
  } finally {
    c.destroy();
    await ctx.destroy();
  }
});

test('an oversized frame is still refused on its wire size (ws.maxFrameSize) with compression on', async () => {
  const { ctx, port } = await start({ protocols: [echoProtocol().proto], ws: { maxFrameSize: 1000, perMessageDeflate: true } });
  try {
    const c = await RawWs.open(port, { protocol: 'echo', headers: [OFFER] });
    c.sendRaw(encodeFrame(OP.BINARY, randomBytes(2000), { rsv: 4 }));
    assert.equal((await c.close()).code, 1009);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});
