/**
 * lwsws's global "pubsub" with "cluster": two lwsws processes on a real
 * three-node Redis Cluster; a stroke sent to the mirror of one reaches
 * the members of the same instance on the other, in order, labelled with
 * its node. "sharded" turned off beside "cluster" is refused at its key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWs, waitFor, type Client } from '../helpers/plugin-ws-client.js';
import { confDir, failLwsws, freePort, killChild, removeDir, startLwsws, stopLwsws, vhostFile, type Child } from '../helpers/lwsws.js';
import { startCluster, stopCluster } from './cluster.js';

function conf(pubsub: object, port: number): Record<string, string> {
  return {
    conf: JSON.stringify({ global: { pubsub } }),
    'conf.d/v': vhostFile({ name: 'localhost', port, interface: '127.0.0.1', 'ws-protocols': [{ 'lws-mirror-protocol': { status: 'ok' } }] }),
  };
}

test('lwsws pubsub on a Redis Cluster: the mirror spans two processes, in order', async (t) => {
  const cluster = await startCluster();
  const dirs: string[] = [];
  const clients: Client[] = [];
  const children: Child[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    for (const ch of children) killChild(ch);
    for (const d of dirs) removeDir(d);
    await stopCluster(cluster);
  });
  const ports = [await freePort(), await freePort()];
  for (const [i, node] of ['alpha', 'beta'].entries()) {
    const dir = confDir(conf({ redis: cluster.url, cluster: true, node }, ports[i] as number));
    dirs.push(dir);
    children.push(await startLwsws(['-c', dir], 15000));
  }
  const a = await openWs(`ws://127.0.0.1:${ports[0]}/?mirror=room`, 'lws-mirror-protocol', 5000);
  const b = await openWs(`ws://127.0.0.1:${ports[1]}/?mirror=room`, 'lws-mirror-protocol', 5000);
  clients.push(a, b);
  let delivered = false;
  for (let i = 0; i < 40 && !delivered; i++) {
    a.ws.send(`d #ff0000 ${i} 0 ${i} 10;`);
    delivered = await waitFor(() => b.messages.length > 0, 'a stroke', 250).then(() => true, () => false);
  }
  assert.ok(delivered, `a stroke sent to alpha reaches the member on beta: ${children[1]?.stderr()}`);
  const before = b.messages.length;
  for (let i = 0; i < 10; i++) a.ws.send(`d #00ff00 ${i} 1 ${i} 2;`);
  await waitFor(() => b.messages.length >= before + 10, 'ten strokes on beta', 5000);
  assert.deepEqual(b.texts().slice(before, before + 10), Array.from({ length: 10 }, (_, i) => `n alpha;d #00ff00 ${i} 1 ${i} 2;`));
  for (const ch of children) assert.equal((await stopLwsws(ch, 10000)).code, 0, ch.stderr());
});

test('lwsws pubsub: "sharded" off beside "cluster" is refused at its key', async () => {
  const dir = confDir(conf({ redis: 'redis://127.0.0.1:1', cluster: true, sharded: false }, await freePort()));
  try {
    const r = await failLwsws(['-c', dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"sharded".*cannot be off with "cluster"/);
  } finally {
    removeDir(dir);
  }
});
