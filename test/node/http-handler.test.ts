/**
 * httpHandler against real clients (node:http, curl, node:http2): JSON in
 * and out, a 16 MiB response to a reader that stops reading, a streamed
 * upload, 413 past maxBodySize, a handler that throws, and the misuse
 * errors, on a CALLBACK mount and as a vhost's HTTP protocol, over
 * HTTP/1.1 and HTTP/2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createContext, callbackHttpDummy, httpHandler, Mount, ErrorCode, RequestBodyError,
  type Context, type HttpHandlerRequest, type HttpHandlerResponse, type TslwsError,
} from '../../src/index.js';
import { curl } from '../helpers/curl.js';
import { within } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BIG = 16 * MiB;
const CHUNK = 64 * KiB;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Chunk `i` of the big response: every byte says which chunk it is in and where. */
function bigChunk(i: number): Buffer {
  const b = Buffer.alloc(CHUNK);
  for (let j = 0; j < CHUNK; j += 4) b.writeUInt32BE((i * CHUNK + j) >>> 0, j);
  return b;
}
const bigSha = (() => {
  const h = createHash('sha256');
  for (let i = 0; i < BIG / CHUNK; i++) h.update(bigChunk(i));
  return h.digest('hex');
})();

/** What the handlers saw, for the tests to check. */
const seen = {
  bigHandedOver: 0,
  bigMaxBuffered: 0,
  bigDone: false,
  uploadStartedAt: -1,
  misuse: {} as Record<string, string | undefined>,
  lateSettled: [] as string[],
};

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as TslwsError).code;
  }
  return undefined;
}

async function api(req: HttpHandlerRequest, res: HttpHandlerResponse): Promise<void> {
  switch (req.subpath) {
    case '/hello':
      await res.json({
        method: req.method, path: req.path, subpath: req.subpath, x: req.query.get('x'), version: req.httpVersion,
        host: typeof req.headers.host, custom: req.headers['x-custom'] ?? null,
      });
      return;
    case '/echo': {
      const body = await req.json();
      await res.json({ echo: body, version: req.httpVersion }, 201);
      return;
    }
    case '/chunked':
      res.setHeader('content-type', 'text/plain');
      // The head goes out before end() is called: the length is not known then.
      await res.write('one ');
      await sleep(20);
      await res.write('two ');
      await res.end('three');
      return;
    case '/big':
      seen.bigHandedOver = 0;
      seen.bigMaxBuffered = 0;
      seen.bigDone = false;
      res.setHeader('content-type', 'application/octet-stream');
      for (let i = 0; i < BIG / CHUNK; i++) {
        await res.write(bigChunk(i));
        seen.bigHandedOver += CHUNK;
        seen.bigMaxBuffered = Math.max(seen.bigMaxBuffered, res.bufferedAmount);
      }
      await res.end();
      seen.bigDone = true;
      return;
    case '/upload': {
      // Not reading for a while: the client must be held back meanwhile.
      await sleep(Number(req.query.get('wait') ?? 0));
      seen.uploadStartedAt = Date.now();
      const h = createHash('sha256');
      let n = 0;
      for await (const piece of req.body) {
        h.update(piece);
        n += piece.length;
      }
      await res.json({ bytes: n, sha: h.digest('hex'), version: req.httpVersion });
      return;
    }
    case '/throw':
      throw new Error('thrown on purpose');
    case '/reject':
      await sleep(5);
      throw new Error('rejected on purpose');
    case '/throw-late':
      await res.write('the head and some bytes went out; ');
      await sleep(50);
      throw new Error('thrown after the head');
    case '/badjson':
      await res.json(await req.json());
      return;
    case '/misuse': {
      const m = seen.misuse;
      m.badName = codeOf(() => res.setHeader('bad name', 'v'));
      m.badValue = codeOf(() => res.setHeader('x-a', 'a\r\nb'));
      m.te = codeOf(() => res.setHeader('transfer-encoding', 'chunked'));
      m.badStatus = codeOf(() => res.status(99));
      m.badChunk = codeOf(() => res.write(42 as never));
      const it = req.body[Symbol.asyncIterator]();
      await it.next();
      m.bodyTwice = await req.text().then(() => undefined, (e: TslwsError) => e.code);
      res.setHeader('content-type', 'text/plain');
      await res.write('started');
      m.headerAfter = codeOf(() => res.setHeader('x-late', '1'));
      m.statusAfter = codeOf(() => res.status(404));
      await res.end(' and ended');
      m.writeAfterEnd = codeOf(() => res.write('more'));
      m.endTwice = codeOf(() => res.end());
      return;
    }
    case '/length': {
      res.setHeader('content-length', 5);
      await res.write('abc');
      seen.misuse.pastLength = codeOf(() => res.write('def'));
      await res.end('de');
      return;
    }
    default:
      await res.json({ error: 'no such thing' }, 404);
  }
}

