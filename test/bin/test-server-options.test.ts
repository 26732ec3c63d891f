/**
 * lws-test-server's TLS, socket and daemon switches, run as a process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin, spawnExe, portOf, killChild, within, waitFor, openWs, type Child } from '../helpers/plugin-ws-client.js';
import { curl } from '../helpers/curl.js';
import { freePort } from '../helpers/lws-c-apps.js';
import { makePki } from '../helpers/pki.js';
import { run } from '../helpers/tls.js';
import { distSrc, pkgPath } from '../helpers/paths.js';

const BIN = distSrc('bin', 'lws-test-server.js');

async function started(args: string[], env?: NodeJS.ProcessEnv): Promise<{ c: Child; port: number }> {
  const c = env ? spawnExe(process.execPath, [BIN, ...args], { env }) : spawnBin('lws-test-server', args);
  return { c, port: await portOf(c, 10000) };
}

test('-s makes a self-signed certificate once and reuses it; -a serves clear text beside TLS; without -a clear text is redirected', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'tslws-ts-cache-'));
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  try {
    const port = await freePort();
    let s = await started(['-p', String(port), '-i', '127.0.0.1', '-s'], env);
    try {
      assert.match(s.c.stdout(), /made a self-signed certificate/);
      assert.match(s.c.stdout(), /on https:\/\/127\.0\.0\.1:\d+\/ \(Ctrl-C to stop\)/);
      const certPath = join(cache, 'tslws/test-server/localhost.pem');
      const tls = await run('curl', ['-sS', '--cacert', certPath, `https://localhost:${s.port}/`]);
      assert.equal(tls.code, 0, tls.stderr);
      assert.match(tls.stdout, /tslws test server/);
      const clear = await run('curl', ['-sS', '-i', `http://127.0.0.1:${s.port}/test.html`]);
      assert.match(clear.stdout, /^HTTP\/1\.1 301/);
      assert.match(clear.stdout, /location: https:\/\/127\.0\.0\.1:\d+\//i);
    } finally {
      killChild(s.c);
      await s.c.exited;
    }
    s = await started(['-p', String(port), '-i', '127.0.0.1', '-s', '-a'], env);
    try {
      assert.match(s.c.stdout(), /using the self-signed certificate/);
      const clear = await run('curl', ['-sS', `http://127.0.0.1:${s.port}/`]);
      assert.match(clear.stdout, /tslws test server/);
      const tls = await run('curl', ['-sSk', `https://127.0.0.1:${s.port}/`]);
      assert.match(tls.stdout, /tslws test server/);
    } finally {
      killChild(s.c);
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('-s serves the page over HTTP/2 (ALPN h2) and its WebSocket protocols over HTTP/1.1 on the same port', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'tslws-ts-cache-'));
  const s = await started(['-p', '0', '-i', '127.0.0.1', '-s'], { ...process.env, XDG_CACHE_HOME: cache });
  try {
    const base = `https://127.0.0.1:${s.port}`;
    // A WebSocket open while HTTP/2 requests come and go on the same port.
    const dumb = await openWs(`wss://127.0.0.1:${s.port}/`, 'dumb-increment-protocol', 5000, { rejectUnauthorized: false });
    const page = await curl(['--http2', '-k', `${base}/`]);
    assert.deepEqual([page.status, page.version], [200, '2'], 'curl negotiated h2');
    assert.ok(page.body.equals(readFileSync(pkgPath('www', 'test.html'))), 'the body is www/test.html');
    for (const f of ['test.js', 'lws-common.js']) {
      const r = await curl(['--http2', '-k', `${base}/${f}`]);
      assert.deepEqual([r.status, r.version], [200, '2']);
      assert.ok(r.body.equals(readFileSync(pkgPath('www', f))), `/${f} arrives whole`);
    }
    assert.equal((await curl(['--http1.1', '-k', `${base}/`])).version, '1.1', 'HTTP/1.1 is still offered');

    await waitFor(() => dumb.messages.length >= 5, 'five numbers over wss', 5000);
    assert.deepEqual(dumb.texts().slice(0, 5), ['0', '1', '2', '3', '4']);
    const m1 = await openWs(`wss://127.0.0.1:${s.port}/?mirror=h2`, 'lws-mirror-protocol', 5000, { rejectUnauthorized: false });
    const m2 = await openWs(`wss://127.0.0.1:${s.port}/?mirror=h2`, 'lws-mirror-protocol', 5000, { rejectUnauthorized: false });
    m1.ws.send('d #000000 1 2 3 4;');
    await waitFor(() => m2.messages.length >= 1, 'the mirrored line', 5000);
    assert.deepEqual(m2.texts(), ['d #000000 1 2 3 4;']);
    dumb.ws.send('closeme\n');
    assert.deepEqual(await within(dumb.closed, 5000, 'closeme'), { code: 1001, reason: 'seeya' });
    for (const m of [m1, m2]) m.ws.close();
  } finally {
    killChild(s.c);
    await s.c.exited;
    rmSync(cache, { recursive: true, force: true });
  }
});

test('-C/-K/-A/-v: the given certificate, and client certificates required', async () => {
  const pki = makePki();
  const leaf = pki.issue('localhost');
  const alice = pki.issue('alice', { client: true });
  const s = await started(['-p', '0', '-i', '127.0.0.1', '-v', '-C', leaf.certPath, '-K', leaf.keyPath, '-A', pki.ca.certPath]);
  try {
    const url = `https://localhost:${s.port}/`;
    const ok = await run('curl', ['-sS', '--cacert', pki.ca.certPath, '--cert', alice.certPath, '--key', alice.keyPath, url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /tslws test server/);
    const refused = await run('curl', ['-sS', '--cacert', pki.ca.certPath, url]);
    assert.notEqual(refused.code, 0);
  } finally {
    killChild(s.c);
    pki.cleanup();
  }
});

test('-U serves on a UNIX socket; bad switch combinations are refused with a reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-ts-unix-'));
  const path = join(dir, 'ts.sock');
  const c = spawnBin('lws-test-server', ['-U', path]);
  try {
    await waitFor(() => /on unix:/.test(c.stdout()) || c.proc.exitCode !== null, 'the server to listen', 10000);
    assert.match(c.stdout(), new RegExp(`on unix:${path.replace(/[/.]/g, '\\$&')}`));
    const r = await run('curl', ['-sS', '--unix-socket', path, 'http://localhost/']);
    assert.match(r.stdout, /tslws test server/);
  } finally {
    killChild(c);
    await c.exited;
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [args, why] of [
    [['-a'], /-a needs -s/],
    [['-s', '-C', '/nonexistent.pem'], /-C and -K go together/],
    [['-v'], /-v needs -A/],
    [['-k'], /-k needs -i/],
    [['-P', 'x'], /-P needs a whole number/],
    [['-s', '-C', '/nonexistent.pem', '-K', '/nonexistent.key'], /cannot read sslCertFilepath/],
  ] as const) {
    const b = spawnBin('lws-test-server', [...args]);
    const r = await within(b.exited, 10000, `lws-test-server ${args.join(' ')} to exit`);
    assert.equal(r.code, 1, `${args.join(' ')}: ${b.stderr()}`);
    assert.match(b.stderr(), why);
  }
});

test('-D runs in the background with a pid lock file; a second -D is refused while it runs', async () => {
  const lock = '/tmp/.lwsts-lock';
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      // stale
    }
    assert.ok(!alive, `${lock} is held by a running pid ${pid}: stop that lws-test-server first`);
  }
  const port = await freePort();
  const a = spawnBin('lws-test-server', ['-D', '-p', String(port), '-i', '127.0.0.1']);
  const ra = await within(a.exited, 15000, 'the starting process to return');
  assert.equal(ra.code, 0, a.stderr());
  assert.match(a.stdout(), /daemon pid (\d+)/);
  const pid = Number(readFileSync(lock, 'utf8'));
  try {
    const page = await run('curl', ['-sS', `http://127.0.0.1:${port}/`]);
    assert.match(page.stdout, /tslws test server/);
    const b = spawnBin('lws-test-server', ['-D', '-p', String(await freePort()), '-i', '127.0.0.1']);
    const rb = await within(b.exited, 15000, 'the second start to be refused');
    assert.equal(rb.code, 1);
    assert.match(b.stderr(), /already running: \/tmp\/\.lwsts-lock holds pid/);
  } finally {
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !existsSync(lock), 'the daemon to remove its lock file', 10000);
  }
});

test('the file-ops example: fops-demo.txt exists only in the server\'s file ops; other paths pass through, small files from the cache, larger opens logged at -d 15', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tslws-ts-fops-'));
  const small = randomBytes(1024);
  const big = randomBytes(200 * 1024);
  writeFileSync(join(root, 'small.bin'), small);
  writeFileSync(join(root, 'big.bin'), big);
  const s = await started(['-p', '0', '-i', '127.0.0.1', '-d', '15', '-r', root]);
  try {
    const r = await run('curl', ['-sS', `http://127.0.0.1:${s.port}/fops-demo.txt`]);
    assert.match(r.stdout, /^This file is not on disk: the test server's file-ops layer made it/);
    assert.equal(existsSync(join(root, 'fops-demo.txt')), false);
    for (let i = 0; i < 2; i++) assert.ok((await fetchBytes(`http://127.0.0.1:${s.port}/small.bin`)).equals(small), 'small.bin served whole');
    assert.ok((await fetchBytes(`http://127.0.0.1:${s.port}/big.bin`)).equals(big), 'big.bin served whole');
    await waitFor(() => /test server fops: open .*big\.bin/.test(s.c.stderr()), 'the open of big.bin to be logged', 5000);
    // small.bin was read once into the cache by the server itself: the layer never opened it.
    assert.doesNotMatch(s.c.stderr(), /test server fops: open .*small\.bin/);
    // A changed small file is served changed (the cache revalidates by stat).
    const changed = randomBytes(1500);
    writeFileSync(join(root, 'small.bin'), changed);
    assert.ok((await fetchBytes(`http://127.0.0.1:${s.port}/small.bin`)).equals(changed), 'the changed small.bin is served');
  } finally {
    killChild(s.c);
    rmSync(root, { recursive: true, force: true });
  }
});

async function fetchBytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return Buffer.from(await r.arrayBuffer());
}
