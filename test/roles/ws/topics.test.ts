/**
 * Topics on a vhost, over real sockets with `ws` clients: who gets a
 * publish, the order against a connection's own writes, one frame (and
 * one compression) per publish, the bounded queue and its policies with a
 * reader that does not read, first / last subscriber, errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  createContext, callbackHttpDummy, Reason, Write, ErrorCode,
  type ContextCreationInfo, type Context, type Protocol, type Wsi, type Vhost, type TslwsError,
  type TopicDropReport, type TopicSubscribersChange,
} from '../../../src/index.js';
import { until } from '../../helpers/ws.js';
import { wsOf } from '../../../src/roles/ws/wsi-api.js';

type Hook = (wsi: Wsi, reason: Reason, input: unknown) => number | void;

interface Server {
  ctx: Context;
  vhost: Vhost;
  port: number;
  /** Server connections, in the order they were established. */
  conns: Wsi[];
  changes: TopicSubscribersChange[];
  drops: { wsi: Wsi; report: TopicDropReport }[];
  httpErrors: unknown[];
}

/**
 * A server whose connections subscribe in ESTABLISHED to the topics in
 * `?sub=a,b`; `hook` sees every other callback of the WebSocket protocol.
 */
async function server(info: Partial<ContextCreationInfo> = {}, hook?: Hook): Promise<Server> {
  const s = { conns: [], changes: [], drops: [], httpErrors: [] } as unknown as Server;
  const http: Protocol = {
    name: 'http',
    callback(wsi, reason, user, input) {
      if (reason === Reason.TOPIC_SUBSCRIBERS) s.changes.push(input);
      if (reason === Reason.HTTP) {
        // Topics are for WebSockets only.
        try {
          wsi.subscribe('x');
        } catch (e) {
          s.httpErrors.push(e);
        }
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const proto: Protocol = {
    name: 'topics',
    callback(wsi, reason, _user, input) {
      if (reason === Reason.ESTABLISHED) {
        s.conns.push(wsi);
        for (const t of (wsi.getUrlArgByName('sub') ?? '').split(',')) if (t) wsi.subscribe(t);
      }
      if (reason === Reason.TOPIC_DROPPED) s.drops.push({ wsi, report: input });
      return hook?.(wsi, reason, input);
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [http, proto], pvo: { topics: { default: '1' } }, ...info });
  await ctx.listening;
  s.ctx = ctx;
  s.vhost = ctx.vhosts[0];
  s.port = s.vhost.port as number;
  return s;
}

interface Client {
  ws: WebSocket;
  got: { data: string; binary: boolean }[];
  closed: Promise<{ code: number; reason: string }>;
}

async function client(port: number, sub: string, opts: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?sub=${sub}`, opts);
  const got: Client['got'] = [];
  ws.on('message', (d: Buffer, binary: boolean) => got.push({ data: d.toString(), binary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, got, closed };
}

async function received(c: Client, n: number, what = 'messages'): Promise<string[]> {
  assert.ok(await until(() => c.got.length >= n, 5000), `${what}: ${c.got.length} of ${n} arrived`);
  return c.got.map((m) => m.data);
}

test('subscribers leaving from the middle of a topic: the rest, and a newcomer, still get every publish', async () => {
  const s = await server();
  try {
    const subs = await Promise.all([0, 1, 2, 3, 4].map(() => client(s.port, 'news')));
    assert.equal(s.vhost.subscriberCount('news'), 5);
    subs[1].ws.close();
    subs[3].ws.close();
    await Promise.all([subs[1].closed, subs[3].closed]);
    assert.ok(await until(() => s.vhost.subscriberCount('news') === 3, 5000));
    assert.equal(s.vhost.publish('news', 'one').subscribers, 3);
    for (const i of [0, 2, 4]) assert.deepEqual(await received(subs[i], 1), ['one']);
    const late = await client(s.port, 'news');
    assert.equal(s.vhost.subscriberCount('news'), 4);
    subs[0].ws.close();
    await subs[0].closed;
    assert.ok(await until(() => s.vhost.subscriberCount('news') === 3, 5000));
    assert.equal(s.vhost.publish('news', 'two').subscribers, 3);
    for (const c of [subs[2], subs[4]]) assert.deepEqual(await received(c, 2), ['one', 'two']);
    assert.deepEqual(await received(late, 1), ['two']);
    for (const i of [1, 3]) assert.deepEqual(subs[i].got, [], 'nothing after leaving');
    for (const c of [subs[2], subs[4], late]) c.ws.close();
    assert.ok(await until(() => s.vhost.subscriberCount('news') === 0, 5000));
    assert.deepEqual(s.vhost.topicNames(), []);
  } finally {
    await s.ctx.destroy();
  }
});

test('every subscriber gets a publish, others nothing; text and binary kept apart; counts from publish', async () => {
  const s = await server();
  try {
    const subs = await Promise.all([0, 1, 2, 3, 4].map(() => client(s.port, 'news')));
    const other = await client(s.port, 'sport');
    assert.equal(s.vhost.subscriberCount('news'), 5);
    assert.deepEqual(s.vhost.topicNames().sort(), ['news', 'sport']);
    let r = s.vhost.publish('news', 'hello');
    assert.deepEqual(r, { subscribers: 5, queued: 5, overBound: 0, dropped: 0, closed: 0 });
    r = s.vhost.publish('news', Buffer.from([1, 2, 3]));
    assert.equal(r.queued, 5);
    s.vhost.publish('news', Buffer.from('as text'), { binary: false });
    assert.deepEqual(s.vhost.publish('nobody', 'x'), { subscribers: 0, queued: 0, overBound: 0, dropped: 0, closed: 0 });
    for (const c of subs) {
      await received(c, 3);
      assert.deepEqual(c.got, [
        { data: 'hello', binary: false },
        { data: '\u0001\u0002\u0003', binary: true },
        { data: 'as text', binary: false },
      ]);
    }
    s.vhost.publish('sport', 'goal');
    assert.deepEqual(await received(other, 1), ['goal']);
    const st = s.vhost.topicStats();
    // One frame per publish that had subscribers, whatever their number.
    assert.equal(st.framesBuilt, 4);
    assert.equal(st.publishes, 4);
    assert.equal(st.queued, 16);
    for (const c of [...subs, other]) c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

test('exceptWsi and wsi.publish skip the sender', async () => {
  const s = await server({}, (wsi, reason, input) => {
    if (reason === Reason.RECEIVE) {
      const text = (input as Buffer).toString();
      if (text === 'marker') s.vhost.publish('chat', 'marker');
      else wsi.publish('chat', text);
    }
  });
  try {
    const [a, b, c] = await Promise.all([client(s.port, 'chat'), client(s.port, 'chat'), client(s.port, 'chat')]);
    a.ws.send('from a');
    assert.deepEqual(await received(b, 1), ['from a']);
    assert.deepEqual(await received(c, 1), ['from a']);
    const r = s.vhost.publish('chat', 'not to b', { exceptWsi: s.conns[1] });
    assert.equal(r.subscribers, 2);
    a.ws.send('marker');
    // The marker reaches everyone: what a received before it is all a got.
    assert.deepEqual(await received(a, 2), ['not to b', 'marker']);
    assert.deepEqual(await received(b, 2), ['from a', 'marker']);
    assert.deepEqual(await received(c, 3), ['from a', 'not to b', 'marker']);
    for (const x of [a, b, c]) x.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

/**
 * In RECEIVE "go": publish p0 and ask for WRITEABLE; there, own writes and
 * publishes alternate, one publish lands inside a fragmented message of
 * the connection's own, and the last comes after the last write.
 */
function orderingHook(big: boolean): Hook {
  const pad = (s: string): string => (big ? s + ':' + s.repeat(400) : s);
  return (wsi, reason, input) => {
    const v = wsi.vhost;
    if (reason === Reason.RECEIVE && (input as Buffer).toString() === 'go') {
      v.publish('t', pad('p0'));
      wsi.callbackOnWritable();
    }
    if (reason === Reason.SERVER_WRITEABLE) {
      wsi.write(Buffer.from(pad('w1')), Write.TEXT);
      v.publish('t', pad('p2'));
      wsi.write(Buffer.from(pad('w3')), Write.TEXT);
      wsi.write(Buffer.from('f4a'), Write.TEXT | Write.NO_FIN);
      v.publish('t', pad('p5'));
      wsi.write(Buffer.from('f4b'), Write.CONTINUATION);
      wsi.write(Buffer.from(pad('w6')), Write.TEXT);
      v.publish('t', pad('p7'));
    }
  };
}

const ORDER = ['p0', 'w1', 'p2', 'w3', 'f4af4b', 'p5', 'w6', 'p7'];

for (const mode of ['plain', 'deflate', 'deflate-no-context-takeover'] as const) {
  test(`publishes and the connection's own writes leave in the order they were made (${mode})`, async () => {
    const pmd = mode !== 'plain';
    const s = await server({
      ws: { perMessageDeflate: pmd ? { threshold: 0, serverNoContextTakeover: mode === 'deflate-no-context-takeover' } : false },
    }, orderingHook(pmd));
    try {
      const c = await client(s.port, 't', { perMessageDeflate: pmd });
      assert.equal(c.ws.extensions.includes('permessage-deflate'), pmd);
      c.ws.send('go');
      const got = await received(c, ORDER.length);
      assert.deepEqual(got.map((m) => m.split(':')[0]), ORDER);
      if (pmd) for (const m of got) if (m.includes(':')) assert.equal(m, m.split(':')[0] + ':' + m.split(':')[0].repeat(400));
      c.ws.close();
    } finally {
      await s.ctx.destroy();
    }
  });
}

test('one frame per publish for plain subscribers, one compression shared by those without context takeover, one each for the others', async () => {
  const s = await server({ ws: { perMessageDeflate: { threshold: 0 } } });
  try {
    const plain = await Promise.all([0, 1, 2].map(() => client(s.port, 'm', { perMessageDeflate: false })));
    const noCtx = await Promise.all([0, 1, 2, 3].map(() => client(s.port, 'm', { perMessageDeflate: { serverNoContextTakeover: true } })));
    const ctx = await Promise.all([0, 1].map(() => client(s.port, 'm', { perMessageDeflate: true })));
    const agreed = s.conns.map((w) => wsOf(w)?.pmd?.agreement.txNoContextTakeover ?? 'plain');
    assert.deepEqual(agreed, ['plain', 'plain', 'plain', true, true, true, true, false, false]);
    const before = s.vhost.topicStats();
    const msgs = [0, 1, 2].map((i) => `message ${i} `.repeat(2000));
    for (const m of msgs) s.vhost.publish('m', m);
    for (const c of [...plain, ...noCtx, ...ctx]) assert.deepEqual(await received(c, 3), msgs);
    const st = s.vhost.topicStats();
    assert.equal(st.framesBuilt - before.framesBuilt, 3, 'one plain frame per publish');
    assert.equal(st.sharedCompressions - before.sharedCompressions, 3, 'one shared compression per publish');
    assert.equal(st.ownCompressions - before.ownCompressions, 3 * ctx.length, 'context takeover: one compression per connection');
    for (const c of [...plain, ...noCtx, ...ctx]) c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

test('every plain subscriber writes the same Buffer', async () => {
  const s = await server();
  try {
    const cs = await Promise.all([0, 1, 2, 3].map(() => client(s.port, 'same')));
    const seen: Uint8Array[] = [];
    for (const w of s.conns) {
      const sock = (w as unknown as { socket: { write: (b: Uint8Array, ...r: unknown[]) => boolean } }).socket;
      const orig = sock.write.bind(sock);
      sock.write = (b: Uint8Array, ...r: unknown[]) => {
        seen.push(b);
        return orig(b, ...r);
      };
    }
    s.vhost.publish('same', 'shared bytes');
    for (const c of cs) await received(c, 1);
    assert.equal(seen.length, 4);
    for (const b of seen) assert.equal(b, seen[0]);
    for (const c of cs) c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

/** Publish 10 messages in one turn to a reader that is not reading: the queue holds 4. */
async function overflow(policy: 'close-1008' | 'close-1013' | 'drop-oldest' | 'drop-new') {
  const s = await server({ topics: { maxQueueMessages: 4, overflow: policy } });
  const c = await client(s.port, 'q');
  (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const results = [];
  for (let i = 0; i < 10; i++) results.push(s.vhost.publish('q', `m${i}`));
  return { s, c, results, resume: () => (c.ws as unknown as { _socket: { resume(): void } })._socket.resume() };
}

test('overflow drop-new: the new message is dropped and reported; the first ones arrive', async () => {
  const { s, c, results, resume } = await overflow('drop-new');
  try {
    assert.deepEqual(results.map((r) => [r.queued, r.overBound, r.dropped]), [
      [1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 1, 1], [0, 1, 1], [0, 1, 1], [0, 1, 1], [0, 1, 1],
    ]);
    assert.deepEqual(s.drops.map((d) => [d.report.policy, d.report.messages, d.report.closing, d.report.totalDropped]),
      [4, 5, 6, 7, 8, 9].map((_, i) => ['drop-new', 1, false, i + 1]));
    assert.equal(s.drops[0].wsi, s.conns[0]);
    resume();
    assert.deepEqual(await received(c, 4), ['m0', 'm1', 'm2', 'm3']);
    // Drained, the connection takes publishes again.
    s.vhost.publish('q', 'after');
    assert.deepEqual(await received(c, 5), ['m0', 'm1', 'm2', 'm3', 'after']);
    assert.equal(s.conns[0].topicQueue().dropped, 6);
    assert.equal(s.vhost.topicStats().dropped, 6);
    c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

test('overflow drop-oldest: the oldest of the topic make room, each drop reported; the newest arrive', async () => {
  const { s, c, results, resume } = await overflow('drop-oldest');
  try {
    assert.deepEqual(results.map((r) => [r.queued, r.overBound, r.dropped]).slice(3), [
      [1, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1],
    ]);
    assert.deepEqual(s.drops.map((d) => [d.report.policy, d.report.messages, d.report.bytes]), Array(6).fill(['drop-oldest', 1, 2]));
    resume();
    assert.deepEqual(await received(c, 4), ['m6', 'm7', 'm8', 'm9']);
    c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

for (const [policy, code] of [['close-1008', 1008], ['close-1013', 1013]] as const) {
  test(`overflow ${policy}: the queue is dropped and reported, the connection closed with ${code} and unsubscribed`, async () => {
    const { s, c, results, resume } = await overflow(policy);
    try {
      assert.deepEqual(results[4], { subscribers: 1, queued: 0, overBound: 1, dropped: 5, closed: 1 });
      // Closed: it left the topic, so later publishes find nobody.
      assert.deepEqual(results.slice(5).map((r) => r.subscribers), [0, 0, 0, 0, 0]);
      assert.deepEqual(s.drops.map((d) => [d.report.policy, d.report.messages, d.report.closing, d.report.totalDropped]), [[policy, 5, true, 5]]);
      assert.equal(s.vhost.subscriberCount('q'), 0);
      assert.deepEqual(s.changes, [{ topic: 'q', subscribers: 1 }, { topic: 'q', subscribers: 0 }]);
      assert.equal(s.vhost.topicStats().closed, 1);
      resume();
      const closed = await c.closed;
      assert.equal(closed.code, code);
      assert.deepEqual(c.got, []);
    } finally {
      await s.ctx.destroy();
    }
  });
}

test('a reader that stops reading backs publishes up into its bounded queue; pongs are never dropped; order holds', async () => {
  const SIZE = 64 * 1024;
  const s = await server({ topics: { maxQueueBytes: 4 * SIZE, overflow: 'drop-new' } });
  const c = await client(s.port, 'big');
  const sock = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  try {
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    sock.pause();
    let published = 0;
    let dropped = 0;
    // One publish per turn, so the connection writes between them, until the socket backs up and the queue fills.
    while (dropped === 0 && published < 2000) {
      const b = Buffer.alloc(SIZE, published & 0xff);
      b.writeUInt32BE(published, 0);
      dropped += s.vhost.publish('big', b).dropped;
      published++;
      if (published === 5) c.ws.ping('still there?');
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(dropped, 1, 'the queue filled while the reader was paused');
    const q = s.conns[0].topicQueue();
    assert.ok(q.bytes <= 4 * SIZE && q.messages > 0, `queue at its bound: ${JSON.stringify(q)}`);
    assert.equal(s.drops.length, 1);
    sock.resume();
    const want = published - 1;
    assert.ok(await until(() => c.got.length >= want, 10000), `${c.got.length} of ${want}`);
    // Every message but the dropped (last) one, in order.
    c.got.forEach((m, i) => assert.equal(Buffer.from(m.data, 'latin1').length, SIZE, `message ${i}`));
    assert.ok(await until(() => pongs === 1, 2000), 'the pong arrived');
    c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});

test('subscribe, unsubscribe, isSubscribed, topics(); first and last subscriber reported; a close unsubscribes', async () => {
  const s = await server();
  try {
    const a = await client(s.port, 'room,news');
    const b = await client(s.port, 'room');
    const [wa, wb] = s.conns;
    assert.deepEqual(wa.topics(), ['room', 'news']);
    assert.equal(wa.isSubscribed('news'), true);
    assert.equal(wb.isSubscribed('news'), false);
    assert.equal(wa.subscribe('room'), false, 'already subscribed');
    assert.equal(s.vhost.subscriberCount('room'), 2);
    assert.deepEqual(s.changes, [{ topic: 'room', subscribers: 1 }, { topic: 'news', subscribers: 1 }]);
    assert.equal(wa.unsubscribe('news'), true);
    assert.equal(wa.unsubscribe('news'), false);
    assert.deepEqual(s.changes.at(-1), { topic: 'news', subscribers: 0 });
    assert.deepEqual(wa.topics(), ['room']);
    a.ws.close();
    await a.closed;
    assert.ok(await until(() => s.vhost.subscriberCount('room') === 1, 2000));
    assert.equal(s.changes.length, 3, 'room still has a subscriber');
    b.ws.terminate();
    assert.ok(await until(() => s.vhost.subscriberCount('room') === 0, 2000));
    assert.deepEqual(s.changes.at(-1), { topic: 'room', subscribers: 0 });
    assert.deepEqual(s.vhost.topicNames(), []);
    assert.equal(wa.subscribe('again'), false, 'a closed connection does not subscribe');
  } finally {
    await s.ctx.destroy();
  }
});

test('published before a close, delivered before the Close frame', async () => {
  const s = await server({}, (wsi, reason, input) => {
    if (reason === Reason.RECEIVE && (input as Buffer).toString() === 'bye') {
      wsi.vhost.publish('last', 'one');
      wsi.vhost.publish('last', 'two');
      wsi.closeReason(1000, 'done');
      return -1;
    }
  });
  try {
    const c = await client(s.port, 'last');
    c.ws.send('bye');
    assert.equal((await c.closed).code, 1000);
    assert.deepEqual(c.got.map((m) => m.data), ['one', 'two']);
  } finally {
    await s.ctx.destroy();
  }
});

test('misuse throws coded errors', async () => {
  const s = await server({ topics: { maxTopicLength: 8 } });
  try {
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return `${(e as Error).constructor.name} ${(e as TslwsError).code}`;
      }
      return 'no throw';
    };
    const c = await client(s.port, '');
    const w = s.conns[0];
    assert.equal(code(() => w.subscribe('')), 'RangeError TSLWS_INVALID_ARGUMENT');
    assert.equal(code(() => w.subscribe('123456789')), 'RangeError TSLWS_INVALID_ARGUMENT');
    assert.equal(code(() => w.subscribe(7 as unknown as string)), 'TypeError TSLWS_INVALID_ARGUMENT');
    assert.equal(code(() => s.vhost.publish('ok', 42 as unknown as string)), 'TypeError TSLWS_INVALID_ARGUMENT');
    assert.equal(code(() => s.vhost.publish('ok', 'x', { binary: 'yes' as unknown as boolean })), 'TypeError TSLWS_INVALID_ARGUMENT');
    assert.equal(code(() => s.vhost.subscriberCount('')), 'RangeError TSLWS_INVALID_ARGUMENT');
    assert.equal(code(() => w.holdPublishedAfter(-1)), 'RangeError TSLWS_INVALID_ARGUMENT');
    // An HTTP connection is no subscriber.
    const res = await fetch(`http://127.0.0.1:${s.port}/`);
    await res.arrayBuffer();
    assert.equal(s.httpErrors.length, 1);
    assert.equal((s.httpErrors[0] as TslwsError).code, ErrorCode.NOT_WEBSOCKET);
    assert.match((s.httpErrors[0] as Error).message, /subscribe: connection \d+ is not a WebSocket \(role h1\)/);
    assert.equal(code(() => createContext({ topics: { overflow: 'explode' as never } })), 'TypeError TSLWS_INVALID_OPTION');
    assert.equal(code(() => createContext({ topics: { maxQueueBytes: 0 } })), 'RangeError TSLWS_INVALID_OPTION');
    assert.equal(code(() => createContext({ topics: { nope: 1 } as never })), 'TypeError TSLWS_UNKNOWN_OPTION');
    assert.equal(code(() => createContext({ topics: { perTopic: { a: { maxTopicLength: 3 } } } as never })), 'TypeError TSLWS_UNKNOWN_OPTION');
    c.ws.close();
    // A protocol may publish from CLOSED while its vhost goes away: a destroyed vhost's topics have no subscribers.
    const vh = s.vhost;
    await vh.destroy();
    assert.equal(vh.publish('a', 'b').subscribers, 0);
  } finally {
    await s.ctx.destroy();
  }
});

test('per-topic bounds override the vhost\'s', async () => {
  const s = await server({ topics: { maxQueueMessages: 100, overflow: 'drop-new', perTopic: { tight: { maxQueueMessages: 1 } } } });
  try {
    const c = await client(s.port, 'tight,loose');
    const r1 = [0, 1, 2].map((i) => s.vhost.publish('tight', `t${i}`).dropped);
    const r2 = [0, 1, 2].map((i) => s.vhost.publish('loose', `l${i}`).dropped);
    assert.deepEqual(r1, [0, 1, 1]);
    assert.deepEqual(r2, [0, 0, 0]);
    assert.deepEqual(await received(c, 4), ['t0', 'l0', 'l1', 'l2']);
    c.ws.close();
  } finally {
    await s.ctx.destroy();
  }
});