/** A second handler with small limits, for 413 and the buffer bound. */
async function small(req: HttpHandlerRequest, res: HttpHandlerResponse): Promise<void> {
  if (req.subpath === '/unawaited') {
    // Nothing awaited: 40 + 20 KiB fit under maxBufferedAmount (64 KiB), 40 more do not.
    void res.write(Buffer.alloc(40 * KiB, 1));
    void res.write(Buffer.alloc(20 * KiB, 2));
    seen.misuse.overBuffer = codeOf(() => res.write(Buffer.alloc(40 * KiB, 3)));
    await res.end();
    return;
  }
  const text = await req.text();
  await res.json({ length: text.length });
}

let ctx: Context;
let port = 0;

before(async () => {
  ctx = createContext({
    port: 0,
    iface: '127.0.0.1',
    protocols: [
      { name: 'http', callback: callbackHttpDummy },
      httpHandler(api, { name: 'api' }),
      httpHandler(small, { name: 'small', maxBodySize: KiB, maxBufferedAmount: 64 * KiB }),
    ],
    mounts: [
      { mountpoint: '/api', origin: 'api', originProtocol: Mount.CALLBACK },
      { mountpoint: '/small', origin: 'callback://small', originProtocol: Mount.CALLBACK },
    ],
  });
  await ctx.listening;
  port = ctx.vhosts[0].port as number;
});

after(async () => {
  await ctx.destroy();
});

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body arrived whole (its framing said it ended). */
  complete: boolean;
}

/** One HTTP/1.1 request on a connection of its own; `body` is sent with a content-length, or chunked when a list. */
function h1(method: string, path: string, body?: string | Buffer | Buffer[], headers: Record<string, string> = {}): Promise<Got> {
  return within(new Promise<Got>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), complete: res.complete });
      res.on('end', done);
      res.on('aborted', done);
      res.on('error', done);
      res.on('close', done);
    });
    req.on('error', reject);
    if (Array.isArray(body)) for (const b of body) req.write(b);
    else if (body !== undefined) req.write(body);
    req.end();
  }), `${method} ${path}`, 30000);
}

interface H2Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  rstCode: number;
}

/** One request on an HTTP/2 stream of `session` (prior knowledge); a body is streamed without a content-length. */
function h2(session: ClientHttp2Session, method: string, path: string, body?: Buffer | Buffer[], headers: Record<string, string> = {}): Promise<H2Got> {
  return within(new Promise<H2Got>((resolve, reject) => {
    const s = session.request({ ':method': method, ':path': path, ...headers }, { endStream: body === undefined });
    let status = 0;
    let hdrs: H2Got['headers'] = {};
    const parts: Buffer[] = [];
    s.on('response', (h) => {
      status = Number(h[':status']);
      hdrs = h as H2Got['headers'];
    });
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('close', () => resolve({ status, headers: hdrs, body: Buffer.concat(parts), rstCode: s.rstCode ?? 0 }));
    s.on('error', () => undefined); // a reset stream reports through rstCode
    session.on('error', reject);
    if (body !== undefined) {
      void (async () => {
        for (const b of Array.isArray(body) ? body : [body]) if (!s.write(b)) await once(s, 'drain');
        s.end();
      })();
    }
  }), `h2 ${method} ${path}`, 30000);
}

