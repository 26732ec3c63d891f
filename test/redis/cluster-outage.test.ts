/**
 * The Redis topic bus on a real three-node Redis Cluster when the node
 * owning a topic's slot crashes (its data lost) and comes back: the
 * subscriber on another process is told of the gap (the history was
 * begun again: a new epoch) and then gets the messages published after,
 * in order, once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusClient, seq, startBusServer, type BusServer } from './procs.js';
import { clusterOk, ownerOf, restartNode, clusterRig, shardSubscribers } from './cluster.js';

test('cluster: the node of a topic crashes and comes back; the subscriber is told of the gap, then messages flow again', async (t) => {
  const { cluster, servers, clients } = await clusterRig(t);
  const owner = await ownerOf(cluster, 'tslws:{localhost/t}');
  // The seed the processes start from stays up.
  const seed = cluster.ports.find((p) => p !== owner) as number;
  const url = `redis://127.0.0.1:${seed}`;
  servers.push(await startBusServer(url, 'node-a', 100, ['10000', 'cluster']));
  servers.push(await startBusServer(url, 'node-b', 100, ['10000', 'cluster']));
  const [a, b] = servers as [BusServer, BusServer];
  const x = await BusClient.open(b.port);
  const p = await BusClient.open(a.port);
  clients.push(x, p);
  await x.ask('sub t', 'sub');
  assert.equal(await shardSubscribers(owner, 'tslws:{localhost/t}'), 1, `process b's SSUBSCRIBE on node ${owner}: ${b.output()}`);
  await p.ask('pub t 5 m 0', 'published');
  assert.ok(await x.until(() => x.messages.length >= 5), `x has ${x.messages.length}: ${b.output()}`);

  await restartNode(cluster, cluster.ports.indexOf(owner));
  await clusterOk(cluster);
  const end = Date.now() + 15_000;
  let n = 0;
  // Publishes from now on: the first may wait for the bus to see the node back.
  while (!x.messages.some((m) => m.startsWith('n')) && Date.now() < end) {
    await p.ask(`pub t 1 n ${n}`, 'published');
    n++;
    await x.until(() => x.messages.some((m) => m.startsWith('n')), 500);
  }
  assert.ok(x.messages.some((m) => m.startsWith('n')), `nothing after the restart: ${JSON.stringify(x.replies)} ${b.output()} ${a.output()}`);
  // The history went with the node: the subscriber is told (it may first hear that it could not be read).
  assert.ok(await x.until(() => x.gaps().some((g) => g.gap === 'epoch'), 5000), JSON.stringify(x.gaps()));
  for (const g of x.gaps()) assert.ok(['epoch', 'unavailable', 'disconnected'].includes(g.gap as string), JSON.stringify(g));
  await p.ask(`pub t 10 n ${n}`, 'published');
  assert.ok(await x.until(() => x.messages.length >= 5 + n + 10, 8000), `x has ${x.messages.join(',')}`);
  await x.until(() => false, 300);
  // What was published after the restart, in order, once; what was published before, kept.
  const after = x.messages.slice(5);
  assert.deepEqual(x.messages.slice(0, 5), seq('m', 0, 5));
  const first = Number((after[0] as string).slice(1));
  assert.deepEqual(after, seq('n', first, n + 10));
});
