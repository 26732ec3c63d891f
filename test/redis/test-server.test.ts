/**
 * lws-test-server --redis: two test servers on one real redis-server, one
 * of them with two service processes (-j 2, each joining Redis itself in
 * place of the IPC bus). A mirror stroke sent to any process reaches the
 * members of the same instance in every other, labelled with its node;
 * SIGTERM still ends each server (the bus closes with the context).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWs, portOf, spawnBin, killChild, waitFor, type Client, type Child } from '../helpers/plugin-ws-client.js';
import { freePort } from '../helpers/lwsws.js';
import { startRedis, stopRedis } from '../helpers/redis.js';

test('lws-test-server --redis: the mirror spans servers and SMP services through Redis', async (t) => {
  const redis = await startRedis();
  const children: Child[] = [];
  const clients: Client[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    for (const ch of children) killChild(ch);
    await stopRedis(redis);
  });
  const [p1, p2] = [await freePort(), await freePort()];
  const fifo = ['--raw-fifo', '/nonexistent/tslws-redis-fifo'];
  const solo = spawnBin('lws-test-server', ['-p', String(p1), '--redis', redis.url, '--redis-node', 'solo', ...fifo]);
  const multi = spawnBin('lws-test-server', ['-p', String(p2), '-j', '2', '--redis', redis.url, '--redis-node', 'multi', ...fifo]);
  children.push(solo, multi);
  assert.equal(await portOf(solo, 10000), p1);
  assert.equal(await portOf(multi, 15000), p2);
  const url = (p: number) => `ws://127.0.0.1:${p}/?mirror=r`;
  const a = await openWs(url(p1), 'lws-mirror-protocol', 5000);
  const m1 = await openWs(url(p2), 'lws-mirror-protocol', 5000);
  const m2 = await openWs(url(p2), 'lws-mirror-protocol', 5000);
  clients.push(a, m1, m2);
  // The subscriptions are made when each instance is: send until the first stroke gets through to both.
  let ok = false;
  for (let i = 0; i < 40 && !ok; i++) {
    a.ws.send(`d #123456 ${i} 0 0 0;`);
    ok = await waitFor(() => m1.messages.length > 0 && m2.messages.length > 0, 'strokes', 250).then(() => true, () => false);
  }
  assert.ok(ok, 'a stroke to solo reaches both members on the -j 2 server');
  assert.match(m1.texts()[0] as string, /^n solo;d #123456 \d+ 0 0 0;$/);
  const before = a.messages.length;
  m1.ws.send('c #abcdef 1 2 3;');
  await waitFor(() => a.messages.length > before && m2.texts().some((x) => x.includes('c #abcdef')), 'a stroke from a service', 5000)
    .catch((e) => { throw new Error(`${(e as Error).message}: a ${JSON.stringify(a.texts())} m1 ${JSON.stringify(m1.texts())} m2 ${JSON.stringify(m2.texts())} ${multi.stdout()} ${multi.stderr()}`); });
  const got = a.texts().slice(before).find((x) => x.includes('c #abcdef')) as string;
  assert.match(got, /^n multi\.[01];c #abcdef 1 2 3;$/);
  assert.equal(m2.texts().filter((x) => x.includes('c #abcdef')).length, 1, 'once, on the other service too');
  for (const c of clients) c.ws.close();
  for (const ch of children) {
    ch.proc.kill('SIGTERM');
    const done = await Promise.race([ch.exited, new Promise<null>((res) => setTimeout(() => res(null), 10000))]);
    assert.ok(done, 'exited after SIGTERM');
    assert.equal(done.code, 0, ch.stderr());
  }
});