function h2session(): Promise<ClientHttp2Session> {
  const s = h2connect(`http://127.0.0.1:${port}`);
  return within(once(s, 'connect').then(() => s), 'h2 connect');
}

test('GET answered as JSON with a content-length, over node:http, curl (1.1 and h2) and node:http2', async () => {
  const r = await h1('GET', '/api/hello?x=%C3%A9t%C3%A9', undefined, { 'X-Custom': 'Yes' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.headers['content-length'], String(r.body.length), 'the whole body was known: content-length, not chunked');
  assert.equal(r.headers['transfer-encoding'], undefined);
  assert.deepEqual(JSON.parse(r.body.toString()), {
    method: 'GET', path: '/api/hello', subpath: '/hello', x: 'été', version: '1.1', host: 'string', custom: 'Yes',
  });

  const c1 = await curl(['--http1.1', `http://127.0.0.1:${port}/api/hello?x=1`]);
  assert.equal(c1.status, 200);
  assert.equal(c1.version, '1.1');
  assert.equal((JSON.parse(c1.body.toString()) as { version: string }).version, '1.1');
  const c2 = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/api/hello?x=2`]);
  assert.equal(c2.status, 200);
  assert.equal(c2.version, '2');
  assert.deepEqual(JSON.parse(c2.body.toString()), {
    method: 'GET', path: '/api/hello', subpath: '/hello', x: '2', version: '2', host: 'string', custom: null,
  });

  const session = await h2session();
  try {
    const g = await h2(session, 'GET', '/api/hello?x=3', undefined, { 'x-custom': 'h2' });
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-length'], String(g.body.length));
    assert.equal((JSON.parse(g.body.toString()) as { custom: string }).custom, 'h2');
    // The mountpoint itself: subpath ''; unknown paths get the handler's 404.
    const n = await h2(session, 'GET', '/api');
    assert.equal(n.status, 404);
  } finally {
    session.close();
  }
});

test('POST JSON is echoed: node:http with a content-length, chunked, curl, and node:http2 without a content-length', async () => {
  const payload = { name: 'tslws', list: [1, 2, 3], nested: { ü: true } };
  const text = JSON.stringify(payload);
  const a = await h1('POST', '/api/echo', text, { 'content-type': 'application/json' });
  assert.equal(a.status, 201);
  assert.deepEqual(JSON.parse(a.body.toString()), { echo: payload, version: '1.1' });
  const b = await h1('POST', '/api/echo', [Buffer.from(text.slice(0, 7)), Buffer.from(text.slice(7))]);
  assert.equal(b.status, 201);
  assert.deepEqual(JSON.parse(b.body.toString()), { echo: payload, version: '1.1' });
  for (const v of ['--http1.1', '--http2-prior-knowledge']) {
    const c = await curl([v, '-X', 'POST', '-H', 'content-type: application/json', '--data-binary', text, `http://127.0.0.1:${port}/api/echo`]);
    assert.equal(c.status, 201, v);
    assert.deepEqual((JSON.parse(c.body.toString()) as { echo: unknown }).echo, payload, v);
  }
  const session = await h2session();
  try {
    const h = await h2(session, 'POST', '/api/echo', [Buffer.from(text.slice(0, 5)), Buffer.from(text.slice(5))]);
    assert.equal(h.status, 201);
    assert.deepEqual(JSON.parse(h.body.toString()), { echo: payload, version: '2' });
    assert.equal(h.headers['content-length'], String(h.body.length));
  } finally {
    session.close();
  }
});

