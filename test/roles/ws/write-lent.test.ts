/**
 * `wsi.writeLent()`: a frame leaves from the caller's memory, its header
 * written into the LWS_PRE bytes in front of the payload. The memory is
 * the connection's until `release` (called once) and the peer gets every
 * byte as written; where a copy is made anyway the memory is released at
 * once. Misuse is refused with a code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createContext, callbackHttpDummy, Reason, Write, LWS_PRE, ErrorCode, type Protocol, type TslwsError, type Wsi } from '../../../src/index.js';
import { RawWsClient, openWs, waitFor } from '../../helpers/plugin-ws-client.js';
import { OP, RawWs, h2Session } from '../../helpers/ws.js';

// Sizes on each side of the 7-bit, 16-bit and 64-bit length forms.
const SIZES = [0, 125, 126, 65535, 65536, 200000];
// More than loopback sockets buffer (a few MB) in all, so a stalled peer holds frames back.
const ROUNDS = 40;

function fill(buf: Uint8Array, seed: number): void {
  for (let j = 0; j < buf.length; j++) buf[j] = (seed * 31 + j * 7) & 0xff;
}

function expected(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  fill(b, seed);
  return b;
}

/** A protocol that asks for WRITEABLE once established and hands each one to `write`. */
function writer(name: string, write: (wsi: Wsi) => void): Protocol {
  return {
    name,
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED || reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
      if (reason === Reason.SERVER_WRITEABLE || reason === Reason.CLIENT_WRITEABLE) write(wsi);
      return 0;
    },
  };
}

interface Slot {
  mem: Buffer;
  seed: number;
  released: number;
}

test('a server frame leaves from the lent memory, which stays untouched until release, called once each', async () => {
  const slots: Slot[] = [];
  let next = 0;
  const total = SIZES.length * ROUNDS;
  const proto = writer('lend', (wsi) => {
    for (let k = 0; k < 8 && next < total; k++, next++) {
      const size = SIZES[next % SIZES.length];
      const mem = Buffer.alloc(LWS_PRE + size, 0xab);
      const slot: Slot = { mem, seed: next, released: 0 };
      fill(mem.subarray(LWS_PRE), next);
      slots.push(slot);
      assert.equal(wsi.writeLent(mem.subarray(LWS_PRE), Write.BINARY, () => slot.released++), size);
      // Only the header's bytes in front of the payload were used.
      const hlen = size < 126 ? 2 : size < 65536 ? 4 : 10;
      assert.ok(mem.subarray(0, LWS_PRE - hlen).every((b) => b === 0xab), 'the rest of LWS_PRE is left alone');
    }
    if (next < total) wsi.callbackOnWritable();
  });
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, proto] });
  try {
    await ctx.listening;
    const c = await RawWsClient.connect(ctx.vhosts[0].port as number, '/', 'lend');
    c.pause();
    await waitFor(() => next >= 16, 'the first writes', 3000);
    await new Promise((r) => setTimeout(r, 200));
    const held = slots.filter((s) => s.released === 0);
    assert.ok(held.length > 0, 'frames the stalled peer has not taken are still lent');
    // Whatever the library does meanwhile, released memory is the caller's again.
    for (const s of slots) if (s.released) s.mem.fill(0xee);
    c.resume();
    await waitFor(() => c.dataPayloads().length === total, `${total} messages`, 20000);
    const got = c.dataPayloads();
    for (let i = 0; i < total; i++) assert.ok(got[i].equals(expected(i, SIZES[i % SIZES.length])), `message ${i} arrived as written`);
    await waitFor(() => slots.every((s) => s.released > 0), 'every slot released', 3000);
    assert.ok(slots.every((s) => s.released === 1), 'release is called exactly once');
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('misuse is refused with a code: no room in front, not a WebSocket, a CONTINUATION out of place; a closed connection releases and returns -1', async () => {
  const errors: string[] = [];
  let released = 0;
  let wsiKept: Wsi | null = null;
  const http: Protocol = {
    name: 'http',
    callback(wsi, reason, user, input) {
      if (reason === Reason.HTTP) {
        const mem = Buffer.alloc(LWS_PRE + 4);
        try {
          wsi.writeLent(mem.subarray(LWS_PRE), Write.BINARY, () => released++);
        } catch (e) {
          errors.push(`http:${(e as TslwsError).code}`);
        }
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const proto: Protocol = {
    name: 'misuse',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED) {
        wsiKept = wsi;
        wsi.callbackOnWritable();
      }
      if (reason === Reason.SERVER_WRITEABLE) {
        try {
          // Its own ArrayBuffer, starting at 0: no room for a header.
          wsi.writeLent(new Uint8Array(8), Write.BINARY, () => released++);
        } catch (e) {
          errors.push(`room:${(e as TslwsError).code}`);
        }
        try {
          wsi.writeLent(Buffer.alloc(LWS_PRE + 3).subarray(LWS_PRE), Write.CONTINUATION, () => released++);
        } catch (e) {
          errors.push(`continuation:${(e as TslwsError).code}`);
        }
      }
      return 0;
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [http, proto] });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port as number;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.arrayBuffer();
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'misuse');
    await waitFor(() => errors.length === 3, 'three refusals', 3000);
    assert.deepEqual(errors.sort(), [`continuation:${ErrorCode.WRITE_MISUSE}`, `http:${ErrorCode.NOT_WEBSOCKET}`, `room:${ErrorCode.INVALID_ARGUMENT}`]);
    assert.equal(released, 1, 'released by the refused CONTINUATION only (the other two never took the memory)');
    c.ws.close();
    await c.closed;
    const w = wsiKept as Wsi | null;
    assert.ok(w);
    await waitFor(() => w.closed, 'the server side closed', 3000);
    assert.equal(w.writeLent(Buffer.alloc(LWS_PRE + 3).subarray(LWS_PRE), Write.BINARY, () => released++), -1);
    assert.equal(released, 2, 'a closed connection releases at once');
    assert.throws(() => w.writeLent(new Uint8Array(8), Write.BINARY, () => released++),
      (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT, 'no room is refused on a closed connection too');
    assert.equal(released, 2);
  } finally {
    await ctx.destroy();
  }
});

test('with permessage-deflate the frame is copied and released at once, and arrives as written', async () => {
  let releasedInCall = 0;
  let sent = 0;
  const proto = writer('pmd', (wsi) => {
    for (const size of [10, 5000, 70000]) {
      const mem = Buffer.alloc(LWS_PRE + size);
      fill(mem.subarray(LWS_PRE), size);
      let released = false;
      wsi.writeLent(mem.subarray(LWS_PRE), Write.BINARY, () => (released = true));
      if (released) releasedInCall++;
      mem.fill(0); // the compressor works later, on its own copy
      sent++;
    }
  });
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, proto], ws: { perMessageDeflate: true } });
  try {
    await ctx.listening;
    const c = await openWs(`ws://127.0.0.1:${ctx.vhosts[0].port}/`, 'pmd', 3000, { perMessageDeflate: true });
    assert.equal(c.ws.extensions, 'permessage-deflate');
    await waitFor(() => c.messages.length === 3, 'three messages', 5000);
    assert.equal(sent, 3);
    assert.equal(releasedInCall, 3);
    [10, 5000, 70000].forEach((size, i) => assert.ok(c.messages[i].data.equals(expected(size, size)), `${size} bytes arrived as written`));
    c.ws.close();
  } finally {
    await ctx.destroy();
  }
});

