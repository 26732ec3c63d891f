/**
 * Child connections (streams inside a connection, as HTTP/2 streams will
 * be) work through core alone: a test-only multiplexing role carries
 * channels over one TCP socket, each channel a wsi with its own
 * WRITEABLE, credit and close, and no socket of its own.
 *
 * Wire format of the test mux: [channel][kind][length:2][payload];
 * kind 0 data, 1 credit (payload: 4-byte count of bytes granted), 2 close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createContext, callbackHttpDummy, Reason, Write, type Protocol, type Wsi } from '../../src/index.js';
import { roleTransition, type RoleOps, type Transport } from '../../src/core/role.js';
import { wireSocket } from '../../src/core/transport.js';

const DATA = 0;
const CREDIT = 1;
const CLOSE = 2;

function frame(ch: number, kind: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  b[0] = ch;
  b[1] = kind;
  b.writeUInt16BE(payload.length, 2);
  b.set(payload, 4);
  return b;
}

/** The stream a channel writes through: its parent's socket, within the credit its peer gave. */
class ChannelTransport implements Transport {
  destroyed = false;
  writable = true;
  paused = false;
  constructor(readonly parent: Wsi, readonly ch: number, public credit: number) {}
  get #out(): Transport {
    return this.parent.transport as Transport;
  }
  write(data: Uint8Array | string): boolean {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.credit -= b.length;
    return this.#out.write(frame(this.ch, DATA, b));
  }
  cork(): void {
    this.#out.cork();
  }
  uncork(): void {
    this.#out.uncork();
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    if (!this.destroyed) this.#out.write(frame(this.ch, CLOSE));
    this.destroyed = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  get writableNeedDrain(): boolean {
    return this.credit <= 0 || this.#out.writableNeedDrain;
  }
  get writableLength(): number {
    return this.#out.writableLength;
  }
  get writableHighWaterMark(): number {
    return this.#out.writableHighWaterMark;
  }
}

/** A channel: bytes in are RAW_RX, out as given, limited by the channel's credit. */
const channelRole: RoleOps<ChannelTransport> = {
  name: 'test-channel',
  rx(wsi, _t, buf) {
    wsi.callProtocol(Reason.RAW_RX, buf);
  },
  writable(wsi) {
    wsi.deliverWriteable(Reason.RAW_WRITEABLE);
  },
  write(_wsi, t, buf) {
    t.write(buf);
    return buf.length;
  },
  txCredit(_wsi, t) {
    return Math.max(0, t.credit);
  },
  closing(wsi) {
    wsi.callProtocol(Reason.RAW_CLOSE);
  },
};

interface MuxState {
  buf: Buffer;
  channels: Map<number, Wsi>;
  log: string[];
}

const INITIAL_CREDIT = 4;

/** The connection carrying the channels. */
function muxRole(chan: Protocol): RoleOps<MuxState> {
  return {
    name: 'test-mux',
    rx(wsi, st, data) {
      st.buf = Buffer.concat([st.buf, data]);
      while (st.buf.length >= 4) {
        const len = st.buf.readUInt16BE(2);
        if (st.buf.length < 4 + len) break;
        const ch = st.buf[0];
        const kind = st.buf[1];
        const payload = st.buf.subarray(4, 4 + len);
        st.buf = st.buf.subarray(4 + len);
        let c = st.channels.get(ch);
        if (kind === DATA) {
          if (!c) {
            const t = new ChannelTransport(wsi, ch, INITIAL_CREDIT);
            const made = wsi.context.newChildWsi(wsi, chan, t);
            assert.ok(made);
            c = made;
            roleTransition(c, channelRole, t);
            st.channels.set(ch, c);
          }
          c.deliverRx(Buffer.from(payload));
        } else if (kind === CREDIT && c) {
          (c.transport as ChannelTransport).credit += payload.readUInt32BE(0);
          c.transportDrained();
        } else if (kind === CLOSE && c) {
          st.channels.delete(ch);
          c.close();
        }
      }
    },
    writable(wsi) {
      // The socket drained: channels waiting on it may go on.
      for (const c of wsi.children) c.transportDrained();
    },
    write() {
      return -1;
    },
    closing(wsi, st) {
      st.log.push(`mux closing, ${wsi.children.length} stream(s) still open`);
    },
  };
}

