/**
 * Topics in the message layer: sockets subscribe, the server and sockets
 * publish, a socket's own send()s and what is published to it arrive in
 * the order they were made, drops come as 'drop' events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, ErrorCode, type MessageSocket, type TslwsError, type TopicDropReport } from '../../src/index.js';
import { listen, next, within } from './helpers.js';
import { until } from '../helpers/ws.js';

async function open(port: number): Promise<{ ws: WebSocket; got: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const got: string[] = [];
  ws.on('message', (d: Buffer) => got.push(d.toString()));
  await next(ws, 'open');
  return { ws, got };
}

test('sockets subscribe; server.publish reaches them, socket.publish skips the sender; first / last subscriber events', async () => {
  const server = await listen();
  const changes: [string, number][] = [];
  server.on('subscribers', (topic, n) => changes.push([topic, n]));
  const sockets: MessageSocket[] = [];
  server.on('connection', (s) => {
    sockets.push(s);
    s.subscribe('chat');
    s.on('message', (data) => s.publish('chat', data));
  });
  try {
    const a = await open(server.port as number);
    const b = await open(server.port as number);
    await until(() => sockets.length === 2, 2000);
    assert.equal(server.subscriberCount('chat'), 2);
    assert.deepEqual(sockets[0].topics(), ['chat']);
    const r = server.publish('chat', 'to all');
    assert.equal(r.queued, 2);
    a.ws.send('from a');
    assert.ok(await until(() => b.got.length === 2, 5000));
    assert.deepEqual(b.got, ['to all', 'from a']);
    server.publish('chat', 'end');
    assert.ok(await until(() => a.got.length === 2, 5000));
    assert.deepEqual(a.got, ['to all', 'end']);
    assert.equal(sockets[1].unsubscribe('chat'), true);
    a.ws.close();
    assert.ok(await until(() => server.subscriberCount('chat') === 0, 5000));
    assert.deepEqual(changes, [['chat', 1], ['chat', 0]]);
    b.ws.close();
  } finally {
    await server.close();
  }
});

test('a socket\'s send()s and publishes arrive in the order they were made, even with sends still queued', async () => {
  // Small fragments: a send takes several WRITEABLEs, so publishes meet a non-empty send queue.
  const server = await listen({ fragmentSize: 1024, perMessageDeflate: false });
  const big = (tag: string): string => tag + ':' + 'x'.repeat(200 * 1024);
  let socket: MessageSocket | null = null;
  server.on('connection', (s) => {
    socket = s;
    s.on('message', () => {
      s.send(big('s0'));
      server.publish('t', 'p1');
      s.send('s2');
      server.publish('t', big('p3'));
      server.publish('t', 'p4');
      s.send(big('s5'));
      s.send('s6');
      server.publish('t', 'p7');
    });
    s.subscribe('t');
  });
  try {
    const c = await open(server.port as number);
    await until(() => socket !== null, 2000);
    c.ws.send('go');
    assert.ok(await until(() => c.got.length === 8, 10000), `${c.got.length} of 8`);
    assert.deepEqual(c.got.map((m) => m.split(':')[0]), ['s0', 'p1', 's2', 'p3', 'p4', 's5', 's6', 'p7']);
    c.ws.close();
  } finally {
    await server.close();
  }
});

test('a socket that falls behind gets drop events; server.publish counts the drops', async () => {
  const server = await listen({ topics: { maxQueueMessages: 2, overflow: 'drop-new' } });
  const drops: TopicDropReport[] = [];
  let socket: MessageSocket | null = null;
  server.on('connection', (s) => {
    socket = s;
    s.subscribe('q');
    s.on('drop', (r) => drops.push(r));
  });
  try {
    const c = await open(server.port as number);
    await until(() => socket !== null, 2000);
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const dropped = [0, 1, 2, 3].map((i) => server.publish('q', `m${i}`).dropped);
    assert.deepEqual(dropped, [0, 0, 1, 1]);
    assert.deepEqual(drops.map((d) => [d.topic, d.policy, d.messages, d.totalDropped]), [['q', 'drop-new', 1, 1], ['q', 'drop-new', 1, 2]]);
    (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    assert.ok(await until(() => c.got.length === 2, 5000));
    assert.deepEqual(c.got, ['m0', 'm1']);
    c.ws.close();
  } finally {
    await server.close();
  }
});

test('message layer misuse: a client socket cannot subscribe', async () => {
  const server = await listen();
  try {
    const client = await within(connect(`ws://127.0.0.1:${server.port}/`), 'connect');
    assert.throws(() => client.subscribe('x'), (e: TslwsError) => e.code === ErrorCode.NOT_WEBSOCKET);
    assert.throws(() => server.publish('', 'x'), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
    client.close();
    await next(client, 'close');
  } finally {
    await server.close();
  }
});
