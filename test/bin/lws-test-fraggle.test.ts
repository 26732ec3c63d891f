/**
 * lws-test-fraggle server and client against each other (plain and TLS),
 * the client against a server whose checksum is wrong and against
 * node:https + ws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createContext, Reason, Write, callbackHttpDummy } from '../../src/index.js';
import { spawnBin, portOf, within, waitFor, killChild } from '../helpers/plugin-ws-client.js';
import { createServer as createHttpsServer } from 'node:https';
import { WebSocketServer } from 'ws';
import { makePki } from '../helpers/pki.js';

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
      callback(wsi, reason, user, _input) {
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

test('fraggle -s: our TLS server and client, a node:https + ws server, and the -s / -C / -K checks', async () => {
  const pki = makePki();
  const leaf = pki.selfSigned('localhost');
  try {
    // Our server over TLS, our client over TLS.
    const server = spawnBin('lws-test-fraggle', ['-s', '-C', leaf.certPath, '-K', leaf.keyPath, '-p', '0', '-i', '127.0.0.1']);
    try {
      const port = await portOf(server);
      assert.match(server.stdout(), /fragmenting on wss:\/\//);
      const client = spawnBin('lws-test-fraggle', ['-s', '-c', '127.0.0.1', '-p', String(port), '-n', '5']);
      try {
        const r = await within(client.exited, 15000, 'the TLS fraggle client to check 5 messages');
        assert.equal(r.code, 0, client.stderr());
        assert.equal([...client.stdout().matchAll(/^EOM received \d+ correctly from \d+ fragments$/gm)].length, 5);
      } finally {
        killChild(client);
      }
      // Without -s the client cannot talk to it.
      const plain = spawnBin('lws-test-fraggle', ['-c', '127.0.0.1', '-p', String(port), '-n', '1']);
      try {
        assert.equal((await within(plain.exited, 8000, 'the plain client to give up')).code, 1);
        assert.match(plain.stderr(), /connection failed/);
      } finally {
        killChild(plain);
      }
    } finally {
      killChild(server);
    }

    // Our client against node:https + ws sending one message "ab" + "c" and its checksum.
    const https = createHttpsServer({ cert: leaf.cert, key: leaf.key });
    const wss = new WebSocketServer({ server: https, handleProtocols: (p: Set<string>) => (p.has('fraggle-protocol') ? 'fraggle-protocol' : false) });
    wss.on('connection', (ws) => {
      const cs = Buffer.alloc(4);
      cs.writeUInt32BE(0x61 + 0x62 + 0x63);
      ws.send(Buffer.from('ab'), { binary: true, fin: false });
      ws.send(Buffer.from('c'), { binary: true, fin: true });
      ws.send(cs, { binary: true });
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    try {
      const port = (https.address() as { port: number }).port;
      const client = spawnBin('lws-test-fraggle', ['-s', '-c', '127.0.0.1', '-p', String(port), '-n', '1']);
      try {
        const r = await within(client.exited, 8000, 'the fraggle client against node:https');
        assert.equal(r.code, 0, client.stderr());
        assert.match(client.stdout(), /^EOM received 3 correctly from \d+ fragments$/m);
      } finally {
        killChild(client);
      }
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      https.closeAllConnections();
      https.close();
    }

    const noCert = spawnBin('lws-test-fraggle', ['-s', '-p', '0']);
    assert.equal((await within(noCert.exited, 5000, 'fraggle -s without -C')).code, 1);
    assert.match(noCert.stderr(), /-s needs -C CERT\.pem and -K KEY\.pem/);
    const badFile = spawnBin('lws-test-fraggle', ['-s', '-C', '/nonexistent.pem', '-K', leaf.keyPath, '-p', '0']);
    assert.equal((await within(badFile.exited, 5000, 'fraggle -s with a missing file')).code, 1);
    assert.match(badFile.stderr(), /nonexistent\.pem/);
  } finally {
    pki.cleanup();
  }
});
