/**
 * The lws-test-client bin against our own lws-test-server and a plain TCP
 * echo: what a user sees on stdout and the exit status of each mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { spawnBin, portOf, within, waitFor, killChild, type Child } from './plugin-ws-client.js';
import { parseTarget } from '../src/bin/test-client/target.js';
import { randomCircle } from '../src/bin/test-client/ws-mode.js';

const here = dirname(fileURLToPath(import.meta.url));

async function withOurServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    await fn(await portOf(server));
  } finally {
    killChild(server);
  }
}

async function run(child: Child, ms: number): Promise<number | null> {
  try {
    return (await within(child.exited, ms, 'lws-test-client to exit')).code;
  } finally {
    killChild(child);
  }
}

test('circles look like the C client\'s and URLs pick the mode', () => {
  for (let i = 0; i < 50; i++) assert.match(randomCircle(), /^c #[0-9A-F]{6} \d{1,3} \d{1,3} \d{1,2};$/);
  assert.deepEqual(parseTarget('localhost', undefined, false),
    { mode: 'ws', host: 'localhost', port: 7681, path: '/', hostHeader: 'localhost:7681', tls: false, allowSelfSigned: false });
  assert.equal(parseTarget('http://[::1]:80/x?y=1', undefined, false).path, '/x?y=1');
  assert.equal(parseTarget('raw://h:99', undefined, true).tls, true);
  assert.throws(() => parseTarget('raw://h', undefined, false), /port/);
  assert.throws(() => parseTarget('ftp://h', undefined, false), /scheme/);
});

test('-O against our test server: dumb numbers printed, 100 circles mirrored, exit 0', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', ['-O', `ws://127.0.0.1:${port}/`]);
    assert.equal(await run(c, 10000), 0, c.stderr());
    assert.match(c.stdout(), /mirror: 100 sent, 100 mirrored back/);
  });
});

test('without -O it prints consecutive numbers until SIGINT, then exits cleanly', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', [`ws://127.0.0.1:${port}/`]);
    try {
      await waitFor(() => /^rx 3$/m.test(c.stdout()), 'four numbers', 5000);
      const nums = [...c.stdout().matchAll(/^rx (\d+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(nums.slice(0, 4), [0, 1, 2, 3]);
      c.proc.kill('SIGINT');
      assert.equal(await run(c, 3000), 0);
      assert.match(c.stdout(), /exited cleanly/);
    } finally {
      killChild(c);
    }
  });
});

test('-j -O sends one circle and gets it back; -n -O stays connected sending nothing', async () => {
  await withOurServer(async (port) => {
    const j = spawnBin('lws-test-client', ['-j', '-O', `ws://127.0.0.1:${port}/`]);
    assert.equal(await run(j, 5000), 0, j.stderr());
    assert.match(j.stdout(), /mirror: 1 sent, 1 mirrored back/);
    assert.doesNotMatch(j.stdout(), /dumb-increment/);
    const n = spawnBin('lws-test-client', ['-n', '-O', '-p', String(port), '127.0.0.1']);
    assert.equal(await run(n, 5000), 0, n.stderr());
    assert.match(n.stdout(), /stayed connected, sent nothing/);
  });
});

test('http:// prints the body; a 404 exits 1', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', [`http://127.0.0.1:${port}/test.html`]);
    assert.equal(await run(c, 5000), 0, c.stderr());
    assert.equal(c.stdout(), readFileSync(resolve(here, '../../www/test.html'), 'utf8'));
    const missing = spawnBin('lws-test-client', [`http://127.0.0.1:${port}/nope.html`]);
    assert.equal(await run(missing, 5000), 1);
    assert.match(missing.stderr(), /HTTP status 404/);
  });
});

test('raw:// copies stdin to the socket and the socket to stdout', async () => {
  // Answers in upper case and hangs up once it has seen a full line.
  const server = createServer((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) s.end(got.toUpperCase());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const proc = spawn(process.execPath, [resolve(here, '../src/bin/lws-test-client.js'), `raw://127.0.0.1:${port}`],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    proc.stdin.write('hello raw\n');
    assert.equal(await within(exited, 5000, 'the raw client to exit when the peer closes'), 0);
    assert.equal(out, 'HELLO RAW\n');
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    server.close();
  }
});
