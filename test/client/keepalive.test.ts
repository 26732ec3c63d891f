/**
 * HTTP client keep-alive: with `keepAlive`, a cleanly framed response
 * leaves its connection in the vhost's pool and the next request to the
 * same target uses it; closed, stale or surplus connections are not used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { makePki, type Pki } from '../helpers/pki.js';
import { createServer as createNetServer, type Socket } from 'node:net';
import { createContext, Reason, type ClientConnectInfo, type Context, type Wsi } from '../../src/index.js';
import { Recorder } from '../helpers/client.js';
import { sleep } from '../helpers/common.js';

interface Counted {
  port: number;
  connections: () => number;
  close(): Promise<void>;
}

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

async function httpSite(answer: (url: string) => { headers?: Record<string, string>; body: string }): Promise<Counted> {
  let n = 0;
  const server = createHttpServer((req, res) => {
    const a = answer(req.url ?? '/');
    res.writeHead(200, { 'content-length': Buffer.byteLength(a.body), ...a.headers });
    res.end(a.body);
  });
  server.on('connection', () => n++);
  const port = await listen(server);
  return { port, connections: () => n, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** One GET through `ctx`; resolves with the body once CLOSED_CLIENT_HTTP (or an error) came. */
async function get(ctx: Context, rec: Recorder, port: number, path: string, keepAlive = true): Promise<{ body: string; wsi: Wsi; error?: string }> {
  const start = rec.events.length;
  const parts: Buffer[] = [];
  rec.on = (w, reason) => {
    if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(w.httpClientRead());
  };
  const wsi = ctx.clientConnect({ address: '127.0.0.1', port, path, method: 'GET', keepAlive, localProtocolName: 'test-client' });
  const mine = () => rec.events.slice(start).filter((e) => e.wsi === wsi);
  await rec.until(() => mine().some((e) => e.reason === Reason.CLOSED_CLIENT_HTTP || e.reason === Reason.CLIENT_CONNECTION_ERROR), `${path} to finish`);
  const err = mine().find((e) => e.reason === Reason.CLIENT_CONNECTION_ERROR);
  return { body: Buffer.concat(parts).toString(), wsi, error: err ? String(err.input) : undefined };
}

function clientCtx(rec: Recorder, limits?: { clientKeepAliveMax?: number; clientKeepAliveSecs?: number }): Context {
  return createContext({ protocols: [rec.protocol], limits });
}

test('keepAlive: sequential requests to one server share one connection; without it each has its own', async () => {
  const site = await httpSite((url) => ({ body: `answer ${url}` }));
  const rec = new Recorder();
  const ctx = clientCtx(rec);
  try {
    for (const p of ['/1', '/2', '/3']) assert.equal((await get(ctx, rec, site.port, p)).body, `answer ${p}`);
    assert.equal(site.connections(), 1, 'one TCP connection for three requests');
    const per = (r: Reason) => rec.reasons().filter((x) => x === r).length;
    assert.equal(per(Reason.ESTABLISHED_CLIENT_HTTP), 3);
    assert.equal(per(Reason.COMPLETED_CLIENT_HTTP), 3);
    assert.equal(per(Reason.CLOSED_CLIENT_HTTP), 3);
    assert.equal(ctx.vhosts[0].clientPool.count(), 1, 'parked between requests');
    for (const p of ['/4', '/5']) assert.equal((await get(ctx, rec, site.port, p, false)).body, `answer ${p}`);
    assert.equal(site.connections(), 3, 'without keepAlive: a connection each');
  } finally {
    await ctx.destroy();
    await site.close();
  }
  assert.equal(ctx.vhosts[0].clientPool.count(), 0, 'destroy empties the pool');
});

