/**
 * A bus that keeps history, simulated in one process, so the resume's
 * edges are exact: a publish on an ordered topic is delivered only when
 * the bus brings it back, with its position and without the excepted
 * connection; live messages that arrive while a replay is read wait, and
 * those the replay gave are not sent twice; `topicPosition` says where
 * the connection stands; the message layer gives the same through
 * `socket.subscribe(topic, { since })`, `socket.topicPosition` and 'gap'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  createWebSocketServer, type TopicBus, type TopicBusHandler, type TopicPosition, type TopicReplay, type TopicGapReport, type MessageSocket,
} from '../../../src/index.js';
import { until } from '../../helpers/ws.js';

/** Every publish gets the next offset and comes back at once; replays are answered when the test says. */
class HistoryBus implements TopicBus {
  readonly log: Array<{ payload: Buffer; position: TopicPosition }> = [];
  handler: TopicBusHandler | null = null;
  pending: Array<{ since: TopicPosition; done: (r: TopicReplay) => void }> = [];
  publish(_v: string, _t: string, payload: Uint8Array, binary: boolean, origin?: number): void {
    const position = { epoch: 'E', offset: `${this.log.length + 1}-0` };
    this.log.push({ payload: Buffer.from(payload), position });
    this.handler?.('t', payload, binary, { position, origin });
  }
  subscribe(): void {}
  unsubscribe(): void {}
  onMessage(_v: string, h: TopicBusHandler | null): void {
    this.handler = h;
  }
  ordersLocally(): boolean {
    return true;
  }
  replay(_v: string, _t: string, since: TopicPosition, done: (r: TopicReplay) => void): void {
    this.pending.push({ since, done });
  }
  /** Answer the oldest replay with everything after its position (as of now). */
  answer(gap: TopicReplay['gap'] = null): void {
    const r = this.pending.shift()!;
    const after = this.log.filter((m) => Number(m.position.offset.split('-')[0]) > Number(r.since.offset.split('-')[0]));
    r.done({ messages: after.map((m) => ({ payload: m.payload, binary: false, position: m.position })), gap });
  }
}

test('an ordered topic: positions, the excepted sender, a resume with live messages during the replay, gaps; in the message layer', async (t) => {
  // Clients connect one at a time: the upgrade hook's query is the next connection's.
  const sinces: Array<string | null> = [];
  const server = createWebSocketServer({ port: 0, upgrade: (req) => (sinces.push(req.query.get('since')), true) });
  t.after(() => server.close());
  await new Promise<void>((r) => server.once('listening', () => r()));
  const bus = new HistoryBus();
  server.vhost.attachTopicBus(bus);
  const sockets: MessageSocket[] = [];
  const gaps: TopicGapReport[] = [];
  server.on('connection', (s: MessageSocket) => {
    sockets.push(s);
    s.on('gap', (g: TopicGapReport) => gaps.push(g));
    const since = sinces.shift();
    s.subscribe('t', since ? { since: { epoch: 'E', offset: since } } : undefined);
    s.on('message', (d) => {
      if (String(d) === 'pos') s.send(JSON.stringify(s.topicPosition('t')));
      else s.publish('t', String(d));
    });
  });
  const client = async (q = ''): Promise<{ ws: WebSocket; got: string[] }> => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/${q}`);
    const got: string[] = [];
    ws.on('message', (d: Buffer) => got.push(d.toString()));
    await new Promise((r) => ws.once('open', r));
    t.after(() => ws.terminate());
    return { ws, got };
  };
  const a = await client();
  const b = await client();
  assert.ok(await until(() => sockets.length === 2, 2000));
  // A publish from a's socket: b gets it with its position, a (the sender) does not.
  a.ws.send('m1');
  a.ws.send('m2');
  assert.ok(await until(() => b.got.length === 2, 2000));
  assert.deepEqual(b.got, ['m1', 'm2']);
  b.ws.send('pos');
  assert.ok(await until(() => b.got.length === 3, 2000));
  assert.deepEqual(JSON.parse(b.got[2] as string), { epoch: 'E', offset: '2-0' });
  assert.deepEqual(a.got, []);

  // c resumes from 1-0; before the replay is answered, m3 and m4 are published live.
  const c = await client('?since=1-0');
  assert.ok(await until(() => bus.pending.length === 1, 2000));
  a.ws.send('m3');
  a.ws.send('m4');
  assert.ok(await until(() => b.got.length === 5, 2000));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(c.got, [], 'live messages wait for the replay');
  bus.answer();
  assert.ok(await until(() => c.got.length === 3, 2000));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(c.got, ['m2', 'm3', 'm4'], 'each once, in order');
  assert.deepEqual(gaps, []);

  // A replay that cannot be served whole: the gap, then what there is.
  const d = await client('?since=1-0');
  assert.ok(await until(() => bus.pending.length === 1, 2000));
  bus.answer('trimmed');
  assert.ok(await until(() => d.got.length === 3 && gaps.length === 1, 2000));
  assert.deepEqual(gaps[0], { topic: 't', cause: 'trimmed', since: { epoch: 'E', offset: '1-0' } });
});
