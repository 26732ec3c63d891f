/**
 * Every HttpLimits field over real sockets: the exact status at and past
 * each boundary, timeouts that close slow peers, bounded buffering of
 * pipelined bytes, and one bad peer never harming another.
 */
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createContext, Reason, Write, Option, setLogLevel, LogLevel, type Context, type Protocol, type Wsi } from '../../../src/index.js';
import { start, raw, parseResponses, openSocket, livePeer, completeResponses, sleep } from '../../helpers/common.js';

setLogLevel(LogLevel.ERR);

interface Sess {
  chunks: Buffer[];
  count: number;
  held: boolean;
}

function reply(wsi: Wsi, code: number, body: Buffer): number {
  wsi.addHttpHeaderStatus(code);
  wsi.addHttpHeaderByName('content-type', 'application/octet-stream');
  wsi.addHttpHeaderContentLength(body.length);
  if (wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS) < 0) return -1;
  return wsi.write(body, Write.HTTP_FINAL) < 0 ? -1 : 0;
}

/** Connections parked on `/hold`, answered when the test asks. */
const holding: Array<(w: Wsi) => void> = [];
function nextHeld(): Promise<Wsi> {
  return new Promise((r) => holding.push(r));
}

/**
 * `/hold` waits until the test calls callbackOnWritable(); `/sink` counts
 * its body and answers the count; other bodies are echoed; other requests
 * get `METHOD uri`.
 */
const proto: Protocol<Sess> = {
  name: 'limits',
  createSessionData: () => ({ chunks: [], count: 0, held: false }),
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.HTTP: {
        user.chunks = [];
        user.count = 0;
        if (wsi.uri === '/hold') {
          user.held = true;
          holding.shift()?.(wsi);
          return 0;
        }
        const hasBody = wsi.hdrCopy('transfer-encoding') !== undefined || parseInt(wsi.hdrCopy('content-length') ?? '0', 10) > 0;
        if (hasBody) return 0;
        return reply(wsi, 200, Buffer.from(`${wsi.method} ${wsi.uri}`));
      }
      case Reason.HTTP_WRITEABLE:
        if (!user.held) return 0;
        user.held = false;
        return reply(wsi, 200, Buffer.from('held'));
      case Reason.HTTP_BODY:
        if (wsi.uri === '/sink') user.count += input.length;
        else user.chunks.push(Buffer.from(input));
        return 0;
      case Reason.HTTP_BODY_COMPLETION:
        return reply(wsi, 200, wsi.uri === '/sink' ? Buffer.from(String(user.count)) : Buffer.concat(user.chunks));
    }
    return 0;
  },
};

const LIMITS = {
  maxRequestLine: 64,
  maxHeaderBytes: 512,
  maxHeaderCount: 8,
  maxBodySize: 1000,
  maxChunkLine: 64,
  headerTimeoutSecs: 1,
  timeoutSecs: 1,
};

let ctx: Context;
let port: number;
before(async () => {
  ({ ctx, port } = await start({ protocols: [proto], limits: LIMITS }));
});
after(async () => {
  await ctx.destroy();
});

// ---- helpers ----

const complete = (data: Buffer) => completeResponses(data);

async function ok(req: string | Buffer, body: string, what: string, p = port): Promise<void> {
  const r = await raw(p, req, { timeoutMs: 3000, until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 1 });
  const res = parseResponses(r.data);
  assert.equal(res[0]?.status, 200, `${what}: ${JSON.stringify(r.text.slice(0, 200))}`);
  assert.equal(res[0].body.toString('latin1'), body, what);
}

/** Exactly one answer with `status`, then the close; nothing smuggled after it is answered. */
async function refused(req: string | Buffer, status: number, what: string, opts: { timeoutMs?: number; port?: number } = {}): Promise<void> {
  const bytes = Buffer.concat([Buffer.from(req as string, 'latin1'), Buffer.from('GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')]);
  const r = await raw(opts.port ?? port, bytes, { timeoutMs: opts.timeoutMs ?? 3000 });
  assert.equal(r.closed, true, `${what}: must close; got ${JSON.stringify(r.text.slice(0, 300))}`);
  const res = parseResponses(r.data);
  assert.equal(res.length, 1, `${what}: one answer; got ${JSON.stringify(r.text.slice(0, 300))}`);
  assert.equal(res[0].status, status, `${what}: got ${JSON.stringify(r.text.split('\r\n')[0])}`);
  assert.equal(res[0].headers['connection'], 'close', what);
  assert.ok(!r.text.includes('/smuggled'), what);
}

