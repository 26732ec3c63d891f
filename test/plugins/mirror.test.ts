import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { callbackHttpDummy, mirrorProtocol, mirrorPlugin, type Protocol, type Pvo } from '../../src/index.js';
import { start, sleep } from '../helpers/common.js';
import { openWs, waitFor, within, RawWsClient, type Client } from '../helpers/plugin-ws-client.js';

const http: Protocol = { name: 'http-only', callback: callbackHttpDummy };
const MP = 'lws-mirror-protocol';

async function withServer(pvo: Pvo, fn: (port: number) => Promise<void>): Promise<void> {
  const { ctx, port } = await start({ protocols: [http, mirrorProtocol], pvo });
  try {
    await fn(port);
  } finally {
    await ctx.destroy();
  }
}

function closeAll(cs: Client[]): void {
  for (const c of cs) c.ws.close();
}

test('the plugin module exports lws-mirror-protocol with a 4096-byte rx buffer', () => {
  assert.deepEqual(mirrorPlugin.protocols, [mirrorProtocol]);
  assert.equal(mirrorProtocol.name, MP);
  assert.equal(mirrorProtocol.rxBufferSize, 4096);
});

for (const n of [2, 3]) {
  test(`${n} clients each see every message, sender included, in one order`, async () => {
    await withServer({}, async (port) => {
      const cs: Client[] = [];
      for (let i = 0; i < n; i++) cs.push(await openWs(`ws://127.0.0.1:${port}/`, MP));
      const per = 20;
      const sent: string[] = [];
      for (let k = 0; k < per; k++) {
        for (let i = 0; i < n; i++) {
          const m = `c #00000${i} ${k} ${i} 5;`;
          sent.push(m);
          cs[i].ws.send(m);
        }
      }
      await waitFor(() => cs.every((c) => c.messages.length >= n * per), `${n * per} messages at every client`);
      await sleep(50);
      const first = cs[0].texts();
      assert.equal(first.length, n * per, 'nothing extra arrives');
      assert.deepEqual([...first].sort(), [...sent].sort(), 'every message, once');
      for (const c of cs) {
        assert.deepEqual(c.texts(), first, 'every member sees the same order');
        assert.ok(c.messages.every((m) => !m.binary), 'mirrored as TEXT');
      }
      for (let i = 0; i < n; i++) {
        const mine = first.filter((t) => t.startsWith(`c #00000${i} `));
        assert.deepEqual(mine, sent.filter((t) => t.startsWith(`c #00000${i} `)), `client ${i}'s messages keep their order`);
      }
      closeAll(cs);
    });
  });
}

test('a binary message is mirrored as TEXT; a message over 4096 bytes arrives as 4096-byte pieces', async () => {
  await withServer({}, async (port) => {
    const a = await openWs(`ws://127.0.0.1:${port}/`, MP);
    const b = await openWs(`ws://127.0.0.1:${port}/`, MP);
    a.ws.send(Buffer.from('binary in'));
    const big = 'x'.repeat(4096) + 'y'.repeat(4096) + 'z'.repeat(100);
    a.ws.send(big);
    await waitFor(() => b.messages.length >= 4, 'four messages at b');
    assert.deepEqual(b.messages.map((m) => m.binary), [false, false, false, false]);
    assert.deepEqual(b.texts(), ['binary in', 'x'.repeat(4096), 'y'.repeat(4096), 'z'.repeat(100)]);
    closeAll([a, b]);
  });
});

test('?mirror= instances are separate, and a client joining late sees only new messages', async () => {
  await withServer({}, async (port) => {
    const a1 = await openWs(`ws://127.0.0.1:${port}/?mirror=a`, MP);
    const b1 = await openWs(`ws://127.0.0.1:${port}/?mirror=b`, MP);
    const none = await openWs(`ws://127.0.0.1:${port}/`, MP);
    a1.ws.send('for a');
    b1.ws.send('for b');
    none.ws.send('for default');
    await waitFor(() => a1.messages.length >= 1 && b1.messages.length >= 1 && none.messages.length >= 1, 'own echoes');
    const a2 = await openWs(`ws://127.0.0.1:${port}/?mirror=a`, MP);
    a2.ws.send('second for a');
    await waitFor(() => a1.messages.length >= 2 && a2.messages.length >= 1, 'a\'s second message');
    await sleep(100);
    assert.deepEqual(a1.texts(), ['for a', 'second for a']);
    assert.deepEqual(a2.texts(), ['second for a']);
    assert.deepEqual(b1.texts(), ['for b']);
    assert.deepEqual(none.texts(), ['for default']);
    closeAll([a1, a2, b1, none]);
  });
});

test('a fourth instance is refused with 1008; an emptied instance frees its place', async () => {
  await withServer({}, async (port) => {
    const cs: Client[] = [];
    for (const name of ['one', 'two', 'three']) cs.push(await openWs(`ws://127.0.0.1:${port}/?mirror=${name}`, MP));
    // Joining an existing instance is still fine.
    const again = await openWs(`ws://127.0.0.1:${port}/?mirror=two`, MP);
    const fourth = await openWs(`ws://127.0.0.1:${port}/?mirror=four`, MP);
    const refused = await within(fourth.closed, 2000, 'the fourth instance to be closed');
    assert.equal(refused.code, 1008);
    assert.match(refused.reason, /too many mirror instances/);
    cs[0].ws.close();
    await within(cs[0].closed, 2000, 'close of the only member of "one"');
    const now = await openWs(`ws://127.0.0.1:${port}/?mirror=four`, MP);
    now.ws.send('hello four');
    await waitFor(() => now.messages.length === 1, 'the new instance works');
    assert.equal(now.ws.readyState, now.ws.OPEN);
    closeAll([...cs.slice(1), again, now]);
  });
});

