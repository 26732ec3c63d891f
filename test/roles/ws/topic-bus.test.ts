/**
 * A vhost with a topic bus attached (one process, a recording bus): each
 * publish goes to the bus once, with or without local subscribers; what
 * the bus brings reaches local subscribers only and is not sent back; the
 * bus hears first / last subscriber and the topics wanted when attached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  createContext, callbackHttpDummy, ErrorCode, Reason,
  type Protocol, type TopicBus, type TopicBusHandler, type TslwsError,
} from '../../../src/index.js';
import { until } from '../../helpers/ws.js';

class RecordingBus implements TopicBus {
  readonly published: Array<{ v: string; topic: string; text: string; binary: boolean }> = [];
  readonly events: string[] = [];
  readonly handlers = new Map<string, TopicBusHandler>();
  publish(v: string, topic: string, payload: Uint8Array, binary: boolean): void {
    this.published.push({ v, topic, text: Buffer.from(payload).toString(), binary });
  }
  subscribe(v: string, topic: string): void {
    this.events.push(`sub ${v} ${topic}`);
  }
  unsubscribe(v: string, topic: string): void {
    this.events.push(`unsub ${v} ${topic}`);
  }
  onMessage(v: string, h: TopicBusHandler | null): void {
    if (h) this.handlers.set(v, h);
    else this.handlers.delete(v);
  }
}

test('a vhost with a topic bus: publish once to it, deliver what it brings locally only', async (t) => {
  const proto: Protocol = {
    name: 't',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED) for (const x of (wsi.getUrlArgByName('sub') ?? '').split(',')) if (x) wsi.subscribe(x);
      return 0;
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, proto] });
  t.after(() => ctx.destroy());
  await ctx.listening;
  const vh = ctx.vhosts[0];
  const got: string[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${vh.port}/?sub=a`, 't');
  ws.on('message', (d: Buffer, binary: boolean) => got.push(`${binary ? 'b' : 't'}:${d.toString()}`));
  t.after(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  assert.ok(await until(() => vh.subscriberCount('a') === 1, 2000));

  assert.throws(() => vh.attachTopicBus({} as TopicBus), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  const bus = new RecordingBus();
  vh.attachTopicBus(bus);
  assert.equal(vh.topicBus, bus);
  assert.deepEqual(bus.events, [`sub ${vh.name} a`], 'the topics already wanted are subscribed on attach');

  vh.publish('a', 'one');
  vh.publish('nobody-here', Buffer.from('two'));
  assert.deepEqual(bus.published, [
    { v: vh.name, topic: 'a', text: 'one', binary: false },
    { v: vh.name, topic: 'nobody-here', text: 'two', binary: true },
  ], 'each publish once, local subscribers or not');

  // From elsewhere: delivered here, not back to the bus.
  bus.handlers.get(vh.name)!('a', Buffer.from('three'), false);
  bus.handlers.get(vh.name)!('a', Buffer.from([1, 2]), true);
  assert.ok(await until(() => got.length === 3, 2000));
  assert.deepEqual(got, ['t:one', 't:three', 'b:\u0001\u0002']);
  assert.equal(bus.published.length, 2, 'nothing from the bus is published to it again');

  // First and last subscriber of a topic.
  const ws2 = new WebSocket(`ws://127.0.0.1:${vh.port}/?sub=b`, 't');
  await new Promise((r) => ws2.once('open', r));
  assert.ok(await until(() => bus.events.length === 2, 2000));
  ws2.close();
  assert.ok(await until(() => bus.events.length === 3, 2000));
  assert.deepEqual(bus.events.slice(1), [`sub ${vh.name} b`, `unsub ${vh.name} b`]);

  // Detached: its topics unsubscribed, its handler gone, publishes stay here.
  vh.attachTopicBus(null);
  assert.equal(vh.topicBus, null);
  assert.deepEqual(bus.events.slice(3), [`unsub ${vh.name} a`]);
  assert.equal(bus.handlers.size, 0);
  vh.publish('a', 'four');
  assert.equal(bus.published.length, 2);
  assert.ok(await until(() => got.length === 4, 2000));
});
