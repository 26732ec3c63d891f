/**
 * lws-test-fraggle server and client against each other, and the client
 * against a server whose checksum is wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createContext, Reason, Write, callbackHttpDummy } from '../src/index.js';
import { spawnBin, portOf, within, waitFor, killChild } from './plugin-ws-client.js';

test('the fraggle client receives 15 randomly fragmented messages correctly from the fraggle server', async () => {
  const server = spawnBin('lws-test-fraggle', ['-p', '0', '-i', '127.0.0.1']);
  try {
    const port = await portOf(server);
    const client = spawnBin('lws-test-fraggle', ['-c', '127.0.0.1', '-p', String(port), '-n', '15']);
    try {
      const r = await within(client.exited, 15000, 'the fraggle client to check 15 messages');
      assert.equal(r.code, 0, client.stderr());
      const ok = [...client.stdout().matchAll(/^EOM received (\d+) correctly from (\d+) fragments$/gm)];
      assert.equal(ok.length, 15, client.stdout());
      assert.doesNotMatch(client.stdout(), /ERROR/);
      // 1..1024 fragments of 1..512 bytes: the RECEIVE count can only grow from what was sent.
      for (const m of ok) assert.ok(Number(m[1]) >= Number(m[2]) && Number(m[1]) <= 1024 * 512, m[0]);
      assert.ok(ok.some((m) => Number(m[2]) > 1), 'some messages came in several fragments');
      assert.match(client.stdout(), /15 messages, 0 errors/);
      await waitFor(() => /Spamming session over/.test(server.stdout()), 'the server to log a message', 2000);
      assert.match(server.stdout(), /Spamming session over, len = \d+\. sum = 0x[0-9a-f]{8}/);
    } finally {
      killChild(client);
    }
    server.proc.kill('SIGINT');
    assert.equal((await within(server.exited, 3000, 'the server to exit on SIGINT')).code, 0);
  } finally {
    killChild(server);
  }
});

test('the fraggle client reports a wrong checksum and exits 1', async () => {
  // A server that sends one two-fragment message "ab"+"c" and a checksum one too high.
  const ctx = createContext({
    port: 0,
    iface: '127.0.0.1',
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, {
      name: 'fraggle-protocol',
      createSessionData: () => ({ step: 0 }),
      callback(wsi, reason, user) {
        const s = user as { step: number };
        if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
        if (reason === Reason.SERVER_WRITEABLE) {
          const sum = 0x61 + 0x62 + 0x63 + 1;
          const cs = Buffer.alloc(4);
          cs.writeUInt32BE(sum);
          if (s.step === 0) wsi.write(Buffer.from('ab'), Write.BINARY | Write.NO_FIN);
          else if (s.step === 1) wsi.write(Buffer.from('c'), Write.CONTINUATION);
          else if (s.step === 2) wsi.write(cs, Write.BINARY);
          if (++s.step < 3) wsi.callbackOnWritable();
        }
        return 0;
      },
    }],
  });
  try {
    await ctx.listening;
    const client = spawnBin('lws-test-fraggle', ['-c', '127.0.0.1', '-p', String(ctx.vhosts[0].port), '-n', '1']);
    try {
      const r = await within(client.exited, 5000, 'the fraggle client to finish');
      assert.equal(r.code, 1);
      assert.match(client.stdout(), /\*\*\*\* ERROR at EOM: length 3, rx sum = 0x126, server says it sent 0x127/);
    } finally {
      killChild(client);
    }
  } finally {
    await ctx.destroy();
  }
});