test('a response whose head went before its end is chunked on HTTP/1.1', async () => {
  const r = await h1('GET', '/api/chunked');
  assert.equal(r.status, 200);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(r.headers['content-length'], undefined);
  assert.equal(r.body.toString(), 'one two three');
  assert.ok(r.complete);
});

test('16 MiB to a reader that stops reading: the handler waits on its writes, memory stays bounded, every byte arrives', async () => {
  const got = await within(new Promise<{ body: Buffer; stalledAt: number; laterAt: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/big', agent: false }, (res) => {
      res.pause();
      void (async () => {
        await sleep(600);
        const stalledAt = seen.bigHandedOver;
        await sleep(400);
        const laterAt = seen.bigHandedOver;
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ body: Buffer.concat(parts), stalledAt, laterAt, headers: res.headers }));
        res.resume();
      })();
    });
    req.on('error', reject);
    req.end();
  }), 'the big response', 60000);
  assert.ok(got.stalledAt < BIG / 2, `the handler was held back while nobody read (handed over ${got.stalledAt} bytes)`);
  assert.ok(got.laterAt - got.stalledAt <= 2 * CHUNK, `and stayed held back (${got.stalledAt} -> ${got.laterAt})`);
  assert.ok(seen.bigMaxBuffered <= 2 * CHUNK, `at most about the high-water mark queued (${seen.bigMaxBuffered})`);
  assert.equal(got.headers['transfer-encoding'], 'chunked');
  assert.equal(got.body.length, BIG);
  assert.equal(sha(got.body), bigSha);
  assert.ok(await until(() => seen.bigDone), 'end() resolved');
});

test('16 MiB over HTTP/2 to a stream that stops reading: held back by the stream window, then complete', async () => {
  const session = await h2session();
  try {
    const got = await within(new Promise<{ body: Buffer; stalledAt: number; laterAt: number }>((resolve, reject) => {
      const s = session.request({ ':method': 'GET', ':path': '/api/big' });
      s.on('error', reject);
      s.pause();
      void (async () => {
        await sleep(600);
        const stalledAt = seen.bigHandedOver;
        await sleep(400);
        const laterAt = seen.bigHandedOver;
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => resolve({ body: Buffer.concat(parts), stalledAt, laterAt }));
        s.resume();
      })();
    }), 'the big response over h2', 60000);
    // The stream's window (64 KiB) and the handler's high-water mark: far less than on HTTP/1, where socket buffers hold more.
    assert.ok(got.stalledAt < MiB, `held back while the stream was not read (handed over ${got.stalledAt})`);
    assert.ok(got.laterAt - got.stalledAt <= 2 * CHUNK, `and stayed held back (${got.stalledAt} -> ${got.laterAt})`);
    assert.equal(got.body.length, BIG);
    assert.equal(sha(got.body), bigSha);
  } finally {
    session.close();
  }
});

async function until(f: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

test('a streamed upload: the client is held back while the handler does not read, and every byte arrives', async () => {
  const total = 32 * MiB;
  const piece = Buffer.alloc(CHUNK);
  const h = createHash('sha256');
  let sentWhenReadingStarted = -1;
  const result = await within(new Promise<Got>((resolve, reject) => {
    seen.uploadStartedAt = -1;
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/upload?wait=500', agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), complete: res.complete }));
    });
    req.on('error', reject);
    void (async () => {
      let sent = 0;
      for (let i = 0; sent < total; i++) {
        piece.fill(i & 0xff);
        const b = Buffer.from(piece);
        h.update(b);
        sent += b.length;
        if (!req.write(b)) await once(req, 'drain');
        if (seen.uploadStartedAt >= 0 && sentWhenReadingStarted < 0) sentWhenReadingStarted = sent;
      }
      req.end();
    })();
  }), 'the upload', 60000);
  assert.equal(result.status, 200);
  assert.deepEqual(JSON.parse(result.body.toString()), { bytes: total, sha: h.digest('hex'), version: '1.1' });
  assert.ok(sentWhenReadingStarted > 0 && sentWhenReadingStarted < total * 3 / 4,
    `the client could not send everything before the handler read (sent ${sentWhenReadingStarted} of ${total})`);

  // The same over HTTP/2, where the stream's window holds the client back.
  const session = await h2session();
  try {
    const parts = Array.from({ length: 64 }, (_, i) => Buffer.alloc(CHUNK, i));
    const g = await h2(session, 'POST', '/api/upload?wait=200', parts);
    assert.equal(g.status, 200);
    assert.deepEqual(JSON.parse(g.body.toString()), { bytes: 64 * CHUNK, sha: sha(Buffer.concat(parts)), version: '2' });
  } finally {
    session.close();
  }
});

