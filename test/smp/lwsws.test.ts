/**
 * lwsws with global "count-threads": the shipped test-server config served
 * by two service processes: the test page, dumb-increment, and
 * server-status saying which service each connection reached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWs, spawnBin, waitFor } from '../helpers/plugin-ws-client.js';
import { confDir, freePort, httpGet, removeDir, startLwsws, stopLwsws, killChild, vhostFile } from '../helpers/lwsws.js';
import { PKG_ROOT } from '../helpers/paths.js';
import { alive } from '../helpers/pids.js';

test('lwsws with count-threads 2 serves the test page, dumb-increment and status from two processes', async () => {
  const port = await freePort();
  const conf = readFileSync(join(PKG_ROOT, 'lwsws/conf'), 'utf8').replace('"global": {', '"global": {\n    "count-threads": "2",');
  assert.match(conf, /"count-threads": "2"/);
  const vh = readFileSync(join(PKG_ROOT, 'lwsws/conf.d/test-server'), 'utf8').replace('"7681"', `"${port}"`);
  const dir = confDir({ conf, 'conf.d/test-server': vh });
  const child = await startLwsws(['-c', dir], 15000);
  try {
    // The primary announces the vhost once; the services do not repeat it.
    assert.equal(child.stdout().match(/lwsws: vhost /g)?.length, 1, child.stdout());
    for (let i = 0; i < 4; i++) {
      const r = await httpGet(port, '/');
      assert.equal(r.status, 200);
      assert.equal(r.body, readFileSync(join(PKG_ROOT, 'www/test.html'), 'latin1'));
    }
    const seen = new Map<number, number>();
    const open = [];
    for (let i = 0; i < 4; i++) {
      const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status', 5000);
      open.push(c);
      await waitFor(() => c.messages.length > 0, 'the status JSON', 5000);
      const j = JSON.parse(c.texts()[0]) as { i: { contexts: Array<{ tsi: string; count_threads: string; wsi_alive: string }> } };
      const ctx = j.i.contexts[0];
      assert.equal(ctx.count_threads, '2');
      seen.set(Number(ctx.tsi), (seen.get(Number(ctx.tsi)) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), [0, 1], 'both services answer');
    for (let i = 0; i < 2; i++) {
      const d = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol', 5000);
      open.push(d);
      await waitFor(() => d.messages.length >= 2, 'dumb-increment counting', 5000);
      assert.match(d.texts()[0], /^\d+$/);
    }
    // A reload would part the services' vhosts from the primary's: refused, and serving goes on.
    child.proc.kill('SIGHUP');
    await waitFor(() => /reload is not available with count-threads above 1/.test(child.stdout() + child.stderr()), 'the refusal', 3000);
    assert.equal((await httpGet(port, '/')).status, 200);
    for (const c of open) c.ws.close();
    const { code } = await stopLwsws(child, 10000);
    assert.equal(code, 0, child.stderr());
  } finally {
    killChild(child);
    removeDir(dir);
  }
});

test('lwsws -D with count-threads 2: the daemon holds the lock and reports, every service logs to --log-file', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'daemon');
  const state = mkdtempSync(join(tmpdir(), 'tslws-daemon-'));
  const lock = join(state, 'lock');
  const logFile = join(state, 'log');
  const port = await freePort();
  const dir = confDir({ conf: '{ "global": { "count-threads": "2" } }', 'conf.d/v': vhostFile({ name: 'v', port, interface: '127.0.0.1',
    mounts: [{ mountpoint: '/', origin: `file://${www}` }] }) });
  let pid = 0;
  let services: number[] = [];
  try {
    const starter = spawnBin('lwsws', ['-c', dir, '-D', '--lock-file', lock, '--log-file', logFile]);
    const r = await Promise.race([starter.exited, new Promise<null>((res) => setTimeout(() => res(null), 15000))]);
    assert.ok(r, 'the starting process returns');
    assert.equal(r.code, 0, starter.stderr());
    pid = Number(readFileSync(lock, 'latin1').trim());
    assert.ok(pid > 0 && alive(pid));
    assert.equal((await httpGet(port, '/')).body, 'daemon');
    await waitFor(() => existsSync(logFile) && /service 0 of 2 serving/.test(readFileSync(logFile, 'utf8')) &&
      /service 1 of 2 serving/.test(readFileSync(logFile, 'utf8')), 'both services in the log', 8000);
    services = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).map(Number).filter((x) => x > 0);
    assert.equal(services.length, 2, 'two service processes under the daemon');
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !alive(pid) && services.every((s) => !alive(s)), 'the daemon and its services to exit', 10000);
    assert.ok(!existsSync(lock), 'the lock file is removed at exit');
  } finally {
    for (const p of [pid, ...services]) if (p && alive(p)) process.kill(p, 'SIGKILL');
    removeDir(dir);
    removeDir(www);
    removeDir(state);
  }
});
