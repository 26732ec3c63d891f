/**
 * Topics with history on the Redis bus, real processes and a real
 * redis-server: a WebSocket client that reconnects (to another process)
 * with the position it kept gets every message it missed exactly once, in
 * order, then the live ones; a subscriber that stays connected while
 * Redis restarts (with its data kept) loses nothing and gets nothing
 * twice; a history lost with Redis (no persistence) is a new epoch, and a
 * resume from the old one is told of the gap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killRedis, restartRedis } from '../helpers/redis.js';
import { BusClient, busRig, seq, startBusServer, type BusServer, type Reply } from './procs.js';

async function connected(c: BusClient, timeoutMs = 8000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const s = (await c.ask('stats', 'stats')).stats as Record<string, unknown>;
    if (s.connected === true && s.buffered === 0) return true;
    await c.until(() => false, 100);
  }
  return false;
}

test('history: a client resumes from its position on another process after Redis restarted, each message once and in order', async (t) => {
  const { redis, servers, clients } = await busRig(t, { persistent: true });
  for (const n of ['a', 'b', 'c']) servers.push(await startBusServer(redis.url, `node-${n}`, 1000));
  const [a, b, c] = servers as [BusServer, BusServer, BusServer];
  const x = await BusClient.open(a.port);
  const y = await BusClient.open(c.port);
  const p = await BusClient.open(b.port);
  clients.push(x, y, p);
  await x.ask('sub t', 'sub');
  await y.ask('sub t', 'sub');
  await x.until(() => false, 200);

  await p.ask('pub t 20 m 0', 'published');
  assert.ok(await x.until(() => x.messages.length >= 20));
  assert.deepEqual(x.messages, seq('m', 0, 20));
  // The position of the last message written to x: the reply leaves after it.
  const pos = (await x.ask('pos t', 'pos')).pos as { epoch: string; offset: string };
  assert.match(pos.offset, /^\d+-\d+$/);
  assert.equal(x.messages.length, 20, 'nothing arrived after the position');
  x.close();

  await p.ask('pub t 20 m 20', 'published');
  assert.ok(await y.until(() => y.messages.length >= 40));
  await killRedis(redis);
  // Redis is down: the publisher's outbox keeps these.
  const down = await p.ask('pub t 10 m 40', 'published');
  assert.equal(down.published, 10);
  assert.equal((down.stats as Record<string, number>).buffered, 10);
  await restartRedis(redis);
  assert.ok(await connected(p), 'the publisher reconnects and empties its outbox');
  await p.ask('pub t 10 m 50', 'published');

  // y stayed subscribed through the restart: caught up, nothing lost, nothing twice.
  assert.ok(await y.until(() => y.messages.length >= 60, 8000), `y has ${y.messages.length}: ${y.messages.join(',')} ${JSON.stringify(y.replies)}`);
  await y.until(() => false, 300);
  assert.deepEqual(y.messages, seq('m', 0, 60));
  assert.deepEqual(y.gaps(), []);

  // x comes back, to another process, with its position.
  const x2 = await BusClient.open(c.port);
  clients.push(x2);
  assert.equal((await x2.ask(`resume t ${pos.epoch} ${pos.offset}`, 'sub')).sub, true);
  assert.ok(await x2.until(() => x2.messages.length >= 40, 8000), `x2 has ${x2.messages.length}`);
  await p.ask('pub t 5 m 60', 'published');
  assert.ok(await x2.until(() => x2.messages.length >= 45));
  await x2.until(() => false, 300);
  assert.deepEqual(x2.messages, seq('m', 20, 65));
  assert.deepEqual(x2.gaps(), []);
  const last = (await x2.ask('pos t', 'pos')).pos as { epoch: string; offset: string };
  assert.equal(last.epoch, pos.epoch, 'the history kept its epoch across the restart');
});

test('history lost with Redis (no persistence): a new epoch; the subscriber and a resume from the old position are told of the gap', async (t) => {
  const { redis, servers, clients } = await busRig(t);
  servers.push(await startBusServer(redis.url, 'node-a', 100), await startBusServer(redis.url, 'node-b', 100));
  const [a, b] = servers as [BusServer, BusServer];
  const x = await BusClient.open(a.port);
  const y = await BusClient.open(a.port);
  const p = await BusClient.open(b.port);
  clients.push(x, y, p);
  await x.ask('sub t', 'sub');
  await y.ask('sub t', 'sub');
  await x.until(() => false, 200);
  await p.ask('pub t 5 m 0', 'published');
  assert.ok(await x.until(() => x.messages.length >= 5));
  const pos = (await x.ask('pos t', 'pos')).pos as { epoch: string; offset: string };
  x.close();

  await restartRedis(redis);
  assert.ok(await connected(p));
  assert.ok(await y.until(() => y.gaps().length > 0, 8000), 'the subscriber that stayed is told');
  assert.deepEqual(y.gaps().map((g: Reply) => g.gap), ['epoch']);
  await p.ask('pub t 5 n 0', 'published');
  assert.ok(await y.until(() => y.messages.length >= 10, 8000));
  assert.deepEqual(y.messages, [...seq('m', 0, 5), ...seq('n', 0, 5)]);

  const x2 = await BusClient.open(a.port);
  clients.push(x2);
  await x2.ask(`resume t ${pos.epoch} ${pos.offset}`, 'sub');
  assert.ok(await x2.until(() => x2.gaps().length > 0 && x2.messages.length >= 5, 8000));
  const g = x2.gaps()[0] as Reply;
  assert.equal(g.gap, 'epoch');
  assert.deepEqual(g.since, pos);
  // What the new epoch holds follows the gap.
  assert.deepEqual(x2.messages, seq('n', 0, 5));
  const now = (await x2.ask('pos t', 'pos')).pos as { epoch: string };
  assert.notEqual(now.epoch, pos.epoch);
});

test('a resume from a position trimmed out of the history is told so, and gets what is left', async (t) => {
  const { redis, servers, clients } = await busRig(t);
  // MAXLEN ~ 10: Redis trims whole nodes of the stream (100 entries each by default), so publish well past that.
  servers.push(await startBusServer(redis.url, 'node-a', 10));
  const [a] = servers as [BusServer];
  const x = await BusClient.open(a.port);
  clients.push(x);
  await x.ask('sub t', 'sub');
  await x.until(() => false, 200);
  await x.ask('pub t 3 m 0', 'published');
  assert.ok(await x.until(() => x.messages.length >= 3));
  const pos = (await x.ask('pos t', 'pos')).pos as { epoch: string; offset: string };
  x.close();
  const p = await BusClient.open(a.port);
  clients.push(p);
  await p.ask('pub t 300 m 3', 'published');
  assert.ok(await connected(p));
  const x2 = await BusClient.open(a.port);
  clients.push(x2);
  await x2.ask(`resume t ${pos.epoch} ${pos.offset}`, 'sub');
  assert.ok(await x2.until(() => x2.gaps().length > 0, 8000));
  assert.equal(x2.gaps()[0]?.gap, 'trimmed');
  assert.ok(await x2.until(() => x2.messages.length > 0));
  await x2.until(() => false, 300);
  // What is left is the tail of the history, in order, ending with the last message.
  const first = Number((x2.messages[0] as string).slice(1));
  assert.ok(first > 3, `the first message left is m${first}`);
  assert.deepEqual(x2.messages, seq('m', first, 303));
});
