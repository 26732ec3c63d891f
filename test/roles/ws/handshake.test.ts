/**
 * The WebSocket opening handshake (RFC 6455 4.2) as the server role does
 * it: version and key checks, the accept value, subprotocol choice, the
 * seed's "Working without a protocol name" and "Availability of header
 * information" rules, and FILTER_PROTOCOL_CONNECTION.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import {
  createContext, Option, Reason, callbackHttpDummy, type Protocol, type Wsi,
} from '../../../src/index.js';
import { start, raw, parseResponses, sleep } from '../../helpers/common.js';
import { RawWs, OP, SAMPLE_KEY, SAMPLE_ACCEPT, encodeFrame, handshakeRequest, echoProtocol, until } from '../../helpers/ws.js';

function upgrade(extra: string[], o: { version?: string | null; key?: string | null; path?: string } = {}): string {
  const lines = [`GET ${o.path ?? '/'} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade'];
  if (o.key !== null) lines.push(`Sec-WebSocket-Key: ${o.key ?? SAMPLE_KEY}`);
  if (o.version !== null) lines.push(`Sec-WebSocket-Version: ${o.version ?? '13'}`);
  return [...lines, ...extra].join('\r\n') + '\r\n\r\n';
}

/** A protocol that records which connections reached ESTABLISHED on it. */
function named(name: string, established: string[]): Protocol {
  return {
    name,
    callback(wsi, reason, user, input) {
      if (reason === Reason.ESTABLISHED) established.push(name);
      if (reason === Reason.HTTP) return callbackHttpDummy(wsi, reason, user, input);
      return 0;
    },
  };
}

test('the RFC 6455 sample key gets exactly a 101 with the sample accept value', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const r = await raw(port, upgrade([]), { timeoutMs: 400 });
    assert.equal(r.closed, false, 'the connection stays open after the 101');
    const end = r.text.indexOf('\r\n\r\n');
    assert.ok(end > 0, 'a complete header block');
    assert.equal(r.data.length, end + 4, 'nothing follows the 101 header block');
    const lines = r.text.slice(0, end).split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 101 Switching Protocols');
    const h = new Map(lines.slice(1).map((l) => {
      const c = l.indexOf(':');
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()] as const;
    }));
    assert.equal(h.get('upgrade')?.toLowerCase(), 'websocket');
    assert.equal(h.get('connection')?.toLowerCase(), 'upgrade');
    assert.equal(h.get('sec-websocket-accept'), SAMPLE_ACCEPT);
    assert.equal(h.has('sec-websocket-protocol'), false, 'no subprotocol when none was asked');
    assert.equal(h.has('content-length'), false);
    assert.equal(h.has('transfer-encoding'), false);
    assert.equal(lines.length - 1, h.size, 'no header repeated');
    assert.deepEqual(log.established.length, 1);
  } finally {
    await ctx.destroy();
  }
});

test('versions other than 13 get 426, a missing version 400, both with Sec-WebSocket-Version: 13', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    for (const v of ['8', '12', '14', '0', '13, 8']) {
      const r = await raw(port, upgrade([], { version: v }));
      const [res] = parseResponses(r.data);
      assert.equal(res?.status, 426, `version ${v}`);
      assert.equal(res.headers['sec-websocket-version'], '13', `version ${v}: says which version it speaks`);
    }
    const none = parseResponses((await raw(port, upgrade([], { version: null }))).data)[0];
    assert.equal(none?.status, 400, 'a missing version is a bad request');
    assert.equal(none.headers['sec-websocket-version'], '13');
    assert.equal(log.established.length, 0);
  } finally {
    await ctx.destroy();
  }
});

