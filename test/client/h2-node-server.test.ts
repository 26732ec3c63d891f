/**
 * The HTTP/2 client against node:http2 (and, for what no real server
 * would send, a hand-written one): one connection for many requests,
 * 16 MiB each way, SETTINGS_MAX_CONCURRENT_STREAMS, GOAWAY, RST_STREAM,
 * timeouts, redirects, HTTP/1.1 fallback and a malformed frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as h2c } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createContext, type Context } from '../../src/index.js';
import { h2Fixtures, nodeH2, request, requestHub, sha256 } from '../helpers/h2client.js';
import { CLIENT_PREFACE, Flag, FrameType, H2Error, frame, goawayFrame, settingsFrame, windowUpdateFrame } from '../../src/roles/h2/frames.js';
import { HpackEncoder } from '../../src/roles/h2/hpack/index.js';

const { leaf, ssl, contexts, closers } = h2Fixtures();
const big = randomBytes(16 * 1024 * 1024);

function client(h2Client?: Record<string, number>): Context {
  const ctx = createContext({ protocols: [requestHub], h2Client });
  contexts.push(ctx);
  return ctx;
}

/** A node:http2 TLS server with a few routes. */
async function server(settings?: Record<string, unknown>) {
  let open = 0;
  const st = { maxOpen: 0, paths: [] as string[] };
  const h = await nodeH2((s, hd) => {
    const path = String(hd[':path']);
    st.paths.push(path);
    open++;
    st.maxOpen = Math.max(st.maxOpen, open);
    s.on('close', () => open--);
    if (path === '/small') {
      // Held a moment so that streams overlap.
      setTimeout(() => {
        if (s.destroyed || s.closed) return;
        s.respond({ ':status': 200, 'content-type': 'text/plain' });
        s.end('small');
      }, 20);
    } else if (path === '/big') {
      s.respond({ ':status': 200, 'content-length': String(big.length) });
      s.end(big);
    } else if (path === '/upload') {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => {
        s.respond({ ':status': 200 });
        s.end(sha256(Buffer.concat(parts)));
      });
    } else if (path === '/reset') {
      s.close(h2c.NGHTTP2_INTERNAL_ERROR);
    } else if (path === '/hang') {
      // never answers
    } else if (path === '/stall') {
      s.respond({ ':status': 200, 'content-length': '100' });
      s.write(Buffer.alloc(10));
    } else if (path.startsWith('/headers')) {
      s.respond({ ':status': 200, 'x-seen': JSON.stringify(hd) });
      s.end();
    } else if (path === '/redirect') {
      s.respond({ ':status': 302, location: '/small' });
      s.end();
    } else {
      s.respond({ ':status': 404 });
      s.end();
    }
  }, { cert: leaf, settings });
  closers.push(h.close);
  return { ...h, st };
}

test('node:http2: 30 parallel requests are streams of one connection; the server\'s MAX_CONCURRENT_STREAMS holds, the rest wait', async () => {
  const srv = await server({ maxConcurrentStreams: 4 });
  const ctx = client();
  const outs = await Promise.all(Array.from({ length: 30 }, () => request(ctx, srv.port, { path: '/small', method: 'GET', ssl })));
  for (const o of outs) {
    assert.equal(o.error, null);
    assert.equal(o.status, 200);
    assert.equal(o.body.toString(), 'small');
  }
  assert.equal(srv.conns.n, 1, 'one TCP connection');
  assert.ok(srv.st.maxOpen <= 4, `at most 4 streams open at once, saw ${srv.st.maxOpen}`);
  assert.ok(srv.st.maxOpen > 1, 'streams did overlap');
});

test('node:http2: 16 MiB down and 16 MiB up, content verified by hash', async () => {
  const srv = await server();
  const ctx = client();
  const [down, up] = await Promise.all([
    request(ctx, srv.port, { path: '/big', method: 'GET', ssl }, 60000),
    request(ctx, srv.port, { path: '/upload', method: 'POST', ssl, upload: big, chunk: 100000, connectTimeoutSecs: 60 }, 60000),
  ]);
  assert.equal(down.error, null);
  assert.equal(sha256(down.body), sha256(big));
  assert.equal(up.error, null);
  assert.equal(up.body.toString(), sha256(big));
  assert.equal(srv.conns.n, 1);
});

