/**
 * lws-test-ping against our lws-test-server: replies timed per index, the
 * ping(8) summary, mirror mode, and a refused connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnBin, portOf, within, killChild } from '../helpers/plugin-ws-client.js';
import { freePort } from '../helpers/lws-c-apps.js';
import { PingRing, pingPayload } from '../../src/bin/ping/ring.js';

test('the ping ring times replies, spots duplicates and unknown indexes, and counts loss', () => {
  const ring = new PingRing();
  const a = ring.noteSent(100);
  const b = ring.noteSent(200);
  ring.noteSent(300);
  assert.deepEqual(ring.noteReply(a, 105), { index: 1, rttMs: 5, duplicate: false });
  assert.deepEqual(ring.noteReply(a, 110), { index: 1, rttMs: 10, duplicate: true });
  assert.deepEqual(ring.noteReply(99, 110), { index: 99, duplicate: false });
  ring.noteReply(b, 215);
  assert.deepEqual(ring.summary(), { transmitted: 3, received: 2, lossPercent: 33, min: 5, avg: 10, max: 15 });
  const p = pingPayload(258, 20);
  assert.equal(p.length, 20);
  assert.equal(p.readBigUInt64BE(0), 258n);
});

async function withOurServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    await fn(await portOf(server));
  } finally {
    killChild(server);
  }
}

test('-c 6 over 2 connections: six timed replies and 0% packet loss', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-c', '6', '-i', '0.05', '-r', '2', '-s', '100']);
    try {
      const r = await within(c.exited, 8000, 'lws-test-ping -c 6 to finish');
      assert.equal(r.code, 0, c.stderr());
      const out = c.stdout();
      assert.match(out, /^Websocket PING 127\.0\.0\.1 \(127\.0\.0\.1\) 100 bytes of data\.$/m);
      const reqs = [...out.matchAll(/^100 bytes from 127\.0\.0\.1: req=(\d+) time=\d+\.\dms$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(reqs.sort((x, y) => x - y), [1, 2, 3, 4, 5, 6]);
      assert.match(out, /--- 127\.0\.0\.1 websocket ping statistics using 2 connections ---/);
      assert.match(out, /^6 packets transmitted, 6 received, 0% packet loss, time \d+ms$/m);
      assert.match(out, /^rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms$/m);
    } finally {
      killChild(c);
    }
  });
});

test('-m pings through lws-mirror-protocol as BINARY messages', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-m', '-s', '1000', '-c', '3', '-i', '0.05']);
    try {
      const r = await within(c.exited, 8000, 'lws-test-ping -m to finish');
      assert.equal(r.code, 0, c.stderr());
      assert.equal([...c.stdout().matchAll(/^1000 bytes from .*req=\d+ time=/gm)].length, 3);
      assert.match(c.stdout(), /^3 packets transmitted, 3 received, 0% packet loss/m);
    } finally {
      killChild(c);
    }
  });
});

test('a refused connection exits 2 with the reason', async () => {
  const port = await freePort();
  const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-c', '2']);
  try {
    const r = await within(c.exited, 5000, 'lws-test-ping to give up');
    assert.equal(r.code, 2);
    assert.match(c.stderr(), /connection failed: .*refused/);
  } finally {
    killChild(c);
  }
});

test('-f floods: a dot per ping, a backspace per reply, no reply lines', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-f', '-c', '5', '-i', '0.02']);
    try {
      const r = await within(c.exited, 8000, 'lws-test-ping -f to finish');
      assert.equal(r.code, 0, c.stderr());
      const flood = c.stdout().split('bytes of data.\n')[1].split('\n---')[0];
      assert.equal(flood.replace(/\n/g, ''), flood.replace(/[^.\x08]/g, ''), 'only dots and backspaces');
      assert.equal((flood.match(/\./g) ?? []).length, 5);
      assert.equal((flood.match(/\x08/g) ?? []).length, 5);
      assert.doesNotMatch(c.stdout(), /bytes from/);
      assert.match(c.stdout(), /^5 packets transmitted, 5 received, 0% packet loss/m);
    } finally {
      killChild(c);
    }
  });
});

test('-k and -v are accepted with a notice; frames stay masked (our server refuses unmasked ones)', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-k', '-v', '13', '-c', '2', '-i', '0.05']);
    try {
      const r = await within(c.exited, 8000, 'lws-test-ping -k to finish');
      assert.equal(r.code, 0, c.stderr());
      assert.match(c.stderr(), /-k ignored: RFC 6455 requires a client to mask every frame/);
      assert.match(c.stderr(), /-v 13 ignored/);
      assert.match(c.stdout(), /^2 packets transmitted, 2 received, 0% packet loss/m);
    } finally {
      killChild(c);
    }
  });
  const h = spawnBin('lws-test-ping', ['--help']);
  assert.equal((await within(h.exited, 5000, 'help')).code, 0);
  assert.match(h.stdout(), /-k, --no-mask .*\n.*RFC 6455 requires a client to mask every frame/);
});
