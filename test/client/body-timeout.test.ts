/**
 * The HTTP client's body timeout (lws's HTTP_CONTENT): a body that stalls
 * after ESTABLISHED_CLIENT_HTTP closes the connection without a
 * CONNECTION_ERROR; one that keeps trickling in is not cut short.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reason } from '../../src/index.js';
import { Recorder, clientContext, fakeServer } from '../helpers/client.js';

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n';

async function fetchWith(port: number, secs: number): Promise<{ rec: Recorder; ms: number; body: number }> {
  const rec = new Recorder();
  let body = 0;
  rec.on = (wsi, reason) => {
    if (reason === Reason.RECEIVE_CLIENT_HTTP) body += wsi.httpClientRead().length;
  };
  const ctx = clientContext(rec);
  const t0 = Date.now();
  try {
    ctx.clientConnect({ address: '127.0.0.1', port, method: 'GET', bodyTimeoutSecs: secs });
    await rec.until(() => rec.has(Reason.CLOSED_CLIENT_HTTP) || rec.has(Reason.CLIENT_CONNECTION_ERROR), 'the GET to end', 10000);
    return { rec, ms: Date.now() - t0, body };
  } finally {
    await ctx.destroy();
  }
}

test('a body that stalls is closed after bodyTimeoutSecs: CLOSED_CLIENT_HTTP, no COMPLETED, no CONNECTION_ERROR', async () => {
  const srv = await fakeServer(() => HEAD + 'x'.repeat(10));
  try {
    const r = await fetchWith(srv.port, 1);
    assert.equal(r.body, 10);
    assert.ok(r.ms >= 900 && r.ms < 4000, `closed after ${r.ms} ms`);
    assert.ok(r.rec.has(Reason.ESTABLISHED_CLIENT_HTTP));
    assert.ok(r.rec.has(Reason.CLOSED_CLIENT_HTTP));
    assert.ok(!r.rec.has(Reason.COMPLETED_CLIENT_HTTP));
    assert.ok(!r.rec.has(Reason.CLIENT_CONNECTION_ERROR));
  } finally {
    await srv.close();
  }
});

test('each piece of body re-arms the timeout: a slow but steady body completes', async () => {
  const srv = await fakeServer(() => HEAD);
  const timers: NodeJS.Timeout[] = [];
  try {
    const run = fetchWith(srv.port, 1);
    // 10 pieces 350 ms apart: 3.5 s in all, never 1 s without data.
    for (let i = 1; i <= 10; i++) timers.push(setTimeout(() => srv.conns[0]?.socket.write('y'.repeat(10)), i * 350));
    const r = await run;
    assert.equal(r.body, 100);
    assert.ok(r.ms >= 3000, `took ${r.ms} ms`);
    assert.ok(r.rec.has(Reason.COMPLETED_CLIENT_HTTP), r.rec.reasons().map((x) => Reason[x]).join());
  } finally {
    for (const t of timers) clearTimeout(t);
    await srv.close();
  }
});

test('bodyTimeoutSecs must be positive', async () => {
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', bodyTimeoutSecs: 0 }), /bodyTimeoutSecs must be > 0/);
    // Infinity would pass "> 0" and then throw inside a socket handler (wsi.setTimeout).
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', bodyTimeoutSecs: Infinity }), /bodyTimeoutSecs must be > 0 and finite/);
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', connectTimeoutSecs: Infinity }), /connectTimeoutSecs must be > 0 and finite/);
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', connectTimeoutSecs: NaN }), /connectTimeoutSecs must be > 0 and finite/);
  } finally {
    await ctx.destroy();
  }
});
