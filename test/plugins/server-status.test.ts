import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { channel } from 'node:diagnostics_channel';
import { callbackHttpDummy, createContext, dumbIncrementProtocol, serverStatusProtocol, Mount, Reason, type Protocol, type Wsi } from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { start } from '../helpers/common.js';
import { openWs, waitFor, spawnBin, portOf, killChild } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet } from '../helpers/lwsws.js';
import { PKG_ROOT } from '../helpers/paths.js';
import { RawWs, echoProtocol, h2Session } from '../helpers/ws.js';

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

test('lws-server-status counts WebSocket messages received and sent per vhost (ws_rx_msgs, ws_tx_msgs) while it runs', async () => {
  const inCh = channel('tslws:ws:message:in');
  const outCh = channel('tslws:ws:message:out');
  assert.equal(inCh.hasSubscribers, false, 'nobody listens before');
  const { ctx, port } = await start({
    vhostName: 'msgs', protocols: [http, serverStatusProtocol, dumbIncrementProtocol],
    pvo: { 'lws-server-status': { 'update-ms': '50' } },
  });
  try {
    assert.equal(inCh.hasSubscribers && outCh.hasSubscribers, true, 'the counters listen while the protocol runs');
    const dumb = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await waitFor(() => dumb.messages.length >= 5, 'numbers', 2000);
    dumb.ws.send('reset\n');
    dumb.ws.send('reset\n');
    const status = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status');
    type Counts = { ws_rx_msgs: string; ws_tx_msgs: string };
    const latest = (): { c: Counts; v: Counts } => {
      const s = JSON.parse(status.texts().at(-1) ?? '{"i":{"contexts":[{"vhosts":[{}]}]}}') as
        { i: { contexts: Array<Counts & { vhosts: Counts[] }> } };
      return { c: s.i.contexts[0], v: s.i.contexts[0].vhosts[0] };
    };
    await waitFor(() => Number(latest().v.ws_rx_msgs) >= 2 && Number(latest().v.ws_tx_msgs) >= 10, 'the counters move', 3000);
    const a = latest();
    assert.equal(a.c.ws_rx_msgs, a.v.ws_rx_msgs, 'the context sums its one vhost');
    assert.equal(a.c.ws_tx_msgs, a.v.ws_tx_msgs);
    assert.equal(a.v.ws_rx_msgs, '2', 'the two resets');
    // Sent: the numbers and the status messages, and they keep going.
    await waitFor(() => Number(latest().v.ws_tx_msgs) >= Number(a.v.ws_tx_msgs) + 10, 'more sent', 3000);
    dumb.ws.close();
    status.ws.close();
  } finally {
    await ctx.destroy();
  }
  assert.equal(inCh.hasSubscribers || outCh.hasSubscribers, false, 'and stop listening when it stops');
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

type Figures = Record<'h1_conn' | 'ws_upg' | 'h2_trans' | 'h2_subs' | 'h2_alpn' | 'h2_upg' | 'h2_conn' | 'h2_streams', string>;
const FIGURE_KEYS = ['h1_conn', 'ws_upg', 'h2_trans', 'h2_subs', 'h2_alpn', 'h2_upg', 'h2_conn', 'h2_streams'] as const;
const pick = (o: Record<string, unknown>): Figures => Object.fromEntries(FIGURE_KEYS.map((k) => [k, o[k]])) as Figures;

/** A GET over an HTTP/2 session: status and body. */
function h2get(s: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ':path': path });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

test('lws-server-status counts HTTP/2: connections and streams open, requests and ALPN connections since the start, per vhost and summed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-status-'));
  writeFileSync(join(dir, 'x.txt'), 'x');
  // /hold answers only when the test says: its stream stays open until then.
  const held: Wsi[] = [];
  const hold: Protocol = { name: 'hold', callback(wsi, reason, _user, _input) {
    if (reason === Reason.HTTP) held.push(wsi);
    return 0;
  } };
  const protocols = [http, hold, serverStatusProtocol];
  const mounts = [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE },
    { mountpoint: '/hold', origin: 'hold', originProtocol: Mount.CALLBACK }];
  const c = makeSelfSignedCert();
  const ctx = createContext({ options: 1 << 13 /* explicit vhosts */ });
  ctx.createVhost({ vhostName: 'clear', port: 0, iface: '127.0.0.1', mounts, protocols,
    pvo: { 'lws-server-status': { 'update-ms': '50' } } });
  ctx.createVhost({ vhostName: 'secure', port: 0, iface: '127.0.0.1', sslCert: c.cert, sslPrivateKey: c.key, mounts, protocols });
  await ctx.listening;
  const [clearPort, tlsPort] = [ctx.vhosts[0].port!, ctx.vhosts[1].port!];
  const sessions: ClientHttp2Session[] = [];
  try {
    // The status WebSocket itself: HTTP/1.1 upgraded, on the clear vhost.
    const status = await openWs(`ws://127.0.0.1:${clearPort}/`, 'lws-server-status');
    const latest = () => {
      const s = JSON.parse(status.texts().at(-1)!) as { i: { contexts: Array<Record<string, unknown> & { vhosts: Array<Record<string, unknown>> }> } };
      allStrings(s);
      const cx = s.i.contexts[0];
      return { total: pick(cx), clear: pick(cx.vhosts[0]), secure: pick(cx.vhosts[1]) };
    };
    /** Wait for a status message in which `want` holds. */
    const until = async (what: string, want: (v: ReturnType<typeof latest>) => boolean) => {
      await waitFor(() => status.messages.length > 0 && want(latest()), what, 5000);
      return latest();
    };
    const zero = { h2_trans: '0', h2_subs: '0', h2_alpn: '0', h2_upg: '0', h2_conn: '0', h2_streams: '0' };
    let v = await until('the first status', () => true);
    assert.deepEqual(v.secure, { h1_conn: '0', ws_upg: '0', ...zero });
    assert.deepEqual(v.clear, { h1_conn: '1', ws_upg: '1', ...zero }, 'the status socket is an HTTP/1 connection, upgraded');

    // TLS, h2 by ALPN: three requests answered, a fourth held open.
    const tls = h2connect(`https://127.0.0.1:${tlsPort}`, { rejectUnauthorized: false });
    sessions.push(tls);
    for (let i = 0; i < 3; i++) assert.deepEqual(await h2get(tls, '/x.txt'), { status: 200, body: 'x' });
    const heldAnswer = h2get(tls, '/hold');
    await waitFor(() => held.length === 1, 'the held request to arrive');
    assert.equal(held[0].roleName, 'h2-stream');
    // Clear text, h2 by prior knowledge: two requests.
    const clear = h2connect(`http://127.0.0.1:${clearPort}`);
    sessions.push(clear);
    for (let i = 0; i < 2; i++) assert.equal((await h2get(clear, '/x.txt')).status, 200);

    v = await until('the h2 figures', (x) => x.secure.h2_trans === '4' && x.clear.h2_trans === '2');
    assert.deepEqual(v.secure, { h1_conn: '0', ws_upg: '0', h2_trans: '4', h2_subs: '4', h2_alpn: '1', h2_upg: '0', h2_conn: '1', h2_streams: '1' });
    assert.deepEqual(v.clear, { h1_conn: '1', ws_upg: '1', h2_trans: '2', h2_subs: '2', h2_alpn: '0', h2_upg: '0', h2_conn: '1', h2_streams: '0' },
      'prior knowledge is no ALPN');
    assert.deepEqual(v.total, { h1_conn: '1', ws_upg: '1', h2_trans: '6', h2_subs: '6', h2_alpn: '1', h2_upg: '0', h2_conn: '2', h2_streams: '1' },
      'the context sums its vhosts');

    // The held stream ends: no stream open; the sessions close: no connection open; what happened stays counted.
    held[0].returnHttpStatus(200, 'released');
    assert.equal((await heldAnswer).status, 200);
    await until('the stream to be gone', (x) => x.secure.h2_streams === '0');
    for (const s of sessions) s.close();
    v = await until('the connections to be gone', (x) => x.total.h2_conn === '0');
    assert.deepEqual(v.total, { h1_conn: '1', ws_upg: '1', h2_trans: '6', h2_subs: '6', h2_alpn: '1', h2_upg: '0', h2_conn: '0', h2_streams: '0' });
    status.ws.close();
  } finally {
    for (const s of sessions) s.destroy();
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

test('lws-server-status counts WebSockets carried by HTTP/2 streams as ws_h2 (among h2_streams, not ws_upg)', async () => {
  const { proto } = echoProtocol();
  const { ctx, port } = await start({ protocols: [http, serverStatusProtocol, proto], pvo: { 'lws-server-status': { 'update-ms': '50' } } });
  const session = await h2Session(port);
  try {
    const status = await openWs(`ws://127.0.0.1:${port}/`, 'lws-server-status');
    const ws = await Promise.all([0, 1, 2].map(() => RawWs.openH2(port, { session, protocol: 'echo' })));
    const latest = (): Record<string, unknown> => (JSON.parse(status.texts().at(-1)!) as Status).i.contexts[0].vhosts![0] as Record<string, unknown>;
    await waitFor(() => status.messages.length > 0 && latest().ws_h2 === '3', 'ws_h2 to be 3', 5000);
    const v = latest();
    assert.deepEqual([v.ws_h2, v.h2_streams, v.h2_conn, v.ws_upg], ['3', '3', '1', '1'], 'the status socket itself is the one HTTP/1.1 WebSocket');
    ws[0].destroy();
    await waitFor(() => latest().ws_h2 === '2', 'a reset WebSocket to be gone', 5000);
    for (const c of ws) c.destroy();
    status.ws.close();
  } finally {
    session.destroy();
    await ctx.destroy();
  }
});
