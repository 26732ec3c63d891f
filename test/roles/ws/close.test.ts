/**
 * The closing handshake in both directions (Autobahn group 7 and the
 * seed's "Closing connections from the user side"): close codes and
 * reasons validated, WS_PEER_INITIATED_CLOSE, wsi.closeReason(), and
 * exactly one CLOSED per connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Reason, type Wsi } from '../../../src/index.js';
import { start, sleep } from '../../helpers/common.js';
import { RawWs, OP, encodeFrame, closePayload, expectClose, echoProtocol, until } from '../../helpers/ws.js';

test('a peer Close with code and reason: WS_PEER_INITIATED_CLOSE sees it, the same code comes back, TCP closes', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const c = await RawWs.open(port);
    c.send(OP.TEXT, 'before');
    assert.equal((await c.message()).data.toString(), 'before');
    c.send(OP.CLOSE, closePayload(1000, 'bye now'));
    const cl = await c.close();
    assert.equal(cl.code, 1000);
    assert.ok(await c.closedWithin(2000), 'the server closes TCP after the closing handshake');
    assert.equal(log.peerCloses.length, 1);
    assert.ok(log.peerCloses[0].equals(closePayload(1000, 'bye now')), 'the callback gets the code and reason bytes');
    assert.equal(log.closed, 1);
    const order = log.reasons.filter((r) => r === 'WS_PEER_INITIATED_CLOSE' || r === 'CLOSED');
    assert.deepEqual(order, ['WS_PEER_INITIATED_CLOSE', 'CLOSED']);
    // a Close with no payload is answered with a Close with no status (or 1000)
    const c2 = await RawWs.open(port);
    c2.send(OP.CLOSE, '');
    const cl2 = await c2.close();
    assert.ok(cl2.payload.length === 0 || cl2.code === 1000, `empty close answered with ${cl2.code}`);
    assert.ok(await c2.closedWithin(2000));
    c.destroy();
    c2.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('invalid close codes are a protocol error (1002); valid ones are echoed', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    // (1012-1014 are left out: IANA registered them after RFC 6455, and
    // peers differ on them; the current Autobahn list leaves them out too)
    const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
    await Promise.all(invalid.map((code) => expectClose(port, encodeFrame(OP.CLOSE, closePayload(code)), 1002, `close code ${code}`)));
    const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
    await Promise.all(valid.map((code) => expectClose(port, encodeFrame(OP.CLOSE, closePayload(code, 'r')), code, `close code ${code}`)));
    assert.equal(log.peerCloses.length, valid.length, 'only valid closes reach WS_PEER_INITIATED_CLOSE');
    // a 123-byte reason (the most a control frame allows) is fine
    await expectClose(port, encodeFrame(OP.CLOSE, closePayload(1000, 'x'.repeat(123))), 1000, '123-byte reason');
  } finally {
    await ctx.destroy();
  }
});

test('a 1-byte close payload is 1002; a reason that is not UTF-8 is 1007', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    await expectClose(port, encodeFrame(OP.CLOSE, Buffer.from([0x03])), 1002, '1-byte close payload');
    await expectClose(port, encodeFrame(OP.CLOSE, closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64]))), 1007, 'surrogate in reason');
    await expectClose(port, encodeFrame(OP.CLOSE, closePayload(1000, Buffer.from([0x61, 0xc3]))), 1007, 'truncated reason');
    await expectClose(port, encodeFrame(OP.CLOSE, closePayload(1000, Buffer.from('κόσμε'))), 1000, 'valid multi-byte reason');
    assert.equal(log.peerCloses.length, 1);
  } finally {
    await ctx.destroy();
  }
});

test('wsi.closeReason(1001, "seeya") then -1: the peer sees 1001 "seeya"; -1 alone sends a Close with no status', async () => {
  const { proto, log } = echoProtocol({
    hook(wsi: Wsi, reason, input) {
      if (reason !== Reason.RECEIVE) return;
      const t = Buffer.from(input as Uint8Array).toString();
      if (t === 'closeme') {
        wsi.closeReason(1001, 'seeya');
        return -1;
      }
      if (t === 'drop') return -1;
    },
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const c = await RawWs.open(port);
    c.send(OP.TEXT, 'closeme');
    const cl = await c.close();
    assert.equal(cl.code, 1001);
    assert.equal(cl.reason, 'seeya');
    assert.ok(await c.closedWithin(2000));
    c.destroy();

    const c2 = await RawWs.open(port);
    c2.send(OP.TEXT, 'drop');
    const cl2 = await c2.close();
    assert.equal(cl2.payload.length, 0, 'no status in the Close');
    c2.destroy();

    // what a `ws` user sees
    const seen = await Promise.all(['closeme', 'drop'].map((msg) => new Promise<[number, string]>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      const t = setTimeout(() => reject(new Error(`no close for ${msg}`)), 3000);
      ws.on('open', () => ws.send(msg));
      ws.on('close', (code, reason) => {
        clearTimeout(t);
        resolve([code, reason.toString()]);
      });
      ws.on('error', reject);
    })));
    assert.deepEqual(seen, [[1001, 'seeya'], [1005, '']]);
    await until(() => log.closed === 4, 1000);
    assert.equal(log.closed, 4);
    assert.equal(log.peerCloses.length, 0, 'these were our closes, not the peer\'s');
  } finally {
    await ctx.destroy();
  }
});

test('data after a Close is ignored and CLOSED fires exactly once', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const c = await RawWs.open(port);
    c.sendRaw(Buffer.concat([
      encodeFrame(OP.TEXT, 'one'),
      encodeFrame(OP.CLOSE, closePayload(1000)),
      encodeFrame(OP.TEXT, 'after close'),
      encodeFrame(OP.PING, 'after close'),
    ]));
    // Autobahn 7.1.1: the message before the Close is answered before our Close
    const m = await c.message();
    assert.equal(m.data.toString(), 'one');
    const cl = await c.close();
    assert.equal(cl.code, 1000);
    assert.ok(await c.closedWithin(2000));
    await sleep(100);
    assert.ok(!log.messages.some((m) => m.data.toString() === 'after close'), 'nothing after the Close is delivered');
    assert.ok(!c.all.some((f) => f.opcode === OP.PONG), 'no pong for a ping after the Close');
    const afterClose = c.all.slice(c.all.findIndex((f) => f.opcode === OP.CLOSE) + 1);
    assert.equal(afterClose.length, 0, 'nothing is sent after our Close');
    assert.equal(log.closed, 1);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('CLOSED fires once whichever way a connection ends', async () => {
  const { proto, log } = echoProtocol({
    hook(wsi: Wsi, reason, input) {
      if (reason === Reason.RECEIVE && Buffer.from(input as Uint8Array).toString() === 'bye') {
        wsi.closeReason(1000, 'ok');
        return -1;
      }
    },
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    // 1: TCP dropped with no Close frame (1006 on the peer's side)
    const a = await RawWs.open(port);
    a.destroy();
    // 2: TCP half-closed by the peer
    const b = await RawWs.open(port);
    b.socket.end();
    // 3: peer Close
    const c = await RawWs.open(port);
    c.send(OP.CLOSE, closePayload(4000, 'x'));
    // 4: server close from a callback, then the peer answers with Close
    const d = await RawWs.open(port);
    d.send(OP.TEXT, 'bye');
    const dc = await d.close();
    assert.equal(dc.code, 1000);
    d.send(OP.CLOSE, closePayload(1000));
    // 5: protocol error
    const e = await RawWs.open(port);
    e.send(OP.TEXT, 'x', { mask: false });
    // 6: the context goes away with a live connection
    const f = await RawWs.open(port);
    assert.ok(await until(() => log.closed === 5, 3000), `5 CLOSED so far, got ${log.closed}`);
    await sleep(100);
    assert.equal(log.closed, 5);
    await ctx.destroy();
    assert.equal(log.closed, 6);
    assert.equal(log.reasons.filter((r) => r === 'ESTABLISHED').length, 6);
    for (const x of [a, b, c, d, e, f]) x.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('a Close in answer to ours completes the handshake; a peer that never answers is closed anyway', async () => {
  const { proto, log } = echoProtocol({
    hook(wsi: Wsi, reason, input) {
      if (reason === Reason.RECEIVE && Buffer.from(input as Uint8Array).toString() === 'kick') {
        wsi.closeReason(4001, 'kicked');
        return -1;
      }
    },
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const silent = await RawWs.open(port);
    silent.send(OP.TEXT, 'kick');
    const cl = await silent.close();
    assert.deepEqual([cl.code, cl.reason], [4001, 'kicked']);
    // the peer sends nothing back; TCP still ends, in bounded time
    assert.ok(await silent.closedWithin(5000), 'closed without the peer\'s Close');
    assert.equal(log.peerCloses.length, 0);
    silent.destroy();
  } finally {
    await ctx.destroy();
  }
});