test('keepAlive: a response with Connection: close, or a server that closed the idle connection, means a new connection', async () => {
  const closing = await httpSite(() => ({ headers: { connection: 'close' }, body: 'bye' }));
  // Answers, then drops the connection 50 ms later, as a server's own idle timeout would.
  let briefConns = 0;
  const brief = createNetServer((sock: Socket) => {
    briefConns++;
    sock.once('data', () => {
      sock.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nbrief');
      setTimeout(() => sock.end(), 50);
    });
    sock.on('error', () => {});
  });
  const briefPort = await listen(brief);
  const rec = new Recorder();
  const ctx = clientCtx(rec);
  try {
    for (let i = 0; i < 2; i++) assert.equal((await get(ctx, rec, closing.port, '/')).body, 'bye');
    assert.equal(closing.connections(), 2);
    assert.equal(ctx.vhosts[0].clientPool.count(), 0, 'nothing parked after Connection: close');
    assert.equal((await get(ctx, rec, briefPort, '/')).body, 'brief');
    assert.equal(ctx.vhosts[0].clientPool.count(), 1);
    await sleep(300);
    assert.equal(ctx.vhosts[0].clientPool.count(), 0, 'the pool noticed the server closing');
    const again = await get(ctx, rec, briefPort, '/');
    assert.equal(again.body, 'brief', again.error);
    assert.equal(briefConns, 2);
  } finally {
    await ctx.destroy();
    await closing.close();
    await new Promise<void>((r) => brief.close(() => r()));
  }
});

for (const [how, end] of [
  ['closes without answering', (s: Socket) => s.end()],
  ['resets (ECONNRESET)', (s: Socket) => s.resetAndDestroy()],
] as const) {
  test(`keepAlive: a request sent on a kept connection the server ${how} is retried once on a new one`, async () => {
    // Answers the first request on each connection, then ends it on the next without a word.
    let conns = 0;
    const server = createNetServer((s: Socket) => {
      conns++;
      let served = 0;
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        while (buf.includes('\r\n\r\n')) {
          buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
          if (served++ === 0) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
          else {
            end(s);
            return;
          }
        }
      });
      s.on('error', () => {});
    });
    const port = await listen(server);
    const rec = new Recorder();
    const ctx = clientCtx(rec, { clientKeepAliveSecs: 30 });
    try {
      assert.equal((await get(ctx, rec, port, '/a')).body, 'ok');
      assert.equal(ctx.vhosts[0].clientPool.count(), 1);
      const b = await get(ctx, rec, port, '/b');
      assert.equal(b.error, undefined);
      assert.equal(b.body, 'ok');
      assert.equal(conns, 2, 'the retry opened a new connection');
      assert.equal(rec.reasons(b.wsi).filter((r) => r === Reason.ESTABLISHED_CLIENT_HTTP).length, 1);
    } finally {
      await ctx.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
}

test('keepAlive: a fresh connection reset before answering is not retried', async () => {
  let conns = 0;
  const server = createNetServer((s: Socket) => {
    conns++;
    s.once('data', () => s.resetAndDestroy());
    s.on('error', () => {});
  });
  const port = await listen(server);
  const rec = new Recorder();
  const ctx = clientCtx(rec);
  try {
    const r = await get(ctx, rec, port, '/');
    assert.ok(r.error, 'a connection error');
    assert.equal(conns, 1);
  } finally {
    await ctx.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('keepAlive: at most clientKeepAliveMax idle connections per target are kept; keepAlive needs an HTTP method', async () => {
  const site = await httpSite(() => ({ body: 'x' }));
  const rec = new Recorder();
  const ctx = clientCtx(rec, { clientKeepAliveMax: 1 });
  try {
    await Promise.all([get(ctx, rec, site.port, '/1'), get(ctx, rec, site.port, '/2')]);
    assert.equal(site.connections(), 2);
    assert.equal(ctx.vhosts[0].clientPool.count(), 1);
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: site.port, keepAlive: true }), /keepAlive is for HTTP requests/);
  } finally {
    await ctx.destroy();
  }
  // A kept connection nobody uses is closed after clientKeepAliveSecs, though the server keeps it.
  const brief = clientCtx(rec, { clientKeepAliveSecs: 0.2 });
  try {
    await get(brief, rec, site.port, '/3');
    assert.equal(brief.vhosts[0].clientPool.count(), 1);
    await sleep(500);
    assert.equal(brief.vhosts[0].clientPool.count(), 0, 'dropped after its idle time');
    assert.equal((await get(brief, rec, site.port, '/4')).body, 'x');
    assert.equal(site.connections(), 4, 'so the next request opens a new connection');
  } finally {
    await brief.destroy();
    await site.close();
  }
});

/**
 * A node:https server counting its TLS connections, and `ask(ssl)`: one
 * keepAlive GET to it from a client context with those TLS settings.
 */
async function withTlsServer(fn: (t: { pki: Pki; ctx: Context; conns: () => number; ask: (ssl: ClientConnectInfo['ssl']) => Promise<string> }) => Promise<void>): Promise<void> {
  const pki = makePki();
  const leaf = pki.issue('localhost');
  let n = 0;
  const server = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (_q, res) => res.end('secure'));
  server.on('secureConnection', () => n++);
  const port = await listen(server);
  const rec = new Recorder();
  const ctx = clientCtx(rec);
  const ask = async (ssl: ClientConnectInfo['ssl']) => {
    const parts: Buffer[] = [];
    rec.on = (w, reason) => {
      if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(w.httpClientRead());
    };
    const start = rec.events.length;
    const wsi = ctx.clientConnect({ address: 'localhost', port, method: 'GET', keepAlive: true, ssl, localProtocolName: 'test-client' });
    await rec.until(() => rec.events.slice(start).some((e) => e.wsi === wsi && (e.reason === Reason.CLOSED_CLIENT_HTTP || e.reason === Reason.CLIENT_CONNECTION_ERROR)), 'the answer');
    return Buffer.concat(parts).toString();
  };
  try {
    await fn({ pki, ctx, conns: () => n, ask });
  } finally {
    await ctx.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    pki.cleanup();
  }
}