const peer = (p = port) => livePeer(p);

const H = 'Host: x\r\n';

// ---- request line: maxRequestLine ----

test('maxRequestLine: a line of exactly the limit is served, one byte more gets 414', async () => {
  // "GET " + target + " HTTP/1.1" = 64 bytes, CRLF not counted
  const at = '/' + 'a'.repeat(64 - 4 - 9 - 1);
  assert.equal(`GET ${at} HTTP/1.1`.length, 64);
  await ok(`GET ${at} HTTP/1.1\r\n${H}\r\n`, `GET ${at}`, 'at the limit');
  await refused(`GET ${at}b HTTP/1.1\r\n${H}\r\n`, 414, 'one over');
  await refused(`GET /${'a'.repeat(5000)} HTTP/1.1\r\n${H}\r\n`, 414, 'far over');
});

test('maxRequestLine: a line that never ends gets 414 as soon as it passes the limit', async () => {
  const p = await peer();
  try {
    p.s.write('GET /' + 'a'.repeat(100)); // no CRLF, connection left open
    await p.until(() => p.closed, '414 and close');
    assert.match(p.text, /^HTTP\/1\.1 414 URI Too Long\r\n/);
  } finally {
    p.s.destroy();
  }
});

// ---- header block: maxHeaderBytes, maxHeaderCount ----

test('maxHeaderBytes: a head of exactly the limit is served, one byte more gets 431', async () => {
  const head = (pad: number) => `GET /h HTTP/1.1\r\n${H}X-Pad: ${'p'.repeat(pad)}\r\n\r\n`;
  const fill = 512 - head(0).length;
  assert.equal(head(fill).length, 512);
  await ok(head(fill), 'GET /h', 'at the limit');
  await refused(head(fill + 1), 431, 'one over');
  await refused(`GET /h HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(600)}\r\n\r\n`, 431, 'one big field');
});

test('maxHeaderBytes: a header block that never ends gets 431 as soon as it passes the limit', async () => {
  const p = await peer();
  try {
    p.s.write(`GET / HTTP/1.1\r\n${H}X-Endless: ${'e'.repeat(600)}`);
    await p.until(() => p.closed, '431 and close');
    assert.match(p.text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  } finally {
    p.s.destroy();
  }
});

test('maxHeaderCount: exactly the limit is served, one field more gets 431', async () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: ${i}\r\n`).join('');
  await ok(`GET /c HTTP/1.1\r\n${H}${fields(7)}\r\n`, 'GET /c', '8 fields');
  await refused(`GET /c HTTP/1.1\r\n${H}${fields(8)}\r\n`, 431, '9 fields');
  await refused(`GET /c HTTP/1.1\r\n${H}${'A:\r\n'.repeat(200)}\r\n`, 431, 'many empty fields');
});

// ---- body size: maxBodySize ----

test('maxBodySize: a Content-Length of exactly the limit is read and echoed', async () => {
  const body = randomBytes(1000);
  const r = await raw(port, Buffer.concat([Buffer.from(`POST /e HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\n`), body]),
    { until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 1 });
  const res = parseResponses(r.data);
  assert.equal(res[0]?.status, 200);
  assert.ok(res[0].body.equals(body));
});

test('maxBodySize: a larger Content-Length gets 413 at once, before any body byte is sent', async () => {
  const p = await peer();
  try {
    p.s.write(`POST /e HTTP/1.1\r\n${H}Content-Length: 1001\r\n\r\n`);
    await p.until(() => p.closed, '413 and close', 2000);
    assert.match(p.text, /^HTTP\/1\.1 413 Content Too Large\r\n/);
    assert.equal(parseResponses(p.data).length, 1);
  } finally {
    p.s.destroy();
  }
  // The same with Expect: 100-continue: no 100, just the 413.
  const q = await peer();
  try {
    q.s.write(`POST /e HTTP/1.1\r\n${H}Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n`);
    await q.until(() => q.closed, '413 and close', 2000);
    assert.match(q.text, /^HTTP\/1\.1 413 /);
    assert.ok(!q.text.includes('100 Continue'));
  } finally {
    q.s.destroy();
  }
});

test('maxBodySize: a Content-Length too long for any integer gets 413, not a wrapped value', async () => {
  await refused(`POST /e HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, 413, '20 digits');
  await refused(`POST /e HTTP/1.1\r\n${H}Content-Length: 18446744073709551617\r\n\r\nx`, 413, '2^64+1');
  await refused(`POST /e HTTP/1.1\r\n${H}Content-Length: 18446744073709551617\r\nContent-Length: 18446744073709551616\r\n\r\n`,
    400, 'two long values differing past double precision');
});

