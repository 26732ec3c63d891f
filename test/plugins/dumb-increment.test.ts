import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createContext, callbackHttpDummy, dumbIncrementProtocol, dumbIncrementPlugin, Option, type Protocol, type Pvo,
} from '../../src/index.js';
import { start, sleep } from '../helpers/common.js';
import { openWs, waitFor, within } from '../helpers/plugin-ws-client.js';

const http: Protocol = { name: 'http-only', callback: callbackHttpDummy };
const DI = 'dumb-increment-protocol';

function numbers(texts: string[]): number[] {
  return texts.map((t) => {
    assert.match(t, /^\d+$/, `every frame is a bare decimal number, got ${JSON.stringify(t)}`);
    return Number(t);
  });
}

function assertConsecutive(ns: number[], from: number): void {
  ns.forEach((n, i) => assert.equal(n, from + i, `frame ${i} should be ${from + i}: ${ns.join(',')}`));
}

async function withServer(pvo: Pvo, fn: (port: number) => Promise<void>): Promise<void> {
  const { ctx, port } = await start({ protocols: [http, dumbIncrementProtocol], pvo });
  try {
    await fn(port);
  } finally {
    await ctx.destroy();
  }
}

test('the plugin module exports its protocol with lws\'s name and rx buffer size', () => {
  assert.equal(dumbIncrementPlugin.protocols.length, 1);
  assert.equal(dumbIncrementPlugin.protocols[0], dumbIncrementProtocol);
  assert.equal(dumbIncrementProtocol.name, DI);
  assert.equal(dumbIncrementProtocol.rxBufferSize, 10);
});

test('sends consecutive integers from 0 as TEXT at about 20 a second', async () => {
  await withServer({}, async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
    assert.equal(c.ws.protocol, DI);
    await sleep(1000);
    const snapshot = c.messages.slice();
    c.ws.close();
    assert.ok(snapshot.every((m) => !m.binary), 'numbers come as TEXT frames');
    const ns = numbers(snapshot.map((m) => m.data.toString()));
    assertConsecutive(ns, 0);
    // 50 ms period: 20 in a second; a loaded machine may get fewer, never more than the timer allows.
    assert.ok(ns.length >= 10 && ns.length <= 22, `expected ~20 numbers in 1 s, got ${ns.length}`);
    await within(c.closed, 2000, 'close');
  });
});

test('each connection has its own counter', async () => {
  await withServer({}, async (port) => {
    const a = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await waitFor(() => a.messages.length >= 6, 'six numbers on the first connection');
    const b = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await waitFor(() => b.messages.length >= 3, 'three numbers on the second connection');
    assertConsecutive(numbers(a.texts()), 0);
    assertConsecutive(numbers(b.texts()), 0);
    a.ws.close();
    b.ws.close();
  });
});

test('"reset\\n" sets the counter back to 0; a longer message starting with it does not', async () => {
  await withServer({}, async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await waitFor(() => c.messages.length >= 8, 'eight numbers');
    c.ws.send('reset\n');
    const at = c.messages.length;
    await waitFor(() => c.messages.length >= at + 4, 'numbers after reset');
    const ns = numbers(c.texts());
    const restart = ns.indexOf(0, 1);
    assert.ok(restart > 0, `counter restarted at 0: ${ns.join(',')}`);
    assertConsecutive(ns.slice(0, restart), 0);
    assertConsecutive(ns.slice(restart), 0);

    // "reset\nxyz" is no reset: the count keeps going.
    const before = c.messages.length;
    c.ws.send('reset\nxyz');
    await waitFor(() => c.messages.length >= before + 5, 'numbers after the non-command');
    const tail = numbers(c.texts()).slice(restart);
    assertConsecutive(tail, 0);
    c.ws.close();
  });
});

