/**
 * Sending and flow control on WebSocket connections: the seed's "Only send
 * data when socket writeable" and "Libwebsockets is singlethreaded" (rx flow
 * control) rules, proven over TCP, plus automatic pongs and the ping
 * interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Reason, Write, type Protocol, type Wsi } from '../../../src/index.js';
import { start, sleep } from '../../helpers/common.js';
import { RawWs, OP, encodeFrame, echoProtocol, until } from '../../helpers/ws.js';

/** A binary payload that says where it belongs: 4-byte index, then a pattern. */
function numbered(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(i, 0);
  for (let k = 4; k < size; k++) b[k] = (i + k) & 0xff;
  return b;
}

function checkNumbered(b: Buffer, i: number, size: number): boolean {
  if (b.length !== size || b.readUInt32BE(0) !== i) return false;
  for (let k = 4; k < size; k += 97) if (b[k] !== ((i + k) & 0xff)) return false;
  return b[size - 1] === ((i + size - 1) & 0xff);
}

/** A protocol that gathers messages (the seed's way) and echoes nothing. */
function sink(onReceive?: (wsi: Wsi, pieces: number) => void) {
  const messages: Buffer[] = [];
  let pieces = 0;
  let wsi: Wsi | null = null;
  let frags: Buffer[] = [];
  const proto: Protocol = {
    name: 'sink',
    callback(w, reason, _u, input) {
      if (reason === Reason.ESTABLISHED) wsi = w;
      if (reason !== Reason.RECEIVE) return 0;
      pieces++;
      frags.push(Buffer.from(input));
      if (w.remainingPacketPayload() === 0 && w.isFinalFragment()) {
        messages.push(Buffer.concat(frags));
        frags = [];
      }
      onReceive?.(w, pieces);
      return 0;
    },
  };
  return { proto, messages, get pieces() { return pieces; }, get wsi() { return wsi; } };
}