/** ASCII chunk `i`: recognisable, and never splitting a UTF-8 sequence. */
function chunk(i: number, size: number): string {
  const head = `<${i}>`;
  return head + String.fromCharCode(97 + (i % 26)).repeat(size - head.length);
}

function digest(parts: Buffer[] | string[]): { len: number; sha: string } {
  const h = createHash('sha256');
  let len = 0;
  for (const p of parts) {
    h.update(p);
    len += Buffer.byteLength(p);
  }
  return { len, sha: h.digest('hex') };
}

test('a stalled reader makes the senders flow-controlled, and after it resumes nothing is lost', async () => {
  await withServer({ [MP]: { 'slow-reader-secs': '30' } }, async (port) => {
    // The stalled member never reads until told to: the server's writes to it back up.
    const stalled = await RawWsClient.connect(port, '/?mirror=flood', MP, { paused: true });
    const writer = await openWs(`ws://127.0.0.1:${port}/?mirror=flood`, MP);
    const watcher = await openWs(`ws://127.0.0.1:${port}/?mirror=flood`, MP);
    await waitFor(() => stalled.socket.bytesWritten > 0, 'the stalled client\'s upgrade to be sent');
    await sleep(100); // let the server bind it before the flood starts

    const size = 64 * 1024;
    const sent: string[] = [];
    let i = 0;
    // Keep the writer's socket fed until TCP stops taking its data.
    const deadline = Date.now() + 15000;
    let stuckSince = 0;
    let lastWatcher = -1;
    while (Date.now() < deadline) {
      while (writer.ws.bufferedAmount < 1024 * 1024 && i < 600) {
        const m = chunk(i++, size);
        sent.push(m);
        writer.ws.send(m);
      }
      await sleep(50);
      const w = watcher.messages.length;
      if (w === lastWatcher && writer.ws.bufferedAmount > 0) {
        if (!stuckSince) stuckSince = Date.now();
        if (Date.now() - stuckSince > 400) break;
      } else stuckSince = 0;
      lastWatcher = w;
    }
    // While the slow member is stalled, the fast members get nothing more
    // and the writer's data waits in its own socket: the server stopped reading.
    assert.ok(stuckSince > 0, `the flood should stall (sent ${i} chunks, watcher got ${watcher.messages.length})`);
    const plateau = watcher.messages.length;
    const backlog = writer.ws.bufferedAmount;
    await sleep(300);
    assert.equal(watcher.messages.length, plateau, 'no progress while the slow reader is stalled');
    assert.ok(writer.ws.bufferedAmount > 0 && writer.ws.bufferedAmount >= backlog - size, 'the writer is pushed back by TCP');
    assert.equal(stalled.ended, false);

    stalled.resume();
    const expected = digest(sent);
    const got = (c: Client) => c.messages.reduce((n, m) => n + m.data.length, 0);
    const stalledGot = () => stalled.dataPayloads().reduce((n, p) => n + p.length, 0);
    await waitFor(() => got(watcher) >= expected.len && got(writer) >= expected.len && stalledGot() >= expected.len,
      `all ${expected.len} bytes at every member`, 30000);
    await sleep(50);
    assert.ok(stalled.upgraded, 'the stalled client was upgraded');
    for (const [who, parts] of [['watcher', watcher.messages.map((m) => m.data)], ['writer', writer.messages.map((m) => m.data)],
      ['stalled', stalled.dataPayloads()]] as const) {
      assert.deepEqual(digest(parts), expected, `${who} got every byte, in order, once`);
      assert.ok(parts.every((p) => p.length <= 4096), `${who}: pieces of at most 4096 bytes`);
    }
    assert.ok(stalled.frames.filter((f) => f.opcode < 8).every((f) => f.opcode === 1 && f.fin), 'one TEXT frame per message');
    stalled.destroy();
    closeAll([writer, watcher]);
  });
});

test('the slow-reader cull closes a member that stays stalled, and the others go on', async () => {
  await withServer({ [MP]: { 'slow-reader-secs': '1' } }, async (port) => {
    const stalled = await RawWsClient.connect(port, '/?mirror=cull', MP, { paused: true });
    const writer = await openWs(`ws://127.0.0.1:${port}/?mirror=cull`, MP);
    await sleep(100);
    const size = 64 * 1024;
    let i = 0;
    const feed = () => {
      while (writer.ws.bufferedAmount < 1024 * 1024) writer.ws.send(chunk(i++, size));
    };
    // Flood until the writer stops getting its own messages back: the ring is held by the stalled member.
    let last = -1;
    let stuckAt = 0;
    const t0 = Date.now();
    while (!stuckAt && Date.now() - t0 < 10000) {
      feed();
      await sleep(50);
      if (writer.messages.length === last) stuckAt = Date.now();
      last = writer.messages.length;
    }
    assert.ok(stuckAt, 'the flood stalls on the stalled member');
    // Within about a second the stalled member is dropped and the writer is served again.
    await waitFor(() => {
      feed();
      return writer.messages.length > last + 16;
    }, 'the writer to be served again after the cull', 8000);
    const stalledFor = Date.now() - stuckAt;
    assert.ok(stalledFor >= 600, `the stalled member had its second of grace (${stalledFor} ms)`);
    // The stalled member's last frame is a Close with 1008.
    stalled.resume();
    await waitFor(() => stalled.frames.some((f) => f.opcode === 8), 'the cull close frame', 10000);
    const close = stalled.frames.find((f) => f.opcode === 8);
    assert.equal(close?.payload.readUInt16BE(0), 1008);
    assert.match(close?.payload.subarray(2).toString() ?? '', /slow/);
    stalled.destroy();
    writer.ws.close();
  });
});