test('"reset\\n" split over two frames still resets', async () => {
  await withServer({}, async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await waitFor(() => c.messages.length >= 8, 'eight numbers');
    c.ws.send('res', { fin: false });
    c.ws.send('et\n', { fin: true });
    const at = c.messages.length;
    await waitFor(() => c.messages.length >= at + 3, 'numbers after reset');
    const ns = numbers(c.texts());
    assert.ok(ns.indexOf(0, 1) > 0, `counter restarted at 0: ${ns.join(',')}`);
    c.ws.close();
  });
});

test('"closeme\\n" closes with 1001 "seeya"', async () => {
  await withServer({}, async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await waitFor(() => c.messages.length >= 2, 'two numbers');
    c.ws.send('closeme\n');
    const { code, reason } = await within(c.closed, 2000, 'the server to close');
    assert.equal(code, 1001);
    assert.equal(reason, 'seeya');
  });
});

test('a 9000-byte junk message is ignored and counting goes on', async () => {
  await withServer({}, async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await waitFor(() => c.messages.length >= 3, 'three numbers');
    c.ws.send('a'.repeat(9000));
    const at = c.messages.length;
    await waitFor(() => c.messages.length >= at + 5, 'numbers after the junk');
    assertConsecutive(numbers(c.texts()), 0);
    assert.equal(c.ws.readyState, c.ws.OPEN);
    c.ws.close();
  });
});

test('pvo closetest closes after 50 numbers, 0 to 49', async () => {
  await withServer({ [DI]: { closetest: '1' } }, async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
    await within(c.closed, 6000, 'the close-test close');
    const ns = numbers(c.texts());
    assertConsecutive(ns, 0);
    assert.equal(ns.length, 50);
  });
});

test('pvo no-send (and lws\'s options bit 0) sends nothing but keeps the connection', async () => {
  const pvos: Pvo[] = [{ [DI]: { 'no-send': '1' } }, { [DI]: { options: '1' } }];
  for (const pvo of pvos) {
    await withServer(pvo, async (port) => {
      const c = await openWs(`ws://127.0.0.1:${port}/`, DI);
      await sleep(300);
      assert.equal(c.messages.length, 0);
      c.ws.send('closeme\n');
      assert.equal((await within(c.closed, 2000, 'close')).code, 1001);
    });
  }
});

test('two vhosts keep independent timers, options and counters', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    const a = ctx.createVhost({ vhostName: 'a', port: 0, iface: '127.0.0.1', protocols: [http, dumbIncrementProtocol] });
    const b = ctx.createVhost({ vhostName: 'b', port: 0, iface: '127.0.0.1', protocols: [http, dumbIncrementProtocol] });
    const quiet = ctx.createVhost({
      vhostName: 'quiet', port: 0, iface: '127.0.0.1', protocols: [http, dumbIncrementProtocol], pvo: { [DI]: { 'no-send': '' } },
    });
    await ctx.listening;
    const ca = await openWs(`ws://127.0.0.1:${a.port}/`, DI);
    const cb = await openWs(`ws://127.0.0.1:${b.port}/`, DI);
    const cq = await openWs(`ws://127.0.0.1:${quiet.port}/`, DI);
    await waitFor(() => ca.messages.length >= 10 && cb.messages.length >= 10, 'ten numbers on both');
    cb.ws.send('reset\n');
    const at = cb.messages.length;
    await waitFor(() => cb.messages.length >= at + 3 && ca.messages.length >= at + 3, 'more numbers');
    // The reset on vhost b does not touch vhost a's connection.
    assertConsecutive(numbers(ca.texts()), 0);
    assert.ok(numbers(cb.texts()).indexOf(0, 1) > 0, 'b restarted');
    // One timer per vhost: two vhosts ticking do not make a's connection count twice as fast.
    const n0 = ca.messages.length;
    await sleep(500);
    const got = ca.messages.length - n0;
    assert.ok(got >= 4 && got <= 12, `~10 numbers in 500 ms on vhost a, got ${got}`);
    assert.equal(cq.messages.length, 0, 'the no-send vhost stays quiet while the others count');
    for (const c of [ca, cb, cq]) c.ws.close();
  } finally {
    await ctx.destroy();
  }
});