test('node:http2: RST_STREAM fails that request with the error code; the connection goes on for the others', async () => {
  const srv = await server();
  const ctx = client();
  const [bad, good] = await Promise.all([
    request(ctx, srv.port, { path: '/reset', method: 'GET', ssl }),
    request(ctx, srv.port, { path: '/small', method: 'GET', ssl }),
  ]);
  assert.equal(bad.error, 'HTTP/2 stream reset by the server: INTERNAL_ERROR');
  assert.equal(good.body.toString(), 'small');
  const again = await request(ctx, srv.port, { path: '/small', method: 'GET', ssl });
  assert.equal(again.body.toString(), 'small');
  assert.equal(srv.conns.n, 1);
});

test('node:http2: GOAWAY: streams past its last stream id are sent again on a new connection', async () => {
  const srv = await server();
  let first = true;
  srv.server.prependListener('stream', (s) => {
    if (!first) return;
    first = false;
    // Process only this one stream; the ones after it were not.
    s.session?.goaway(h2c.NGHTTP2_NO_ERROR, s.id);
  });
  const ctx = client();
  const outs = await Promise.all(Array.from({ length: 5 }, () => request(ctx, srv.port, { path: '/small', method: 'GET', ssl })));
  for (const o of outs) assert.equal(o.body.toString(), 'small', String(o.error));
  assert.equal(srv.conns.n, 2, 'the refused streams went on a second connection');
});

test('node:http2: timeouts: no answer is a CONNECTION_ERROR, a stalled body closes without COMPLETED; the connection stays usable', async () => {
  const srv = await server();
  const ctx = client();
  const [hang, stall] = await Promise.all([
    request(ctx, srv.port, { path: '/hang', method: 'GET', ssl, connectTimeoutSecs: 0.5 }),
    request(ctx, srv.port, { path: '/stall', method: 'GET', ssl, bodyTimeoutSecs: 0.5 }),
  ]);
  assert.match(String(hang.error), /^timed out after 0.5 s waiting for the server to answer/);
  assert.equal(stall.status, 200);
  assert.ok(stall.closed && !stall.completed);
  const after = await request(ctx, srv.port, { path: '/small', method: 'GET', ssl });
  assert.equal(after.body.toString(), 'small');
  assert.equal(srv.conns.n, 1);
});

test('node:http2: the request head: pseudo-headers, the caller\'s headers lower-cased, CLIENT_APPEND_HANDSHAKE_HEADER, no connection-specific fields', async () => {
  const srv = await server();
  const ctx = client();
  const o = await request(ctx, srv.port, {
    path: '/headers?q=1', method: 'GET', ssl, host: 'localhost', headers: { 'X-User': 'u', Connection: 'keep-alive' },
    append: [['x-token', 'abc']], want: ['x-seen'],
  });
  assert.equal(o.status, 200);
  const seen = JSON.parse(String(o.headers['x-seen'])) as Record<string, string>;
  assert.equal(seen[':method'], 'GET');
  assert.equal(seen[':scheme'], 'https');
  assert.equal(seen[':authority'], 'localhost');
  assert.equal(seen[':path'], '/headers?q=1');
  assert.equal(seen['x-user'], 'u');
  assert.equal(seen['x-token'], 'abc');
  assert.equal(seen.connection, undefined);
});

test('node:http2: a redirect is followed on the same connection', async () => {
  const srv = await server();
  const ctx = client();
  const o = await request(ctx, srv.port, { path: '/redirect', method: 'GET', ssl, followRedirects: 2 });
  assert.equal(o.status, 200);
  assert.equal(o.body.toString(), 'small');
  assert.deepEqual(srv.st.paths, ['/redirect', '/small']);
  assert.equal(srv.conns.n, 1);
});

