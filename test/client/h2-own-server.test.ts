/**
 * The HTTP/2 client against our own server: by prior knowledge in clear
 * text and by ALPN on TLS, many requests as streams of ONE connection,
 * 16 MiB each way with flow control, a stalled reader holding back only
 * its own stream, and the same callbacks as HTTP/1.1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createContext, callbackHttpDummy, Mount, Reason, type Context, type Protocol, type Wsi } from '../../src/index.js';
import { answer } from '../helpers/metered.js';
import { makePki } from '../helpers/pki.js';
import type { H2ClientStream } from '../../src/roles/h2/client-stream.js';
import { DEFAULT_H2_CLIENT_OPTIONS } from '../../src/roles/h2/client-options.js';
import { request, requestHub, sha256 } from '../helpers/h2client.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-h2c-'));
const big = randomBytes(16 * 1024 * 1024);
writeFileSync(join(dir, 'big.bin'), big);
writeFileSync(join(dir, 'small.txt'), 'small\n');
const pki = makePki();
const leaf = pki.issue('localhost');
const contexts: Context[] = [];
after(async () => {
  await Promise.all(contexts.map((c) => c.destroy()));
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

/** Root connections our server accepted, by the diagnostics channel every accepted connection passes. */
function serverConnections(): { n: number; stop(): void } {
  const c = { n: 0, stop: () => unsubscribe('tslws:connection:open', on) };
  const on = (m: unknown) => {
    if (!(m as { client: boolean }).client) c.n++;
  };
  subscribe('tslws:connection:open', on);
  return c;
}

/** Upload sink: hashes what a POST sends and answers with the hash. */
const sink: Protocol = {
  name: 'sink',
  callback(wsi: Wsi, reason, user, input) {
    const st = (wsi.user ??= { parts: [] as Buffer[] }) as { parts: Buffer[]; hash?: string };
    switch (reason) {
      case Reason.HTTP:
        return 0;
      case Reason.HTTP_BODY:
        st.parts.push(Buffer.from(input as Buffer));
        return 0;
      case Reason.HTTP_BODY_COMPLETION:
        st.hash = sha256(Buffer.concat(st.parts));
        wsi.callbackOnWritable();
        return 0;
      case Reason.HTTP_WRITEABLE:
        return answer(wsi, 200, st.hash ?? '');
    }
    return callbackHttpDummy(wsi, reason, user, input);
  },
};

async function ourServer(tls: boolean): Promise<number> {
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, sink],
    mounts: [
      { mountpoint: '/', origin: dir, originProtocol: Mount.FILE },
      { mountpoint: '/upload', origin: 'sink', originProtocol: Mount.CALLBACK },
    ],
    ...(tls ? { sslCert: leaf.cert, sslPrivateKey: leaf.key } : {}),
  });
  contexts.push(ctx);
  await ctx.listening;
  return ctx.vhosts[0].port as number;
}

function client(): Context {
  const ctx = createContext({ protocols: [requestHub] });
  contexts.push(ctx);
  return ctx;
}

for (const tls of [false, true]) {
  const how = tls ? 'TLS, ALPN h2' : 'clear text, prior knowledge';
  test(`${how}: 20 parallel GETs are streams of one connection, with HTTP/1.1's callbacks`, async () => {
    const port = await ourServer(tls);
    const ctx = client();
    const seen = serverConnections();
    try {
      const ssl = tls ? { ca: pki.ca.cert } : undefined;
      const outs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        request(ctx, port, { path: i % 2 ? '/small.txt' : '/big.bin', method: 'GET', ssl, http2: 'require', want: ['content-length'] })));
      for (const [i, o] of outs.entries()) {
        assert.equal(o.error, null);
        assert.equal(o.status, 200);
        assert.ok(o.completed && o.closed);
        if (i % 2) assert.equal(o.body.toString(), 'small\n');
        else assert.equal(sha256(o.body), sha256(big));
        assert.equal(o.headers['content-length'], i % 2 ? '6' : String(big.length));
        assert.equal(o.wsi.parent?.roleName, 'h2-client');
      }
      assert.equal(seen.n, 1, 'the server saw one TCP connection');
    } finally {
      seen.stop();
    }
  });

  test(`${how}: a 16 MiB upload goes out by stream credit and arrives whole`, async () => {
    const port = await ourServer(tls);
    const ctx = client();
    const ssl = tls ? { ca: pki.ca.cert } : undefined;
    const o = await request(ctx, port, { path: '/upload', method: 'POST', ssl, http2: 'require', upload: big, chunk: 65536 }, 60000);
    assert.equal(o.error, null);
    assert.equal(o.status, 200);
    assert.equal(o.body.toString(), sha256(big));
    // The stream's credit: our server's initial window (65535) at most.
    assert.ok(o.allowance !== null && o.allowance > 0 && o.allowance <= 65535, `allowance ${o.allowance}`);
  });
}

test('a reader that does not read holds back its own stream only: the others complete, then it does too', async () => {
  const port = await ourServer(true);
  const ctx = client();
  const ssl = { ca: pki.ca.cert };
  let go = false;
  const pwsi: { wsi?: Wsi } = {};
  const stalled = request(ctx, port, { path: '/big.bin', method: 'GET', ssl, readWhen: () => go, pwsi }, 60000);
  await new Promise((r) => setTimeout(r, 200));
  const others = await Promise.all(Array.from({ length: 4 }, () => request(ctx, port, { path: '/big.bin', method: 'GET', ssl })));
  for (const o of others) assert.equal(sha256(o.body), sha256(big));
  const s = (await Promise.race([stalled, new Promise((r) => setTimeout(() => r(null), 50))])) as null;
  assert.equal(s, null, 'the stalled request is not over');
  // It holds no more than its own window: no credit went back for it.
  const stream = pwsi.wsi?.transport as H2ClientStream;
  assert.ok(stream.paused, 'its stream is paused');
  assert.ok(stream.recvWindow <= 0 || stream.held.length > 0 || stream.recvWindow < DEFAULT_H2_CLIENT_OPTIONS.initialWindowSize, 'its window is used up');
  assert.ok(stream.held.reduce((n, b) => n + b.length, 0) <= DEFAULT_H2_CLIENT_OPTIONS.initialWindowSize);
  go = true;
  const done = await stalled;
  assert.equal(done.error, null);
  assert.equal(sha256(done.body), sha256(big));
  assert.equal(done.wsi.parent, others[0].wsi.parent ?? done.wsi.parent);
});
