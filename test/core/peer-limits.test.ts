/**
 * Peer limits (lws's LWS_WITH_PEER_LIMITS): `ipLimitWsi` closes a peer
 * address's connections past the limit at accept, whatever they would have
 * spoken; `ipLimitAh` makes the address's extra connections that are
 * sending request heads wait, unread, until its other heads are complete.
 * Linux routes all of 127/8 to loopback, so 127.0.0.2 and 127.0.0.3 are
 * other peers of the same machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import {
  createContext, callbackHttpDummy, rawTestProtocol, Option, ErrorCode, setLogLevel, getLogLevel, emitStderr, LogLevel,
  type Context, type Protocol, type TslwsError,
} from '../../src/index.js';
import { LocalPeerTable } from '../../src/core/peer-table.js';
import { peerAddressOf } from '../../src/core/peer.js';
import { start, sleep } from '../helpers/common.js';
import { waitFor } from '../helpers/plugin-ws-client.js';

const http: Protocol = { name: 'http', callback: callbackHttpDummy };

/** A client connection and what it has seen. */
interface Peer {
  s: Socket;
  text(): string;
  closed(): boolean;
  /** Write, then resolve once a whole response head has arrived. */
  request(path: string): Promise<string>;
}

function open(port: number, localAddress = '127.0.0.1', host = '127.0.0.1'): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host, localAddress });
    let text = '';
    let closed = false;
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('close', () => (closed = true));
    s.once('error', (e: NodeJS.ErrnoException) => {
      // A refused connection may be reset: that is what it is for.
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
    });
    const peer: Peer = {
      s,
      text: () => text,
      closed: () => closed,
      async request(path) {
        const before = text.length;
        s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        await waitFor(() => text.indexOf('\r\n\r\n', before) >= 0 || closed, `an answer to ${path}`);
        return text.slice(before);
      },
    };
    s.once('connect', () => resolve(peer));
  });
}

/** The status of a GET over an HTTP/2 session. */
function h2get(h2: ClientHttp2Session, path: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = h2.request({ ':path': path });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.resume();
    req.end();
  });
}

/** The peer table's figures for `addr` (zeros when it holds nothing for it). */
function peerOf(ctx: Context, addr: string): { conns: number; heads: number; waiting: number } {
  const t = ctx.peerTable as LocalPeerTable;
  return t.peer(addr) ?? { conns: 0, heads: 0, waiting: 0 };
}

/** Warning and notice lines logged while `fn` runs. */
async function capturingLog<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const old = getLogLevel();
  setLogLevel(LogLevel.ERR | LogLevel.WARN | LogLevel.NOTICE, (_l, line) => lines.push(line));
  try {
    return await fn(lines);
  } finally {
    setLogLevel(old, emitStderr);
  }
}

