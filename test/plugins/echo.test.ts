import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { callbackHttpDummy, echoProtocol, echoPlugin, createEchoProtocol, type Protocol } from '../../src/index.js';
import { start, sleep } from '../helpers/common.js';
import { openWs, waitFor, within, RawWsClient, spawnBin, portOf, killChild, type Child } from '../helpers/plugin-ws-client.js';

const http: Protocol = { name: 'http-only', callback: callbackHttpDummy };

async function withEcho(fn: (port: number) => Promise<void>, proto: Protocol = echoProtocol): Promise<void> {
  const { ctx, port } = await start({ protocols: [http, proto], pvo: { [proto.name]: { default: '1' } } });
  try {
    await fn(port);
  } finally {
    await ctx.destroy();
  }
}

test('the plugin module exports lws-echo', () => {
  assert.deepEqual(echoPlugin.protocols, [echoProtocol]);
  assert.equal(echoProtocol.name, 'lws-echo');
  assert.equal(createEchoProtocol('other').name, 'other');
  assert.throws(() => createEchoProtocol('x', { rxBufferSize: 0 }), /rxBufferSize/);
  for (const bad of [-1, 2.5]) assert.throws(() => createEchoProtocol('x', { spareBuffers: bad }), /spareBuffers/);
});

test('with or without spare buffers, many connections echoing 64 KiB at once each get their own bytes back', async () => {
  for (const spareBuffers of [0, 2, 128]) {
    const proto = createEchoProtocol('big-echo', { rxBufferSize: 65536, spareBuffers });
    await withEcho(async (port) => {
      const clients = await Promise.all(Array.from({ length: 8 }, () => openWs(`ws://127.0.0.1:${port}/`, 'big-echo')));
      const sent = clients.map(() => [randomBytes(65536), randomBytes(65536), randomBytes(40000)]);
      clients.forEach((c, i) => sent[i].forEach((b) => c.ws.send(b)));
      await waitFor(() => clients.every((c) => c.messages.length === 3), `3 echoes on each of 8 connections (spareBuffers ${spareBuffers})`, 10000);
      clients.forEach((c, i) => {
        c.messages.forEach((m, k) => assert.ok(m.binary && m.data.equals(sent[i][k]), `connection ${i}, message ${k}, spareBuffers ${spareBuffers}`));
        c.ws.close();
      });
    }, proto);
  }
});

test('with or without spare buffers, many connections echoing small messages of every size class get their own bytes back in order', async () => {
  // Small frames are copied into 2 KiB spares, larger ones into rxBufferSize
  // spares; a spare reused too early would show up as another message's bytes.
  const sizes = [0, 1, 125, 126, 1000, 2047, 2048, 2049, 4000, 8192];
  for (const spareBuffers of [0, 1, 128]) {
    const proto = createEchoProtocol('small-echo', { rxBufferSize: 8192, spareBuffers });
    await withEcho(async (port) => {
      const clients = await Promise.all(Array.from({ length: 20 }, () => openWs(`ws://127.0.0.1:${port}/`, 'small-echo')));
      const sent = clients.map(() => Array.from({ length: 3 }, () => sizes.map((n) => randomBytes(n))).flat());
      clients.forEach((c, i) => sent[i].forEach((b) => c.ws.send(b)));
      await waitFor(() => clients.every((c, i) => c.messages.length === sent[i].length), `${sizes.length * 3} echoes on each of 20 connections (spareBuffers ${spareBuffers})`, 10000);
      clients.forEach((c, i) => {
        c.messages.forEach((m, k) => assert.ok(m.binary && m.data.equals(sent[i][k]), `connection ${i}, message ${k} (${sent[i][k].length} bytes), spareBuffers ${spareBuffers}`));
        c.ws.close();
      });
    }, proto);
  }
});

