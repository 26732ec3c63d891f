/**
 * A protocol callback that throws costs its own exchange only: HTTP/1.1
 * and HTTP/2 answer 500 while the response head is not sent (after it,
 * the connection or stream is cut), a WebSocket closes with 1011, the
 * throw is logged once with its stack, and the next client is served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import WebSocket from 'ws';
import {
  Reason, Write, callbackHttpDummy, setLogLevel, getLogLevel, LogLevel, emitStderr, type Protocol, type Wsi,
} from '../../src/index.js';
import { start, raw, parseResponses } from '../helpers/common.js';

/** Error lines logged while `fn` runs (nothing reaches stderr). */
async function capturingErrors<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const old = getLogLevel();
  setLogLevel(LogLevel.ERR, (_level, line) => lines.push(line));
  try {
    return await fn(lines);
  } finally {
    setLogLevel(old, emitStderr);
  }
}

/**
 * HTTP: `/throw` throws in HTTP; `/late` sends a head promising 100 bytes,
 * then throws in the next WRITEABLE; anything else gets `fine`.
 */
const http: Protocol = {
  name: 'http',
  callback(wsi: Wsi, reason, user, input) {
    switch (reason) {
      case Reason.HTTP:
        if (input === '/throw') {
          wsi.addHttpHeaderStatus(200); // begun but not sent: the 500 replaces it
          throw new Error('user bug in HTTP');
        }
        wsi.callbackOnWritable();
        return 0;
      case Reason.HTTP_WRITEABLE: {
        if (wsi.uri === '/late') {
          if (!(wsi.user as { sent?: boolean } | undefined)?.sent) {
            wsi.user = { sent: true };
            wsi.addHttpHeaderStatus(200);
            wsi.addHttpHeaderContentLength(100);
            wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
            wsi.write(Buffer.from('partial'), Write.HTTP);
            wsi.callbackOnWritable();
            return 0;
          }
          throw new Error('user bug after the head');
        }
        const body = Buffer.from('fine');
        wsi.addHttpHeaderStatus(200);
        wsi.addHttpHeaderContentLength(body.length);
        wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
        wsi.write(body, Write.HTTP_FINAL);
        return 0;
      }
    }
    return callbackHttpDummy(wsi, reason, user, input);
  },
};

/** WebSocket: echoes, and throws on the message `throw` (and on upgrades to `/refuse`). */
const echo: Protocol<{ q: Buffer[] }> = {
  name: 'echo',
  createSessionData: () => ({ q: [] }),
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.FILTER_PROTOCOL_CONNECTION:
        if (wsi.uri === '/refuse') throw new Error('user bug in FILTER_PROTOCOL_CONNECTION');
        return 0;
      case Reason.RECEIVE: {
        const b = Buffer.from(input as Uint8Array);
        if (b.toString() === 'throw') throw new Error('user bug in RECEIVE');
        user.q.push(b);
        wsi.callbackOnWritable();
        return 0;
      }
      case Reason.SERVER_WRITEABLE: {
        const b = user.q.shift();
        if (b) wsi.write(b, Write.TEXT);
        return 0;
      }
    }
    return 0;
  },
};

function h2get(s: ClientHttp2Session, path: string): Promise<{ status: number; body: string; error?: NodeJS.ErrnoException; rstCode?: number }> {
  return new Promise((resolve) => {
    const r = s.request({ ':path': path });
    let status = 0;
    const parts: Buffer[] = [];
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (d: Buffer) => parts.push(d));
    r.on('error', (error: NodeJS.ErrnoException) => resolve({ status, body: Buffer.concat(parts).toString(), error, rstCode: r.rstCode }));
    r.on('end', () => resolve({ status, body: Buffer.concat(parts).toString() }));
    r.end();
  });
}

