import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, renameSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog, attachAccessLog, formatAccessLine, Mount, Reason, Write, emitStderr, getLogLevel, setLogLevel, LogLevel, type Protocol } from '../../src/index.js';
import { start } from '../helpers/common.js';
import { waitFor } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet } from '../helpers/lwsws.js';

const LINE = /^(\S+) - - \[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "(\S+) (\S+) HTTP\/1\.([01])" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/;

function site(): string {
  const d = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(d, 'index.html'), 'x'.repeat(100));
  return d;
}

test('formatAccessLine: combined format, quotes in headers become \', long lines are cut', () => {
  const date = new Date(2026, 10, 24, 13, 5, 1);
  const l = formatAccessLine({ peer: '127.0.0.1', method: 'GET', target: '/a?b=1', version: 11, status: 200, bytes: 42,
    referer: 'http://x/"y"', userAgent: 'UA "quoted"', date });
  const m = LINE.exec(l.trimEnd());
  assert.ok(m, l);
  assert.ok(l.endsWith('\n'));
  assert.match(l, /\[24\/Nov\/2026:13:05:01 [+-]\d{4}\]/);
  assert.equal(m[8], "http://x/'y'");
  assert.equal(m[9], "UA 'quoted'");
  const empty = formatAccessLine({ peer: '::1', method: 'HEAD', target: '/', version: 10, status: 304, bytes: 0 });
  assert.match(empty, /"HEAD \/ HTTP\/1\.0" 304 0 "-" "-"\n$/);
  const long = formatAccessLine({ peer: '1.2.3.4', method: 'GET', target: '/' + 'a'.repeat(2000), version: 11, status: 200, bytes: 1 });
  assert.equal(Buffer.byteLength(long), 512);
});

test('a vhost with an access log gets one line per transaction, keep-alive and errors included', async () => {
  const www = site();
  const dir = mkdtempSync(join(tmpdir(), 'tslws-al-'));
  const path = join(dir, 'access.log');
  const { ctx, port } = await start({ mounts: [{ mountpoint: '/', origin: www, originProtocol: Mount.FILE }] });
  const al = new AccessLog(path);
  await al.ready();
  attachAccessLog(ctx.vhosts[0], al);
  try {
    await httpGet(port, '/', { 'user-agent': 'agent/1 "x"', referer: 'http://ref/' });
    await httpGet(port, '/missing?q=1');
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').split('\n').length >= 3, 'two lines');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    const a = LINE.exec(lines[0]);
    const b = LINE.exec(lines[1]);
    assert.ok(a && b, lines.join('\n'));
    assert.deepEqual([a[1], a[3], a[4], a[5], a[6], a[8], a[9]], ['127.0.0.1', 'GET', '/', '1', '200', 'http://ref/', "agent/1 'x'"]);
    assert.ok(Number(a[7]) >= 100, 'bytes include the body');
    assert.deepEqual([b[3], b[4], b[6], b[8], b[9]], ['GET', '/missing?q=1', '404', '-', '-']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    await ctx.destroy();
    await al.close();
    removeDir(www);
    removeDir(dir);
  }
});

test('lwsws access-log: lines per vhost, reopened on SIGHUP after rotation', async () => {
  const www = site();
  const logs = mkdtempSync(join(tmpdir(), 'tslws-al-'));
  const path = join(logs, 'access.log');
  const port = await freePort();
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/v': vhostFile({ name: 'v', port, interface: '127.0.0.1',
    'access-log': path, mounts: [{ mountpoint: '/', origin: `file://${www}` }] }) });
  const child = await startLwsws(['-c', dir]);
  try {
    await httpGet(port, '/', { 'user-agent': 'first' });
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').includes('"first"'), 'the first line');
    renameSync(path, path + '.1');
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded'), 'the reload', 5000);
    await httpGet(port, '/nothing', { 'user-agent': 'second' });
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').includes('"second"'), 'a line in the new file');
    const rotated = readFileSync(path + '.1', 'utf8');
    assert.ok(!rotated.includes('second'), 'the rotated file gets no more lines');
    const m = LINE.exec(readFileSync(path, 'utf8').trimEnd());
    assert.ok(m);
    assert.equal(m[6], '404');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
    removeDir(logs);
  }
});

test('a header block the user writes by hand is logged with its own status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-al-'));
  const path = join(dir, 'access.log');
  const proto: Protocol = {
    name: 'hand',
    callback(wsi, reason, _user, _input) {
      if (reason !== Reason.HTTP) return 0;
      const head = Buffer.from('HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\nconnection: close\r\n\r\n', 'latin1');
      if (wsi.write(head, Write.HTTP_HEADERS) < 0) return -1;
      if (wsi.write(Buffer.from('gone'), Write.HTTP_FINAL) < 0) return -1;
      return wsi.httpTransactionCompleted();
    },
  };
  const { ctx, port } = await start({ protocols: [proto] });
  const al = new AccessLog(path);
  await al.ready();
  attachAccessLog(ctx.vhosts[0], al);
  try {
    const r = await httpGet(port, '/hand');
    assert.equal(r.status, 404);
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').includes('/hand'), 'the line');
    const m = LINE.exec(readFileSync(path, 'utf8').trimEnd());
    assert.ok(m);
    assert.equal(m[6], '404');
  } finally {
    await ctx.destroy();
    await al.close();
    removeDir(dir);
  }
});

test('AccessLog refuses nonsense sizes; past maxQueuedBytes lines are dropped and counted, with one warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-al-'));
  const path = join(dir, 'access.log');
  try {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => new AccessLog(path, { maxQueuedBytes: bad }), /maxQueuedBytes must be a positive integer/);
      assert.throws(() => new AccessLog(path, { maxLineBytes: bad }), /maxLineBytes must be a positive integer/);
    }
    const warned: string[] = [];
    const al = new AccessLog(path, { maxQueuedBytes: 10 });
    const was = getLogLevel();
    setLogLevel(was | LogLevel.WARN, (level, line) => {
      if (level === LogLevel.WARN) warned.push(line);
    });
    try {
      // Nothing reaches the disk within one tick: past 10 queued bytes the rest is dropped.
      for (let i = 0; i < 5; i++) al.write(`line ${i} ${'x'.repeat(20)}\n`);
      assert.ok(al.dropped > 0, `dropped ${al.dropped}`);
      assert.ok(al.dropped < 5, 'the first line is written');
    } finally {
      setLogLevel(was, emitStderr);
    }
    assert.equal(warned.filter((l) => /dropping lines/.test(l)).length, 1, warned.join('\n'));
    await al.close();
    const text = readFileSync(path, 'utf8');
    assert.equal(text.split('\n').length - 1, 5 - al.dropped);
  } finally {
    removeDir(dir);
  }
});