test('thousands of small frames queued behind a reader that has stopped all come back, in order', async () => {
  await withEcho(async (port) => {
    const c = await RawWsClient.connect(port, '/', 'lws-echo');
    c.pause();
    // A large frame first fills the socket's buffers, so the small ones
    // wait in the echo queue, far past the slots it keeps between messages.
    const big = randomBytes(8 * 1024 * 1024);
    c.sendFrame(0x2, big);
    const small = Array.from({ length: 3000 }, (_, i) => Buffer.from(`message ${i} ` + 'x'.repeat(i % 50)));
    for (const m of small) c.sendFrame(0x1, m);
    await sleep(300);
    c.resume();
    const total = big.length + small.reduce((n, m) => n + m.length, 0);
    await waitFor(() => c.dataPayloads().reduce((n, p) => n + p.length, 0) >= total, 'every echo', 30000);
    const texts = c.frames.filter((f) => f.opcode === 0x1);
    assert.equal(texts.length, small.length, 'one frame back per small frame');
    texts.forEach((f, i) => assert.ok(f.payload.equals(small[i]), `small frame ${i} intact and in order`));
    c.destroy();
    // The session's queue survived the backlog: the connection after it echoes as before.
    const d = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo');
    d.ws.send('after');
    await waitFor(() => d.messages.length === 1, 'an echo after the backlog');
    assert.equal(d.messages[0].data.toString(), 'after');
    d.ws.close();
  });
});

test('small frames a stalled socket still holds are not overwritten by other connections\' frames', async () => {
  // Small frames are built in one shared buffer whose bytes are taken back
  // once a socket holds nothing: those a stalled socket holds must stay
  // as they were while another connection echoes thousands of frames.
  await withEcho(async (port) => {
    const a = await RawWsClient.connect(port, '/', 'lws-echo');
    a.pause();
    const sentA = Array.from({ length: 20000 }, (_, i) => Buffer.from(`A${i}:` + String.fromCharCode(97 + (i % 26)).repeat(100 + (i % 900))));
    for (const m of sentA) a.sendFrame(0x1, m);
    await sleep(300);
    const b = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo');
    const sentB = Array.from({ length: 3000 }, (_, i) => randomBytes(1 + (i % 3000)));
    for (const m of sentB) b.ws.send(m);
    await waitFor(() => b.messages.length === sentB.length, 'every echo on the second connection', 20000);
    b.messages.forEach((m, i) => assert.ok(m.data.equals(sentB[i]), `second connection, message ${i}`));
    b.ws.close();
    a.resume();
    const total = sentA.reduce((n, m) => n + m.length, 0);
    await waitFor(() => a.dataPayloads().reduce((n, p) => n + p.length, 0) >= total, 'every echo on the stalled connection', 20000);
    const back = a.dataPayloads();
    assert.equal(back.length, sentA.length);
    back.forEach((p, i) => assert.ok(p.equals(sentA[i]), `stalled connection, message ${i}`));
    a.destroy();
  });
});

test('text, binary and empty messages come back exactly, with their type', async () => {
  await withEcho(async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo');
    const bin = randomBytes(70000);
    const utf8 = 'héllo wörld ✓ 🎉';
    c.ws.send('hello');
    c.ws.send(bin);
    c.ws.send('');
    c.ws.send(Buffer.alloc(0));
    c.ws.send(utf8);
    await waitFor(() => c.messages.length >= 5, 'five echoes');
    assert.deepEqual(c.messages.map((m) => m.binary), [false, true, false, true, false]);
    assert.equal(c.messages[0].data.toString(), 'hello');
    assert.ok(c.messages[1].data.equals(bin), 'binary payload echoed byte for byte');
    assert.equal(c.messages[2].data.length, 0);
    assert.equal(c.messages[3].data.length, 0);
    assert.equal(c.messages[4].data.toString(), utf8);
    c.ws.close(1000, 'done');
    assert.deepEqual(await within(c.closed, 2000, 'close'), { code: 1000, reason: 'done' });
  });
});

