/**
 * Each fact a server bin reports is printed once, counting stdout and
 * stderr together (in a terminal they are one stream): where it serves,
 * that it stopped, and a port it cannot listen on (with address and port).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin, portOf, within, waitFor, killChild, type Child } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, freePort, startLwsws, failLwsws, stopLwsws, vhostFile } from '../helpers/lwsws.js';

const both = (c: Child) => c.stdout() + c.stderr();
const count = (text: string, what: string | RegExp) =>
  typeof what === 'string' ? text.split(what).length - 1 : [...text.matchAll(new RegExp(what.source, 'g'))].length;

async function takenPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

test('lws-test-server says where it serves once, and that it stopped once', async () => {
  const child = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    const port = await portOf(child);
    child.proc.kill('SIGINT');
    const r = await within(child.exited, 5000, 'exit after SIGINT');
    assert.equal(r.code, 0, child.stderr());
    const out = both(child);
    assert.equal(count(out, 'serving '), 1, out);
    assert.equal(count(out, `listening on 127.0.0.1:${port}`), 1, out);
    assert.equal(count(out, 'exited cleanly'), 1, out);
  } finally {
    killChild(child);
  }
});

test('lws-test-server on a taken port says so once, with the address and port, and exits 1', async () => {
  const taken = await takenPort();
  const child = spawnBin('lws-test-server', ['-p', String(taken.port), '-i', '127.0.0.1']);
  try {
    const r = await within(child.exited, 5000, 'exit on a taken port');
    assert.equal(r.code, 1);
    const out = both(child);
    assert.equal(count(out, 'EADDRINUSE'), 1, out);
    assert.match(out, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken.port}: address already in use`));
  } finally {
    killChild(child);
    await taken.close();
  }
});

test('lwsws says each vhost, that it serves, a reload and that it stopped once each', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'hi');
  const port = await freePort();
  const dir = confDir({
    conf: '{ "global": {} }',
    'conf.d/a': vhostFile({ name: 'v', port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }] }),
  });
  const child = await startLwsws(['-c', dir]);
  try {
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded'), 'the reload', 5000);
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
  }
  const out = both(child);
  assert.equal(count(out, /vhost v on /), 1, out);
  assert.equal(count(out, `listening on 127.0.0.1:${port}`), 1, out);
  assert.equal(count(out, 'serving (config'), 1, out);
  assert.equal(count(out, /reloaded|reload:/), 1, out);
  assert.equal(count(out, 'exited cleanly'), 1, out);
});

test('lwsws on a taken port reports it once, at the line of "port", with the address and port', async () => {
  const taken = await takenPort();
  const dir = confDir({
    conf: '{ "global": {} }',
    'conf.d/a': `{ "vhosts": [ {\n  "name": "v",\n  "interface": "127.0.0.1",\n  "port": ${taken.port}\n} ] }`,
  });
  try {
    const r = await failLwsws(['-c', dir]);
    assert.equal(r.code, 1);
    assert.equal(count(r.stderr, 'EADDRINUSE'), 1, r.stderr);
    assert.match(r.stderr, new RegExp(`conf\\.d/a:4: "port": vhost "v": cannot listen on 127\\.0\\.0\\.1:${taken.port}: ` +
      'address already in use \\(EADDRINUSE\\)'));
    assert.equal(count(r.stderr, 'not starting'), 1);
  } finally {
    removeDir(dir);
    await taken.close();
  }
});
