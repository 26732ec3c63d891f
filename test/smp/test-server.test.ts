/**
 * lws-test-server -j N: the test server served by N service processes, as
 * lws's test-server-pthreads serves from N threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWs, portOf, spawnBin, killChild, waitFor } from '../helpers/plugin-ws-client.js';
import { freePort, httpGet } from '../helpers/lwsws.js';

test('lws-test-server -j 2: two services answer, the primary announces once, SIGTERM exits', async () => {
  const port = await freePort();
  const child = spawnBin('lws-test-server', ['-p', String(port), '-j', '2', '--raw-fifo', '/nonexistent/tslws-smp-fifo']);
  try {
    assert.equal(await portOf(child, 10000), port);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(child.stdout().match(/serving /g)?.length, 1, child.stdout());
    const r = await httpGet(port, '/');
    assert.equal(r.status, 200);
    const seen = new Set<string>();
    const open = [];
    for (let i = 0; i < 4; i++) {
      const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status', 5000);
      open.push(c);
      await waitFor(() => c.messages.length > 0, 'the status JSON', 5000);
      const ctx = (JSON.parse(c.texts()[0]) as { i: { contexts: Array<{ tsi: string; count_threads: string }> } }).i.contexts[0];
      assert.equal(ctx.count_threads, '2');
      seen.add(ctx.tsi);
    }
    assert.deepEqual([...seen].sort(), ['0', '1']);
    for (const c of open) c.ws.close();
    child.proc.kill('SIGTERM');
    const done = await Promise.race([child.exited, new Promise<null>((res) => setTimeout(() => res(null), 10000))]);
    assert.ok(done, 'exited after SIGTERM');
    assert.equal(done.code, 0, child.stderr());
  } finally {
    killChild(child);
  }
});

test('lws-test-server -j refuses counts outside 1..32', async () => {
  for (const j of ['0', '33', 'x']) {
    const child = spawnBin('lws-test-server', ['-p', '0', '-j', j]);
    const r = await Promise.race([child.exited, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
    killChild(child);
    assert.ok(r, `-j ${j} exits at once`);
    assert.equal(r.code, 1);
    assert.match(child.stderr(), /-j needs a whole number of service processes from 1 to 32/);
  }
});

test('lws-test-echo -j 2: two services echo, the primary announces once; bad counts are refused', async () => {
  const port = await freePort();
  const child = spawnBin('lws-test-echo', ['-i', '127.0.0.1', '-p', String(port), '-j', '2']);
  try {
    await waitFor(() => /echoing protocol "lws-echo" on/.test(child.stdout()), 'the banner', 10000);
    await waitFor(() => (child.stderr().match(/service \d of 2 serving/g)?.length ?? 0) === 2, 'both services', 10000);
    assert.equal(child.stdout().match(/echoing /g)?.length, 1, child.stdout());
    const open = [];
    for (let i = 0; i < 4; i++) {
      const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo', 5000);
      open.push(c);
      c.ws.send(`hello ${i}`);
      await waitFor(() => c.messages.length > 0, 'the echo', 5000);
      assert.deepEqual(c.texts(), [`hello ${i}`]);
    }
    for (const c of open) c.ws.close();
  } finally {
    killChild(child);
  }
  for (const j of ['0', '33', 'x']) {
    const bad = spawnBin('lws-test-echo', ['-p', '0', '-j', j]);
    const r = await Promise.race([bad.exited, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
    killChild(bad);
    assert.ok(r, `-j ${j} exits at once`);
    assert.equal(r.code, 1);
    assert.match(bad.stderr(), /bad --count-threads/);
  }
});
