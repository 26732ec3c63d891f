/**
 * The Redis topic bus across three server processes and a real
 * redis-server: a publish made in one reaches the WebSocket subscribers
 * of the others, in order, once; each process subscribes once per topic
 * however many local subscribers it has; its own publishes are not
 * delivered back to it twice. Restarting Redis without history tells the
 * subscribers a gap may have occurred, and the flow then goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisCommand, restartRedis } from '../helpers/redis.js';
import { BusClient, busRig, seq, startBusServer, type BusServer } from './procs.js';

/** How many processes subscribe to a channel, as Redis counts them. */
async function numsub(port: number, channel: string, sharded = false): Promise<number> {
  const r = await redisCommand(port, `PUBSUB ${sharded ? 'SHARDNUMSUB' : 'NUMSUB'} ${channel}`);
  const m = /:(\d+)\r\n$/.exec(r);
  return m ? Number(m[1]) : -1;
}

const CHANNEL = 'tslws:{localhost/news}';

test('three processes: a publish in one reaches the subscribers of the others in order, one Redis subscription per process', async (t) => {
  const { redis, servers, clients } = await busRig(t);
  for (const n of ['a', 'b', 'c']) servers.push(await startBusServer(redis.url, `node-${n}`));
  const [a, b, c] = servers as [BusServer, BusServer, BusServer];
  const a1 = await BusClient.open(a.port);
  const a2 = await BusClient.open(a.port);
  const b1 = await BusClient.open(b.port);
  const c1 = await BusClient.open(c.port);
  clients.push(a1, a2, b1, c1);
  for (const cl of clients) assert.equal((await cl.ask('sub news', 'sub')).sub, true);
  assert.ok(await b1.until(() => false, 300) === false);
  // Two subscribers in process a, one in each of the others: three channel subscriptions.
  assert.equal(await numsub(redis.port, CHANNEL), 3);

  const pub = await b1.ask('pub news 50 m', 'published');
  assert.equal(pub.published, 50);
  const want = seq('m', 0, 50);
  for (const cl of [a1, a2, c1]) {
    assert.ok(await cl.until(() => cl.messages.length >= 50), `got ${cl.messages.length}`);
  }
  // The publisher's own subscriber got each once, locally, and no echo from Redis.
  assert.ok(await b1.until(() => b1.messages.length >= 50));
  await b1.until(() => false, 200);
  for (const cl of [a1, a2, b1, c1]) assert.deepEqual(cl.messages, want);

  // A second publisher interleaving: per-origin order holds for both.
  await Promise.all([a1.ask('pub news 20 x', 'published'), c1.ask('pub news 20 y', 'published')]);
  assert.ok(await b1.until(() => b1.messages.length >= 90));
  const rest = b1.messages.slice(50);
  assert.deepEqual(rest.filter((m) => m.startsWith('x')), seq('x', 0, 20));
  assert.deepEqual(rest.filter((m) => m.startsWith('y')), seq('y', 0, 20));

  const stats = (await b1.ask('stats', 'stats')).stats as Record<string, number>;
  assert.equal(stats.sent, 50);
  assert.equal(stats.received, 40);
  assert.equal(stats.dropped, 0);

  // The last subscriber of a process leaving drops its subscription.
  c1.close();
  assert.ok(await a1.until(() => false, 300) === false);
  assert.equal(await numsub(redis.port, CHANNEL), 2);
});

test('Redis restarted without history: subscribers are told a gap may have occurred, then messages flow again', async (t) => {
  const { redis, servers, clients } = await busRig(t);
  servers.push(await startBusServer(redis.url, 'node-a'), await startBusServer(redis.url, 'node-b'));
  const [a, b] = servers as [BusServer, BusServer];
  const sub = await BusClient.open(a.port);
  const pub = await BusClient.open(b.port);
  clients.push(sub, pub);
  await sub.ask('sub news', 'sub');
  await sub.until(() => false, 200);
  await pub.ask('pub news 10 m', 'published');
  assert.ok(await sub.until(() => sub.messages.length >= 10));

  await restartRedis(redis);
  assert.ok(await sub.until(() => sub.gaps().length > 0, 8000), 'a gap is reported after the reconnect');
  assert.deepEqual(sub.gaps().map((g) => [g.gap, g.topic, g.since]), [['disconnected', 'news', null]]);
  // Both processes are back (publisher's commands, subscriber's subscription): new messages arrive.
  const after = async (): Promise<boolean> => {
    await pub.ask('pub news 1 n', 'published');
    return sub.until(() => sub.messages.some((m) => m.startsWith('n')), 500);
  };
  let ok = false;
  for (let i = 0; i < 20 && !ok; i++) ok = await after();
  assert.ok(ok, 'messages flow again after the restart');
  const stats = (await sub.ask('stats', 'stats')).stats as Record<string, number>;
  assert.ok(stats.reconnects >= 1, `reconnects ${stats.reconnects}`);
});

test('sharded: SPUBLISH / SSUBSCRIBE carry the messages (one shard subscription per process, none unsharded)', async (t) => {
  const { redis, servers, clients } = await busRig(t);
  servers.push(await startBusServer(redis.url, 'node-a', 0, ['10000', 'sharded']), await startBusServer(redis.url, 'node-b', 0, ['10000', 'sharded']));
  const [a, b] = servers as [BusServer, BusServer];
  const sub = await BusClient.open(a.port);
  const sub2 = await BusClient.open(a.port);
  const pub = await BusClient.open(b.port);
  clients.push(sub, sub2, pub);
  await sub.ask('sub news', 'sub');
  await sub2.ask('sub news', 'sub');
  await sub.until(() => false, 200);
  assert.equal(await numsub(redis.port, CHANNEL, true), 1);
  assert.equal(await numsub(redis.port, CHANNEL, false), 0);
  await pub.ask('pub news 10 s', 'published');
  assert.ok(await sub.until(() => sub.messages.length >= 10));
  assert.deepEqual(sub.messages, seq('s', 0, 10));
});