test('keepAlive over TLS: the kept connection is reused only with the same TLS settings', async () => {
  await withTlsServer(async ({ pki, conns, ask }) => {
    assert.equal(await ask({ ca: pki.ca.cert }), 'secure');
    assert.equal(await ask({ ca: pki.ca.cert }), 'secure');
    assert.equal(conns(), 1, 'one TLS connection for both');
    assert.equal(await ask({ ca: pki.ca.cert, skipHostnameCheck: true }), 'secure');
    assert.equal(conns(), 2, 'different TLS settings: not the same connection');
  });
});

test('keepAlive over TLS: the pool goes by the settings the socket was opened with, vhost defaults included', async () => {
  await withTlsServer(async ({ pki, ctx, conns, ask }) => {
    ctx.vhosts[0].initClientSsl({ ca: pki.ca.cert });
    assert.equal(await ask(true), 'secure');
    assert.equal(await ask(true), 'secure');
    assert.equal(conns(), 1, 'same vhost settings: one TLS connection for both');
    ctx.vhosts[0].initClientSsl({ ca: pki.ca.cert, skipHostnameCheck: true });
    assert.equal(await ask(true), 'secure');
    assert.equal(conns(), 2, 'the vhost settings changed: not the same connection');
  });
});

test('keepAlive: a redirect from a kept connection to a new one is not retried as a stale kept connection', async () => {
  // B closes every connection on the request, without an answer.
  let bConns = 0;
  const b = createNetServer((s: Socket) => {
    bConns++;
    s.once('data', () => s.end());
    s.on('error', () => {});
  });
  const bPort = await listen(b);
  // A answers /1, then (on the same kept connection) sends /2 to B.
  const a = createHttpServer((req, res) => {
    if (req.url === '/2') res.writeHead(302, { location: `http://127.0.0.1:${bPort}/x`, 'content-length': 0 }).end();
    else res.writeHead(200, { 'content-length': 2 }).end('ok');
  });
  const aPort = await listen(a);
  const rec = new Recorder();
  const ctx = clientCtx(rec, { clientKeepAliveSecs: 30 });
  try {
    assert.equal((await get(ctx, rec, aPort, '/1')).body, 'ok');
    assert.equal(ctx.vhosts[0].clientPool.count(), 1);
    const start = rec.events.length;
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port: aPort, path: '/2', method: 'GET', keepAlive: true, followRedirects: 1, localProtocolName: 'test-client' });
    const mine = () => rec.events.slice(start).filter((e) => e.wsi === wsi);
    await rec.until(() => mine().some((e) => e.reason === Reason.CLOSED_CLIENT_HTTP || e.reason === Reason.CLIENT_CONNECTION_ERROR), 'the redirect to end');
    assert.ok(mine().some((e) => e.reason === Reason.CLIENT_CONNECTION_ERROR), 'B never answers: a connection error');
    assert.equal(bConns, 1, 'the fresh connection to B is not retried');
  } finally {
    await ctx.destroy();
    a.closeAllConnections();
    await new Promise<void>((r) => a.close(() => r()));
    await new Promise<void>((r) => b.close(() => r()));
  }
});
