/**
 * Connection persistence (RFC 9112 9): keep-alive defaults for 1.0 and
 * 1.1, Connection: close, pipelining answered in order, HEAD, the idle
 * timeout, and a real client (node:http with a keep-alive Agent).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent, type IncomingMessage } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Reason, Write, Mount, setLogLevel, LogLevel, type Context, type Protocol, type Wsi } from '../../../src/index.js';
import { start, raw, parseResponses, livePeer, completeResponses, sleep } from '../../helpers/common.js';

setLogLevel(LogLevel.ERR);

interface Sess {
  chunks: Buffer[];
  answered: boolean;
}

/** BODY_COMPLETION deliveries for requests already answered from HTTP_BODY. */
let lateCompletions = 0;

function reply(wsi: Wsi, code: number, body: Buffer, length = true): number {
  wsi.addHttpHeaderStatus(code);
  wsi.addHttpHeaderByName('content-type', 'application/octet-stream');
  wsi.addHttpHeaderByName('x-served-by', 'proto');
  if (length) wsi.addHttpHeaderContentLength(body.length);
  if (wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS) < 0) return -1;
  return wsi.write(body, Write.HTTP_FINAL) < 0 ? -1 : 0;
}

/** `/404` → 404; `/nolen` → a body without content-length; `/proto` → fixed; bodies echoed; else `METHOD uri`. */
const proto: Protocol<Sess> = {
  name: 'ka',
  createSessionData: () => ({ chunks: [], answered: false }),
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.HTTP: {
        user.chunks = [];
        user.answered = false;
        if (wsi.uri === '/404') return wsi.returnHttpStatus(404);
        if (wsi.uri === '/nolen') return reply(wsi, 200, Buffer.from('no length here'), false);
        if (wsi.uri === '/proto') return reply(wsi, 200, Buffer.from('proto body'));
        const hasBody = wsi.hdrCopy('transfer-encoding') !== undefined || parseInt(wsi.hdrCopy('content-length') ?? '0', 10) > 0;
        if (hasBody) return 0;
        return reply(wsi, 200, Buffer.from(`${wsi.method} ${wsi.uri}`));
      }
      case Reason.HTTP_BODY:
        if (wsi.uri === '/answer-in-body') {
          // answers as soon as the first piece is in
          if (user.answered) return 0;
          user.answered = true;
          return reply(wsi, 200, Buffer.from(`got ${input.length}`));
        }
        user.chunks.push(Buffer.from(input));
        return 0;
      case Reason.HTTP_BODY_COMPLETION:
        if (user.answered) {
          lateCompletions++;
          return 0;
        }
        return reply(wsi, 200, Buffer.concat(user.chunks));
    }
    return 0;
  },
};