test('a missing, malformed or repeated Sec-WebSocket-Key gets 400', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const cases: Array<[string, string]> = [
      ['missing', upgrade([], { key: null })],
      ['not base64', upgrade([], { key: '!!!!!!!!!!!!!!!!!!!!!!==' })],
      ['too short', upgrade([], { key: 'abc' })],
      ['15 bytes', upgrade([], { key: Buffer.alloc(15, 1).toString('base64') })],
      ['17 bytes', upgrade([], { key: Buffer.alloc(17, 1).toString('base64') })],
      ['empty', upgrade([], { key: '' })],
      ['repeated', upgrade([`Sec-WebSocket-Key: ${SAMPLE_KEY}`])],
      ['repeated, different', upgrade(['Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=='])],
    ];
    for (const [what, req] of cases) {
      const r = await raw(port, req);
      const [res] = parseResponses(r.data);
      assert.equal(res?.status, 400, `${what} key: ${r.text.split('\r\n')[0]}`);
      assert.ok(!r.text.includes('Sec-WebSocket-Accept'), `${what}: no accept value`);
    }
    assert.equal(log.established.length, 0);
    // the usual variants of the other headers are fine
    const ok = await raw(port, upgrade([], { key: 'AQIDBAUGBwgJCgsMDQ4PEA==' }).replace('Connection: Upgrade', 'Connection: keep-alive, Upgrade')
      .replace('Upgrade: websocket', 'Upgrade: WebSocket'), { timeoutMs: 300 });
    assert.match(ok.text, /^HTTP\/1\.1 101 /);
  } finally {
    await ctx.destroy();
  }
});

test('the subprotocol is the first one in the client\'s list that the vhost has', async () => {
  const est: string[] = [];
  const protocols = [named('http', est), named('alpha', est), named('beta', est)];
  const { ctx, port } = await start({ protocols });
  try {
    const ask = async (list: string) => {
      const r = await raw(port, upgrade([`Sec-WebSocket-Protocol: ${list}`]), { until: (t) => t.includes('\r\n\r\n'), timeoutMs: 2000 });
      return parseResponses(r.data)[0];
    };
    let r = await ask('gamma, beta, alpha');
    assert.equal(r.status, 101);
    assert.equal(r.headers['sec-websocket-protocol'], 'beta');
    r = await ask('alpha,beta');
    assert.equal(r.headers['sec-websocket-protocol'], 'alpha');
    r = await ask('  gamma ,  alpha  ');
    assert.equal(r.headers['sec-websocket-protocol'], 'alpha');
    await until(() => est.length === 3, 1000);
    assert.deepEqual(est, ['beta', 'alpha', 'alpha'], 'ESTABLISHED went to the chosen protocol');
    // the same through a real client
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['nope', 'beta']);
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    assert.equal(ws.protocol, 'beta');
    ws.terminate();
    // none supported: refused, nobody established
    const before = est.length;
    const bad = await raw(port, upgrade(['Sec-WebSocket-Protocol: gamma, delta']));
    const res = parseResponses(bad.data)[0];
    assert.ok(res && res.status >= 400 && res.status < 500, `unsupported list refused (${res?.status})`);
    await sleep(50);
    assert.equal(est.length, before);
  } finally {
    await ctx.destroy();
  }
});

test('without Sec-WebSocket-Protocol: the pvo "default" protocol, else protocols[0]', async () => {
  const est: string[] = [];
  // the seed's example: pvo { "my-protocol": { default: "1" } }
  const { ctx, port } = await start({
    protocols: [named('http', est), named('other', est), named('my-protocol', est)],
    pvo: { 'my-protocol': { default: '1' } },
  });
  try {
    const r = await raw(port, upgrade([]), { until: (t) => t.includes('\r\n\r\n'), timeoutMs: 2000 });
    const res = parseResponses(r.data)[0];
    assert.equal(res.status, 101);
    assert.equal(res.headers['sec-websocket-protocol'], undefined, 'no protocol header when none was asked');
    await until(() => est.length === 1, 1000);
    assert.deepEqual(est, ['my-protocol']);
  } finally {
    await ctx.destroy();
  }
  const est2: string[] = [];
  const b = await start({ protocols: [named('first', est2), named('second', est2)] });
  try {
    const r = await raw(b.port, upgrade([]), { until: (t) => t.includes('\r\n\r\n'), timeoutMs: 2000 });
    assert.equal(parseResponses(r.data)[0].status, 101);
    await until(() => est2.length === 1, 1000);
    assert.deepEqual(est2, ['first'], 'no pvo default: protocols[0]');
  } finally {
    await b.ctx.destroy();
  }
});