test('past maxBodySize: 413, at once from the content-length or when the body grows past it; over HTTP/1.1, HTTP/2 and curl', async () => {
  const ok = await h1('POST', '/small/', 'x'.repeat(KiB));
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body.toString()), { length: KiB });

  const byLength = await h1('POST', '/small/', 'x'.repeat(10 * KiB));
  assert.equal(byLength.status, 413);
  assert.equal(byLength.body.toString(), '413 Payload Too Large\n');
  assert.equal(byLength.headers.connection, 'close', 'the rest of the body is not read');

  const chunked = await h1('POST', '/small/', [Buffer.alloc(700, 0x61), Buffer.alloc(700, 0x62)]);
  assert.equal(chunked.status, 413);

  const c = await curl(['--http1.1', '--data-binary', 'y'.repeat(2 * KiB), `http://127.0.0.1:${port}/small/`]);
  assert.equal(c.status, 413);

  const session = await h2session();
  try {
    const g = await h2(session, 'POST', '/small/', [Buffer.alloc(800, 1), Buffer.alloc(800, 2)]);
    assert.equal(g.status, 413);
    assert.equal(g.body.toString(), '413 Payload Too Large\n');
    // The connection goes on serving other streams.
    const again = await h2(session, 'GET', '/api/hello');
    assert.equal(again.status, 200);
  } finally {
    session.close();
  }
});

test('a body that is not JSON: 400', async () => {
  const r = await h1('POST', '/api/badjson', '{"not json');
  assert.equal(r.status, 400);
  assert.equal(r.body.toString(), '400 Bad Request\n');
});

test('a handler that throws or rejects: 500 before the head; after it the connection (HTTP/1) or stream (HTTP/2) is cut', async () => {
  for (const p of ['/api/throw', '/api/reject']) {
    const r = await h1('GET', p);
    assert.equal(r.status, 500, p);
    assert.equal(r.body.toString(), '500 Internal Server Error\n');
  }
  const late = await h1('GET', '/api/throw-late');
  assert.equal(late.status, 200);
  assert.equal(late.complete, false, 'the client can tell the body is incomplete');
  assert.match(late.body.toString(), /^the head and some bytes went out; $/);

  const session = await h2session();
  try {
    const t = await h2(session, 'GET', '/api/throw');
    assert.equal(t.status, 500);
    assert.equal(t.body.toString(), '500 Internal Server Error\n');
    const l = await h2(session, 'GET', '/api/throw-late');
    assert.equal(l.status, 200);
    assert.notEqual(l.rstCode, 0, 'the stream was reset');
    // Only that stream.
    assert.equal((await h2(session, 'GET', '/api/hello')).status, 200);
  } finally {
    session.close();
  }
  // And the server goes on.
  assert.equal((await h1('GET', '/api/hello')).status, 200);
});

