/**
 * lwsws's global "pubsub": two lwsws processes on one real redis-server.
 * A stroke sent to the mirror of one reaches the members of the same
 * instance on the other, labelled with the node it came from; members of
 * the first get it too, once; another instance name stays apart. A bad
 * pubsub section is refused at its key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWs, waitFor, type Client } from '../helpers/plugin-ws-client.js';
import { confDir, failLwsws, freePort, killChild, removeDir, startLwsws, stopLwsws, vhostFile, type Child } from '../helpers/lwsws.js';
import { startRedis, stopRedis } from '../helpers/redis.js';

function conf(url: string, node: string, port: number): Record<string, string> {
  return {
    conf: JSON.stringify({ global: { pubsub: { redis: url, node } } }),
    'conf.d/v': vhostFile({ name: 'localhost', port, interface: '127.0.0.1', 'ws-protocols': [{ 'lws-mirror-protocol': { status: 'ok' } }] }),
  };
}

test('lwsws pubsub: the mirror spans two processes over Redis, each stroke labelled with its node', async (t) => {
  const redis = await startRedis();
  const dirs: string[] = [];
  const clients: Client[] = [];
  const ports = [await freePort(), await freePort()];
  const children: Child[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    for (const ch of children) killChild(ch);
    for (const d of dirs) removeDir(d);
    await stopRedis(redis);
  });
  for (const [i, node] of ['alpha', 'beta'].entries()) {
    const dir = confDir(conf(redis.url, node, ports[i] as number));
    dirs.push(dir);
    children.push(await startLwsws(['-c', dir], 15000));
  }
  const a = await openWs(`ws://127.0.0.1:${ports[0]}/?mirror=room`, 'lws-mirror-protocol', 5000);
  const b = await openWs(`ws://127.0.0.1:${ports[1]}/?mirror=room`, 'lws-mirror-protocol', 5000);
  const other = await openWs(`ws://127.0.0.1:${ports[1]}/?mirror=elsewhere`, 'lws-mirror-protocol', 5000);
  clients.push(a, b, other);
  // Each process subscribes its instance's topic when the instance is made; give the subscriptions a moment.
  let delivered = false;
  for (let i = 0; i < 40 && !delivered; i++) {
    a.ws.send(`d #ff0000 ${i} 0 ${i} 10;`);
    delivered = await waitFor(() => b.messages.length > 0, 'a stroke', 250).then(() => true, () => false);
  }
  assert.ok(delivered, 'a stroke sent to alpha reaches the member on beta');
  const first = b.texts()[0] as string;
  assert.match(first, /^n alpha;d #ff0000 (\d+) 0 \1 10;$/);
  // Now in order: ten strokes from alpha, then ten from beta.
  const before = b.messages.length;
  for (let i = 0; i < 10; i++) a.ws.send(`d #00ff00 ${i} 1 ${i} 2;`);
  await waitFor(() => b.messages.length >= before + 10, 'ten strokes on beta', 5000);
  assert.deepEqual(b.texts().slice(before, before + 10), Array.from({ length: 10 }, (_, i) => `n alpha;d #00ff00 ${i} 1 ${i} 2;`));
  for (let i = 0; i < 10; i++) b.ws.send(`c #0000ff ${i} 5 3;`);
  const want = Array.from({ length: 10 }, (_, i) => `n beta;c #0000ff ${i} 5 3;`);
  await waitFor(() => a.texts().filter((x) => x.startsWith('n beta;')).length >= 10, 'ten strokes on alpha', 5000);
  assert.deepEqual(a.texts().filter((x) => x.startsWith('n beta;')), want);
  // The sender's own process mirrors each once.
  await waitFor(() => b.texts().filter((x) => x.startsWith('n beta;')).length >= 10, 'beta mirrors its own', 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(b.texts().filter((x) => x.startsWith('n beta;')), want);
  assert.equal(other.messages.length, 0, 'another instance name hears nothing');
  for (const ch of children) assert.equal((await stopLwsws(ch, 10000)).code, 0, ch.stderr());
});

test('lwsws pubsub: a bad section is refused at its key', async () => {
  const port = await freePort();
  for (const [pubsub, says] of [
    [{ redis: 'http://x' }, /"redis".*is redis:\/\/host:port/],
    [{ history: '5' }, /"pubsub".*needs "redis"/],
    [{ redis: 'redis://127.0.0.1:1', node: 'a b' }, /"node".*letters, digits/],
    [{ redis: 'redis://127.0.0.1:1', nope: '1' }, /nope/],
  ] as const) {
    const dir = confDir({
      conf: JSON.stringify({ global: { pubsub } }),
      'conf.d/v': vhostFile({ name: 'v', port, interface: '127.0.0.1' }),
    });
    try {
      const r = await failLwsws(['-c', dir]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, says);
    } finally {
      removeDir(dir);
    }
  }
});