test('ipLimitWsi: the connection past the limit from 127.0.0.1 is closed at once; 127.0.0.2 and .3 still connect; a place freed is taken again', async () => {
  await capturingLog(async (lines) => {
    const { ctx, port } = await start({ ipLimitWsi: 2, protocols: [http] });
    const peers: Peer[] = [];
    try {
      assert.equal(ctx.ipLimitWsi, 2);
      const a1 = await open(port);
      const a2 = await open(port);
      peers.push(a1, a2);
      await waitFor(() => peerOf(ctx, '127.0.0.1').conns === 2, 'two connections counted');
      // Three more from the same address: each closed as soon as it is accepted, nothing sent.
      for (let i = 0; i < 3; i++) {
        const x = await open(port);
        await waitFor(() => x.closed(), 'the connection past the limit to be closed', 1000);
        assert.equal(x.text(), '');
      }
      assert.equal(ctx.refusedPeerConnections, 3);
      assert.equal(ctx.refusedConnections, 0);
      const burst = lines.filter((l) => l.includes('ipLimitWsi'));
      assert.equal(burst.length, 1, `logged once for the burst: ${JSON.stringify(lines)}`);
      assert.match(burst[0], /127\.0\.0\.1 has 2 connections/);
      // Other addresses are not limited by 127.0.0.1's count.
      const b1 = await open(port, '127.0.0.2');
      const b2 = await open(port, '127.0.0.2');
      const c1 = await open(port, '127.0.0.3');
      peers.push(b1, b2, c1);
      await waitFor(() => ctx.connectionCount === 5, 'five connections');
      for (const p of [a1, a2, b1, b2, c1]) assert.match(await p.request('/x'), /^HTTP\/1\.1 404 /);
      assert.deepEqual([peerOf(ctx, '127.0.0.2').conns, peerOf(ctx, '127.0.0.3').conns], [2, 1]);
      // One of 127.0.0.1's closes: its next connection is served, and the burst's total is logged.
      a1.s.destroy();
      await waitFor(() => peerOf(ctx, '127.0.0.1').conns === 1, 'the closed one uncounted');
      assert.ok(lines.some((l) => /127\.0\.0\.1: 3 connections were closed on accept \(ipLimitWsi 2\)/.test(l)), JSON.stringify(lines));
      const a3 = await open(port);
      peers.push(a3);
      await sleep(50);
      assert.equal(a3.closed(), false);
      assert.match(await a3.request('/y'), /^HTTP\/1\.1 404 /);
      assert.equal(ctx.refusedPeerConnections, 3);
      // The table forgets an address once it has no connection left.
      for (const p of peers) p.s.destroy();
      await waitFor(() => ctx.peerTable!.size === 0, 'an empty peer table');
    } finally {
      for (const p of peers) p.s.destroy();
      await ctx.destroy();
    }
  });
});

test('ipLimitWsi counts every connection: an HTTP/2 one and a RAW one fill the place of a third', async () => {
  const { ctx, port } = await start({
    ipLimitWsi: 2, options: Option.FALLBACK_TO_RAW, protocols: [http, rawTestProtocol],
    pvo: { 'protocol-lws-raw-test': { raw: '1' } },
  });
  const h2 = h2connect(`http://127.0.0.1:${port}`);
  h2.on('error', () => {});
  let rawPeer: Peer | null = null;
  try {
    assert.equal(await h2get(h2, '/'), 404);
    rawPeer = await open(port);
    const raw = rawPeer;
    raw.s.write('hello raw\n');
    await waitFor(() => raw.text() === 'hello raw\n', 'the RAW echo');
    assert.equal(peerOf(ctx, '127.0.0.1').conns, 2);
    const third = await open(port);
    await waitFor(() => third.closed(), 'the third connection to be closed', 1000);
    assert.equal(ctx.refusedPeerConnections, 1);
    // The HTTP/2 connection ends: its place is free.
    await new Promise<void>((r) => h2.close(() => r()));
    await waitFor(() => peerOf(ctx, '127.0.0.1').conns === 1, 'the HTTP/2 connection uncounted');
    const fourth = await open(port);
    assert.match(await fourth.request('/z'), /^HTTP\/1\.1 404 /);
    fourth.s.destroy();
  } finally {
    h2.destroy();
    rawPeer?.s.destroy();
    await ctx.destroy();
  }
});

