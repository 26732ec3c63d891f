import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readlinkSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, freePort, vhostFile, httpGet, waitFor, failLwsws } from '../helpers/lwsws.js';
import { daemonize } from '../../src/lwsws/daemon.js';
import { alive } from '../helpers/pids.js';

test('-D: detached daemon with a pid lock file that stops a second instance and goes at exit; logs to --log-file', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'daemon');
  const state = mkdtempSync(join(tmpdir(), 'tslws-daemon-'));
  const lock = join(state, 'lock');
  const logFile = join(state, 'log');
  // A stale lock (its process is gone) does not stop the daemon.
  writeFileSync(lock, '999999999\n');
  const port = await freePort();
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/v': vhostFile({ name: 'v', port, interface: '127.0.0.1',
    mounts: [{ mountpoint: '/', origin: `file://${www}` }] }) });
  const args = ['-c', dir, '-D', '--lock-file', lock, '--log-file', logFile];
  let pid = 0;
  try {
    const starter = spawnBin('lwsws', args);
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([starter.exited, new Promise<null>((res) => (t = setTimeout(() => res(null), 10000)))])
      .finally(() => clearTimeout(t));
    assert.ok(r, 'the starting process returns');
    assert.equal(r.code, 0, starter.stderr());
    assert.match(starter.stdout(), /daemon pid \d+ serving/);
    pid = Number(readFileSync(lock, 'latin1').trim());
    assert.ok(pid > 0 && pid !== starter.proc.pid && alive(pid), 'the lock holds the live daemon\'s pid');
    assert.equal((await httpGet(port, '/')).body, 'daemon');
    for (const fd of [0, 1, 2]) assert.equal(readlinkSync(`/proc/${pid}/fd/${fd}`), '/dev/null', `fd ${fd} is /dev/null`);
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(fields[3]), pid, 'the daemon leads its own session');
    await waitFor(() => existsSync(logFile) && /vhost v on/.test(readFileSync(logFile, 'utf8')), 'the daemon\'s log lines');

    renameSync(logFile, logFile + '.1');
    process.kill(pid, 'SIGHUP');
    await waitFor(() => existsSync(logFile) && /SIGHUP: reloading/.test(readFileSync(logFile, 'utf8')), 'the log file reopened on SIGHUP');

    const second = await failLwsws(args);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`already running: ${lock} holds pid ${pid}`));

    process.kill(pid, 'SIGTERM');
    await waitFor(() => !alive(pid), 'the daemon to exit', 8000);
    assert.ok(!existsSync(lock), 'the lock file is removed at exit');
  } finally {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    removeDir(dir);
    removeDir(www);
    removeDir(state);
  }
});

test('-D with a bad config: the starting process reports the error and exits 1', async () => {
  const state = mkdtempSync(join(tmpdir(), 'tslws-daemon-'));
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/v': '{ "vhosts": [ { "name": "v" } ] }' });
  try {
    const r = await failLwsws(['-c', dir, '-D', '--lock-file', join(state, 'lock'), '--log-file', join(state, 'log')], 10000);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /daemon failed: .*conf\.d\/v:1: "port"/);
    await waitFor(() => !existsSync(join(state, 'lock')), 'the lock to go');
  } finally {
    removeDir(dir);
    removeDir(state);
  }
});

test('createSyslogEmitter sends each line with its priority and ident to a syslog socket', async (t) => {
  const { spawnSync, spawn } = await import('node:child_process');
  if (spawnSync('python3', ['-c', 'pass']).status !== 0 || spawnSync('logger', ['--help']).status !== 0) {
    t.skip('needs python3 (to receive datagrams) and logger');
    return;
  }
  const { createSyslogEmitter } = await import('../../src/index.js');
  const state = mkdtempSync(join(tmpdir(), 'tslws-syslog-'));
  const sock = join(state, 'log');
  const py = spawn('python3', ['-u', '-c', `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('ready')
while True: print(s.recv(4096).decode('latin1'))`, sock], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  py.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const emit = createSyslogEmitter({ ident: 'lwsws-test', socket: sock });
  try {
    await waitFor(() => out.includes('ready'), 'the receiver');
    emit(1, 'an error line');
    emit(4, 'a notice\nwith a newline');
    await waitFor(() => out.includes('an error line') && out.includes('a notice with a newline'), 'both datagrams', 5000);
    assert.match(out, /<27>.*lwsws-test\[\d+\]: an error line/, out);
    assert.match(out, /<29>.*lwsws-test\[\d+\]: a notice with a newline/, out);
  } finally {
    emit.close();
    py.kill('SIGKILL');
    removeDir(state);
  }
});

test('-D: a daemon that does not report in time is stopped, not left running', async () => {
  const state = mkdtempSync(join(tmpdir(), 'tslws-daemon-'));
  // Stands in for the daemon: it never reports, and even ignores SIGTERM.
  const script = join(state, 'silent.mjs');
  const pidFile = join(state, 'pid');
  writeFileSync(script, 'import { writeFileSync } from "node:fs";\n' +
    'process.on("SIGTERM", () => {});\nwriteFileSync(process.argv[2], String(process.pid));\nsetInterval(() => {}, 1000);\n');
  const argv1 = process.argv[1];
  const execArgv = process.execArgv;
  let pid = 0;
  try {
    process.argv[1] = script;
    Object.defineProperty(process, 'execArgv', { value: [], configurable: true, writable: true });
    const started = daemonize({ lockFile: join(state, 'lock'), argv: [pidFile], startTimeoutMs: 1000 });
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'latin1') !== '', 'the daemon to run', 5000);
    pid = Number(readFileSync(pidFile, 'latin1'));
    assert.ok(alive(pid));
    assert.equal(await started, 1);
    assert.ok(!alive(pid), 'the daemon is gone when the starter gives up');
  } finally {
    process.argv[1] = argv1;
    Object.defineProperty(process, 'execArgv', { value: execArgv, configurable: true, writable: true });
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    removeDir(state);
  }
});