test('maxBodySize: a chunked body is counted across chunks, 413 past the limit', async () => {
  const pre = `POST /e HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
  const a = 'a'.repeat(600);
  const b = 'b'.repeat(400);
  await ok(`${pre}258\r\n${a}\r\n190\r\n${b}\r\n0\r\n\r\n`, a + b, 'exactly 1000 in two chunks');
  await refused(`${pre}258\r\n${a}\r\n191\r\n${b}b\r\n0\r\n\r\n`, 413, '1001 in two chunks');
  await refused(`${pre}3E9\r\n`, 413, 'one chunk over the limit, data not sent');
  await refused(`${pre}FFFFFFFFFFFFFFFFFFFF\r\n`, 413, 'a size of 20 hex digits');
  await refused(`${pre}FFFFFFFF`, 413, 'a size over the limit before its line ends');
  // leading zeros do not make a size large
  await ok(`${pre}${'0'.repeat(40)}5\r\nhello\r\n0\r\n\r\n`, 'hello', 'leading zeros');
});

test('the body limit is that of the vhost the Host header picks', async () => {
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const p = (free.address() as { port: number }).port;
  await new Promise<void>((r) => free.close(() => r()));
  const c2 = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    // the first vhost on the port is the one a connection starts on
    c2.createVhost({ port: p, iface: '127.0.0.1', vhostName: 'small.test', protocols: [proto], limits: { maxBodySize: 100 } });
    c2.createVhost({ port: p, iface: '127.0.0.1', vhostName: 'big.test', protocols: [proto], limits: { maxBodySize: 10000 } });
    await c2.listening;
    const body = 'x'.repeat(5000);
    await ok(`POST /e HTTP/1.1\r\nHost: big.test\r\nContent-Length: 5000\r\n\r\n${body}`, body, 'big vhost, Content-Length', p);
    await ok(`POST /e HTTP/1.1\r\nHost: big.test\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${body}\r\n0\r\n\r\n`, body, 'big vhost, chunked', p);
    await refused(`POST /e HTTP/1.1\r\nHost: big.test\r\nContent-Length: 10001\r\n\r\n`, 413, 'big vhost, over its limit', { port: p });
    await refused(`POST /e HTTP/1.1\r\nHost: small.test\r\nContent-Length: 101\r\n\r\n`, 413, 'small vhost, Content-Length', { port: p });
    await refused(`POST /e HTTP/1.1\r\nHost: small.test\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n`, 413, 'small vhost, chunked', { port: p });
  } finally {
    await c2.destroy();
  }
});

test('maxChunkLine: a chunk line with endless extensions gets 400', async () => {
  const pre = `POST /e HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
  await ok(`${pre}5;${'x'.repeat(60)}\r\nhello\r\n0\r\n\r\n`, 'hello', 'within the limit');
  await refused(`${pre}5;${'x'.repeat(200)}\r\nhello\r\n0\r\n\r\n`, 400, 'extension over the limit');
  await refused(`${pre}${'0'.repeat(200)}5\r\nhello\r\n0\r\n\r\n`, 400, 'leading zeros over the limit');
});

test('chunked trailers obey maxHeaderCount and maxHeaderBytes', async () => {
  const pre = `POST /e HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n`;
  await ok(`${pre}${'T: 1\r\n'.repeat(8)}\r\n`, 'ok', '8 trailer fields');
  await refused(`${pre}${'T: 1\r\n'.repeat(9)}\r\n`, 431, '9 trailer fields');
  await refused(`${pre}T: ${'t'.repeat(600)}\r\n\r\n`, 431, 'trailer section too large');
});