test('ipLimitAh: past the limit, connections sending their heads wait unread, and are answered once the others have theirs', async () => {
  const { ctx, port } = await start({ ipLimitAh: 2, protocols: [http] });
  const all: Peer[] = [];
  try {
    const head = (p: string) => `GET ${p} HTTP/1.1\r\nHost: a\r\n`;
    const p1 = await open(port);
    const p2 = await open(port);
    all.push(p1, p2);
    p1.s.write(head('/p1'));
    p2.s.write(head('/p2'));
    await waitFor(() => peerOf(ctx, '127.0.0.1').heads === 2, 'two heads being read');
    const w1 = await open(port);
    const w2 = await open(port);
    all.push(w1, w2);
    w1.s.write(head('/w1'));
    w2.s.write(head('/w2'));
    await waitFor(() => peerOf(ctx, '127.0.0.1').waiting === 2, 'two heads waiting');
    // Their heads complete, but they are not read yet.
    w1.s.write('\r\n');
    w2.s.write('\r\n');
    // Another address is not held back by 127.0.0.1's heads.
    const other = await open(port, '127.0.0.2');
    all.push(other);
    assert.match(await other.request('/other'), /^HTTP\/1\.1 404 /);
    // HTTP/2 from the same address does not wait: its requests' heads come whole.
    const h2 = h2connect(`http://127.0.0.1:${port}`);
    h2.on('error', () => {});
    try {
      assert.equal(await h2get(h2, '/h2'), 404);
    } finally {
      await new Promise<void>((r) => h2.close(() => r()));
    }
    await sleep(200);
    assert.deepEqual([w1.text(), w2.text(), w1.closed(), w2.closed()], ['', '', false, false]);
    await waitFor(() => peerOf(ctx, '127.0.0.1').conns === 4, 'the HTTP/2 connection uncounted');
    assert.deepEqual(peerOf(ctx, '127.0.0.1'), { conns: 4, heads: 2, waiting: 2 });
    // The first two finish their heads: everyone is answered.
    p1.s.write('\r\n');
    p2.s.write('\r\n');
    for (const p of [p1, p2, w1, w2]) await waitFor(() => /\r\n\r\n/.test(p.text()), 'an answer');
    for (const p of [p1, p2, w1, w2]) assert.match(p.text(), /^HTTP\/1\.1 404 /);
    assert.deepEqual(peerOf(ctx, '127.0.0.1'), { conns: 4, heads: 0, waiting: 0 });
    // Kept alive, their next requests go through as before.
    assert.match(await w2.request('/again'), /^HTTP\/1\.1 404 /);
  } finally {
    for (const p of all) p.s.destroy();
    await ctx.destroy();
  }
});