let ctx: Context;
let port: number;
let dir: string;
const BIG = randomBytes(200 * 1024);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tslws-ka-'));
  writeFileSync(join(dir, 'a.txt'), 'file a\n');
  writeFileSync(join(dir, 'big.bin'), BIG);
  ({ ctx, port } = await start({
    protocols: [proto],
    mounts: [{ mountpoint: '/files', origin: dir, originProtocol: Mount.FILE }],
    limits: { keepaliveTimeoutSecs: 1 },
  }));
});
after(async () => {
  await ctx.destroy();
  rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ----


const peer = () => livePeer(port);
const complete = completeResponses;

const H = 'Host: x\r\n';

// ---- HTTP/1.1 ----

test('HTTP/1.1 keeps the connection by default', async () => {
  const p = await peer();
  try {
    for (const path of ['/one', '/files/a.txt', '/404', '/two']) {
      const r = await p.ask(`GET ${path} HTTP/1.1\r\n${H}\r\n`);
      assert.equal(r.headers['connection'], undefined, `${path}: no connection header needed on 1.1`);
      assert.equal(r.status, path === '/404' ? 404 : 200);
      if (path === '/files/a.txt') assert.equal(r.body.toString(), 'file a\n');
    }
    await sleep(100);
    assert.equal(p.closed, false);
  } finally {
    p.s.destroy();
  }
});

test('Connection: close closes after the answer; what follows is not answered', async () => {
  for (const c of ['close', 'Close', 'keep-alive, close', 'foo,close']) {
    const r = await raw(port, `GET /c HTTP/1.1\r\n${H}Connection: ${c}\r\n\r\nGET /after HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 3000 });
    assert.equal(r.closed, true, c);
    const res = parseResponses(r.data);
    assert.equal(res.length, 1, `${c}: ${r.text}`);
    assert.equal(res[0].status, 200);
    assert.equal(res[0].headers['connection'], 'close', c);
    assert.equal(res[0].body.toString(), 'GET /c');
  }
  // also for a file and for a library status page
  for (const path of ['/files/a.txt', '/404']) {
    const r = await raw(port, `GET ${path} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, { timeoutMs: 3000 });
    assert.equal(r.closed, true, path);
    assert.equal(parseResponses(r.data)[0].headers['connection'], 'close', path);
  }
});

test('a response without content-length on HTTP/1.1 is chunked and the connection stays', async () => {
  const p = await peer();
  try {
    const r = await p.ask(`GET /nolen HTTP/1.1\r\n${H}\r\n`);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.body.toString(), 'no length here');
    const r2 = await p.ask(`GET /next HTTP/1.1\r\n${H}\r\n`);
    assert.equal(r2.body.toString(), 'GET /next');
    assert.equal(p.closed, false);
  } finally {
    p.s.destroy();
  }
});

// ---- HTTP/1.0 ----

test('HTTP/1.0 closes by default', async () => {
  for (const path of ['/ten', '/files/a.txt', '/404']) {
    const r = await raw(port, `GET ${path} HTTP/1.0\r\n\r\nGET /after HTTP/1.0\r\n\r\n`, { timeoutMs: 3000 });
    assert.equal(r.closed, true, path);
    const res = parseResponses(r.data);
    assert.equal(res.length, 1, `${path}: ${r.text}`);
    assert.equal(res[0].version, 'HTTP/1.0', 'answered as HTTP/1.0');
    assert.notEqual(res[0].headers['connection'], 'keep-alive');
  }
});

test('HTTP/1.0 with Connection: keep-alive stays open and says so', async () => {
  const p = await peer();
  try {
    for (const path of ['/ten', '/files/a.txt', '/404', '/ten2']) {
      const r = await p.ask(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
      assert.equal(r.headers['connection'], 'keep-alive', path);
      assert.ok(r.headers['content-length'] !== undefined, `${path}: a kept 1.0 response needs a length`);
      assert.equal(r.status, path === '/404' ? 404 : 200);
    }
    // a POST with a body too
    const post = await p.ask(`POST /p HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 4\r\n\r\nbody`);
    assert.equal(post.body.toString(), 'body');
    assert.equal(post.headers['connection'], 'keep-alive');
    // without keep-alive on the next request, the connection closes after it
    const last = await p.ask(`GET /last HTTP/1.0\r\n\r\n`);
    assert.equal(last.body.toString(), 'GET /last');
    await p.until(() => p.closed, 'close after a plain 1.0 request');
  } finally {
    p.s.destroy();
  }
});

test('close wins over keep-alive wherever it appears in Connection', async () => {
  for (const [v, c] of [['1.0', 'close, keep-alive'], ['1.0', 'keep-alive, close'], ['1.1', 'keep-alive, close'], ['1.0', 'keep-alive, Close']]) {
    const r = await raw(port, `GET /c HTTP/${v}\r\n${H}Connection: ${c}\r\n\r\nGET /after HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 3000 });
    assert.equal(r.closed, true, `${v} ${c}`);
    const res = parseResponses(r.data);
    assert.equal(res.length, 1, `${v} ${c}: ${r.text}`);
    assert.equal(res[0].headers['connection'], 'close', `${v} ${c}`);
  }
});

test('HTTP/1.0 keep-alive with a response of unknown length closes to delimit it', async () => {
  const p = await peer();
  try {
    p.s.write(`GET /nolen HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
    await p.until(() => p.closed, 'close delimits the body');
    const res = parseResponses(p.data);
    assert.equal(res.length, 1);
    assert.equal(res[0].headers['connection'], 'close');
    assert.equal(res[0].headers['transfer-encoding'], undefined, 'no chunked on 1.0');
    assert.equal(res[0].body.toString(), 'no length here');
  } finally {
    p.s.destroy();
  }
});

// ---- pipelining ----

test('ten pipelined requests in one write are answered in order', async () => {
  const reqs = [
    `GET /files/big.bin HTTP/1.1\r\n${H}\r\n`,
    `GET /404 HTTP/1.1\r\n${H}\r\n`,
    `POST /echo HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\nhello world`,
    `GET /files/a.txt HTTP/1.1\r\n${H}\r\n`,
    `HEAD /files/big.bin HTTP/1.1\r\n${H}\r\n`,
    `PUT /chunks HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n`,
    `GET /nolen HTTP/1.1\r\n${H}\r\n`,
    `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    `POST /404 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nskipd`,
    `DELETE /last HTTP/1.1\r\n${H}\r\n`,
  ];
  const headOnly = reqs.map((r) => r.startsWith('HEAD'));
  const r = await raw(port, reqs.join(''), {
    timeoutMs: 5000,
    until: (t) => (complete(Buffer.from(t, 'latin1'), headOnly)?.length ?? 0) >= 10,
  });
  const res = parseResponses(r.data, headOnly);
  assert.equal(res.length, 10, r.text.slice(0, 500));
  assert.deepEqual(res.map((x) => x.status), [200, 404, 200, 200, 200, 200, 200, 200, 404, 200]);
  assert.ok(res[0].body.equals(BIG), 'big file intact, nothing interleaved');
  assert.equal(res[2].body.toString(), 'hello world');
  assert.equal(res[3].body.toString(), 'file a\n');
  assert.equal(res[4].headers['content-length'], String(BIG.length));
  assert.equal(res[4].body.length, 0);
  assert.equal(res[5].body.toString(), 'abcde');
  assert.equal(res[6].body.toString(), 'no length here');
  assert.equal(res[7].body.toString(), 'OPTIONS *');
  assert.equal(res[9].body.toString(), 'DELETE /last');
  assert.equal(r.closed, false);
});

test('pipelined requests split at every position still answer in order', async () => {
  const all = `POST /a HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nxyzGET /b HTTP/1.1\r\n${H}\r\n` +
    `PUT /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n`;
  const cuts = [1, 20, 37, 40, 41, 60, 80, all.length - 3, all.length - 1];
  await Promise.all(cuts.map(async (cut) => {
    const r = await raw(port, [all.slice(0, cut), all.slice(cut)], {
      gapMs: 20, timeoutMs: 3000, until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 3,
    });
    assert.deepEqual(parseResponses(r.data).map((x) => x.body.toString()), ['xyz', 'GET /b', 'q'], `cut at ${cut}`);
  }));
});

test('a request answered before its body is read skips the body and keeps the connection', async () => {
  const r = await raw(port, `POST /404 HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\n0123456789` +
    `POST /404 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nGET \r\n0\r\n\r\n` +
    `GET /after HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 3000, until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 3 });
  const res = parseResponses(r.data);
  assert.deepEqual(res.map((x) => x.status), [404, 404, 200]);
  assert.equal(res[2].body.toString(), 'GET /after');
  assert.equal(r.closed, false);
});

test('a request answered from HTTP_BODY gets no BODY_COMPLETION afterwards, and the next request is served', async () => {
  lateCompletions = 0;
  // the whole body in the first (and last) piece
  const one = await raw(port, `POST /answer-in-body HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\n${H}\r\n`,
    { timeoutMs: 3000, until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 2 });
  assert.deepEqual(parseResponses(one.data).map((x) => x.body.toString()), ['got 5', 'GET /next']);
  assert.equal(one.closed, false);
  // the body in two writes: answered from the first, the rest skipped
  const two = await raw(port, [`POST /answer-in-body HTTP/1.1\r\n${H}Content-Length: 6\r\n\r\nabc`, `defGET /next2 HTTP/1.1\r\n${H}\r\n`],
    { gapMs: 50, timeoutMs: 3000, until: (t) => (complete(Buffer.from(t, 'latin1'))?.length ?? 0) >= 2 });
  assert.deepEqual(parseResponses(two.data).map((x) => x.body.toString()), ['got 3', 'GET /next2']);
  assert.equal(lateCompletions, 0, 'no callback about a transaction that is over');
});

test('a bad request after good pipelined ones: the good are answered, the bad gets 400, then close', async () => {
  const r = await raw(port, `GET /good HTTP/1.1\r\n${H}\r\nGET /files/a.txt HTTP/1.1\r\n${H}\r\nGET /bad HTTP/1.1\r\nHost : x\r\n\r\nGET /never HTTP/1.1\r\n${H}\r\n`,
    { timeoutMs: 3000 });
  assert.equal(r.closed, true);
  const res = parseResponses(r.data);
  assert.deepEqual(res.map((x) => x.status), [200, 200, 400], r.text);
  assert.equal(res[2].headers['connection'], 'close');
  assert.ok(!r.text.includes('/never'));
});

test('a peer that half-closes after its request still gets the answer, then the close', async () => {
  const r = await raw(port, `GET /half HTTP/1.1\r\n${H}\r\nGET /half2 HTTP/1.1\r\n${H}\r\n`, { end: true, timeoutMs: 3000 });
  assert.equal(r.closed, true);
  assert.deepEqual(parseResponses(r.data).map((x) => x.body.toString()), ['GET /half', 'GET /half2']);
});

test('an extra CRLF after a request, then the half-close: one answer, no stray error', async () => {
  // Some clients send CRLF after a POST body (RFC 9112 2.2 says to ignore it).
  const r = await raw(port, `POST /crlf HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nok\r\n`, { end: true, timeoutMs: 3000 });
  assert.equal(r.closed, true);
  const res = parseResponses(r.data);
  assert.deepEqual(res.map((x) => [x.status, x.body.toString()]), [[200, 'ok']], r.text);
});

// ---- HEAD ----

test('HEAD: the same headers as GET, content-length included, no body, connection reused', async () => {
  const p = await peer();
  try {
    for (const path of ['/files/a.txt', '/files/big.bin', '/proto', '/nolen', '/404']) {
      const head = await p.ask(`HEAD ${path} HTTP/1.1\r\n${H}\r\n`, true);
      const get = await p.ask(`GET ${path} HTTP/1.1\r\n${H}\r\n`);
      const strip = (h: Record<string, string>) => {
        const { date: _d, ...rest } = h;
        return rest;
      };
      assert.equal(head.status, get.status, path);
      if (path === '/nolen') {
        // unknown length: HEAD cannot say chunked for a body it does not send
        assert.equal(head.headers['content-length'], undefined);
      } else {
        assert.deepEqual(strip(head.headers), strip(get.headers), path);
        assert.equal(head.headers['content-length'], String(get.body.length), path);
      }
    }
    // no stray body bytes: every response starts exactly where the previous one ended
    const all = parseResponses(p.data, [true, false, true, false, true, false, true, false, true, false]);
    assert.equal(all.length, 10);
    assert.equal(p.closed, false);
  } finally {
    p.s.destroy();
  }
});

// ---- idle timeout ----

test('keepaliveTimeoutSecs: an idle connection is closed silently after the timeout', async () => {
  const p = await peer();
  try {
    await p.ask(`GET /idle HTTP/1.1\r\n${H}\r\n`);
    const answered = Date.now();
    const len = p.data.length;
    await p.until(() => p.closed, 'idle close', 4000);
    const took = p.closedAt - answered;
    assert.ok(took >= 800 && took < 2500, `closed ${took} ms after the answer`);
    assert.equal(p.data.length, len, 'nothing sent on an idle close (no 408 that could answer a request in flight)');
  } finally {
    p.s.destroy();
  }
});

test('keepaliveTimeoutSecs: a connection in use is not closed', async () => {
  const p = await peer();
  try {
    const t0 = Date.now();
    let n = 0;
    while (Date.now() - t0 < 2200) {
      const r = await p.ask(`GET /busy${n} HTTP/1.1\r\n${H}\r\n`);
      assert.equal(r.body.toString(), `GET /busy${n}`);
      n++;
      await sleep(400);
    }
    assert.equal(p.closed, false, `still open after ${n} requests over ${Date.now() - t0} ms`);
  } finally {
    p.s.destroy();
  }
});

// ---- a real client ----

function get(agent: Agent, path: string, method = 'GET', body?: Buffer): Promise<{ res: IncomingMessage; body: Buffer; reused: boolean; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, timeout: 3000 }, (res) => {
      const localPort = res.socket.localPort ?? 0;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts), reused: req.reusedSocket, localPort }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test('node:http with a keep-alive Agent reuses one socket for many requests', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ports = new Set<number>();
    const out: Array<[number, string, boolean]> = [];
    for (const [path, method, body] of [
      ['/n1', 'GET'], ['/files/a.txt', 'GET'], ['/404', 'GET'], ['/echo', 'POST', Buffer.from('posted')],
      ['/files/big.bin', 'GET'], ['/nolen', 'GET'], ['/files/a.txt', 'HEAD'], ['/n2', 'GET'],
    ] as Array<[string, string, Buffer?]>) {
      const r = await get(agent, path, method, body);
      ports.add(r.localPort);
      out.push([r.res.statusCode ?? 0, path === '/files/big.bin' ? String(r.body.equals(BIG)) : r.body.toString(), r.reused]);
    }
    assert.deepEqual(out, [
      [200, 'GET /n1', false], [200, 'file a\n', true], [404, '<html><body><h1>404</h1></body></html>', true],
      [200, 'posted', true], [200, 'true', true], [200, 'no length here', true], [200, '', true], [200, 'GET /n2', true],
    ]);
    assert.equal(ports.size, 1, 'one TCP connection');
  } finally {
    agent.destroy();
  }
});