// ---- timeouts ----

describe('timeouts', { concurrency: true }, () => {
  test('headerTimeoutSecs: a peer trickling its head gets 408 and is closed', async () => {
    const p = await peer();
    try {
      const t0 = Date.now();
      p.s.write(`GET / HTTP/1.1\r\n${H}X-Slow: `);
      // one byte every 150 ms: progress, but the head is never finished
      for (const c of 'abcdefghijklmnopqrstuvwxyz') {
        await sleep(150);
        if (p.closed || p.s.writableEnded) break;
        p.s.write(c);
      }
      await p.until(() => p.closed, 'close', 1000);
      const took = p.closedAt - t0;
      assert.match(p.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.equal(parseResponses(p.data).length, 1);
      assert.ok(took >= 900 && took < 2500, `closed after ${took} ms, want about 1 s although bytes kept coming`);
    } finally {
      p.s.destroy();
    }
  });

  test('headerTimeoutSecs: the second request on a keep-alive connection gets 408 too', async () => {
    const p = await peer();
    try {
      p.s.write(`GET /first HTTP/1.1\r\n${H}\r\n`);
      await p.until(() => (complete(p.data)?.length ?? 0) >= 1, 'first answer');
      const t0 = Date.now();
      p.s.write(`GET /second HTTP/1.1\r\n${H}`); // head never finished
      await p.until(() => p.closed, 'close', 4000);
      const took = p.closedAt - t0;
      const res = parseResponses(p.data);
      assert.deepEqual(res.map((x) => x.status), [200, 408], p.text);
      assert.ok(took >= 900 && took < 2500, `closed after ${took} ms`);
    } finally {
      p.s.destroy();
    }
  });

  test('headerTimeoutSecs counts from the accept, not from the first byte', async () => {
    const p = await peer();
    try {
      const t0 = Date.now();
      await sleep(700);
      p.s.write(`GET / HTTP/1.1\r\n${H}`);
      await p.until(() => p.closed, 'close', 4000);
      const took = p.closedAt - t0;
      assert.match(p.text, /^HTTP\/1\.1 408 /);
      assert.ok(took >= 900 && took < 1600, `closed ${took} ms after connecting, want about 1 s`);
    } finally {
      p.s.destroy();
    }
  });

  test('headerTimeoutSecs: a connection that sends nothing is closed', async () => {
    const t0 = Date.now();
    const r = await raw(port, [], { timeoutMs: 4000 });
    const took = Date.now() - t0;
    assert.equal(r.closed, true);
    assert.ok(took >= 900 && took < 2500, `closed after ${took} ms`);
  });

  test('timeoutSecs: a Content-Length body that stalls gets 408 and is closed', async () => {
    const t0 = Date.now();
    const r = await raw(port, `POST /e HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`, { timeoutMs: 4000 });
    const took = Date.now() - t0;
    assert.equal(r.closed, true);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(took >= 900 && took < 2500, `closed after ${took} ms`);
  });

  test('timeoutSecs: a chunked body that stalls mid-chunk is closed', async () => {
    const t0 = Date.now();
    const r = await raw(port, `POST /e HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhe`, { timeoutMs: 4000 });
    const took = Date.now() - t0;
    assert.equal(r.closed, true);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(took >= 900 && took < 2500, `closed after ${took} ms`);
  });

  test('timeoutSecs counts from the last progress: a slow but steady body completes', async () => {
    const body = 'abcdefgh';
    const chunks = [`POST /e HTTP/1.1\r\n${H}Content-Length: ${body.length}\r\n\r\n`, ...body];
    const t0 = Date.now();
    const r = await raw(port, chunks, { gapMs: 300, timeoutMs: 6000, until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 1 });
    assert.ok(Date.now() - t0 > 2000, 'the body took longer than timeoutSecs in total');
    const res = parseResponses(r.data);
    assert.equal(res[0]?.status, 200, r.text);
    assert.equal(res[0].body.toString(), body);
  });
});

// ---- pipelining: maxPipelineBytes ----

test('maxPipelineBytes: while a response is pending, reading pauses instead of buffering everything', async () => {
  const big = await start({ protocols: [proto], limits: { maxBodySize: 64 * 1024 * 1024 } });
  const N = 24 * 1024 * 1024;
  const s: Socket = connect({ port: big.port, host: '127.0.0.1' });
  let data = Buffer.alloc(0);
  s.on('data', (d: Buffer) => { data = Buffer.concat([data, d]); });
  s.on('error', () => {});
  try {
    const held = nextHeld();
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(`GET /hold HTTP/1.1\r\n${H}\r\nPOST /sink HTTP/1.1\r\n${H}Content-Length: ${N}\r\n\r\n`);
    s.write(Buffer.alloc(N, 0x61));
    const wsi = await held;
    await sleep(500);
    // What the server has taken off the socket (wsi.socket is internal, but
    // it is the only honest measure of what the server holds): paused, it is
    // maxPipelineBytes plus at most a read or two; the rest waits in TCP.
    const read = wsi.socket?.bytesRead ?? -1;
    assert.ok(read > 64 * 1024, `the server read past maxPipelineBytes before pausing (${read})`);
    assert.ok(read < 64 * 1024 + 1024 * 1024, `the server read ${read} of ${N} bytes while the response was pending`);
    assert.equal(data.length, 0, 'nothing answered yet');
    wsi.callbackOnWritable();
    const t0 = Date.now();
    while ((complete(data)?.length ?? 0) < 2 && Date.now() - t0 < 10000) await sleep(20);
    const res = parseResponses(data);
    assert.deepEqual(res.map((x) => [x.status, x.body.toString()]), [[200, 'held'], [200, String(N)]]);
  } finally {
    s.destroy();
    await big.ctx.destroy();
  }
});

// ---- isolation ----

test('a bad connection harms nothing else: a keep-alive peer keeps getting right answers', async () => {
  const good = await peer();
  const bad: Promise<void>[] = [];
  const stats = { refused: 0 };
  // Several kinds of garbage at once, each on its own connection.
  const garbage: Array<() => Buffer | string> = [
    () => randomBytes(4096),
    () => 'GET / HTTP/1.1\r\nHost: x\r\nX: ' + 'z'.repeat(4096),
    () => `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`,
    () => '\0\0\0\0\r\n\r\n',
    () => `GET / HTTP/1.1\nHost: x\n\n`,
  ];
  for (let i = 0; i < 20; i++) {
    const make = garbage[i % garbage.length];
    bad.push((async () => {
      // keeps sending until the server closes on it
      const b = await peer();
      for (let k = 0; k < 10 && !b.closed; k++) {
        b.s.write(make());
        await sleep(5);
      }
      await b.until(() => b.closed, 'the bad peer closed', 4000);
      assert.match(b.text, /^HTTP\/1\.1 4\d\d /, 'a bad peer is told why');
      stats.refused++;
    })());
  }
  // a peer that vanishes in the middle of a request
  bad.push((async () => {
    const s = await openSocket(port);
    s.on('error', () => {});
    s.write(`POST /e HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\nabc`);
    await sleep(20);
    s.resetAndDestroy();
  })());
  try {
    for (let i = 0; i < 6; i++) {
      const before = good.data.length;
      good.s.write(`GET /good${i} HTTP/1.1\r\n${H}\r\n`);
      await good.until(() => (complete(good.data.subarray(before))?.length ?? 0) >= 1, `answer ${i}`);
      const res = parseResponses(good.data.subarray(before));
      assert.equal(res[0].status, 200);
      assert.equal(res[0].body.toString(), `GET /good${i}`);
      await sleep(15);
    }
    await Promise.all(bad);
    assert.equal(stats.refused, 20);
    assert.equal(good.closed, false, 'the good peer is still connected');
    // and the server still takes new connections
    await ok(`GET /fresh HTTP/1.1\r\n${H}\r\n`, 'GET /fresh', 'a fresh connection');
    // nothing leaked: only the good peer (and the fresh one, closing) remain
    const t0 = Date.now();
    while (ctx.connectionCount > 1 && Date.now() - t0 < 3000) await sleep(20);
    assert.equal(ctx.connectionCount, 1);
  } finally {
    good.s.destroy();
  }
});