test('FILTER_PROTOCOL_CONNECTION returning non-zero refuses the upgrade with 403', async () => {
  const seen: string[] = [];
  let originInFilter: string | undefined;
  const p: Protocol = {
    name: 'guarded',
    callback(wsi, reason, _user, _input) {
      seen.push(Reason[reason]);
      if (reason === Reason.FILTER_PROTOCOL_CONNECTION) {
        originInFilter = wsi.hdrCopy('origin');
        return wsi.getUrlArgByName('pass') === 'yes' ? 0 : 1;
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const r = await raw(port, upgrade(['Origin: http://evil.test'], { path: '/?pass=no' }));
    const res = parseResponses(r.data)[0];
    assert.equal(res?.status, 403);
    assert.ok(!r.text.includes('101'));
    assert.equal(originInFilter, 'http://evil.test', 'headers are readable in the filter');
    assert.ok(!seen.includes('ESTABLISHED'));
    const ok = await raw(port, upgrade([], { path: '/?pass=yes' }), { until: (t) => t.includes('\r\n\r\n'), timeoutMs: 2000 });
    assert.match(ok.text, /^HTTP\/1\.1 101 /);
    await until(() => seen.includes('ESTABLISHED'), 1000);
    assert.ok(seen.indexOf('FILTER_PROTOCOL_CONNECTION') < seen.indexOf('ESTABLISHED'));
  } finally {
    await ctx.destroy();
  }
});

test('headers and URL args are readable in ESTABLISHED and gone (not stale) afterwards', async () => {
  interface Snap {
    origin?: string;
    cookie?: string;
    token?: string;
    name?: string;
    uri?: string;
    count: number;
  }
  const snaps: Array<{ at: string; s: Snap }> = [];
  const snap = (wsi: Wsi): Snap => ({
    origin: wsi.hdrCopy('origin'),
    cookie: wsi.hdrCopy('cookie'),
    token: wsi.getUrlArgByName('token'),
    name: wsi.getUrlArgByName('name='),
    uri: wsi.uri,
    count: wsi.hdrList().length,
  });
  const { proto } = echoProtocol({
    hook(wsi, reason) {
      if (reason === Reason.ESTABLISHED) snaps.push({ at: 'ESTABLISHED', s: snap(wsi) });
      if (reason === Reason.RECEIVE) snaps.push({ at: 'RECEIVE', s: snap(wsi) });
      if (reason === Reason.SERVER_WRITEABLE) snaps.push({ at: 'SERVER_WRITEABLE', s: snap(wsi) });
    },
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const c = await RawWs.open(port, {
      path: '/chat/room?token=abc%20123&name=bob',
      headers: ['Origin: https://app.example', 'Cookie: sid=42; theme=dark'],
    });
    c.send(OP.TEXT, 'hi');
    assert.equal((await c.message()).data.toString(), 'hi');
    c.destroy();
    const est = snaps.find((x) => x.at === 'ESTABLISHED')?.s;
    assert.deepEqual(est, {
      origin: 'https://app.example', cookie: 'sid=42; theme=dark', token: 'abc 123', name: 'bob', uri: '/chat/room', count: est?.count,
    });
    assert.ok((est?.count ?? 0) >= 6);
    const later = snaps.filter((x) => x.at !== 'ESTABLISHED');
    assert.ok(later.length >= 2, 'RECEIVE and SERVER_WRITEABLE were seen');
    for (const l of later) {
      assert.deepEqual(l.s, { origin: undefined, cookie: undefined, token: undefined, name: undefined, uri: undefined, count: 0 }, `in ${l.at}`);
    }
  } finally {
    await ctx.destroy();
  }
});

test('frames in the same TCP segment as the handshake are processed', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const frames = Buffer.concat([encodeFrame(OP.TEXT, 'early bird'), encodeFrame(OP.PING, 'p'), encodeFrame(OP.BINARY, Buffer.from([1, 2, 3]))]);
    const c = await RawWs.open(port, { extra: frames });
    const m1 = await c.message();
    assert.equal(m1.opcode, OP.TEXT);
    assert.equal(m1.data.toString(), 'early bird');
    const m2 = await c.message();
    assert.deepEqual([...m2.data], [1, 2, 3]);
    assert.ok(c.all.some((f) => f.opcode === OP.PONG && f.payload.toString() === 'p'));
    assert.equal(log.messages.length, 2);
    c.destroy();
    // the handshake and a frame arriving one byte per write
    const bytes = handshakeRequest({ extra: encodeFrame(OP.TEXT, 'slowly') });
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const r = await raw(port, chunks, { gapMs: 1, until: (t) => t.includes('slowly'), timeoutMs: 5000 });
    assert.match(r.text, /^HTTP\/1\.1 101 /);
    const body = r.data.subarray(r.data.indexOf('\r\n\r\n') + 4);
    assert.deepEqual([...body], [0x81, 6, ...Buffer.from('slowly')], 'the echo is one unmasked text frame');
  } finally {
    await ctx.destroy();
  }
});

test('the upgrade works on any vhost, bound to that vhost\'s protocols', async () => {
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const p = (free.address() as { port: number }).port;
  await new Promise<void>((r) => free.close(() => r()));
  const est: string[] = [];
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    ctx.createVhost({ port: p, iface: '127.0.0.1', vhostName: 'a.test', protocols: [named('a-proto', est)] });
    ctx.createVhost({ port: p, iface: '127.0.0.1', vhostName: 'b.test', protocols: [named('b-proto', est)] });
    await ctx.listening;
    const req = handshakeRequest().toString('latin1').replace('Host: 127.0.0.1', 'Host: b.test');
    const r = await raw(p, req, { until: (t) => t.includes('\r\n\r\n'), timeoutMs: 2000 });
    assert.match(r.text, /^HTTP\/1\.1 101 /);
    const r2 = await raw(p, handshakeRequest({ protocol: 'a-proto' }).toString('latin1').replace('Host: 127.0.0.1', 'Host: b.test'));
    assert.ok(parseResponses(r2.data)[0].status >= 400, 'another vhost\'s protocol is not offered');
    await until(() => est.length === 1, 1000);
    assert.deepEqual(est, ['b-proto']);
  } finally {
    await ctx.destroy();
  }
});