test('HTTP/1.1: a throw before the head is sent answers 500; the throw is logged once with its stack; the next request is served', async () => {
  const { ctx, port } = await start({ protocols: [http] });
  try {
    await capturingErrors(async (lines) => {
      const r = await raw(port, 'GET /throw HTTP/1.1\r\nHost: a\r\n\r\n');
      const [res] = parseResponses(r.data);
      assert.equal(res.status, 500);
      assert.match(res.headers['connection'] ?? '', /close/);
      assert.equal(r.closed, true);
      const threw = lines.filter((l) => l.includes('callback threw'));
      assert.equal(threw.length, 1, JSON.stringify(lines));
      assert.match(threw[0], /protocol "http" callback threw on reason HTTP: Error: user bug in HTTP\n\s+at /);
      assert.equal(lines.length, 1, `nothing else is logged as an error: ${JSON.stringify(lines)}`);
    });
    const ok = await raw(port, 'GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [res] = parseResponses(ok.data);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'fine');
  } finally {
    await ctx.destroy();
  }
});

test('HTTP/1.1: a throw after the head was sent cuts the connection: the response stays short of its length', async () => {
  const { ctx, port } = await start({ protocols: [http] });
  try {
    await capturingErrors(async (lines) => {
      const r = await raw(port, 'GET /late HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(r.closed, true);
      assert.match(r.text, /^HTTP\/1\.1 200 /);
      assert.match(r.text, /content-length: 100\r\n/i);
      assert.ok(!r.text.includes('500'), 'no second head after the first');
      assert.ok(r.text.length < r.text.indexOf('\r\n\r\n') + 4 + 100, 'the body is cut short');
      assert.equal(lines.filter((l) => l.includes('callback threw on reason HTTP_WRITEABLE')).length, 1);
    });
    const ok = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(ok.data)[0].status, 200);
  } finally {
    await ctx.destroy();
  }
});

test('HTTP/2: a throw answers 500 on that stream, a throw after the head resets it; the connection and a new one go on', async () => {
  const { ctx, port } = await start({ protocols: [http] });
  const s = h2connect(`http://127.0.0.1:${port}`);
  try {
    await capturingErrors(async (lines) => {
      const bad = await h2get(s, '/throw');
      assert.equal(bad.status, 500);
      assert.equal(bad.error, undefined);
      const late = await h2get(s, '/late');
      assert.equal(late.status, 200);
      assert.ok(late.error, 'the stream ends in an error, not a short body taken as whole');
      assert.equal(late.rstCode, 2, 'RST_STREAM INTERNAL_ERROR');
      // The same connection serves the next stream.
      const same = await h2get(s, '/again');
      assert.deepEqual([same.status, same.body], [200, 'fine']);
      assert.equal(lines.filter((l) => l.includes('callback threw')).length, 2, JSON.stringify(lines));
    });
    const s2 = h2connect(`http://127.0.0.1:${port}`);
    try {
      const next = await h2get(s2, '/next');
      assert.deepEqual([next.status, next.body], [200, 'fine']);
    } finally {
      s2.close();
    }
  } finally {
    s.close();
    await ctx.destroy();
  }
});

test('WebSocket: a throw closes that connection with 1011; another connection keeps being served', async () => {
  const { ctx, port } = await start({ protocols: [http, echo] });
  const open = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'echo');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return ws;
  };
  const roundTrip = (ws: WebSocket, text: string) => new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(String(d)));
    ws.once('error', reject);
    ws.send(text);
  });
  try {
    const other = await open();
    await capturingErrors(async (lines) => {
      const ws = await open();
      assert.equal(await roundTrip(ws, 'hello'), 'hello');
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.send('throw');
      assert.equal(await closed, 1011);
      assert.equal(lines.filter((l) => l.includes('callback threw on reason RECEIVE')).length, 1, JSON.stringify(lines));
    });
    // A throw while the upgrade is still HTTP is answered as HTTP.
    const refused = await capturingErrors(() => new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/refuse`, 'echo');
      ws.on('error', () => {}); // terminate() below reports the abandoned handshake
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => reject(new Error('the upgrade went through')));
    }));
    assert.equal(refused, 500);
    assert.equal(await roundTrip(other, 'still here'), 'still here', 'the other connection is unaffected');
    other.close();
    const next = await open();
    assert.equal(await roundTrip(next, 'next'), 'next');
    next.close();
  } finally {
    await ctx.destroy();
  }
});
