/**
 * Interop with the C libwebsockets 4.1.6 test apps (Debian package
 * libwebsockets-test-server): our client against its test server, its
 * test client against our test server. A missing binary fails the test.
 */
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import {
  createContext, Reason, Write, callbackHttpDummy, dumbIncrementProtocol, mirrorProtocol,
  type Protocol,
} from '../../src/index.js';
import { Recorder } from '../helpers/client.js';
import { spawnBin, within, killChild, type Child } from '../helpers/plugin-ws-client.js';
import { cApp, freePort, waitForListen, spawnExe } from '../helpers/lws-c-apps.js';
import { randomCircle } from '../../src/bin/test-client/ws-mode.js';
import { makePki } from '../helpers/pki.js';

/** Run the C test server on a free port for the duration of `fn`. */
async function withCServer(fn: (port: number) => Promise<void>, extra: string[] = []): Promise<void> {
  const exe = cApp('libwebsockets-test-server');
  const port = await freePort();
  const child = spawnExe(exe, ['-p', String(port), '-d', '3', ...extra]);
  try {
    await waitForListen(port);
    await fn(port);
  } finally {
    killChild(child);
    await within(child.exited, 3000, 'the C test server to exit');
  }
}

test('our clientConnect gets consecutive numbers from the C dumb-increment and its mirror sends ours back', async () => {
  await withCServer(async (port) => {
    const dumb = new Recorder('dumb');
    const mirror = new Recorder('mirror');
    const ctx = createContext({ protocols: [dumb.protocol, mirror.protocol] });
    const sent: string[] = [];
    mirror.on = (wsi, reason) => {
      if (reason === Reason.CLIENT_ESTABLISHED || (reason === Reason.CLIENT_WRITEABLE && sent.length < 20)) {
        if (reason === Reason.CLIENT_WRITEABLE) {
          const c = randomCircle();
          sent.push(c);
          wsi.write(Buffer.from(c), Write.TEXT);
        }
        wsi.callbackOnWritable();
      }
    };
    try {
      ctx.clientConnect({ address: '127.0.0.1', port, protocol: 'dumb-increment-protocol', localProtocolName: 'dumb' });
      ctx.clientConnect({ address: '127.0.0.1', port, protocol: 'lws-mirror-protocol', localProtocolName: 'mirror' });
      await dumb.until(() => dumb.messages.length >= 5, 'five dumb-increment numbers', 5000);
      const nums = dumb.messages.map((m) => Number(m.data.toString()));
      nums.forEach((n, i) => assert.equal(n, nums[0] + i, `consecutive numbers: ${nums.join(',')}`));
      assert.equal(nums[0], 0, 'counting starts at 0');
      await mirror.until(() => mirror.messages.length >= 20, 'our 20 circles mirrored back', 5000);
      assert.deepEqual(mirror.messages.map((m) => m.data.toString()), sent);
      assert.ok(!dumb.has(Reason.CLIENT_CONNECTION_ERROR) && !mirror.has(Reason.CLIENT_CONNECTION_ERROR));
    } finally {
      await ctx.destroy();
    }
  });
});

test('lws-test-client -O against the C test server exits 0 after its mirror lifetime', async () => {
  await withCServer(async (port) => {
    const child = spawnBin('lws-test-client', ['-O', `ws://127.0.0.1:${port}/`]);
    try {
      const r = await within(child.exited, 10000, 'lws-test-client -O to finish');
      assert.equal(r.code, 0, `exit 0; stderr: ${child.stderr()}`);
      assert.match(child.stdout(), /dumb-increment: connected/);
      assert.match(child.stdout(), /mirror: 100 sent, 100 mirrored back/);
    } finally {
      killChild(child);
    }
  });
});