test('rxFlowControl(false) stops reading: the sender backs up over TCP; re-enabled, everything arrives in order', async () => {
  const SIZE = 256 * 1024;
  let piecesAtStop = -1;
  const s = sink((w, n) => {
    if (piecesAtStop < 0) {
      piecesAtStop = n;
      w.rxFlowControl(false);
    }
  });
  const { ctx, port } = await start({ protocols: [s.proto] });
  try {
    const c = await RawWs.open(port);
    let sent = 0;
    let backedUp = false;
    while (sent * SIZE < 256 * 1024 * 1024) {
      const ok = c.send(OP.BINARY, numbered(sent, SIZE));
      sent++;
      if (!ok) {
        const drained = await Promise.race([
          new Promise<boolean>((r) => c.socket.once('drain', () => r(true))),
          sleep(600).then(() => false),
        ]);
        if (!drained) {
          backedUp = true;
          break;
        }
      }
    }
    assert.ok(backedUp, `the sender never backed up after ${(sent * SIZE) >> 20} MiB: the server kept reading`);
    assert.ok(c.socket.writableLength > 0, 'the client holds unsent data');
    const piecesBacked = s.pieces;
    await sleep(300);
    assert.equal(s.pieces, piecesBacked, 'no RECEIVE while reading is off');
    assert.equal(s.pieces, piecesAtStop, 'no RECEIVE after the one that turned reading off');
    assert.ok(s.messages.length <= 1);
    // the client stops sending; reading resumes
    (s.wsi as Wsi).rxFlowControl(true);
    assert.ok(await until(() => s.messages.length === sent, 20000), `all ${sent} messages delivered (got ${s.messages.length})`);
    for (let i = 0; i < sent; i++) assert.ok(checkNumbered(s.messages[i], i, SIZE), `message ${i} intact and in order`);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('data read before rxFlowControl(false) is delivered on re-enabling with no new network data (forced service)', async () => {
  let stopped = false;
  const s = sink((w) => {
    if (!stopped) {
      stopped = true;
      w.rxFlowControl(false);
    }
  });
  const { ctx, port } = await start({ protocols: [s.proto] });
  try {
    const c = await RawWs.open(port);
    // ten messages in one segment: all of them are read at once
    c.sendRaw(Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeFrame(OP.TEXT, `msg ${i}`))));
    assert.ok(await until(() => s.messages.length >= 1, 2000));
    await sleep(300);
    assert.equal(s.messages.length, 1, 'only the first message before reading stops');
    // the client sends nothing more
    (s.wsi as Wsi).rxFlowControl(true);
    assert.ok(await until(() => s.messages.length === 10, 2000), `got ${s.messages.length} of 10`);
    assert.deepEqual(s.messages.map((m) => m.toString()), Array.from({ length: 10 }, (_, i) => `msg ${i}`));
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('stopping rx in the middle of a frame delivers the rest of it, with correct fragment info, after re-enabling', async () => {
  const info: Array<{ len: number; first: boolean; final: boolean; remaining: number }> = [];
  let w: Wsi | null = null;
  const p: Protocol = {
    name: 'chunky',
    rxBufferSize: 100,
    callback(wsi, reason, _u, input) {
      if (reason !== Reason.RECEIVE) return 0;
      w = wsi;
      info.push({ len: input.length, first: wsi.isFirstFragment(), final: wsi.isFinalFragment(), remaining: wsi.remainingPacketPayload() });
      if (info.length === 1) wsi.rxFlowControl(false);
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const c = await RawWs.open(port);
    c.send(OP.BINARY, Buffer.alloc(1000, 7));
    assert.ok(await until(() => info.length >= 1, 2000));
    await sleep(200);
    assert.equal(info.length, 1, 'one piece, then reading stopped');
    (w as unknown as Wsi).rxFlowControl(true);
    assert.ok(await until(() => info.length === 10, 2000), `10 pieces of 100 (got ${info.length})`);
    assert.deepEqual(info.map((x) => x.len), Array(10).fill(100));
    assert.deepEqual(info.map((x) => x.remaining), [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    assert.deepEqual(info.map((x) => x.first), [true, ...Array(9).fill(false)]);
    assert.deepEqual(info.map((x) => x.final), [...Array(9).fill(false), true]);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('lws test-echo\'s pattern: stop rx in RECEIVE, echo in WRITEABLE, re-enable; every message and the Close come back in order', async () => {
  const p: Protocol<{ q: Array<{ b: Buffer; bin: boolean }> }> = {
    name: 'lws-echo',
    createSessionData: () => ({ q: [] }),
    callback(wsi, reason, pss, input) {
      if (reason === Reason.RECEIVE) {
        pss.q.push({ b: Buffer.from(input), bin: wsi.frameIsBinary() });
        wsi.rxFlowControl(false);
        wsi.callbackOnWritable();
      } else if (reason === Reason.SERVER_WRITEABLE) {
        const m = pss.q.shift();
        if (m) wsi.write(m.b, m.bin ? Write.BINARY : Write.TEXT);
        wsi.rxFlowControl(true);
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const c = await RawWs.open(port);
    const frames = Array.from({ length: 50 }, (_, i) => encodeFrame(i % 2 ? OP.BINARY : OP.TEXT, `m${i}`));
    frames.push(encodeFrame(OP.CLOSE, Buffer.from([0x03, 0xe8])));
    c.sendRaw(Buffer.concat(frames));
    for (let i = 0; i < 50; i++) {
      const m = await c.message();
      assert.equal(m.data.toString(), `m${i}`);
      assert.equal(m.opcode, i % 2 ? OP.BINARY : OP.TEXT);
    }
    assert.equal((await c.close()).code, 1000);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('a slow reader gets no SERVER_WRITEABLE while choked and the server holds a bounded amount for it', async () => {
  const CHUNK = 64 * 1024;
  const TOTAL = 400; // 25 MiB
  let writeables = 0;
  let maxHeld = 0;
  let conn: Wsi | null = null;
  const p: Protocol = {
    name: 'firehose',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED) {
        conn = wsi;
        wsi.callbackOnWritable();
      } else if (reason === Reason.SERVER_WRITEABLE) {
        assert.equal(wsi.sendPipeChoked(), false, 'WRITEABLE only when not choked');
        wsi.write(numbered(writeables, CHUNK), Write.BINARY);
        writeables++;
        maxHeld = Math.max(maxHeld, wsi.partialBuffered());
        if (writeables < TOTAL) wsi.callbackOnWritable();
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const c = await RawWs.open(port);
    c.socket.pause();
    await sleep(700);
    const w1 = writeables;
    await sleep(500);
    assert.equal(writeables, w1, 'no WRITEABLE while the reader reads nothing');
    assert.ok(w1 < TOTAL / 2, `only what the socket could take was produced (${w1} of ${TOTAL})`);
    assert.ok(maxHeld <= 1024 * 1024, `the library held at most ${maxHeld} bytes for the connection`);
    assert.ok((conn as unknown as Wsi).sendPipeChoked(), 'reported choked');
    c.socket.resume();
    for (let i = 0; i < TOTAL; i++) {
      const m = await c.message(10000);
      assert.ok(checkNumbered(m.data, i, CHUNK), `frame ${i} intact and in order`);
    }
    assert.equal(writeables, TOTAL);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('vhost.callbackOnWritableAllProtocol and rxFlowAllowAllProtocol reach every connection of the protocol, and only those', async () => {
  const got = new Map<Wsi, string[]>();
  const mk = (name: string): Protocol => ({
    name,
    callback(wsi, reason, _u, input) {
      if (reason === Reason.SERVER_WRITEABLE) wsi.write(Buffer.from(`hello from ${name}`), Write.TEXT);
      if (reason === Reason.RECEIVE) {
        const l = got.get(wsi) ?? [];
        l.push(Buffer.from(input).toString());
        got.set(wsi, l);
        wsi.rxFlowControl(false);
      }
      return 0;
    },
  });
  const A = mk('proto-a');
  const B = mk('proto-b');
  const { ctx, port } = await start({ protocols: [A, B] });
  try {
    const vh = ctx.vhosts[0];
    const as = await Promise.all([1, 2, 3].map(() => RawWs.open(port, { protocol: 'proto-a' })));
    const b = await RawWs.open(port, { protocol: 'proto-b' });
    await sleep(50);
    assert.equal(vh.callbackOnWritableAllProtocol(A), 3);
    for (const a of as) assert.equal((await a.message()).data.toString(), 'hello from proto-a');
    await sleep(200);
    assert.equal(b.all.length, 0, 'the other protocol\'s connection got nothing');

    // each connection sends two messages in one segment; each stops after the first
    for (const x of [...as, b]) x.sendRaw(Buffer.concat([encodeFrame(OP.TEXT, 'first'), encodeFrame(OP.TEXT, 'second')]));
    assert.ok(await until(() => got.size === 4, 2000));
    await sleep(200);
    assert.deepEqual([...got.values()].map((l) => l.length), [1, 1, 1, 1]);
    vh.rxFlowAllowAllProtocol(A);
    const total = () => [...got.values()].reduce((n, l) => n + l.length, 0);
    assert.ok(await until(() => total() === 7, 2000), `A's connections got their second message (${total()})`);
    await sleep(100);
    const counts = [...got.entries()].map(([w, l]) => [w.protocol.name, l.join(',')]);
    assert.deepEqual(counts.filter(([n]) => n === 'proto-a').map(([, l]) => l), ['first,second', 'first,second', 'first,second']);
    assert.deepEqual(counts.filter(([n]) => n === 'proto-b').map(([, l]) => l), ['first'], 'proto-b is still stopped');
    for (const x of [...as, b]) x.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('pings are answered automatically and pongs reach RECEIVE_PONG', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const c = await RawWs.open(port);
    c.send(OP.PONG, 'unsolicited');
    c.send(OP.PING, 'are you there');
    const f = await c.next();
    assert.equal(f.opcode, OP.PONG);
    assert.equal(f.payload.toString(), 'are you there');
    assert.ok(await until(() => log.pongs.length === 1, 1000));
    assert.equal(log.pongs[0].toString(), 'unsolicited');
    c.destroy();
    // and through `ws`
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    const pong = new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error('no pong')), 2000);
      ws.once('pong', (d) => {
        clearTimeout(t);
        res(d.toString());
      });
    });
    ws.ping('ws ping');
    assert.equal(await pong, 'ws ping');
    ws.terminate();
  } finally {
    await ctx.destroy();
  }
});

test('ws.pingPongSecs pings an idle client and closes one that never answers', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto], ws: { pingPongSecs: 1 } });
  try {
    const polite = await RawWs.open(port);
    const deaf = await RawWs.open(port);
    let answered = 0;
    const answer = setInterval(() => {
      const pings = polite.all.filter((f) => f.opcode === OP.PING);
      while (answered < pings.length) polite.send(OP.PONG, pings[answered++].payload);
    }, 20);
    try {
      const t0 = Date.now();
      assert.ok(await deaf.closedWithin(4500), 'a client that ignores pings is closed');
      const took = Date.now() - t0;
      assert.ok(took >= 1500, `not before a ping and a pong wait (${took} ms)`);
      assert.ok(deaf.all.some((f) => f.opcode === OP.PING), 'the deaf client was pinged first');
      assert.ok(await until(() => answered >= 2, 3000), `the polite client is pinged again after answering (${answered})`);
      assert.equal(polite.ended, false, 'a client that answers stays connected');
      assert.ok(await until(() => log.pongs.length >= 2, 1000), 'its pongs reach RECEIVE_PONG');
      polite.send(OP.TEXT, 'still alive');
      assert.equal((await polite.message()).data.toString(), 'still alive');
    } finally {
      clearInterval(answer);
      polite.destroy();
      deaf.destroy();
    }
  } finally {
    await ctx.destroy();
  }
});