/** Reads the client's side of the mux: data per channel, closes. */
function reader(s: Socket) {
  let buf = Buffer.alloc(0);
  const data = new Map<number, string>();
  const closed = new Set<number>();
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4) {
      const len = buf.readUInt16BE(2);
      if (buf.length < 4 + len) break;
      const ch = buf[0];
      if (buf[1] === DATA) data.set(ch, (data.get(ch) ?? '') + buf.subarray(4, 4 + len).toString());
      else if (buf[1] === CLOSE) closed.add(ch);
      buf = buf.subarray(4 + len);
    }
  });
  return { data, closed };
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('streams inside a connection: own WRITEABLE, credit, rx, close; no socket of their own', async () => {
  const log: string[] = [];
  const allowance: Record<number, number[]> = {};
  interface Sess { out: Buffer[] }
  const chan: Protocol<Sess> = {
    name: 'chan',
    createSessionData: () => ({ out: [] }),
    callback(wsi, reason, user, input) {
      const ch = (wsi.transport as ChannelTransport | null)?.ch ?? -1;
      switch (reason) {
        case Reason.RAW_RX:
          user.out.push(Buffer.from(input.toString().toUpperCase()));
          wsi.callbackOnWritable();
          break;
        case Reason.RAW_WRITEABLE: {
          const a = wsi.getPeerWriteAllowance();
          (allowance[ch] ??= []).push(a);
          const all = Buffer.concat(user.out);
          const n = Math.min(all.length, a);
          wsi.write(all.subarray(0, n), Write.HTTP);
          user.out = n < all.length ? [all.subarray(n)] : [];
          if (user.out.length) wsi.callbackOnWritable();
          break;
        }
        case Reason.RAW_CLOSE:
          log.push(`channel ${ch} closed`);
          break;
      }
      return 0;
    },
  };
  const ctx = createContext({ protocols: [{ name: 'http', callback: callbackHttpDummy }, chan as Protocol] });
  const mux = muxRole(chan as Protocol);
  let root: Wsi | null = null;
  const server = createServer((sock) => {
    const w = ctx.adoptSocket(sock, ctx.vhosts[0]);
    assert.ok(w);
    root = w;
    wireSocket(w, sock);
    roleTransition(w, mux, { buf: Buffer.alloc(0), channels: new Map(), log });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  const got = reader(client);
  try {
    await once(client, 'connect');
    client.write(Buffer.concat([frame(1, DATA, Buffer.from('hello')), frame(2, DATA, Buffer.from('world'))]));
    // Each channel may send only its initial credit: 4 of its 5 bytes.
    await until(() => got.data.get(1) === 'HELL' && got.data.get(2) === 'WORL', 'the first 4 bytes of each channel');
    const r = root as unknown as Wsi;
    assert.equal(r.children.length, 2);
    for (const c of r.children) {
      assert.equal(c.parent, r);
      assert.equal(c.socket, null, 'a stream has no socket of its own');
      assert.equal(c.peerAddress, r.peerAddress);
      assert.equal(c.isSsl(), false);
      assert.equal(c.getPeerWriteAllowance(), 0);
      assert.equal(c.sendPipeChoked(), true, 'out of credit: choked, so no WRITEABLE');
    }
    assert.equal(ctx.connectionCount, 3);
    await sleep(50);
    assert.deepEqual(allowance[1], [4]);

    // Credit for channel 1 only: its last byte goes, channel 2 still waits.
    client.write(frame(1, CREDIT, Buffer.from([0, 0, 0, 10])));
    await until(() => got.data.get(1) === 'HELLO', 'the rest of channel 1');
    await sleep(50);
    assert.equal(got.data.get(2), 'WORL');
    assert.deepEqual(allowance[1], [4, 10]);
    assert.deepEqual(allowance[2], [4]);

    // The peer closes channel 2: its stream closes, the connection and channel 1 stay.
    client.write(frame(2, CLOSE));
    await until(() => log.includes('channel 2 closed'), 'channel 2 to close');
    assert.equal(r.children.length, 1);
    assert.equal(r.closed, false);
    assert.equal(ctx.connectionCount, 2);

    // A stream closed from our side ends its stream on the wire (the mux's close frame).
    const c1 = r.children[0];
    c1.close();
    await until(() => got.closed.has(1), 'the close frame of channel 1');
    assert.deepEqual(log, ['channel 2 closed', 'channel 1 closed']);

    // Reopen one and close the connection: its streams close first.
    client.write(frame(3, DATA, Buffer.from('x')));
    await until(() => r.children.length === 1, 'channel 3');
    r.close();
    assert.deepEqual(log.slice(2), ['channel 3 closed', 'mux closing, 0 stream(s) still open']);
    assert.equal(ctx.connectionCount, 0);
  } finally {
    client.destroy();
    server.close();
    await ctx.destroy();
  }
});

test('a stream is refused once its connection has closed', async () => {
  const ctx = createContext({ protocols: [{ name: 'http', callback: callbackHttpDummy }] });
  try {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    const [sock] = (await once(server, 'connection')) as [Socket];
    const w = ctx.adoptSocket(sock, ctx.vhosts[0]);
    assert.ok(w);
    wireSocket(w, sock);
    w.close(false);
    assert.equal(ctx.newChildWsi(w, ctx.vhosts[0].protocols[0], new ChannelTransport(w, 1, 1)), null);
    client.destroy();
    server.close();
  } finally {
    await ctx.destroy();
  }
});