test('misuse throws coded errors: headers after the head, writes after end, bad names and values, past the content-length or the buffer bound', async () => {
  seen.misuse = {};
  const r = await h1('POST', '/api/misuse', 'some body');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'started and ended');
  assert.deepEqual({ ...seen.misuse }, {
    badName: ErrorCode.INVALID_HEADER,
    badValue: ErrorCode.INVALID_HEADER,
    te: ErrorCode.INVALID_HEADER,
    badStatus: ErrorCode.INVALID_ARGUMENT,
    badChunk: ErrorCode.INVALID_ARGUMENT,
    bodyTwice: ErrorCode.BODY_USED,
    headerAfter: ErrorCode.RESPONSE_ORDER,
    statusAfter: ErrorCode.RESPONSE_ORDER,
    writeAfterEnd: ErrorCode.WRITE_MISUSE,
    endTwice: ErrorCode.WRITE_MISUSE,
  });
  const l = await h1('GET', '/api/length');
  assert.equal(l.headers['content-length'], '5');
  assert.equal(l.body.toString(), 'abcde');
  assert.equal(seen.misuse.pastLength, ErrorCode.WRITE_MISUSE);
  const u = await h1('GET', '/small/unawaited');
  assert.equal(u.status, 200);
  assert.equal(u.body.length, 60 * KiB);
  assert.equal(seen.misuse.overBuffer, ErrorCode.WRITE_MISUSE);

  assert.throws(() => httpHandler('nope' as never), { code: ErrorCode.INVALID_ARGUMENT });
  assert.throws(() => httpHandler(api, { maxBodySize: 0 }), { code: ErrorCode.INVALID_OPTION });
  const e = new RequestBodyError(413, 'x');
  assert.equal(e.code, 'TSLWS_BODY_TOO_LARGE');
  assert.equal(e.status, 413);
});

test('as a vhost\'s HTTP protocol: every request not served by a mount, on HTTP/1.1 and HTTP/2, keep-alive included', async () => {
  const own = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [httpHandler(async (req, res) => {
      if (req.method === 'POST') await res.json({ got: await req.text(), path: req.path, subpath: req.subpath });
      else await res.json({ path: req.path, subpath: req.subpath, version: req.httpVersion });
    })],
  });
  try {
    await own.listening;
    const p = own.vhosts[0].port as number;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const [path, reused] of [['/a/b', false], ['/c', true]] as const) {
        const got = await within(new Promise<{ body: string; reused: boolean }>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: p, path, agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => resolve({ body, reused: req.reusedSocket }));
          });
          req.on('error', reject);
          req.end();
        }), path);
        assert.deepEqual(JSON.parse(got.body), { path, subpath: path, version: '1.1' });
        assert.equal(got.reused, reused, 'the second request reuses the kept-alive connection');
      }
    } finally {
      agent.destroy();
    }
    const b = await curl(['--http2-prior-knowledge', '--data-binary', 'posted', `http://127.0.0.1:${p}/x`]);
    assert.equal(b.status, 200);
    assert.equal(b.version, '2');
    assert.deepEqual(JSON.parse(b.body.toString()), { got: 'posted', path: '/x', subpath: '/x' });
  } finally {
    await own.destroy();
  }
});

test('the handler\'s signal aborts and its writes reject when the client goes away', async () => {
  let aborted: string | undefined;
  let writeError: string | undefined;
  const own = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [httpHandler(async (req, res) => {
      req.signal.addEventListener('abort', () => (aborted = (req.signal.reason as TslwsError).code));
      try {
        for (;;) await res.write(Buffer.alloc(CHUNK));
      } catch (e) {
        writeError = (e as TslwsError).code;
        throw e;
      }
    })],
  });
  try {
    await own.listening;
    const p = own.vhosts[0].port as number;
    await within(new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: p, path: '/', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no data')), 5000);
      req.end();
    }), 'first bytes');
    assert.ok(await until(() => writeError !== undefined), 'the pending write rejected');
    assert.equal(writeError, ErrorCode.CLOSED);
    assert.equal(aborted, ErrorCode.CLOSED);
  } finally {
    await own.destroy();
  }
});
