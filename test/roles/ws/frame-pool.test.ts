/**
 * Large frames are built in reused buffers, given back once their socket
 * has written them: the caller's buffer is still free the moment
 * `wsi.write()` returns, a stalled peer still receives every byte as it
 * was written, and the buffers are reused rather than made per frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createContext, callbackHttpDummy, Reason, Write, ErrorCode, type Protocol, type TslwsError } from '../../../src/index.js';
import { framePoolOf } from '../../../src/roles/ws/frame-pool.js';
import { RawWsClient, waitFor } from '../../helpers/plugin-ws-client.js';

const SIZE = 65536;
// More than loopback sockets buffer (a few MB), so the server must wait for the peer.
const COUNT = 400;

/** The bytes of message `i`: every offset and every message differ. */
function fill(buf: Buffer, i: number): void {
  for (let j = 0; j < buf.length; j++) buf[j] = (i * 31 + j) & 0xff;
}

/**
 * A protocol that writes COUNT binary messages of SIZE (and one of 70,000
 * bytes, past the pooled size) from one buffer, overwriting it as soon as
 * each write returns.
 */
function scribbler(): { proto: Protocol; sent: () => number } {
  const buf = Buffer.alloc(SIZE);
  const big = Buffer.alloc(70000);
  let n = 0;
  const proto: Protocol = {
    name: 'scribble',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
      if (reason === Reason.SERVER_WRITEABLE) {
        // Four at a time whether or not the socket is choked (it takes the
        // whole buffer anyway): frames are built while earlier ones still
        // wait in the socket.
        for (let k = 0; k < 4 && n <= COUNT; k++) {
          const b = n === COUNT ? big : buf;
          fill(b, n);
          assert.equal(wsi.write(b, Write.BINARY), b.length);
          b.fill(0xee); // the library must have its own copy by now
          n++;
        }
        if (n <= COUNT) wsi.callbackOnWritable();
      }
      return 0;
    },
  };
  return { proto, sent: () => n };
}

async function run(framePool: number | undefined): Promise<{ made: number; idle: number }> {
  const s = scribbler();
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, s.proto],
    ws: framePool === undefined ? {} : { framePool } });
  try {
    await ctx.listening;
    const c = await RawWsClient.connect(ctx.vhosts[0].port as number, '/', 'scribble');
    // A peer that reads nothing for a while: the server's writes back up,
    // so frames wait in the socket while later ones are built.
    c.pause();
    await waitFor(() => s.sent() >= 2, 'the first writes', 3000);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(s.sent() < COUNT, 'the stalled peer held the server back');
    c.resume();
    await waitFor(() => c.dataPayloads().length === COUNT + 1, `${COUNT + 1} messages`, 10000);
    const got = c.dataPayloads();
    for (let i = 0; i <= COUNT; i++) {
      const want = Buffer.alloc(i === COUNT ? 70000 : SIZE);
      fill(want, i);
      assert.ok(got[i].equals(want), `message ${i} arrived as written`);
    }
    c.destroy();
    const pool = framePoolOf(ctx.vhosts[0]);
    return { made: pool.made, idle: pool.idle };
  } finally {
    await ctx.destroy();
  }
}

test('a large frame leaves as written though its buffer is reused once the socket is done with it', async () => {
  const { made, idle } = await run(undefined);
  assert.ok(made >= 1 && made <= 16, `a few buffers served ${COUNT} frames (made ${made})`);
  assert.ok(idle >= 1, 'written frames gave their buffers back');
});

test('ws.framePool 0 keeps no idle buffer, and frames still leave as written', async () => {
  const { made, idle } = await run(0);
  assert.equal(made, COUNT, 'a new buffer for every pooled-size frame');
  assert.equal(idle, 0);
});

test('ws.framePool must be an integer of 0 or more', () => {
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => createContext({ port: 0, iface: '127.0.0.1', ws: { framePool: bad } }),
      (e: TslwsError) => e.code === ErrorCode.INVALID_OPTION && /framePool/.test(e.message), String(bad));
  }
});

test('a client masks its large frames in pooled buffers, and the server reads what was written', async () => {
  const got: Buffer[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => ws.on('message', (d: Buffer) => got.push(Buffer.from(d))));
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const buf = Buffer.alloc(SIZE);
  let n = 0;
  const proto: Protocol = {
    name: 'c',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
      if (reason === Reason.CLIENT_WRITEABLE) {
        for (let k = 0; k < 4 && n < 20; k++, n++) {
          fill(buf, n);
          wsi.write(buf, Write.BINARY);
          buf.fill(0xee);
        }
        if (n < 20) wsi.callbackOnWritable();
      }
      return 0;
    },
  };
  const ctx = createContext({ protocols: [proto] });
  try {
    ctx.clientConnect({ address: '127.0.0.1', port: (wss.address() as AddressInfo).port, localProtocolName: 'c' });
    await waitFor(() => got.length === 20, '20 messages at the server', 10000);
    for (let i = 0; i < 20; i++) {
      const want = Buffer.alloc(SIZE);
      fill(want, i);
      assert.ok(got[i].equals(want), `message ${i} unmasked to what was written`);
    }
    assert.ok(framePoolOf(ctx.vhosts[0]).made <= 8, 'the client reused its frame buffers');
  } finally {
    await ctx.destroy();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});
