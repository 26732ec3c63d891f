/**
 * permessage-deflate negotiation edge cases (RFC 7692 5 and 7.1): what
 * the server accepts, declines and answers, what our client offers and
 * which answers make it fail; the per-protocol vetoes (CONFIRM_EXTENSION_OKAY,
 * CLIENT_CONFIRM_EXTENSION_SUPPORTED), setExtensionOption, option checks,
 * zlib stream lifetime and the concurrency bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createContext, Reason, Write, mirrorProtocol, callbackHttpDummy, type Wsi, type Protocol } from '../../../src/index.js';
import { wsOf } from '../../../src/roles/ws/wsi-api.js';
import { limiterOf, type ZlibLimiter } from '../../../src/roles/ws/deflate/limiter.js';
import { start } from '../../helpers/common.js';
import { RawWs, OP, echoProtocol, until } from '../../helpers/ws.js';
import { Recorder, clientContext, fakeServer, good101 } from '../../helpers/client.js';
import { openWs, nextMessages, textOf, pmdCompress, pmdInflate, headerOf, agreedOf, wsClosed, wsEchoServer } from '../../helpers/ws-peer.js';

const ext = (offer: string) => `Sec-WebSocket-Extensions: ${offer}`;

async function agreed(port: number, offer: string, protocol = 'echo'): Promise<string | undefined> {
  const c = await RawWs.open(port, { protocol, headers: [ext(offer)] });
  c.destroy();
  return headerOf(c.head, 'sec-websocket-extensions');
}

test('server: the first acceptable offer wins; malformed, duplicate and unknown parameters decline an offer', async () => {
  const { ctx, port } = await start({ protocols: [echoProtocol().proto], ws: { perMessageDeflate: true } });
  try {
    const cases: Array<[string, string | undefined]> = [
      ['permessage-deflate', 'permessage-deflate'],
      ['permessage-deflate; server_max_window_bits=10, permessage-deflate', 'permessage-deflate; server_max_window_bits=10'],
      ['permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate; client_max_window_bits', 'permessage-deflate'],
      ['x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover', 'permessage-deflate; client_no_context_takeover'],
      ['permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
      ['permessage-deflate; server_max_window_bits=8', 'permessage-deflate; server_max_window_bits=8'],
      ['permessage-deflate; server_max_window_bits="12"', 'permessage-deflate; server_max_window_bits=12'],
      ['permessage-deflate; client_max_window_bits=10', 'permessage-deflate'],
      ['permessage-deflate; server_max_window_bits', undefined],
      ['permessage-deflate; server_max_window_bits=7', undefined],
      ['permessage-deflate; server_max_window_bits=16', undefined],
      ['permessage-deflate; server_max_window_bits=08', undefined],
      ['permessage-deflate; client_max_window_bits=abc', undefined],
      ['permessage-deflate; client_max_window_bits; client_max_window_bits=9', undefined],
      ['permessage-deflate; server_no_context_takeover=1', undefined],
      ['permessage-deflate; mystery_parameter', undefined],
      ['permessage-deflate; ;', undefined],
      ['permessage-deflate; client_max_window_bits="1 0"', undefined],
      ['deflate-frame', undefined],
    ];
    for (const [offer, want] of cases) assert.equal(await agreed(port, offer), want, `offer "${offer}"`);
    // Two header lines form one list.
    const c = await RawWs.open(port, { protocol: 'echo', headers: [ext('x-foo'), ext('permessage-deflate; server_max_window_bits=11')] });
    c.destroy();
    assert.equal(headerOf(c.head, 'sec-websocket-extensions'), 'permessage-deflate; server_max_window_bits=11');
  } finally {
    await ctx.destroy();
  }
});

test('server settings shape the answer: window limits, no context takeover, declining offers that cannot be limited', async () => {
  const { ctx, port } = await start({
    protocols: [echoProtocol().proto],
    ws: { perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: 9, serverNoContextTakeover: true } },
  });
  try {
    assert.equal(await agreed(port, 'permessage-deflate; client_max_window_bits'),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9');
    assert.equal(await agreed(port, 'permessage-deflate; server_max_window_bits=12; client_max_window_bits=8'),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=8');
    // the client cannot be asked to limit its window: decline, then take the next offer
    assert.equal(await agreed(port, 'permessage-deflate'), undefined);
    assert.equal(await agreed(port, 'permessage-deflate, permessage-deflate; client_max_window_bits=12'),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9');
  } finally {
    await ctx.destroy();
  }
});

test('CONFIRM_EXTENSION_OKAY comes before ESTABLISHED; non-zero vetoes the extension, not the connection', async () => {
  let veto = 1;
  const seen: string[] = [];
  const e = echoProtocol({
    hook(_wsi, reason, input) {
      if (reason === Reason.CONFIRM_EXTENSION_OKAY) {
        seen.push(`confirm ${String(input)}`);
        return veto;
      }
      if (reason === Reason.ESTABLISHED) seen.push('established');
    },
  });
  const { ctx, port } = await start({ protocols: [e.proto], ws: { perMessageDeflate: true } });
  try {
    let c = await RawWs.open(port, { protocol: 'echo', headers: [ext('permessage-deflate')] });
    assert.equal(headerOf(c.head, 'sec-websocket-extensions'), undefined);
    assert.deepEqual(seen, ['confirm permessage-deflate', 'established']);
    c.send(OP.TEXT, 'still works');
    assert.equal((await c.message()).data.toString(), 'still works');
    c.send(OP.TEXT, pmdCompress('no'), { rsv: 4 });
    assert.equal((await c.close()).code, 1002, 'not negotiated: RSV1 is an error');
    c.destroy();
    veto = 0;
    c = await RawWs.open(port, { protocol: 'echo', headers: [ext('permessage-deflate')] });
    assert.equal(headerOf(c.head, 'sec-websocket-extensions'), 'permessage-deflate');
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('the mirror protocol vetoes permessage-deflate; a protocol with an rx buffer under 128 gets none', async () => {
  const small = echoProtocol({ name: 'small', rxBufferSize: 64 });
  const { ctx, port } = await start({
    protocols: [{ name: 'http', callback: callbackHttpDummy }, mirrorProtocol, small.proto],
    ws: { perMessageDeflate: true },
  });
  try {
    assert.equal(await agreed(port, 'permessage-deflate', 'lws-mirror-protocol'), undefined);
    assert.equal(await agreed(port, 'permessage-deflate', 'small'), undefined);
  } finally {
    await ctx.destroy();
  }
});

test('off by default: no answer to offers, and existing behaviour unchanged', async () => {
  const { ctx, port } = await start({ protocols: [echoProtocol().proto] });
  try {
    assert.equal(await agreed(port, 'permessage-deflate'), undefined);
  } finally {
    await ctx.destroy();
  }
});

test('setExtensionOption: -1 when not active, 0 when applied; rx_buf_size bounds the pieces; misuse throws', async () => {
  const results: Array<number | string> = [];
  const pieces: number[] = [];
  const p: Protocol = {
    name: 'opts',
    callback(wsi: Wsi, reason: Reason, _u, input) {
      if (reason === Reason.ESTABLISHED) {
        results.push(wsi.setExtensionOption('x-other', 'rx_buf_size', '9'));
        results.push(wsi.setExtensionOption('permessage-deflate', 'rx_buf_size', '9'));
        results.push(wsi.setExtensionOption('permessage-deflate', 'compression_level', 6));
        results.push(wsi.setExtensionOption('permessage-deflate', 'mem_level', '4'));
        for (const [n, v] of [['nonsense', '1'], ['rx_buf_size', '99'], ['compression_level', 'x']]) {
          try {
            wsi.setExtensionOption('permessage-deflate', n, v);
            results.push('no throw');
          } catch (e) {
            results.push((e as Error).name);
          }
        }
      }
      if (reason === Reason.RECEIVE) pieces.push(input.length);
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p], ws: { perMessageDeflate: true } });
  try {
    const c = await RawWs.open(port, { protocol: 'opts', headers: [ext('permessage-deflate')] });
    c.send(OP.TEXT, pmdCompress(textOf(10000)), { rsv: 4 });
    assert.ok(await until(() => pieces.reduce((a, b) => a + b, 0) === 10000, 5000));
    c.destroy();
    // without the extension negotiated
    const c2 = await RawWs.open(port, { protocol: 'opts' });
    await until(() => results.length >= 14, 2000);
    c2.destroy();
    assert.deepEqual(results.slice(0, 7), [-1, 0, 0, 0, 'TypeError', 'RangeError', 'RangeError']);
    assert.deepEqual(results.slice(7, 9), [-1, -1]);
    assert.ok(pieces.every((n) => n <= 512), `pieces ${pieces.slice(0, 5)}…`);
  } finally {
    await ctx.destroy();
  }
});

test('option checks: bad vhost and client settings throw clear errors', () => {
  assert.throws(() => createContext({ ws: { perMessageDeflate: { level: 12 } } }), /level must be an integer from 0 to 9/);
  assert.throws(() => createContext({ ws: { perMessageDeflate: { serverMaxWindowBits: 7 } } }), /serverMaxWindowBits/);
  assert.throws(() => createContext({ ws: { perMessageDeflate: { bogus: 1 } as object } }), /unknown option ws\.perMessageDeflate\.bogus/);
  assert.throws(() => createContext({ ws: { perMessageDeflate: { keptCompressors: -1 } } }), /keptCompressors must be an integer from 0/);
  assert.throws(() => createContext({ ws: { perMessageDeflate: { keptCompressors: 1.5 } } }), /keptCompressors/);
  for (const [bad, re] of [
    [{ threshold: -1 }, /threshold must be an integer from 0/],
    [{ maxInflatedSize: 0 }, /maxInflatedSize must be an integer from 1/],
    [{ concurrency: 0 }, /concurrency must be an integer from 1 to 10000/],
    [{ concurrency: 10001 }, /concurrency must be an integer from 1 to 10000/],
    [{ idleReleaseMs: -1 }, /idleReleaseMs must be an integer from 0/],
    [{ memLevel: 0 }, /memLevel must be an integer from 1 to 9/],
    [{ clientMaxWindowBits: 16 }, /clientMaxWindowBits must be an integer from 8 to 15/],
    [{ serverNoContextTakeover: 'yes' }, /serverNoContextTakeover must be a boolean/],
  ] as Array<[object, RegExp]>) assert.throws(() => createContext({ ws: { perMessageDeflate: bad } }), re, JSON.stringify(bad));
  assert.throws(() => createContext({ ws: { perMessageDeflate: 'on' as unknown as boolean } }), /perMessageDeflate must be true, false or an options object/);
  const ctx = createContext({ protocols: [{ name: 'c', callback: () => 0 }] });
  try {
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, perMessageDeflate: { clientMaxWindowBits: 20 } }), /clientMaxWindowBits/);
  } finally {
    void ctx.destroy();
  }
});

test('zlib streams are made lazily and released after each message without context takeover', async () => {
  const wsis: Wsi[] = [];
  const e = echoProtocol({ hook(wsi, reason) { if (reason === Reason.ESTABLISHED) wsis.push(wsi); } });
  const { ctx, port } = await start({ protocols: [e.proto], ws: { perMessageDeflate: { threshold: 0 } } });
  const pmdOf = (w: Wsi) => wsOf(w)?.pmd;
  try {
    for (const noCtx of [true, false]) {
      const ws = await openWs(`ws://127.0.0.1:${port}/`, { threshold: 0, serverNoContextTakeover: noCtx, clientNoContextTakeover: noCtx }, ['echo']);
      await until(() => wsis.length > 0, 2000);
      const w = wsis.shift() as Wsi;
      assert.equal(pmdOf(w)?.holdsZlib, false, 'no zlib stream before the first message');
      const p = nextMessages(ws, 1);
      ws.send(textOf(5000));
      await p;
      await until(() => pmdOf(w)?.txIdle === true, 2000);
      assert.equal(pmdOf(w)?.holdsZlib, !noCtx, noCtx ? 'released after the message' : 'kept for context takeover');
      ws.close();
    }
  } finally {
    await ctx.destroy();
  }
});

test('a quiet connection frees its compressor after idleReleaseMs; later messages still decode under context takeover', async () => {
  const wsis: Wsi[] = [];
  const e = echoProtocol({ hook(wsi, reason) { if (reason === Reason.ESTABLISHED) wsis.push(wsi); } });
  const { ctx, port } = await start({ protocols: [e.proto], ws: { perMessageDeflate: { threshold: 0, idleReleaseMs: 150 } } });
  const pmdOf = (w: Wsi) => wsOf(w)?.pmd;
  try {
    const ws = await openWs(`ws://127.0.0.1:${port}/`, { threshold: 0 }, ['echo']);
    await until(() => wsis.length > 0, 2000);
    const w = wsis[0];
    const sent = [textOf(3000), textOf(3000), textOf(4000)];
    let p = nextMessages(ws, 1);
    ws.send(sent[0].toString());
    assert.deepEqual((await p)[0].data, sent[0]);
    await until(() => pmdOf(w)?.txIdle === true, 2000);
    assert.equal(pmdOf(w)?.holdsCompressor, true, 'kept right after the message');
    await until(() => pmdOf(w)?.holdsCompressor === false, 3000);
    assert.equal(pmdOf(w)?.holdsZlib, true, 'the decompressor stays: the peer may refer back');
    for (const m of sent.slice(1)) {
      p = nextMessages(ws, 1);
      ws.send(m.toString());
      assert.deepEqual((await p)[0].data, m);
    }
    assert.match(agreedOf(ws), /permessage-deflate/);
    assert.doesNotMatch(agreedOf(ws), /server_no_context_takeover/);
    ws.close();
  } finally {
    await ctx.destroy();
  }
});

test('compression_level set from ESTABLISHED applies: level 0 sends stored blocks, still a valid compressed message', async () => {
  const e = echoProtocol({ hook(wsi, reason) { if (reason === Reason.ESTABLISHED) wsi.setExtensionOption('permessage-deflate', 'compression_level', '0'); } });
  const { ctx, port } = await start({ protocols: [e.proto], ws: { perMessageDeflate: { threshold: 0 } } });
  try {
    const m = textOf(3000);
    const c = await RawWs.open(port, { protocol: 'echo', headers: [ext('permessage-deflate')] });
    c.send(OP.TEXT, m);
    const got = await c.message();
    assert.equal(c.frames[c.frames.length - 1].rsv, 4, 'compressed (RSV1)');
    assert.ok(got.data.length >= m.length, `stored, not deflated: ${got.data.length} bytes for ${m.length}`);
    assert.deepEqual(pmdInflate(got.data), m);
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('keptCompressors bounds the compressors kept for context takeover; connections past it compress each message afresh', async () => {
  const { ctx, port } = await start({ protocols: [echoProtocol().proto], ws: { perMessageDeflate: { threshold: 0, keptCompressors: 1 } } });
  const m = textOf(3000);
  // Two echoes of the same text, as sent on the wire (compressed payloads).
  const twice = async (c: RawWs) => {
    const out: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      c.send(OP.TEXT, m);
      const got = await c.message();
      assert.equal(got.frames, 1);
      assert.equal(c.frames[c.frames.length - 1].rsv, 4, 'the echo is compressed (RSV1)');
      out.push(got.data);
    }
    return out;
  };
  try {
    const a = await RawWs.open(port, { protocol: 'echo', headers: [ext('permessage-deflate')] });
    const b = await RawWs.open(port, { protocol: 'echo', headers: [ext('permessage-deflate')] });
    for (const c of [a, b]) assert.equal(headerOf(c.head, 'sec-websocket-extensions'), 'permessage-deflate', 'nothing is declared to the peer');
    const [a1, a2] = await twice(a);
    // The vhost's settings made the limiter its connections share.
    const limiter = limiterOf(ctx.vhosts[0]) as ZlibLimiter;
    assert.equal(limiter.keepLimit, 1);
    assert.deepEqual(pmdInflate(a1), m);
    assert.ok(a2.length * 4 < a1.length, `the first connection keeps its context: ${a2.length} bytes for a repeat of ${a1.length}`);
    assert.equal(limiter.keptDeflaters, 1);
    const [b1, b2] = await twice(b);
    // Each of the second connection's messages decodes alone: no reference back.
    assert.deepEqual(pmdInflate(b1), m);
    assert.deepEqual(pmdInflate(b2), m);
    assert.equal(b2.length, b1.length, 'a repeat costs as much as the first time');
    assert.equal(limiter.keptDeflaters, 1, 'still one kept compressor');
    a.destroy();
    await until(() => limiter.keptDeflaters === 0, 3000);
    assert.equal(limiter.keptDeflaters, 0, 'a closed connection gives its place back');
    const [b3, b4] = await twice(b);
    assert.deepEqual(pmdInflate(b3), m);
    assert.ok(b4.length * 4 < b3.length, `the place passes to the second connection: ${b4.length} bytes for a repeat`);
    b.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('without context takeover connections borrow reset compressors and decompressors from the vhost, never more spare than the concurrency bound', async () => {
  const { ctx, port } = await start({ protocols: [echoProtocol().proto], ws: { perMessageDeflate: { threshold: 0, concurrency: 2 } } });
  try {
    // Neither side keeps context: the server's compressors and decompressors both go back after each message.
    const pmd = { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true };
    const clients = await Promise.all([0, 1, 2, 3].map(() => openWs(`ws://127.0.0.1:${port}/`, pmd, ['echo'])));
    for (let round = 0; round < 5; round++) {
      await Promise.all(clients.map(async (ws, i) => {
        const m = textOf(2000 + 37 * i + round);
        const p = nextMessages(ws, 1);
        ws.send(m.toString());
        assert.deepEqual((await p)[0].data, m, `client ${i} round ${round}`);
      }));
    }
    const limiter = limiterOf(ctx.vhosts[0]) as ZlibLimiter;
    assert.equal(limiter.limit, 2);
    await until(() => limiter.active === 0, 2000);
    assert.ok(limiter.spareDeflaters >= 1, 'compressors are kept for reuse');
    assert.ok(limiter.spareDeflaters <= 2, `at most the concurrency bound spare, got ${limiter.spareDeflaters}`);
    assert.ok(limiter.spareInflaters >= 1, 'decompressors are kept for reuse');
    assert.ok(limiter.spareInflaters <= 2, `at most the concurrency bound spare, got ${limiter.spareInflaters}`);
    for (const ws of clients) ws.close();
  } finally {
    await ctx.destroy();
  }
  const limiter = limiterOf(ctx.vhosts[0]) as ZlibLimiter;
  assert.equal(limiter.spareDeflaters + limiter.spareInflaters, 0, 'a destroyed vhost closes its spare streams');
});

test('a vhost\'s own deflate settings bound its zlib work, even when a client connection of it compresses first', async () => {
  const peer = await wsEchoServer(true);
  const rec = new Recorder('c');
  rec.on = (wsi, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED) {
      wsi.write(textOf(3000), Write.TEXT);
    }
    return 0;
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, rec.protocol],
    ws: { perMessageDeflate: { concurrency: 3, keptCompressors: 5 } } });
  try {
    await ctx.listening;
    ctx.clientConnect({ address: '127.0.0.1', port: peer.port, localProtocolName: 'c', perMessageDeflate: { threshold: 0 } });
    await rec.until(() => rec.messages.length === 1, 'the echo');
    assert.deepEqual(rec.messages[0].data, textOf(3000));
    const limiter = limiterOf(ctx.vhosts[0]) as ZlibLimiter;
    assert.equal(limiter.limit, 3, 'the vhost\'s concurrency, not the client default');
    assert.equal(limiter.keepLimit, 5);
  } finally {
    await ctx.destroy();
    await new Promise<void>((r) => peer.wss.close(() => r()));
  }
});

test('a protocol that closes while a large compressed message is being inflated gives its zlib slot back once', async () => {
  const quit: Protocol = { name: 'quit', rxBufferSize: 1024, callback: (_w, reason, _user, _input) => (reason === Reason.RECEIVE ? -1 : 0) };
  const { ctx, port } = await start({ protocols: [echoProtocol().proto, quit], ws: { perMessageDeflate: { threshold: 0, concurrency: 1 } } });
  try {
    const ws = await openWs(`ws://127.0.0.1:${port}/`, { threshold: 0 }, ['quit']);
    const closed = wsClosed(ws, 5000);
    ws.send(textOf(100000).toString());
    await closed;
    const limiter = limiterOf(ctx.vhosts[0]) as ZlibLimiter;
    await until(() => limiter.active <= 0, 2000);
    assert.equal(limiter.active, 0, 'the one slot is free, and not freed twice');
    // With concurrency 1 the vhost still compresses for others.
    const echo = await openWs(`ws://127.0.0.1:${port}/`, { threshold: 0 }, ['echo']);
    const p = nextMessages(echo, 2);
    echo.send(textOf(50000).toString());
    echo.send(textOf(60000).toString());
    const got = await p;
    assert.deepEqual(got.map((g) => g.data.length), [50000, 60000]);
    assert.equal(limiter.active, 0);
    echo.close();
  } finally {
    await ctx.destroy();
  }
});

test('the concurrency bound holds with many connections compressing at once', async () => {
  const { ctx, port } = await start({ protocols: [echoProtocol().proto], ws: { perMessageDeflate: { threshold: 0, concurrency: 2 } } });
  let maxActive = 0;
  let maxWaiting = 0;
  const t = setInterval(() => {
    const limiter = limiterOf(ctx.vhosts[0]);
    maxActive = Math.max(maxActive, limiter?.active ?? 0);
    maxWaiting = Math.max(maxWaiting, limiter?.waiting ?? 0);
  }, 0);
  try {
    const clients = await Promise.all(Array.from({ length: 20 }, () => openWs(`ws://127.0.0.1:${port}/`, { threshold: 0 }, ['echo'])));
    const waits = clients.map((ws) => nextMessages(ws, 10, 20000));
    clients.forEach((ws, i) => { for (let k = 0; k < 10; k++) ws.send(textOf(20000 + i + k)); });
    const got = await Promise.all(waits);
    got.forEach((msgs, i) => msgs.forEach((m, k) => assert.ok(m.data.equals(textOf(20000 + i + k)), `client ${i} message ${k}`)));
    assert.ok(maxActive <= 2, `at most 2 zlib operations at once (saw ${maxActive})`);
    assert.ok(maxWaiting > 0, 'others waited their turn');
    for (const ws of clients) ws.close();
  } finally {
    clearInterval(t);
    await ctx.destroy();
  }
});

// ---- client side ----

test('client: the offer reflects the settings; CLIENT_CONFIRM_EXTENSION_SUPPORTED can veto it', async () => {
  const fs = await fakeServer(() => null);
  const rec = new Recorder();
  let veto = 0;
  rec.on = (_w, reason, input) => {
    if (reason === Reason.CLIENT_CONFIRM_EXTENSION_SUPPORTED) {
      assert.equal(input, 'permessage-deflate');
      return veto;
    }
    return 0;
  };
  const ctx = clientContext(rec);
  try {
    ctx.clientConnect({ address: '127.0.0.1', port: fs.port, perMessageDeflate: true });
    ctx.clientConnect({
      address: '127.0.0.1', port: fs.port,
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    });
    await until(() => fs.conns.length === 2, 3000);
    const heads = fs.conns.map((c) => headerOf(c.request, 'sec-websocket-extensions')).sort();
    assert.deepEqual(heads, [
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9',
    ].sort());
    veto = 1;
    ctx.clientConnect({ address: '127.0.0.1', port: fs.port, perMessageDeflate: true });
    ctx.clientConnect({ address: '127.0.0.1', port: fs.port });
    await until(() => fs.conns.length === 4, 3000);
    assert.equal(headerOf(fs.conns[2].request, 'sec-websocket-extensions'), undefined);
    assert.equal(headerOf(fs.conns[3].request, 'sec-websocket-extensions'), undefined);
  } finally {
    await ctx.destroy();
    await fs.close();
  }
});

test('client: answers RFC 7692 forbids fail the connection with a clear CLIENT_CONNECTION_ERROR', async () => {
  const cases: Array<[object | boolean | undefined, string, RegExp]> = [
    [undefined, 'permessage-deflate', /not offered/],
    [true, 'x-foo', /extension "x-foo", which was not offered/],
    [true, 'permessage-deflate, permessage-deflate', /more than once/],
    [true, 'permessage-deflate; server_max_window_bits=20', /server_max_window_bits needs a value from 8 to 15/],
    [true, 'permessage-deflate; client_max_window_bits', /client_max_window_bits needs a value/],
    [true, 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', /duplicate parameter server_no_context_takeover/],
    [true, 'permessage-deflate; foo', /unknown parameter foo/],
    [true, 'permessage-deflate; =', /malformed/],
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate', /lacks the server_max_window_bits/],
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=12', /more than the 10 offered/],
    [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=12', /more than the 10 offered/],
    [{ serverNoContextTakeover: true }, 'permessage-deflate', /lacks the server_no_context_takeover/],
  ];
  let answer = '';
  const fs = await fakeServer((head) => good101(head, `Sec-WebSocket-Extensions: ${answer}\r\n`));
  try {
    for (const [pmd, resp, want] of cases) {
      answer = resp;
      const rec = new Recorder();
      const ctx = clientContext(rec);
      try {
        ctx.clientConnect({ address: '127.0.0.1', port: fs.port, perMessageDeflate: pmd as boolean | undefined });
        await rec.until(() => rec.has(Reason.CLIENT_CONNECTION_ERROR) || rec.has(Reason.CLIENT_ESTABLISHED), `an answer to "${resp}"`, 3000);
        const err = rec.first(Reason.CLIENT_CONNECTION_ERROR);
        assert.ok(err, `"${resp}" should fail the connection`);
        assert.match(String(err.input), want, `"${resp}"`);
        assert.match(String(err.input), /^HS: /);
        assert.ok(!rec.has(Reason.CLIENT_ESTABLISHED));
      } finally {
        await ctx.destroy();
      }
    }
  } finally {
    await fs.close();
  }
});

test('client: an accepted answer is honoured (window 8, no context takeover) and what we send is compressed', async () => {
  const fs = await fakeServer((head) => good101(head, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8; client_no_context_takeover\r\n'));
  const rec = new Recorder();
  // Repeats 1000 bytes apart: a compressor with a window over 512 bytes would refer back.
  const msg = Buffer.from(randomBytes(500).toString('hex').repeat(4));
  rec.on = (wsi, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
    if (reason === Reason.CLIENT_WRITEABLE) {
      wsi.write(msg, Write.TEXT);
      wsi.write(msg, Write.TEXT);
    }
    return 0;
  };
  const ctx = clientContext(rec);
  try {
    ctx.clientConnect({ address: '127.0.0.1', port: fs.port, perMessageDeflate: { threshold: 0 } });
    await until(() => fs.conns.length === 1 && Buffer.concat(fs.conns[0].after).length > 100, 3000);
    await new Promise((r) => setTimeout(r, 100));
    const raw = Buffer.concat(fs.conns[0].after);
    const frames: Array<{ rsv1: boolean; payload: Buffer }> = [];
    let p = 0;
    while (p + 2 <= raw.length) {
      let len = raw[p + 1] & 0x7f;
      let q = p + 2;
      if (len === 126) { len = raw.readUInt16BE(q); q += 2; }
      const mask = raw.subarray(q, q + 4);
      q += 4;
      const payload = Buffer.from(raw.subarray(q, q + len).map((b, i) => b ^ mask[i & 3]));
      frames.push({ rsv1: (raw[p] & 0x40) !== 0, payload });
      p = q + len;
    }
    assert.equal(frames.length, 2);
    for (const f of frames) {
      assert.ok(f.rsv1, 'compressed');
      assert.ok(f.payload.length < 4000);
      // No context takeover: each message inflates alone; and within the
      // agreed window (zlib's raw inflate has no 8-bit window, 9 is as small as it gets).
      assert.ok(pmdInflate(f.payload, 9).equals(msg));
      assert.throws(() => pmdInflate(pmdCompress(msg, 15), 9), /too far back/, 'a 15-bit window would not fit');
    }
  } finally {
    await ctx.destroy();
    await fs.close();
  }
});