test('an upgrade after a keep-alive HTTP request on the same connection works', async () => {
  const { proto, log } = echoProtocol();
  const http: Protocol = { name: 'http', callback: callbackHttpDummy };
  const { ctx, port } = await start({ protocols: [http, proto] });
  try {
    const first = 'GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n';
    const r = await raw(port, [first, handshakeRequest({ protocol: 'echo', extra: encodeFrame(OP.TEXT, 'after http') })], {
      gapMs: 100, until: (t) => t.includes('after http'), timeoutMs: 3000,
    });
    const [res] = parseResponses(r.data.subarray(0, r.data.indexOf('HTTP/1.1 101')));
    assert.equal(res.status, 404);
    assert.match(r.text, /HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(r.text, /sec-websocket-protocol: echo\r\n/i);
    assert.ok(r.text.endsWith('\x81\x0aafter http'), 'the echo follows the 101');
    assert.equal(log.established.length, 1);
  } finally {
    await ctx.destroy();
  }
});

test('ESTABLISHED returning -1 closes the new WebSocket', async () => {
  const { proto, log } = echoProtocol({ hook: (_w, reason) => (reason === Reason.ESTABLISHED ? -1 : undefined) });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const c = await RawWs.open(port);
    await c.close().catch(() => undefined);
    assert.ok(await c.closedWithin(2000));
    assert.equal(log.closed, 1);
    assert.ok(!log.reasons.includes('RECEIVE'));
    c.destroy();
  } finally {
    await ctx.destroy();
  }
});