test('a fragmented message is reassembled correctly by a ws client', async () => {
  await withEcho(async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo');
    c.ws.send('frag-', { fin: false });
    c.ws.send('men-', { fin: false });
    c.ws.send('ted', { fin: true });
    c.ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
    c.ws.send(Buffer.from([3]), { binary: true, fin: true });
    await waitFor(() => c.messages.length >= 2, 'two echoes');
    assert.equal(c.messages[0].data.toString(), 'frag-men-ted');
    assert.equal(c.messages[0].binary, false);
    assert.deepEqual([...c.messages[1].data], [1, 2, 3]);
    assert.equal(c.messages[1].binary, true);
    c.ws.close();
  });
});

test('fragmentation is preserved on the wire: TEXT/BINARY, then CONTINUATION, FIN only on the last', async () => {
  await withEcho(async (port) => {
    const c = await RawWsClient.connect(port, '/', 'lws-echo');
    c.sendFrame(0x1, 'ab', false);
    c.sendFrame(0x9, 'ping in the middle');
    c.sendFrame(0x0, 'cd', false);
    c.sendFrame(0x0, 'ef', true);
    c.sendFrame(0x2, Buffer.from([9, 8, 7]), false);
    c.sendFrame(0x0, Buffer.alloc(0), true);
    await waitFor(() => c.frames.filter((f) => f.opcode !== 0xa).length >= 5, 'five echoed frames');
    await sleep(50);
    const data = c.frames.filter((f) => f.opcode < 8).map((f) => [f.opcode, f.fin, f.payload.toString('hex')]);
    assert.deepEqual(data, [
      [0x1, false, Buffer.from('ab').toString('hex')],
      [0x0, false, Buffer.from('cd').toString('hex')],
      [0x0, true, Buffer.from('ef').toString('hex')],
      [0x2, false, '090807'],
      [0x0, true, ''],
    ]);
    const pong = c.frames.find((f) => f.opcode === 0xa);
    assert.equal(pong?.payload.toString(), 'ping in the middle', 'a ping inside the message is answered');
    c.destroy();
  });
});

test('a 16 MB message is echoed whole', async () => {
  await withEcho(async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo');
    const big = randomBytes(16 * 1024 * 1024);
    c.ws.send(big);
    await waitFor(() => c.messages.length >= 1, 'the big echo', 20000);
    assert.equal(c.messages[0].data.length, big.length);
    assert.ok(c.messages[0].data.equals(big));
    c.ws.close();
  });
});

test('a peer that sends but does not read is pushed back by TCP, then gets every byte', async () => {
  await withEcho(async (port) => {
    const c = await RawWsClient.connect(port, '/', 'lws-echo');
    c.pause();
    const big = randomBytes(16 * 1024 * 1024);
    c.sendFrame(0x2, big);
    // The echo queue is bounded: once it is full the server stops reading,
    // so most of the message stays in our own socket.
    let backlog = 0;
    await waitFor(() => {
      backlog = c.socket.writableLength;
      return backlog < big.length;
    }, 'the server to read something', 5000);
    await sleep(500);
    const held = c.socket.writableLength;
    assert.ok(held > 4 * 1024 * 1024, `the server stopped reading (${held} bytes still unsent)`);
    await sleep(200);
    assert.equal(c.socket.writableLength, held, 'no progress while we do not read');
    c.resume();
    const total = () => c.dataPayloads().reduce((n, p) => n + p.length, 0);
    await waitFor(() => total() >= big.length, 'the whole echo', 30000);
    assert.ok(Buffer.concat(c.dataPayloads()).equals(big), 'every byte, in order');
    const data = c.frames.filter((f) => f.opcode < 8);
    assert.equal(data[0].opcode, 0x2);
    assert.ok(data.slice(1).every((f) => f.opcode === 0x0), 'the rest are continuations');
    assert.ok(data.every((f, i) => f.fin === (i === data.length - 1)), 'FIN only on the last frame');
    c.destroy();
  });
});

