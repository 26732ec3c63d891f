import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { callbackHttpDummy, serverStatusProtocol, Mount, type Protocol } from '../../src/index.js';
import { start } from '../helpers/common.js';
import { openWs, waitFor, spawnBin, portOf, killChild } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet } from '../helpers/lwsws.js';
import { PKG_ROOT } from '../helpers/paths.js';

const http: Protocol = { name: 'http-only', callback: callbackHttpDummy };

/** Every leaf of the message is a string, as in lws. */
function allStrings(v: unknown, path = '$'): void {
  if (Array.isArray(v)) v.forEach((x, i) => allStrings(x, `${path}[${i}]`));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) allStrings(x, `${path}.${k}`);
  else assert.equal(typeof v, 'string', `${path} is a string`);
}

interface Status {
  i: { version: string; uptime: string; l1: string; contexts: Array<{ wsi_alive: string; vhosts?: Array<{
    name: string; port: string; mounts: Array<{ mountpoint: string; origin: string; default?: string }>;
    'ws-protocols': Array<Record<string, Record<string, string>>> }> }> };
  files: Array<{ path: string; val: string }>;
}

test('lws-server-status sends the context status on connect and every update-ms, all values strings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-status-'));
  const f = join(dir, 'temp');
  writeFileSync(f, '42000\n');
  const { ctx, port } = await start({
    vhostName: 'statushost',
    protocols: [http, serverStatusProtocol],
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE, def: 'x.html' }],
    pvo: { 'lws-server-status': { 'update-ms': '100', filepath: f } },
  });
  try {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status');
    await waitFor(() => c.messages.length >= 1, 'the first status', 1000);
    await waitFor(() => c.messages.length >= 4, 'updates every 100 ms', 2000);
    const s = JSON.parse(c.texts()[0]) as Status;
    allStrings(s);
    assert.match(s.i.version, /^tslws /);
    const vh = s.i.contexts[0].vhosts?.[0];
    assert.ok(vh);
    assert.equal(vh.name, 'statushost');
    assert.equal(vh.port, String(port));
    assert.deepEqual(vh.mounts[0], { mountpoint: '/', origin: `file://${dir}`, cache_max_age: '0', cache_reuse: '0',
      cache_revalidate: '0', cache_intermediaries: '0', default: 'x.html' });
    assert.deepEqual(vh['ws-protocols'], [{ 'lws-server-status': { 'update-ms': '100', filepath: f } }]);
    assert.ok(Number(s.i.contexts[0].wsi_alive) >= 1);
    assert.deepEqual(s.files, [{ path: f, val: '42000\n' }]);
    c.ws.close();
  } finally {
    await ctx.destroy();
    removeDir(dir);
  }
});

test('lws-server-status with hide-vhosts leaves the vhosts out; the README spelling filespath names files too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-status-'));
  const [f1, f2] = [join(dir, 'a'), join(dir, 'b')];
  writeFileSync(f1, 'one');
  writeFileSync(f2, 'two');
  const { ctx, port } = await start({ protocols: [http, serverStatusProtocol],
    pvo: { 'lws-server-status': { 'hide-vhosts': '1', filespath: `${f1}, ${f2}` } } });
  try {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status');
    await waitFor(() => c.messages.length >= 1, 'the first status', 1000);
    const s = JSON.parse(c.texts()[0]) as Status;
    assert.equal(s.i.contexts[0].vhosts, undefined);
    assert.deepEqual(s.files, [{ path: f1, val: 'one' }, { path: f2, val: 'two' }]);
    c.ws.close();
  } finally {
    await ctx.destroy();
    removeDir(dir);
  }
});

test('lws-test-server serves /lws-common.js and speaks lws-server-status', async () => {
  const child = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    const port = await portOf(child);
    const js = await httpGet(port, '/lws-common.js');
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /javascript/);
    assert.equal(js.body, readFileSync(join(PKG_ROOT, 'www/lws-common.js'), 'latin1'));
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status');
    await waitFor(() => c.messages.length >= 1, 'a status message');
    assert.ok((JSON.parse(c.texts()[0]) as Status).i.contexts[0].vhosts);
    c.ws.close();
  } finally {
    killChild(child);
  }
});

test('lwsws finds lws-server-status among the built-in plugins; /server-status and /lws-common.js are served', async () => {
  const port = await freePort();
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/s': vhostFile({ name: 's', port, interface: '127.0.0.1',
    mounts: [{ mountpoint: '/', origin: 'file://_lws_ddir_/www' },
      { mountpoint: '/server-status', origin: 'file://_lws_ddir_/www', default: 'server-status.html' }],
    'ws-protocols': [{ 'lws-server-status': { 'update-ms': '200' } }] }) });
  const child = await startLwsws(['-c', dir]);
  try {
    assert.equal((await httpGet(port, '/server-status')).status, 301, 'the mountpoint itself redirects to its directory');
    assert.match((await httpGet(port, '/server-status/')).body, /lws-server-status/);
    assert.match((await httpGet(port, '/lws-common.js')).body, /function lws_gray_out/);
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status');
    await waitFor(() => c.messages.length >= 2, 'status messages');
    const s = JSON.parse(c.texts()[0]) as Status;
    assert.equal(s.i.contexts[0].vhosts?.[0].name, 's');
    c.ws.close();
  } finally {
    await stopLwsws(child);
    removeDir(dir);
  }
});

test('lws_gray_out covers the page with one div and hides it again; options set z-index, opacity and colour', () => {
  const byId = new Map<string, FakeEl>();
  interface FakeEl { id: string; style: Record<string, string>; appendChild(e: FakeEl): void }
  const el = (): FakeEl => ({ id: '', style: {}, appendChild(e) { byId.set(e.id, e); } });
  const listeners: Array<() => void> = [];
  const win: Record<string, unknown> = {
    innerWidth: 800, innerHeight: 600,
    addEventListener: (_: string, f: () => void) => listeners.push(f),
    document: { body: { ...el(), scrollWidth: 1000, scrollHeight: 3000 }, documentElement: {},
      getElementById: (id: string) => byId.get(id) ?? null, createElement: () => el() },
  };
  (win.document as { body: FakeEl }).body.appendChild = (e: FakeEl) => { byId.set(e.id, e); };
  runInNewContext(readFileSync(join(PKG_ROOT, 'www/lws-common.js'), 'utf8'), { window: win, globalThis: win });
  const gray = win.lws_gray_out as (v: boolean, o?: Record<string, string>) => void;
  gray(true, { zindex: '499' });
  const d = byId.get('darkenScreenObject');
  assert.ok(d, 'the overlay div exists');
  assert.deepEqual([d.style.display, d.style.zIndex, d.style.opacity, d.style.backgroundColor, d.style.position],
    ['block', '499', '0.7', '#000000', 'absolute']);
  assert.deepEqual([d.style.width, d.style.height], ['1000px', '3000px'], 'sized to the page');
  (win.document as { body: { scrollHeight: number } }).body.scrollHeight = 4000;
  for (const f of listeners) f();
  assert.equal(d.style.height, '4000px', 'follows window resizes');
  gray(false);
  assert.equal(d.style.display, 'none');
  gray(true, { opacity: '50', bgcolor: '#ff0000' });
  assert.deepEqual([d.style.display, d.style.zIndex, d.style.opacity, d.style.backgroundColor], ['block', '50', '0.5', '#ff0000']);
  assert.equal(byId.size, 1, 'one div, reused');
});