test('a client masks the lent payload in place, and the server reads what was written', async () => {
  const got: Buffer[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => ws.on('message', (d: Buffer) => got.push(Buffer.from(d))));
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let released = 0;
  let n = 0;
  const proto = writer('c', (wsi) => {
    for (; n < SIZES.length; n++) {
      const mem = Buffer.alloc(LWS_PRE + SIZES[n]);
      fill(mem.subarray(LWS_PRE), n);
      wsi.writeLent(mem.subarray(LWS_PRE), Write.BINARY, () => released++);
    }
  });
  const ctx = createContext({ protocols: [proto] });
  try {
    ctx.clientConnect({ address: '127.0.0.1', port: (wss.address() as AddressInfo).port, localProtocolName: 'c' });
    await waitFor(() => got.length === SIZES.length, `${SIZES.length} messages at the server`, 10000);
    SIZES.forEach((size, i) => assert.ok(got[i].equals(expected(i, size)), `message ${i} (${size} bytes) unmasked to what was written`));
    await waitFor(() => released === SIZES.length, 'every payload released', 3000);
  } finally {
    await ctx.destroy();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});

test('inside an HTTP/2 stream the frame is copied and released at once, sent once, with or without permessage-deflate', async () => {
  let released = 0;
  let releasedInCall = 0;
  // Answers each message from RECEIVE with a lent copy of it.
  const proto: Protocol = {
    name: 'lend',
    callback(wsi, reason, _user, input) {
      if (reason !== Reason.RECEIVE) return 0;
      const mem = Buffer.alloc(LWS_PRE + input.length);
      mem.set(input, LWS_PRE);
      let now = false;
      wsi.writeLent(mem.subarray(LWS_PRE), Write.TEXT, () => {
        released++;
        now = true;
      });
      if (now) releasedInCall++;
      mem.fill(0); // the stream has its own copy
      return 0;
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, proto], ws: { perMessageDeflate: true } });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port as number;
    const session = await h2Session(port);
    const plain = await RawWs.openH2(port, { session, protocol: 'lend' });
    const deflate = await RawWs.openH2(port, { session, protocol: 'lend', headers: ['sec-websocket-extensions: permessage-deflate'] });
    assert.match(String(deflate.h2Headers['sec-websocket-extensions']), /^permessage-deflate/);
    for (const c of [plain, deflate]) {
      c.send(OP.TEXT, 'one');
      c.send(OP.TEXT, 'two');
      assert.equal((await c.message()).data.toString(), 'one');
      assert.equal((await c.message()).data.toString(), 'two', 'each message is sent once');
    }
    assert.equal(released, 4);
    assert.equal(releasedInCall, 4);
    plain.destroy();
    deflate.destroy();
    session.destroy();
  } finally {
    await ctx.destroy();
  }
});