test('without a subprotocol the upgrade reaches the pvo-default echo protocol; a custom name works', async () => {
  const mine = createEchoProtocol('my-echo');
  await withEcho(async (port) => {
    const none = await openWs(`ws://127.0.0.1:${port}/`);
    assert.equal(none.ws.protocol, '');
    none.ws.send('no subprotocol');
    const named = await openWs(`ws://127.0.0.1:${port}/`, 'my-echo');
    assert.equal(named.ws.protocol, 'my-echo');
    named.ws.send('named');
    await waitFor(() => none.messages.length >= 1 && named.messages.length >= 1, 'both echoes');
    assert.deepEqual(none.texts(), ['no subprotocol']);
    assert.deepEqual(named.texts(), ['named']);
    none.ws.close();
    named.ws.close();
  }, mine);
});

// ---- the lws-test-echo bin ----

async function echoOnce(url: string, protocol: string | undefined, text: string): Promise<string> {
  const c = await openWs(url, protocol);
  c.ws.send(text);
  await waitFor(() => c.messages.length >= 1, `echo from ${url}`);
  c.ws.close();
  await within(c.closed, 2000, 'close');
  return c.texts()[0];
}

async function stop(child: Child, sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  child.proc.kill(sig);
  return within(child.exited, 5000, `exit after ${sig}`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`lws-test-echo echoes with and without a subprotocol and exits cleanly on ${sig}`, async () => {
    const child = spawnBin('lws-test-echo', ['-p', '0', '-i', '127.0.0.1']);
    try {
      const port = await portOf(child);
      assert.match(child.stdout(), /"lws-echo"/);
      const url = `ws://127.0.0.1:${port}/`;
      assert.equal(await echoOnce(url, 'lws-echo', 'with'), 'with');
      assert.equal(await echoOnce(url, undefined, 'without'), 'without');
      // A client still connected does not keep the server from exiting.
      const lingering = await openWs(url);
      const r = await stop(child, sig);
      assert.equal(r.code, 0, `exit code 0, stderr: ${child.stderr()}`);
      assert.match(child.stdout(), /exited cleanly/);
      const closed = await within(lingering.closed, 3000, 'the lingering client to be closed');
      assert.ok(closed.code > 0);
    } finally {
      killChild(child);
    }
  });
}

test('lws-test-echo --protocol NAME serves that name; -h prints usage; a bad port is refused', async () => {
  const child = spawnBin('lws-test-echo', ['--protocol', 'autobahn', '-p', '0', '-i', '127.0.0.1']);
  try {
    const port = await portOf(child);
    const url = `ws://127.0.0.1:${port}/`;
    assert.equal(await echoOnce(url, 'autobahn', 'named'), 'named');
    assert.equal(await echoOnce(url, undefined, 'plain'), 'plain');
    // The default name is not offered when another was chosen.
    await assert.rejects(new Promise((res, rej) => {
      const ws = new WebSocket(url, 'lws-echo');
      ws.on('open', () => {
        ws.close();
        res(undefined);
      });
      ws.on('error', rej);
    }), /Unexpected server response: 400/);
    assert.equal((await stop(child, 'SIGINT')).code, 0);
  } finally {
    killChild(child);
  }

  const help = spawnBin('lws-test-echo', ['-h']);
  const h = await within(help.exited, 5000, '-h to exit');
  assert.equal(h.code, 0);
  assert.match(help.stdout(), /Usage: lws-test-echo/);
  assert.match(help.stdout(), /--protocol/);

  const bad = spawnBin('lws-test-echo', ['-p', '70000']);
  const b = await within(bad.exited, 5000, 'bad port to exit');
  assert.notEqual(b.code, 0);
  assert.match(bad.stderr(), /bad port 70000/);
});