test('lws-test-client -s -O over TLS to the C test server accepts its self-signed certificate; without -s it is refused', async () => {
  // Debian's bundled test certificate is a 1024-bit key that OpenSSL 3 refuses to load, so make one.
  const dir = mkdtempSync(join(tmpdir(), 'tslws-interop-'));
  try {
    const key = join(dir, 'k.pem');
    const cert = join(dir, 'c.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-keyout', key, '-out', cert], { stdio: 'ignore' });
    await withCServer(async (port) => {
      const ok = spawnBin('lws-test-client', ['-s', '-O', `wss://127.0.0.1:${port}/`]);
      try {
        const r = await within(ok.exited, 10000, 'lws-test-client -s -O to finish');
        assert.equal(r.code, 0, ok.stderr());
        assert.match(ok.stdout(), /mirror: 100 sent, 100 mirrored back/);
      } finally {
        killChild(ok);
      }
      const strict = spawnBin('lws-test-client', ['-O', `wss://127.0.0.1:${port}/`]);
      try {
        const r = await within(strict.exited, 10000, 'lws-test-client without -s to give up');
        assert.equal(r.code, 1);
        assert.match(strict.stderr(), /TLS handshake .*failed: self-signed certificate/);
      } finally {
        killChild(strict);
      }
    }, ['-s', '-C', cert, '-K', key]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lws-test-client -O reports a refused connection with a non-zero status', async () => {
  const port = await freePort();
  const child = spawnBin('lws-test-client', ['-O', `ws://127.0.0.1:${port}/`]);
  try {
    const r = await within(child.exited, 5000, 'lws-test-client to give up');
    assert.notEqual(r.code, 0);
    assert.match(child.stderr(), /connection failed: .*refused/);
  } finally {
    killChild(child);
  }
});

/** Our test server's protocols, with every callback also counted per reason. */
function counted(p: Protocol, seen: Map<string, number>): Protocol {
  return {
    ...p,
    callback(...args) {
      const k = `${p.name}:${Reason[args[1]]}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      return p.callback(...args);
    },
  };
}

test('the C libwebsockets-test-client talks dumb-increment and mirror with our test server', async () => {
  const exe = cApp('libwebsockets-test-client');
  const seen = new Map<string, number>();
  const ctx = createContext({
    port: 0,
    iface: '127.0.0.1',
    protocols: [{ name: 'http-only', callback: callbackHttpDummy },
      counted(dumbIncrementProtocol, seen), counted(mirrorProtocol, seen)],
  });
  let child: Child | undefined;
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port;
    // -d 15 adds INFO, where the C client logs each dumb-increment number.
    child = spawnExe(exe, ['127.0.0.1', '-p', String(port), '-d', '15']);
    const c = child;
    const count = (k: string): number => seen.get(k) ?? 0;
    const end = Date.now() + 8000;
    while (!(count('lws-mirror-protocol:RECEIVE') >= 50 && /rx \d+ '4'/.test(c.stderr()))) {
      if (Date.now() > end || c.proc.exitCode !== null)
        assert.fail(`no traffic from the C client: ${JSON.stringify([...seen])}\n${c.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(count('dumb-increment-protocol:ESTABLISHED'), 1);
    assert.equal(count('lws-mirror-protocol:ESTABLISHED'), 1);
    const rx = [...c.stderr().matchAll(/rx \d+ '(\d+)'/g)].map((m) => Number(m[1]));
    assert.deepEqual(rx.slice(0, 5), [0, 1, 2, 3, 4], 'the C client printed our numbers in order');
    assert.match(c.stderr(), /mirror: LWS_CALLBACK_CLIENT_ESTABLISHED/);
    c.proc.kill('SIGINT');
    await within(c.exited, 3000, 'the C client to exit on SIGINT');
  } finally {
    if (child) killChild(child);
    await ctx.destroy();
  }
});

test('lws-test-ping gets PONGs from the C test server', async () => {
  await withCServer(async (port) => {
    const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-c', '3', '-i', '0.05']);
    try {
      const r = await within(c.exited, 8000, 'lws-test-ping to finish');
      assert.equal(r.code, 0, c.stderr());
      assert.match(c.stdout(), /^3 packets transmitted, 3 received, 0% packet loss/m);
    } finally {
      killChild(c);
    }
  });
});

test('lws-test-ping -t gets PONGs from the C test server over TLS; without -t it cannot connect', async () => {
  const pki = makePki();
  try {
    const leaf = pki.selfSigned('localhost');
    await withCServer(async (port) => {
      const c = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-t', '-c', '3', '-i', '0.05']);
      try {
        const r = await within(c.exited, 8000, 'lws-test-ping -t to finish');
        assert.equal(r.code, 0, c.stderr());
        assert.match(c.stdout(), /^3 packets transmitted, 3 received, 0% packet loss/m);
      } finally {
        killChild(c);
      }
      const plain = spawnBin('lws-test-ping', ['127.0.0.1', '-p', String(port), '-c', '3', '-i', '0.05']);
      try {
        const r = await within(plain.exited, 8000, 'lws-test-ping without -t to give up');
        assert.equal(r.code, 2);
        assert.match(plain.stderr(), /connection failed/);
      } finally {
        killChild(plain);
      }
    }, ['-s', '-C', leaf.certPath, '-K', leaf.keyPath]);
  } finally {
    pki.cleanup();
  }
});

test('a missing C test app fails naming the Debian package to install', () => {
  assert.throws(() => cApp('libwebsockets-test-no-such-app'), /install the Debian package libwebsockets-test-server/);
});
