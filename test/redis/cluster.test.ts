/**
 * The Redis topic bus on a real three-node Redis Cluster (`cluster: true`):
 * two server processes, topics whose slots belong to different nodes; a
 * publish in one process reaches the other's WebSocket subscriber in
 * order, each topic subscribed (SSUBSCRIBE) and its history kept on the
 * node owning its slot; a client resumes from its position on the other
 * process and gets what it missed, once, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type TslwsError } from '../../src/index.js';
import { createRedisTopicBus } from '../../src/redis/index.js';
import { BusClient, seq, startBusServer, type BusServer } from './procs.js';
import { cli, ownerOf, clusterRig, shardSubscribers } from './cluster.js';

const channel = (topic: string): string => `tslws:{localhost/${topic}}`;

test('cluster: publishes reach the other process in order for topics on different nodes, and a client resumes from its position', async (t) => {
  const { cluster, servers, clients } = await clusterRig(t);
  // Three topics on as many different nodes as the first twenty names give.
  const byNode = new Map<number, string>();
  for (let i = 0; i < 20 && byNode.size < 3; i++) {
    const owner = await ownerOf(cluster, channel(`t${i}`));
    if (!byNode.has(owner)) byNode.set(owner, `t${i}`);
  }
  assert.ok(byNode.size >= 2, `the topics' slots belong to ${byNode.size} node(s)`);
  const topics = [...byNode.values()];

  servers.push(await startBusServer(cluster.url, 'node-a', 100, ['10000', 'cluster']));
  servers.push(await startBusServer(cluster.url, 'node-b', 100, ['10000', 'cluster']));
  const [a, b] = servers as [BusServer, BusServer];
  const x = await BusClient.open(b.port);
  const p = await BusClient.open(a.port);
  clients.push(x, p);
  for (const tp of topics) assert.equal((await x.ask(`sub ${tp}`, 'sub')).sub, true);
  const stats = (await p.ask('stats', 'stats')).stats as Record<string, unknown>;
  assert.equal(stats.connected, true, `process a is connected to the cluster: ${a.output()}`);

  // Each subscription is a sharded one on the node owning the topic's slot.
  for (const [port, tp] of byNode) {
    const n = await shardSubscribers(port, channel(tp));
    assert.equal(n, 1, `node ${port} has process b's SSUBSCRIBE to ${channel(tp)}: ${b.output()}`);
  }

  // Interleaved publishes on every topic: each topic's messages arrive in order.
  for (let round = 0; round < 3; round++) {
    for (const tp of topics) await p.ask(`pub ${tp} 10 ${tp}- ${round * 10}`, 'published');
  }
  const total = 30 * topics.length;
  assert.ok(await x.until(() => x.messages.length >= total, 8000), `x has ${x.messages.length} of ${total}: ${b.output()}`);
  await x.until(() => false, 300);
  for (const tp of topics) assert.deepEqual(x.messages.filter((m) => m.startsWith(`${tp}-`)), seq(`${tp}-`, 0, 30));
  assert.equal(x.messages.length, total, 'nothing twice');
  assert.deepEqual(x.gaps(), []);

  // The history of each topic is a stream on its slot's node.
  for (const [port, tp] of byNode) {
    assert.equal((await cli(['-p', String(port), 'XLEN', `${channel(tp)}:history`])).trim(), '30');
  }

  // x leaves with its position on the last topic; 10 more are published; it comes back to process a.
  const tp = topics[topics.length - 1] as string;
  const pos = (await x.ask(`pos ${tp}`, 'pos')).pos as { epoch: string; offset: string };
  assert.match(pos.offset, /^\d+-\d+$/);
  x.close();
  await p.ask(`pub ${tp} 10 ${tp}- 30`, 'published');
  const x2 = await BusClient.open(a.port);
  clients.push(x2);
  assert.equal((await x2.ask(`resume ${tp} ${pos.epoch} ${pos.offset}`, 'sub')).sub, true);
  assert.ok(await x2.until(() => x2.messages.length >= 10, 8000), `x2 has ${x2.messages.length}`);
  // Then live ones, published from process b.
  const q = await BusClient.open(b.port);
  clients.push(q);
  await q.ask(`pub ${tp} 5 ${tp}- 40`, 'published');
  assert.ok(await x2.until(() => x2.messages.length >= 15, 8000), `x2 has ${x2.messages.length}`);
  await x2.until(() => false, 300);
  assert.deepEqual(x2.messages, seq(`${tp}-`, 30, 45));
  assert.deepEqual(x2.gaps(), []);
});

test('cluster options are checked: a bad seed, sharded false, a client without createCluster', async () => {
  const bad = async (o: object, code: string, says: RegExp): Promise<void> => {
    await assert.rejects(createRedisTopicBus(o as never), (e: TslwsError) => e.code === code && says.test(e.message));
  };
  await bad({ url: 'redis://h:1', cluster: 'yes' }, ErrorCode.INVALID_OPTION, /cluster must be true or a list/);
  await bad({ url: 'redis://h:1', cluster: ['http://h:2'] }, ErrorCode.INVALID_OPTION, /each cluster seed must be redis:\/\/host:port/);
  await bad({ url: 'redis://h:1', cluster: true, sharded: false }, ErrorCode.INVALID_OPTION, /needs sharded pub\/sub/);
  const { createClient } = await import('redis');
  await bad({ url: 'redis://h:1', cluster: true, loader: async () => ({ createClient }) as never }, ErrorCode.REDIS_CLIENT_MISSING, /no createCluster/);
});
