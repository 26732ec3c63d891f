/**
 * Redis unreachable: publishes wait in the bus's outbox up to its bound,
 * then are refused with TSLWS_TOPIC_BUS_FULL (and delivered nowhere);
 * local subscribers keep getting local publishes all along; once Redis is
 * back the outbox is sent. A missing `redis` package is a clear
 * error with its code; bad options are refused with theirs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type TslwsError } from '../../src/index.js';
import { createRedisTopicBus } from '../../src/redis/index.js';
import { killRedis, restartRedis } from '../helpers/redis.js';
import { BusClient, busRig, seq, startBusServer, type BusServer } from './procs.js';

test('Redis down: publishes buffered within the bound, then refused; local subscribers served; the outbox is sent when Redis is back', async (t) => {
  const { redis, servers, clients } = await busRig(t);
  // Process a buffers at most 20 publishes.
  servers.push(await startBusServer(redis.url, 'node-a', 0, ['20']));
  const [a] = servers as [BusServer];
  const local = await BusClient.open(a.port);
  const p = await BusClient.open(a.port);
  clients.push(local, p);
  await local.ask('sub t', 'sub');
  await local.until(() => false, 200);

  await killRedis(redis);
  const first = await p.ask('pub t 15 m 0', 'published');
  assert.equal(first.published, 15);
  assert.equal(first.refused, null);
  assert.equal((first.stats as Record<string, number>).buffered, 15);
  const second = await p.ask('pub t 10 m 15', 'published');
  // 5 more fit; the 21st is refused with the code, and is delivered nowhere.
  assert.equal(second.published, 5);
  assert.equal(second.refused, ErrorCode.TOPIC_BUS_FULL);
  const st = second.stats as Record<string, number>;
  assert.equal(st.buffered, 20);
  assert.equal(st.dropped, 1);
  assert.equal(st.connected, false);
  // The local subscriber got every accepted publish at once, Redis or not.
  assert.ok(await local.until(() => local.messages.length >= 20));
  await local.until(() => false, 200);
  assert.deepEqual(local.messages, seq('m', 0, 20));

  // A process subscribed through Redis sees the outbox arrive in order once Redis is back.
  await restartRedis(redis);
  servers.push(await startBusServer(redis.url, 'node-b'));
  const remote = await BusClient.open((servers[1] as BusServer).port);
  clients.push(remote);
  // The outbox may already be sent (to nobody) by the time b subscribes: watch for the flush instead.
  let stats: Record<string, number> = {};
  for (let i = 0; i < 80; i++) {
    stats = (await p.ask('stats', 'stats')).stats as Record<string, number>;
    if (stats.buffered === 0) break;
    await p.until(() => false, 100);
  }
  assert.equal(stats.buffered, 0);
  assert.equal(stats.sent, 20);
  assert.ok(stats.reconnects >= 1);
  await remote.ask('sub t', 'sub');
  await remote.until(() => false, 200);
  await p.ask('pub t 3 n 0', 'published');
  assert.ok(await remote.until(() => remote.messages.length >= 3));
  assert.deepEqual(remote.messages, seq('n', 0, 3));
  assert.deepEqual(local.messages.slice(20), seq('n', 0, 3), 'and local delivery goes on, once each');
});

test('the redis package missing: TSLWS_REDIS_CLIENT_MISSING says how to install it', async () => {
  const missing = () => import('redis-package-that-is-not-installed' as string) as never;
  await assert.rejects(createRedisTopicBus({ url: 'redis://127.0.0.1:1', loader: missing }), (e: TslwsError) => {
    assert.equal(e.code, ErrorCode.REDIS_CLIENT_MISSING);
    assert.match(e.message, /optional 'redis' package .*npm install redis/);
    return true;
  });
  // A module that is not node-redis.
  await assert.rejects(createRedisTopicBus({ url: 'redis://127.0.0.1:1', loader: async () => ({}) as never }), (e: TslwsError) => {
    assert.equal(e.code, ErrorCode.REDIS_CLIENT_MISSING);
    assert.match(e.message, /has no createClient/);
    return true;
  });
});

test('bad options are refused with their code, before anything connects', async () => {
  const bad = async (o: object, code: string, says: RegExp): Promise<void> => {
    await assert.rejects(createRedisTopicBus(o as never), (e: TslwsError) => e.code === code && says.test(e.message));
  };
  await bad({ url: 'http://x' }, ErrorCode.INVALID_OPTION, /url must be redis:\/\/host:port/);
  await bad({ url: 'redis://h:1', nope: 1 }, ErrorCode.UNKNOWN_OPTION, /unknown option nope/);
  await bad({ url: 'redis://h:1', node: 'has space' }, ErrorCode.INVALID_OPTION, /node must be/);
  await bad({ url: 'redis://h:1', history: -1 }, ErrorCode.INVALID_OPTION, /history must be an integer/);
  await bad({ url: 'redis://h:1', maxBufferedMessages: 0 }, ErrorCode.INVALID_OPTION, /maxBufferedMessages/);
  await bad({ url: 'redis://h:1', reconnectMinMs: 500, reconnectMaxMs: 100 }, ErrorCode.INVALID_OPTION, /reconnectMaxMs \(100\) is below/);
  await bad({ url: 'redis://h:1', prefix: 'a{b' }, ErrorCode.INVALID_OPTION, /prefix/);
});