test('a TLS server whose ALPN does not choose h2: HTTP/1.1 as before; with http2 "require" a clear CONNECTION_ERROR', async () => {
  const conns = { n: 0 };
  const https = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => res.end(`h1 ${req.httpVersion}`));
  https.on('connection', () => conns.n++);
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => { https.closeAllConnections(); https.close(() => r()); }));
  const port = (https.address() as { port: number }).port;
  const ctx = client();
  const outs = await Promise.all(Array.from({ length: 3 }, () => request(ctx, port, { path: '/', method: 'GET', ssl })));
  for (const o of outs) {
    assert.equal(o.body.toString(), 'h1 1.1');
    assert.equal(o.wsi.parent, null);
  }
  const req = await request(ctx, port, { path: '/', method: 'GET', ssl, http2: 'require' });
  assert.match(String(req.error), /does not speak HTTP\/2|did not choose HTTP\/2/);
});

test('prior knowledge against an HTTP/1.1-only server fails clearly', async () => {
  const srv = createNetServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => srv.close(() => r())));
  const ctx = client();
  const o = await request(ctx, (srv.address() as { port: number }).port, { path: '/', method: 'GET', http2: 'require' });
  assert.match(String(o.error), /answered in HTTP\/1\.1: it does not speak HTTP\/2 by prior knowledge/);
});

/** A clear-text HTTP/2 server by hand: SETTINGS, then `bad` once the first request arrives; records what the client sent. */
async function badServer(bad: Buffer) {
  const got: Buffer[] = [];
  const sockets = new Set<Socket>();
  const conns = { n: 0 };
  const srv = createNetServer((s) => {
    conns.n++;
    sockets.add(s);
    s.on('error', () => {});
    let sent = false;
    s.on('data', (d: Buffer) => {
      got.push(d);
      if (sent) return;
      const all = Buffer.concat(got);
      // The preface, then SETTINGS, then the request's HEADERS.
      if (all.length > CLIENT_PREFACE.length && all.includes(Buffer.from([FrameType.HEADERS]), CLIENT_PREFACE.length)) {
        sent = true;
        s.write(Buffer.concat([settingsFrame([]), settingsFrame(null), bad]));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }));
  return { port: (srv.address() as { port: number }).port, got, conns };
}

/** The error codes of the frames of `type` (GOAWAY, RST_STREAM) among the bytes a client sent. */
function codesOf(bytes: Buffer, type: number): number[] {
  const out: number[] = [];
  let at = CLIENT_PREFACE.length;
  while (at + 9 <= bytes.length) {
    const len = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === type) out.push(bytes.readUInt32BE(at + 9 + (type === FrameType.GOAWAY ? 4 : 0)));
    at += 9 + len;
  }
  return out;
}
const goawayCodes = (b: Buffer) => codesOf(b, FrameType.GOAWAY);

/** A response head on stream 1, HPACK-encoded as a server would. */
function head(fields: Array<[string, string]>, flags = Flag.END_HEADERS | Flag.END_STREAM): Buffer {
  return frame(FrameType.HEADERS, flags, 1, new HpackEncoder().encode(fields));
}

test('a malformed or oversized response head is a stream error: RST_STREAM, the request fails with the reason, no GOAWAY', async () => {
  const cases: Array<[string, Buffer, number, RegExp, Record<string, number>?]> = [
    ['an upper-case field name', head([[':status', '200'], ['X-Bad', '1']]), H2Error.PROTOCOL_ERROR, /^HTTP\/2: malformed response: malformed field name "X-Bad"$/],
    ['no :status', head([['x', '1']]), H2Error.PROTOCOL_ERROR, /^HTTP\/2: malformed response: no :status$/],
    ['a connection-specific field', head([[':status', '200'], ['connection', 'close']]), H2Error.PROTOCOL_ERROR, /connection-specific field connection/],
    ['101 in HTTP/2', head([[':status', '101']]), H2Error.PROTOCOL_ERROR, /:status 101 is not allowed in HTTP\/2/],
    ['a header list past maxHeaderListSize', head([[':status', '200'], ['x-big', 'a'.repeat(5000)]]), H2Error.CANCEL,
      /^HTTP\/2: response header list larger than 1024 bytes$/, { maxHeaderListSize: 1024 }],
  ];
  for (const [what, bytes, code, why, opts] of cases) {
    const srv = await badServer(bytes);
    const ctx = client(opts);
    const o = await request(ctx, srv.port, { path: '/', method: 'GET', http2: 'require' });
    assert.match(String(o.error), why, what);
    await new Promise((r) => setTimeout(r, 50));
    const sent = Buffer.concat(srv.got);
    assert.deepEqual(codesOf(sent, FrameType.RST_STREAM), [code], `${what}: RST_STREAM ${code}`);
    assert.deepEqual(goawayCodes(sent), [], `${what}: the connection goes on`);
  }
});

test('bad options are refused with a code', () => {
  const ctx = client();
  assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', http2: 'sometimes' as 'prefer' }),
    (e: Error & { code?: string }) => e.code === 'TSLWS_INVALID_OPTION' && /http2 must be 'prefer', 'require' or 'forbid'/.test(e.message));
  assert.throws(() => createContext({ h2Client: { maxQueued: -1 } }), (e: Error & { code?: string }) => e.code === 'TSLWS_INVALID_OPTION');
  assert.throws(() => createContext({ h2Client: { nope: 1 } as Record<string, number> }), (e: Error & { code?: string }) => e.code === 'TSLWS_UNKNOWN_OPTION');
});