test('ipLimitAh: a connection waiting for its turn still has its head timeout', async () => {
  const { ctx, port } = await start({ ipLimitAh: 1, protocols: [http], limits: { headerTimeoutSecs: 1 } });
  const all: Peer[] = [];
  try {
    // p1's head clock must start after w1's (it runs from accept, and from
    // the first byte of a later request): p1 is answered once first.
    const p1 = await open(port);
    all.push(p1);
    assert.match(await p1.request('/first'), /^HTTP\/1\.1 404 /);
    const w1 = await open(port);
    all.push(w1);
    const t0 = Date.now();
    await sleep(100);
    p1.s.write('GET /p1 HTTP/1.1\r\n');
    await waitFor(() => peerOf(ctx, '127.0.0.1').heads === 1, 'one head being read');
    w1.s.write('GET /w1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => peerOf(ctx, '127.0.0.1').waiting === 1, 'one head waiting');
    await waitFor(() => w1.closed(), 'the waiting connection to time out', 4000);
    const ms = Date.now() - t0;
    assert.ok(ms >= 900 && ms < 2500, `closed after ${ms} ms`);
    assert.equal(p1.closed(), false, 'the head being read holds its place until its own timeout');
    assert.match(w1.text(), /^HTTP\/1\.1 408 /);
    await waitFor(() => ctx.peerTable!.size === 0, 'an empty peer table');
  } finally {
    for (const p of all) p.s.destroy();
    await ctx.destroy();
  }
});

test('an IPv4 peer of an IPv6 socket (::ffff:127.0.0.1) counts as 127.0.0.1', async (t) => {
  assert.equal(peerAddressOf('::ffff:127.0.0.1'), '127.0.0.1');
  const ctx = createContext({ port: 0, iface: '::', ipLimitWsi: 1, protocols: [http] });
  try {
    await ctx.listening;
  } catch (e) {
    await ctx.destroy();
    t.skip(`no IPv6 here: ${(e as Error).message}`);
    return;
  }
  const all: Peer[] = [];
  try {
    const port = ctx.vhosts[0].port!;
    const a = await open(port, '127.0.0.1', '127.0.0.1');
    all.push(a);
    await waitFor(() => peerOf(ctx, '127.0.0.1').conns === 1, 'counted as 127.0.0.1');
    assert.equal(ctx.peerTable!.size, 1);
    const b = await open(port, '::ffff:127.0.0.1', '::ffff:127.0.0.1');
    all.push(b);
    await waitFor(() => b.closed(), 'the mapped address to count with 127.0.0.1', 1000);
    assert.equal(ctx.refusedPeerConnections, 1);
    // ::1 is another address.
    const c = await open(port, '::1', '::1');
    all.push(c);
    assert.match(await c.request('/v6'), /^HTTP\/1\.1 404 /);
    assert.equal(peerOf(ctx, '::1').conns, 1);
  } finally {
    for (const p of all) p.s.destroy();
    await ctx.destroy();
  }
});

test('peer limits are off by default; bad values are TSLWS_INVALID_OPTION', async () => {
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [http] });
  try {
    assert.deepEqual([ctx.ipLimitWsi, ctx.ipLimitAh, ctx.peerTable, ctx.refusedPeerConnections], [0, 0, null, 0]);
  } finally {
    await ctx.destroy();
  }
  const bad: Array<[string, Record<string, unknown>]> = [
    ['ipLimitWsi', { ipLimitWsi: -1 }], ['ipLimitWsi', { ipLimitWsi: 1.5 }], ['ipLimitWsi', { ipLimitWsi: Number.NaN }],
    ['ipLimitWsi', { ipLimitWsi: Infinity }], ['ipLimitWsi', { ipLimitWsi: '3' }], ['ipLimitAh', { ipLimitAh: -2 }],
    ['ipLimitAh', { ipLimitAh: true }], ['maxConnections', { maxConnections: 0 }], ['maxConnections', { maxConnections: 2.5 }],
  ];
  for (const [name, info] of bad) {
    assert.throws(() => createContext({ port: 0, ...info }), (e: TslwsError) => {
      assert.equal(e.code, ErrorCode.INVALID_OPTION, `${JSON.stringify(info)}: ${e.message}`);
      assert.match(e.message, new RegExp(name));
      return true;
    });
  }
});

test('LocalPeerTable: counts per address, queues heads first come first served, forgets idle addresses', () => {
  const t = new LocalPeerTable(2, 1);
  assert.equal(t.tryAdd('a'), true);
  assert.equal(t.tryAdd('a'), true);
  assert.equal(t.tryAdd('a'), false);
  assert.equal(t.tryAdd('b'), true);
  assert.equal(t.size, 2);
  const order: string[] = [];
  const r1 = () => order.push('1');
  const r2 = () => order.push('2');
  const r3 = () => order.push('3');
  assert.equal(t.beginHead('a', r1), true);
  assert.equal(t.beginHead('a', r2), false);
  assert.equal(t.beginHead('a', r3), false);
  assert.equal(t.beginHead('b', () => order.push('b')), true, 'another address has its own count');
  // r2 gives up waiting (its connection closed): r3 is next.
  t.endHead('a', r2);
  t.endHead('a', r1);
  assert.deepEqual(order, ['3']);
  assert.deepEqual(t.peer('a'), { conns: 2, heads: 1, waiting: 0 });
  t.endHead('a', r3);
  t.remove('a');
  t.remove('a');
  assert.equal(t.peer('a'), undefined);
  assert.equal(t.size, 1);
  // With no head limit nothing about heads is counted.
  const free = new LocalPeerTable(1, 0);
  assert.equal(free.beginHead('x', () => {}), true);
  assert.equal(free.size, 0);
});
