import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type AddressInfo } from 'node:net';
import { openWs, waitFor } from '../helpers/plugin-ws-client.js';
import { confDir, writeConf, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet } from '../helpers/lwsws.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 2000);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(false);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

test('SIGHUP: new vhosts start, removed ones go, changed ones are replaced, unchanged ones keep their connections', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'hi');
  const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
  const v = (name: string, port: number, extra: object = {}) => ({
    name, port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }],
    'ws-protocols': [{ 'dumb-increment-protocol': {} }], ...extra,
  });
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': vhostFile(v('a', pa)), 'conf.d/b': vhostFile(v('b', pb)) });
  const child = await startLwsws(['-c', dir]);
  try {
    const wa = await openWs(`ws://127.0.0.1:${pa}/`, 'dumb-increment-protocol');
    const wb = await openWs(`ws://127.0.0.1:${pb}/`, 'dumb-increment-protocol');
    await waitFor(() => wa.messages.length > 3 && wb.messages.length > 3, 'numbers on both');
    let bClosed: { code: number } | null = null;
    void wb.closed.then((c) => (bClosed = c));

    // b removed, c added, a unchanged.
    rmSync(join(dir, 'conf.d/b'));
    writeConf(dir, { 'conf.d/c': vhostFile(v('c', pc)) });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: kept 1, destroyed 1, created 1'), 'the first reload', 5000);
    await waitFor(() => bClosed !== null, 'b\'s connection to close');
    assert.equal((bClosed as unknown as { code: number }).code, 1001);
    assert.ok(await refused(pb), 'b no longer listens');
    assert.equal((await httpGet(pc, '/')).body, 'hi', 'c serves');
    const before = wa.messages.length;
    await waitFor(() => wa.messages.length > before + 3, 'a\'s connection to go on');
    assert.equal(wa.ws.readyState, wa.ws.OPEN);

    // a changed: replaced, its connection closes, its new header shows.
    writeConf(dir, { 'conf.d/a': vhostFile(v('a', pa, { headers: [{ 'X-Gen': '2' }] })) });
    let aClosed = false;
    void wa.closed.then(() => (aClosed = true));
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: kept 1, destroyed 1, created 1\nlwsws: reloaded: kept 1, destroyed 1, created 1'),
      'the second reload', 5000);
    await waitFor(() => aClosed, 'a\'s old connection to close');
    assert.equal((await httpGet(pa, '/')).headers['x-gen'], '2');

    // A broken config keeps everything running.
    writeConf(dir, { 'conf.d/c': '{ "vhosts": [ { "name": "c" ' });
    child.proc.kill('SIGHUP');
    await waitFor(() => /reload failed, keeping the running config: .*conf\.d\/c:1/.test(child.stderr()), 'the failed reload', 5000);
    assert.equal((await httpGet(pc, '/')).body, 'hi');
    assert.equal((await httpGet(pa, '/')).body, 'hi');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
  }
});

test('SIGTERM with live connections exits within the stop bound', async () => {
  const port = await freePort();
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': vhostFile({ name: 'a', port, interface: '127.0.0.1',
    'ws-protocols': [{ 'dumb-increment-protocol': {} }] }) });
  const child = await startLwsws(['-c', dir, '--stop-timeout-ms', '1000']);
  try {
    const w = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    const idle = connect({ port, host: '127.0.0.1' });
    idle.on('error', () => {});
    await waitFor(() => w.messages.length > 0, 'a number');
    const r = await stopLwsws(child, 5000);
    assert.equal(r.code, 0);
    assert.ok(r.ms < 3000, `stopped in ${r.ms} ms`);
    assert.match(child.stdout(), /exited cleanly/);
    const c = await w.closed;
    assert.equal(c.code, 1001, 'websockets are told the server is going away');
    idle.destroy();
  } finally {
    await stopLwsws(child);
    removeDir(dir);
  }
});

test('SIGHUP: a vhost moved down by a comment line is unchanged and keeps its connections', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'hi');
  const port = await freePort();
  const text = vhostFile({ name: 'a', port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }],
    'ws-protocols': [{ 'dumb-increment-protocol': {} }] });
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': text });
  const child = await startLwsws(['-c', dir]);
  try {
    const w = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await waitFor(() => w.messages.length > 0, 'a number');
    writeConf(dir, { 'conf.d/a': `# a comment moves every line down\n${text}` });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: '), 'the reload', 5000);
    assert.match(child.stdout(), /reloaded: kept 1, destroyed 0, created 0\n/);
    const before = w.messages.length;
    await waitFor(() => w.messages.length > before + 3, 'the connection to go on');
    assert.equal(w.ws.readyState, w.ws.OPEN);
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
  }
});

