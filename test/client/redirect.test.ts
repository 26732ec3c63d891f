/**
 * HTTP client redirects (opt-in with followRedirects: one ESTABLISHED for
 * the final answer, 303 turns into a GET, 307 repeats the upload, bounded
 * hops, no TLS downgrade) and wsi.peerAddress / peerPort on client wsis.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Reason, Write, type Wsi } from '../../src/index.js';
import { Recorder, clientContext } from '../helpers/client.js';
import { makePki } from '../helpers/pki.js';

const pki = makePki();
after(() => pki.cleanup());

interface Seen {
  method: string;
  url: string;
  host: string;
  body: string;
  contentLength?: string;
  authorization?: string;
  /** The TLS server name (SNI) the client sent, over TLS. */
  servername?: string | false | null;
}

interface Site {
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function site(routes: Record<string, Route>, tls = false): Promise<Site> {
  const seen: Seen[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', body, contentLength: req.headers['content-length'], authorization: req.headers.authorization,
        servername: (req.socket as TLSSocket).servername });
      const r = routes[req.url ?? ''];
      if (r) r(req, res, body);
      else res.writeHead(404).end('no route');
    });
  };
  const leaf = tls ? pki.issue('localhost') : undefined;
  const server: Server = leaf ? createHttpsServer({ cert: leaf.cert, key: leaf.key }, handler) : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port, seen,
    close: () => new Promise<void>((r) => { (server as ReturnType<typeof createHttpServer>).closeAllConnections(); server.close(() => r()); }),
  };
}

const redirect = (status: number, to: string): Route => (_q, res) => void res.writeHead(status, { location: to }).end('moved');

interface Run {
  rec: Recorder;
  wsi: Wsi;
  body: string;
  error?: string;
}

/** One request through the client; `write` answers CLIENT_HTTP_WRITEABLE. */
async function request(opts: { port: number; path: string; method?: string; follow?: number; upload?: string; tls?: boolean; headers?: Record<string, string>; host?: string }): Promise<Run> {
  const rec = new Recorder();
  const parts: Buffer[] = [];
  rec.on = (wsi, reason) => {
    if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(wsi.httpClientRead());
    if (reason === Reason.CLIENT_HTTP_WRITEABLE && opts.upload) wsi.write(Buffer.from(opts.upload), Write.HTTP_FINAL);
  };
  const ctx = clientContext(rec);
  try {
    const wsi = ctx.clientConnect({
      address: '127.0.0.1', port: opts.port, path: opts.path, method: opts.method ?? 'GET', followRedirects: opts.follow,
      bodyLength: opts.upload?.length, ssl: opts.tls ? { ca: pki.ca.cert } : false, headers: opts.headers, host: opts.host,
    });
    await rec.until(() => rec.has(Reason.CLOSED_CLIENT_HTTP) || rec.has(Reason.CLIENT_CONNECTION_ERROR), 'the request to end', 8000);
    const e = rec.first(Reason.CLIENT_CONNECTION_ERROR);
    return { rec, wsi, body: Buffer.concat(parts).toString(), error: e ? String(e.input) : undefined };
  } finally {
    await ctx.destroy();
  }
}

const count = (rec: Recorder, r: Reason): number => rec.reasons().filter((x) => x === r).length;

test('followRedirects follows a chain across servers; the user sees one ESTABLISHED, for the final answer', async () => {
  const b = await site({ '/c': (_q, res) => void res.writeHead(200, { 'x-final': 'yes' }).end('final body') });
  const a = await site({ '/a': redirect(302, '/b'), '/b': redirect(301, `http://127.0.0.1:${b.port}/c`) });
  try {
    const r = await request({ port: a.port, path: '/a', follow: 2 });
    assert.equal(r.error, undefined);
    assert.equal(r.wsi.httpClientStatus(), 200);
    assert.equal(r.body, 'final body');
    assert.equal(r.wsi.hdrCopy('x-final'), 'yes');
    assert.equal(count(r.rec, Reason.ESTABLISHED_CLIENT_HTTP), 1);
    assert.equal(count(r.rec, Reason.COMPLETED_CLIENT_HTTP), 1);
    assert.equal(count(r.rec, Reason.CLOSED_CLIENT_HTTP), 1);
    assert.deepEqual(a.seen.map((s) => s.url), ['/a', '/b']);
    assert.equal(b.seen[0].host, `127.0.0.1:${b.port}`, 'Host: names the new authority');
    assert.equal(r.wsi.peerPort, b.port, 'peerPort is the final server\'s');

    // One hop fewer than needed: a connection error, nothing established.
    const short = await request({ port: a.port, path: '/a', follow: 1 });
    assert.match(short.error ?? '', /too many redirects: 301 to .* hop 2, followRedirects is 1/);
    assert.equal(count(short.rec, Reason.ESTABLISHED_CLIENT_HTTP), 0);

    // The default: the 3xx is the answer.
    const plain = await request({ port: a.port, path: '/a' });
    assert.equal(plain.wsi.httpClientStatus(), 302);
    assert.equal(plain.wsi.hdrCopy('location'), '/b');
    assert.equal(plain.body, 'moved');
  } finally {
    await a.close();
    await b.close();
  }
});