test('a malformed frame from the server is a connection error: GOAWAY with its code, the request fails with the reason, nothing crashes', async () => {
  const cases: Array<[string, Buffer, number, RegExp]> = [
    ['DATA on stream 0', frame(FrameType.DATA, 0, 0, Buffer.from('x')), H2Error.PROTOCOL_ERROR, /PROTOCOL_ERROR: DATA on stream 0/],
    ['a PING of 3 bytes', frame(FrameType.PING, 0, 0, Buffer.alloc(3)), H2Error.FRAME_SIZE_ERROR, /FRAME_SIZE_ERROR: PING of a wrong size/],
    ['undecodable HPACK', frame(FrameType.HEADERS, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])), H2Error.COMPRESSION_ERROR, /COMPRESSION_ERROR/],
    ['HEADERS on a stream never opened', frame(FrameType.HEADERS, 0x5, 7, Buffer.from([0x88])), H2Error.PROTOCOL_ERROR, /which we never opened/],
    // Past floodBurst (500) increments of a byte: the server only makes the client work.
    ['600 WINDOW_UPDATEs of 1 byte', Buffer.concat(Array.from({ length: 600 }, () => windowUpdateFrame(0, 1))), H2Error.ENHANCE_YOUR_CALM, /ENHANCE_YOUR_CALM: WINDOW_UPDATE flood/],
  ];
  for (const [what, bytes, code, why] of cases) {
    const srv = await badServer(bytes);
    const ctx = client();
    const o = await request(ctx, srv.port, { path: '/', method: 'GET', http2: 'require' });
    assert.match(String(o.error), why, what);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(goawayCodes(Buffer.concat(srv.got)), [code], `${what}: GOAWAY ${code}`);
  }
});

test('GOAWAY that processed nothing: the request is sent once more, then fails naming the GOAWAY', async () => {
  const srv = await badServer(goawayFrame(0, H2Error.ENHANCE_YOUR_CALM, 'calm down'));
  const ctx = client();
  const o = await request(ctx, srv.port, { path: '/', method: 'GET', http2: 'require' });
  assert.equal(o.error, "HTTP/2 stream refused by the server's GOAWAY ENHANCE_YOUR_CALM (calm down)");
  assert.equal(srv.conns.n, 2, 'sent once more, on a new connection');
});

test('requests past h2Client.maxQueued fail at once with the limit named', async () => {
  const srv = await server({ maxConcurrentStreams: 1 });
  const ctx = client({ maxQueued: 2 });
  const outs = await Promise.all(Array.from({ length: 5 }, () => request(ctx, srv.port, { path: '/small', method: 'GET', ssl })));
  const failed = outs.filter((o) => o.error);
  assert.ok(failed.length >= 1, 'some were refused');
  for (const o of failed) assert.match(String(o.error), /requests waiting for an HTTP\/2 stream .*h2Client\.maxQueued/);
  for (const o of outs.filter((x) => !x.error)) assert.equal(o.body.toString(), 'small');
});