test('SIGHUP: a FILE mount whose origin does not exist fails the reload; the running config stays', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'hi');
  const port = await freePort();
  const v = (origin: string) => vhostFile({ name: 'a', port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${origin}` }] });
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': v(www) });
  const child = await startLwsws(['-c', dir]);
  try {
    writeConf(dir, { 'conf.d/a': v(join(www, 'gone')) });
    child.proc.kill('SIGHUP');
    await waitFor(() => /reload failed/.test(child.stderr()), 'the failed reload', 5000);
    assert.match(child.stderr(), /reload failed, keeping the running config: .*conf\.d\/a:\d+: "origin": mount \/: origin .*gone does not exist/);
    assert.doesNotMatch(child.stdout(), /reloaded/);
    assert.equal((await httpGet(port, '/')).body, 'hi', 'the running vhost serves on');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
  }
});

test('SIGHUP: a changed vhost whose new settings cannot listen is reported and serves with its old ones', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'hi');
  const port = await freePort();
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const takenPort = (taken.address() as AddressInfo).port;
  const v = (p: number) => vhostFile({ name: 'a', port: p, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }] });
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': v(port) });
  const child = await startLwsws(['-c', dir]);
  try {
    writeConf(dir, { 'conf.d/a': v(takenPort) });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: '), 'the reload', 5000);
    assert.match(child.stdout(), /reloaded: kept 0, destroyed 1, created 0, failed 1 \(a;/);
    assert.equal((await httpGet(port, '/')).body, 'hi', 'the old vhost serves again');
  } finally {
    await stopLwsws(child);
    await new Promise((r) => taken.close(r));
    removeDir(dir);
    removeDir(www);
  }
});

test('a SIGHUP after SIGTERM does not reload into the stopping server', async () => {
  const [pa, pb] = [await freePort(), await freePort()];
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': vhostFile({ name: 'a', port: pa, interface: '127.0.0.1',
    'ws-protocols': [{ 'dumb-increment-protocol': {} }] }) });
  const child = await startLwsws(['-c', dir, '--stop-timeout-ms', '1000']);
  // A WebSocket that never answers the close holds the stop up until its bound.
  const idle = connect({ port: pa, host: '127.0.0.1' });
  idle.on('error', () => {});
  try {
    await new Promise((r) => idle.once('connect', r));
    idle.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: dumb-increment-protocol\r\n\r\n');
    await new Promise((r) => idle.once('data', r));
    idle.pause();
    writeConf(dir, { 'conf.d/b': vhostFile({ name: 'b', port: pb, interface: '127.0.0.1' }) });
    child.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    child.proc.kill('SIGHUP');
    const r = await child.exited;
    assert.equal(r.code, 0);
    assert.match(child.stdout(), /exited cleanly/);
    assert.doesNotMatch(child.stdout(), /reloaded/);
  } finally {
    idle.destroy();
    await stopLwsws(child);
    removeDir(dir);
  }
});

test('SIGHUP: changing the first vhost on a shared port keeps it the port\'s default', async () => {
  const sites = ['a', 'b'].map((n) => {
    const d = mkdtempSync(join(tmpdir(), `tslws-site-${n}-`));
    writeFileSync(join(d, 'index.html'), `site ${n}`);
    return d;
  });
  const port = await freePort();
  const v = (name: string, www: string, extra: object = {}) => ({
    name, port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }], ...extra });
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': vhostFile(v('a', sites[0])), 'conf.d/b': vhostFile(v('b', sites[1])) });
  const child = await startLwsws(['-c', dir]);
  try {
    assert.equal((await httpGet(port, '/', { host: 'unknown.example' })).body, 'site a', 'the first vhost in config order is the default');
    writeConf(dir, { 'conf.d/a': vhostFile(v('a', sites[0], { headers: [{ 'X-Gen': '2' }] })) });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: '), 'the reload', 5000);
    assert.match(child.stdout(), /reloaded: kept 1, destroyed 1, created 1\n/, 'b, unchanged, is kept with its connections');
    const r = await httpGet(port, '/', { host: 'unknown.example' });
    assert.equal(r.body, 'site a', 'an unknown Host still goes to the first vhost on the port');
    assert.equal(r.headers['x-gen'], '2', 'a has its new settings');
    assert.equal((await httpGet(port, '/', { host: 'b' })).body, 'site b');
    assert.equal((await httpGet(port, '/', { host: 'a' })).body, 'site a');

    // A new vhost put before both in config order becomes the default.
    writeConf(dir, { 'conf.d/0': vhostFile(v('c', sites[1], { headers: [{ 'X-Site': 'c' }] })) });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().split('reloaded: ').length === 3, 'the second reload', 5000);
    assert.equal((await httpGet(port, '/', { host: 'unknown.example' })).headers['x-site'], 'c');
    assert.equal((await httpGet(port, '/', { host: 'a' })).body, 'site a');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    for (const d of sites) removeDir(d);
  }
});

test('SIGHUP: an unchanged vhost alone on its port is kept while its neighbour in config order changes', async () => {
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'hi');
  const [pa, pb] = [await freePort(), await freePort()];
  const v = (name: string, port: number, extra: object = {}) => ({
    name, port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }],
    'ws-protocols': [{ 'dumb-increment-protocol': {} }], ...extra });
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/a': vhostFile(v('a', pa)), 'conf.d/b': vhostFile(v('b', pb)) });
  const child = await startLwsws(['-c', dir]);
  try {
    const wb = await openWs(`ws://127.0.0.1:${pb}/`, 'dumb-increment-protocol');
    await waitFor(() => wb.messages.length > 0, 'a number');
    writeConf(dir, { 'conf.d/a': vhostFile(v('a', pa, { headers: [{ 'X-Gen': '2' }] })) });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: '), 'the reload', 5000);
    assert.match(child.stdout(), /reloaded: kept 1, destroyed 1, created 1\n/);
    const before = wb.messages.length;
    await waitFor(() => wb.messages.length > before + 3, 'b\'s connection to go on');
    assert.equal(wb.ws.readyState, wb.ws.OPEN);
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
  }
});