test('303 after a POST becomes a GET without a body; 307 repeats the POST and its body', async () => {
  const s = await site({
    '/form': redirect(303, '/done'),
    '/keep': redirect(307, '/dest'),
    '/done': (q, res, body) => void res.end(`${q.method} [${body}]`),
    '/dest': (q, res, body) => void res.end(`${q.method} [${body}]`),
  });
  try {
    const see = await request({ port: s.port, path: '/form', method: 'POST', follow: 3, upload: 'hello' });
    assert.equal(see.body, 'GET []', see.error);
    assert.equal(s.seen[1].contentLength, undefined, 'no content-length on the GET');
    const keep = await request({ port: s.port, path: '/keep', method: 'POST', follow: 3, upload: 'hello' });
    assert.equal(keep.body, 'POST [hello]', keep.error);
    assert.deepEqual(s.seen.map((x) => `${x.method} ${x.url} ${x.body}`),
      ['POST /form hello', 'GET /done ', 'POST /keep hello', 'POST /dest hello']);
  } finally {
    await s.close();
  }
});

test('a redirect from https to http is refused; a 3xx without Location is delivered', async () => {
  const plain = await site({ '/': (_q, res) => void res.end('clear') });
  const secure = await site({
    '/down': redirect(302, `http://127.0.0.1:${plain.port}/`),
    '/nowhere': (_q, res) => void res.writeHead(302).end('stay'),
  }, true);
  try {
    const r = await request({ port: secure.port, path: '/down', follow: 5, tls: true });
    assert.match(r.error ?? '', /TLS downgrade/);
    assert.equal(plain.seen.length, 0);
    const n = await request({ port: secure.port, path: '/nowhere', follow: 5, tls: true });
    assert.equal(n.wsi.httpClientStatus(), 302);
    assert.equal(n.body, 'stay');
  } finally {
    await plain.close();
    await secure.close();
  }
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', followRedirects: -1 }), /followRedirects/);
  } finally {
    await ctx.destroy();
  }
});

test('client wsis know their peer once connected: peerAddress and peerPort', async () => {
  const srv = await site({ '/': (_q, res) => void res.end('ok') });
  const port = srv.port;
  const rec = new Recorder();
  let atWsi = { address: 'unset', port: -1 };
  rec.on = (wsi, reason) => {
    if (reason === Reason.ESTABLISHED_CLIENT_HTTP) atWsi = { address: wsi.peerAddress, port: wsi.peerPort };
    if (reason === Reason.RECEIVE_CLIENT_HTTP) wsi.httpClientRead();
  };
  const ctx = clientContext(rec);
  try {
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port, method: 'GET' });
    assert.equal(wsi.peerAddress, '', 'not connected yet');
    await rec.until(() => rec.has(Reason.CLOSED_CLIENT_HTTP), 'the GET to end');
    assert.deepEqual(atWsi, { address: '127.0.0.1', port });
    assert.equal(wsi.peerAddress, '127.0.0.1');
  } finally {
    await ctx.destroy();
    await srv.close();
  }
});

test('credentials go along a redirect on the same site but not to another one', async () => {
  const other = await site({ '/there': (_q, res) => void res.end('there') });
  const s = await site({ '/a': redirect(302, '/b'), '/b': redirect(302, `http://127.0.0.1:${other.port}/there`) });
  try {
    const r = await request({ port: s.port, path: '/a', follow: 3, headers: { authorization: 'Bearer secret', 'x-kept': '1' } });
    assert.equal(r.body, 'there', r.error);
    assert.deepEqual(s.seen.map((x) => x.authorization), ['Bearer secret', 'Bearer secret']);
    assert.equal(other.seen[0].authorization, undefined, 'not sent to another server');
  } finally {
    await s.close();
    await other.close();
  }
});

test('a redirect on the same site keeps the caller\'s Host: (and TLS server name)', async () => {
  const plain = await site({ '/a': redirect(302, '/b'), '/b': (q, res) => void res.end(`at ${q.headers.host}`) });
  const secure = await site({ '/a': redirect(302, '/b'), '/b': (q, res) => void res.end(`at ${q.headers.host}`) }, true);
  try {
    const r = await request({ port: plain.port, path: '/a', follow: 2, host: 'site.test' });
    assert.equal(r.body, 'at site.test', r.error);
    assert.deepEqual(plain.seen.map((x) => `${x.url} ${x.host}`), ['/a site.test', '/b site.test']);
    const t = await request({ port: secure.port, path: '/a', follow: 2, tls: true, host: 'localhost' });
    assert.equal(t.body, 'at localhost', t.error);
    assert.deepEqual(secure.seen.map((x) => `${x.url} ${x.host} ${x.servername}`), ['/a localhost localhost', '/b localhost localhost']);
  } finally {
    await plain.close();
    await secure.close();
  }
});
