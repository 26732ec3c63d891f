import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reason, Write, callbackHttpDummy, createContext, PendingTimeout, TO_KILL_ASYNC, type Protocol, type Wsi } from '../../src/index.js';
import { start, raw, parseResponses, sleep, openSocket } from '../helpers/common.js';
import { answer } from '../helpers/metered.js';

const CHUNK = Buffer.alloc(64 * 1024, 'z');
const TOTAL_CHUNKS = 400; // 25 MiB

test('a slow reader gets no WRITEABLE while its socket is choked; sending resumes when it reads', async () => {
  let writeables = 0;
  let chokedSeen = false;
  const sent = new Map<Wsi, number>();
  const p: Protocol = {
    name: 'stream',
    callback(wsi, reason, u, input) {
      if (reason === Reason.HTTP) {
        wsi.addHttpHeaderStatus(200);
        wsi.addHttpHeaderContentLength(CHUNK.length * TOTAL_CHUNKS);
        wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
        sent.set(wsi, 0);
        wsi.callbackOnWritable();
        return 0;
      }
      if (reason === Reason.HTTP_WRITEABLE) {
        writeables++;
        // the seed's rule: send one piece per WRITEABLE, ask for the next
        const n = (sent.get(wsi) ?? 0) + 1;
        sent.set(wsi, n);
        wsi.write(CHUNK, n === TOTAL_CHUNKS ? Write.HTTP_FINAL : Write.HTTP);
        if (wsi.sendPipeChoked()) chokedSeen = true;
        if (n < TOTAL_CHUNKS) wsi.callbackOnWritable();
        return 0;
      }
      return callbackHttpDummy(wsi, reason, u, input);
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const s = await openSocket(port);
    s.pause();
    s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(800);
    const whilePaused = writeables;
    await sleep(800);
    // nothing more was generated while the peer read nothing
    assert.equal(writeables, whilePaused);
    assert.ok(chokedSeen, 'the socket was reported choked');
    assert.ok(whilePaused < TOTAL_CHUNKS / 2, `only what the socket could hold was generated (${whilePaused} chunks)`);
    // now read everything
    let got = 0;
    const done = new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= CHUNK.length * TOTAL_CHUNKS) resolve();
      });
    });
    s.resume();
    await Promise.race([done, sleep(20000)]);
    assert.ok(got >= CHUNK.length * TOTAL_CHUNKS, `whole body arrived (${got})`);
    assert.equal(writeables, TOTAL_CHUNKS);
    s.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('user code tolerates an extra WRITEABLE: only requested ones are delivered, each requested one is', async () => {
  let requested = 0;
  let delivered = 0;
  const p: Protocol = {
    name: 'w',
    callback(wsi, reason, u, input) {
      if (reason === Reason.HTTP) {
        // asking several times before the callback comes yields one WRITEABLE
        for (let i = 0; i < 5; i++) wsi.callbackOnWritable();
        requested++;
        return 0;
      }
      if (reason === Reason.HTTP_WRITEABLE) {
        delivered++;
        return wsi.returnHttpStatus(200);
      }
      return callbackHttpDummy(wsi, reason, u, input);
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.deepEqual(parseResponses(r.data).map((x) => x.status), [200, 200]);
    assert.equal(requested, 2);
    assert.equal(delivered, 2);
  } finally {
    await ctx.destroy();
  }
});

test('wsi.setTimeout closes a connection that waits too long; TO_KILL_ASYNC closes at the next check', async () => {
  const closedAt = new Map<string, number>();
  const p: Protocol = {
    name: 't',
    callback(wsi, reason, u, input) {
      if (reason === Reason.HTTP) {
        if (wsi.uri === '/slow') wsi.setTimeout(PendingTimeout.USER_BASE + 1, 1);
        if (wsi.uri === '/kill') wsi.setTimeout(PendingTimeout.USER_BASE + 2, TO_KILL_ASYNC);
        (wsi as { tag?: string }).tag = wsi.uri;
        return 0;
      }
      if (reason === Reason.CLOSED_HTTP) closedAt.set((wsi as { tag?: string }).tag ?? '?', Date.now());
      return callbackHttpDummy(wsi, reason, u, input);
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const t0 = Date.now();
    const [slow, kill] = await Promise.all([
      raw(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 4000 }),
      raw(port, 'GET /kill HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 4000 }),
    ]);
    assert.equal(slow.closed, true);
    assert.equal(kill.closed, true);
    const ts = (closedAt.get('/slow') ?? 0) - t0;
    const tk = (closedAt.get('/kill') ?? 0) - t0;
    assert.ok(ts >= 900 && ts < 2500, `slow closed after ${ts} ms`);
    assert.ok(tk >= 0 && tk < 900, `kill closed after ${tk} ms`);
  } finally {
    await ctx.destroy();
  }
});

test('maxConnections: connections past the limit are closed on accept, others are unaffected', async () => {
  const { ctx, port } = await start({ maxConnections: 2 });
  try {
    const a = await openSocket(port);
    const b = await openSocket(port);
    await sleep(50);
    const c = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 1500 });
    assert.equal(c.closed, true);
    assert.equal(c.text, '');
    const got = new Promise<string>((resolve) => a.once('data', (d) => resolve(d.toString('latin1'))));
    a.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.match(await got, /^HTTP\/1\.1 404 /);
    b.destroy();
    await sleep(100);
    const d = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(d.data)[0].status, 404);
    a.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('writeableAfterRead: a WRITEABLE asked for while a request is read comes right after the read (default), or in the check phase with 0', async () => {
  async function order(info: { writeableAfterRead?: number }): Promise<string[]> {
    const seen: string[] = [];
    const p: Protocol = {
      name: 'http',
      callback(wsi, reason, u, input) {
        if (reason === Reason.HTTP) {
          wsi.callbackOnWritable();
          // A tick queued in the callback runs once the read's handler has returned.
          process.nextTick(() => seen.push('tick'));
          return 0;
        }
        if (reason === Reason.HTTP_WRITEABLE) {
          seen.push('writeable');
          return answer(wsi, 200, 'ok');
        }
        return callbackHttpDummy(wsi, reason, u, input);
      },
    };
    const { ctx, port } = await start({ protocols: [p], ...info });
    try {
      assert.equal(ctx.writeableAfterRead, info.writeableAfterRead ?? 4);
      const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(r.text, /^HTTP\/1\.1 200 [^]*\r\n\r\nok$/);
      return seen;
    } finally {
      await ctx.destroy();
    }
  }
  assert.deepEqual(await order({}), ['writeable', 'tick']);
  assert.deepEqual(await order({ writeableAfterRead: 0 }), ['tick', 'writeable']);
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => createContext({ port: 0, iface: '127.0.0.1', writeableAfterRead: bad }), (e: NodeJS.ErrnoException) => e.code === 'TSLWS_INVALID_OPTION', String(bad));
  }
});
