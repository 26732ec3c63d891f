/**
 * SMP: a context with countThreads runs that many service processes; the
 * primary binds and hands each connection to the least-loaded service.
 * Real processes and sockets: a small program is written to a temp dir,
 * importing the built package, and run as the primary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, ErrorCode, MAX_SMP, type TslwsError } from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { distSrcUrl } from '../helpers/paths.js';
import { tlsGet } from '../helpers/tls.js';
import { alive } from '../helpers/pids.js';
import { OP, RawWs } from '../helpers/ws.js';
import WebSocket from 'ws';

/** Replies to every message with `{"tsi":…,"pid":…,"count":…}`; the primary prints its port once ready. */
const PROGRAM = `
import { createContext, Reason, Write, Mount, metricsProtocol } from ${JSON.stringify(distSrcUrl('index.js'))};
const ctx = createContext({
  port: 0, countThreads: 2, fdLimitPerThread: 50, ipLimitWsi: Number(process.env.SMP_IP_LIMIT ?? 0),
  ipLimitAh: Number(process.env.SMP_IP_LIMIT_AH ?? 0),
  mounts: [{ mountpoint: '/metrics', origin: 'lws-metrics', originProtocol: Mount.CALLBACK }],
  ...(process.env.SMP_CERT ? { sslCertFilepath: process.env.SMP_CERT, sslPrivateKeyFilepath: process.env.SMP_KEY } : {}),
  protocols: [{
    name: 'tsi',
    callback(wsi, reason, pss, input) {
      if (reason === Reason.PROTOCOL_INIT) console.log('init tsi=' + wsi.context.tsi);
      if (reason === Reason.HTTP) {
        wsi.returnHttpStatus(200, 'tsi=' + wsi.tsi + ' pid=' + process.pid);
        return wsi.closed ? -1 : wsi.httpTransactionCompleted();
      }
      if (reason === Reason.RECEIVE) {
        wsi.write(Buffer.from(JSON.stringify({ tsi: wsi.tsi, pid: process.pid, count: wsi.context.countThreads, max: wsi.context.maxConnections })), Write.TEXT);
      }
      return 0;
    },
  }, metricsProtocol],
});
process.once('SIGUSR2', () => {
  const t0 = Date.now();
  ctx.destroy().then(() => { console.log('destroyed in ' + (Date.now() - t0) + ' ms'); process.exit(0); });
});
// A service that cannot start: the primary's listening rejects.
if (process.env.SMP_SERVICES_FAIL && ctx.tsi >= 0) process.exit(3);
process.once('SIGTERM', () => ctx.drain({ timeoutSecs: 5 }).then(() => process.exit(0)));
if (ctx.tsi < 0) {
  ctx.listening.then(() => console.log('ready ' + ctx.vhosts[0].port + ' ' + ctx.countThreads),
    (e) => { console.error(e.code + ': ' + e.message); process.exit(1); });
}
`;

interface Primary {
  proc: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Service pids seen in replies, to clean up whatever is left. */
  pids: Set<number>;
  dir: string;
}

async function startPrimary(o: { tls?: boolean; failing?: boolean; ipLimit?: number; ipLimitAh?: number } = {}): Promise<Primary> {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-smp-'));
  const file = join(dir, 'server.mjs');
  writeFileSync(file, PROGRAM);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.tls) {
    const { cert, key } = makeSelfSignedCert();
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'key.pem'), key);
    env.SMP_CERT = join(dir, 'cert.pem');
    env.SMP_KEY = join(dir, 'key.pem');
  }
  if (o.failing) env.SMP_SERVICES_FAIL = '1';
  if (o.ipLimit) env.SMP_IP_LIMIT = String(o.ipLimit);
  if (o.ipLimitAh) env.SMP_IP_LIMIT_AH = String(o.ipLimitAh);
  const proc = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const end = Date.now() + 10_000;
  let port = 0;
  while (!port) {
    const m = /ready (\d+) (\d+)/.exec(out);
    if (m) {
      port = Number(m[1]);
      assert.equal(Number(m[2]), 2, 'the primary reports countThreads 2');
      break;
    }
    if (o.failing && proc.exitCode !== null) break;
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`the primary did not start: ${out} ${err}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { proc, port, stdout: () => out, stderr: () => err, exited, pids: new Set(), dir };
}

async function cleanup(p: Primary): Promise<void> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await p.exited;
  for (const pid of p.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(p.dir, { recursive: true, force: true });
}

interface Reply {
  tsi: number;
  pid: number;
  count: number;
  max: number;
}

/** Ask the service behind `ws` who it is. */
async function ask(p: Primary, ws: RawWs): Promise<Reply> {
  ws.send(OP.TEXT, 'who');
  const m = await ws.message(5000);
  const r = JSON.parse(m.data.toString()) as Reply;
  p.pids.add(r.pid);
  return r;
}

async function open(p: Primary): Promise<{ ws: RawWs; r: Reply }> {
  const ws = await RawWs.open(p.port, { protocol: 'tsi', timeoutMs: 5000 });
  return { ws, r: await ask(p, ws) };
}

test('bad countThreads and fdLimitPerThread values are refused with a code', () => {
  const bad: Array<[object, string]> = [
    [{ countThreads: 0 }, ErrorCode.INVALID_OPTION],
    [{ countThreads: MAX_SMP + 1 }, ErrorCode.INVALID_OPTION],
    [{ countThreads: 1.5 }, ErrorCode.INVALID_OPTION],
    [{ countThreads: -2 }, ErrorCode.INVALID_OPTION],
    [{ countThreads: '2' }, ErrorCode.INVALID_OPTION],
    [{ countThreads: 2, fdLimitPerThread: 0 }, ErrorCode.INVALID_OPTION],
    [{ fdLimitPerThread: 'x' }, ErrorCode.INVALID_OPTION],
  ];
  for (const [info, code] of bad) {
    assert.throws(() => createContext({ port: 0, ...info }), (e: TslwsError) => {
      assert.equal(e.code, code, JSON.stringify(info));
      assert.match(e.message, /countThreads|fdLimitPerThread/);
      return true;
    }, JSON.stringify(info));
  }
  assert.equal(MAX_SMP, 32);
});

test('countThreads 1 (or none) is the one process as before: tsi 0, countThreads 1', async () => {
  for (const info of [{}, { countThreads: 1 }]) {
    const ctx = createContext({ port: 0, ...info });
    await ctx.listening;
    assert.equal(ctx.tsi, 0);
    assert.equal(ctx.countThreads, 1);
    await ctx.destroy();
  }
  const one = createContext({ port: 0, fdLimitPerThread: 7 });
  assert.equal(one.maxConnections, 7, 'one process: fdLimitPerThread is its limit');
  await one.destroy();
});

test('two services: clients see both indexes, and new connections go to the least-loaded one', async (t) => {
  const p = await startPrimary();
  t.after(() => cleanup(p));
  const held: Array<{ ws: RawWs; r: Reply }> = [];
  for (let i = 0; i < 4; i++) held.push(await open(p));
  const tsis = held.map((h) => h.r.tsi);
  assert.deepEqual([...new Set(tsis)].sort(), [0, 1], `both services serve: ${tsis}`);
  assert.ok(held.every((h) => h.r.count === 2));
  assert.ok(held.every((h) => h.r.max === 50), 'fdLimitPerThread is each service\'s connection limit');
  assert.equal(tsis.filter((x) => x === 0).length, 2, `evenly spread while equally loaded: ${tsis}`);
  const pidOf = new Map(held.map((h) => [h.r.tsi, h.r.pid]));
  assert.notEqual(pidOf.get(0), pidOf.get(1), 'the services are distinct processes');
  assert.ok(!pidOf.has(-1));

  // Service 0 gives its connections up; service 1 keeps two open. Round
  // robin would send the next two to 0 and 1; least-loaded sends both to 0.
  for (const h of held.filter((x) => x.r.tsi === 0)) {
    h.ws.send(OP.CLOSE, Buffer.from([0x03, 0xe8]));
    await h.ws.close(3000);
    assert.ok(await h.ws.closedWithin(3000));
  }
  await new Promise((r) => setTimeout(r, 300)); // the closes reach the primary
  const next = [await open(p), await open(p)];
  assert.deepEqual(next.map((n) => n.r.tsi), [0, 0], 'both go to the idle service');
  // Now 2 and 2: they share again.
  const more = [await open(p), await open(p)];
  assert.deepEqual(more.map((n) => n.r.tsi).sort(), [0, 1]);
  for (const h of [...held, ...next, ...more]) h.ws.destroy();
});

test('a service killed with SIGKILL is restarted; the other keeps its connections', async (t) => {
  const p = await startPrimary();
  t.after(() => cleanup(p));
  const a = await open(p);
  const b = await open(p);
  assert.notEqual(a.r.tsi, b.r.tsi);
  const [victim, survivor] = a.r.tsi === 0 ? [a, b] : [b, a];
  process.kill(victim.r.pid, 'SIGKILL');
  assert.ok(await victim.ws.closedWithin(3000), "the killed service's connection is lost");
  // The other service's connection stays open and keeps working.
  assert.equal(survivor.ws.ended, false);
  assert.equal((await ask(p, survivor.ws)).pid, survivor.r.pid);
  // Once the primary has seen it die (a connection handed over in that
  // instant is lost with the service), a new process takes its index.
  const seen = new RegExp(`service ${victim.r.tsi} \\(pid ${victim.r.pid}\\) exited \\(signal SIGKILL\\).*restarting`);
  const t0 = Date.now();
  while (!seen.test(p.stderr()) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  const end = Date.now() + 8000;
  let again: Reply | null = null;
  while (!again && Date.now() < end) {
    const n = await open(p);
    // Closed at once: held, they would pile up on the survivor past its fdLimitPerThread.
    n.ws.destroy();
    if (n.r.tsi === victim.r.tsi) again = n.r;
    else await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(again, 'the service was restarted');
  assert.notEqual(again.pid, victim.r.pid);
  assert.match(p.stderr(), seen);
  assert.equal(survivor.ws.ended, false);
  assert.equal((await ask(p, survivor.ws)).pid, survivor.r.pid);
  survivor.ws.destroy();
});

test('SIGTERM drains: WebSockets on every service get 1001, the services and the primary exit 0', async (t) => {
  const p = await startPrimary();
  t.after(() => cleanup(p));
  const a = await open(p);
  const b = await open(p);
  assert.deepEqual([a.r.tsi, b.r.tsi].sort(), [0, 1]);
  p.proc.kill('SIGTERM');
  for (const c of [a, b]) {
    const close = await c.ws.close(5000);
    assert.equal(close.code, 1001);
    c.ws.send(OP.CLOSE, Buffer.from([0x03, 0xe9]));
  }
  const r = await Promise.race([p.exited, new Promise<null>((res) => setTimeout(() => res(null), 8000))]);
  assert.ok(r, 'the primary exited within the bound');
  assert.equal(r.code, 0, p.stderr());
  for (const pid of [a.r.pid, b.r.pid]) {
    const end = Date.now() + 3000;
    while (alive(pid) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    assert.equal(alive(pid), false, `service ${pid} exited`);
  }
});

test('a TLS vhost: each service does the handshake on the plain socket it is handed', async (t) => {
  const p = await startPrimary({ tls: true });
  t.after(() => cleanup(p));
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const r = await tlsGet(p.port, { rejectUnauthorized: false, servername: 'localhost' });
    assert.equal(r.status, 200);
    const m = /tsi=(\d+) pid=(\d+)/.exec(r.body);
    assert.ok(m, r.body);
    p.pids.add(Number(m[2]));
    seen.add(m[1]);
  }
  assert.deepEqual([...seen].sort(), ['0', '1']);
});

test('services that exit before they are ready: listening rejects with TSLWS_SMP', async (t) => {
  const p = await startPrimary({ failing: true });
  t.after(() => cleanup(p));
  const r = await Promise.race([p.exited, new Promise<null>((res) => setTimeout(() => res(null), 8000))]);
  assert.ok(r, 'the primary gave up');
  assert.equal(r.code, 1);
  assert.match(p.stderr(), /TSLWS_SMP: service [01] exited \(code 3\) before it was ready/);
});

test('destroy() in the primary stops the services at once and resolves when they have exited', async (t) => {
  const p = await startPrimary();
  t.after(() => cleanup(p));
  const a = await open(p);
  const b = await open(p);
  assert.deepEqual([a.r.tsi, b.r.tsi].sort(), [0, 1]);
  p.proc.kill('SIGUSR2');
  for (const c of [a, b]) assert.ok(await c.ws.closedWithin(5000), 'the connection is closed');
  const r = await Promise.race([p.exited, new Promise<null>((res) => setTimeout(() => res(null), 8000))]);
  assert.ok(r);
  assert.equal(r.code, 0, p.stderr());
  const ms = Number(/destroyed in (\d+) ms/.exec(p.stdout())?.[1] ?? NaN);
  assert.ok(ms < 4000, `destroy resolved in ${ms} ms, without waiting for the kill bound`);
  for (const pid of [a.r.pid, b.r.pid]) assert.equal(alive(pid), false, `service ${pid} had exited when destroy() resolved`);
});

test('a context whose vhost is refused starts no service', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-smp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.mjs');
  writeFileSync(file, `
import { createContext } from ${JSON.stringify(distSrcUrl('index.js'))};
try { createContext({ port: 70000, countThreads: 2 }); } catch (e) { console.log('refused ' + e.code); }
setTimeout(() => { console.log('resources ' + JSON.stringify(process.getActiveResourcesInfo())); }, 300);
`);
  const proc = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const r = await Promise.race([new Promise<number | null>((res) => proc.once('exit', (c) => res(c))),
    new Promise<'late'>((res) => setTimeout(() => res('late'), 5000))]);
  if (r === 'late') proc.kill('SIGKILL');
  assert.equal(r, 0, out);
  assert.match(out, /refused TSLWS_INVALID_OPTION/);
  const res = JSON.parse(/resources (.*)/.exec(out)?.[1] ?? '[]') as string[];
  assert.ok(!res.includes('ProcessWrap'), `no service process: ${res}`);
});

/** A `ws` client from `from`: its reply, or null when the connection was refused. */
function wsFrom(p: Primary, from: string): Promise<{ ws: WebSocket; r: Reply } | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/`, 'tsi', { localAddress: from, handshakeTimeout: 5000 });
    ws.once('open', () => ws.send('who'));
    ws.once('message', (d) => {
      const r = JSON.parse(String(d)) as Reply;
      p.pids.add(r.pid);
      resolve({ ws, r });
    });
    ws.once('error', () => resolve(null));
    ws.once('close', () => resolve(null));
  });
}

test('ipLimitWsi holds across the services: the primary counts each address over all of them', async (t) => {
  const p = await startPrimary({ ipLimit: 3 });
  t.after(() => cleanup(p));
  const mine: Array<{ ws: WebSocket; r: Reply }> = [];
  for (let i = 0; i < 3; i++) {
    const c = await wsFrom(p, '127.0.0.1');
    assert.ok(c, `connection ${i + 1} of 3 is served`);
    mine.push(c);
  }
  assert.deepEqual([...new Set(mine.map((c) => c.r.tsi))].sort(), [0, 1], 'spread over both services');
  // Each service has at most two: a per-service limit of 3 would let this one in.
  assert.equal(await wsFrom(p, '127.0.0.1'), null, 'the fourth from 127.0.0.1 is refused');
  const other = await wsFrom(p, '127.0.0.2');
  assert.ok(other, 'another address is served');
  mine[0].ws.close();
  await new Promise((r) => mine[0].ws.once('close', r));
  await new Promise((r) => setTimeout(r, 300)); // the close reaches the primary
  const again = await wsFrom(p, '127.0.0.1');
  assert.ok(again, 'once one closed, 127.0.0.1 is served again');
  for (const c of [...mine, other, again]) c?.ws.terminate();
});

test('the primary runs no protocol callback: PROTOCOL_INIT comes once in each service, never in the primary', async (t) => {
  const p = await startPrimary();
  t.after(() => cleanup(p));
  // Each service makes its vhost (and inits its protocols) before it says it is ready.
  const inits = p.stdout().split('\n').filter((l) => l.startsWith('init ')).sort();
  assert.deepEqual(inits, ['init tsi=0', 'init tsi=1']);
});

/** A raw HTTP/1.1 connection from `localAddress`, and what it has received. */
async function rawFrom(port: number, localAddress: string): Promise<{ s: Socket; text(): string }> {
  const s = netConnect({ port, host: '127.0.0.1', localAddress });
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return { s, text: () => text };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('ipLimitAh holds across the services: a head waits while the same address has one being read by another service', async (t) => {
  const p = await startPrimary({ ipLimitAh: 1 });
  t.after(() => cleanup(p));
  const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\n`;
  // The first goes to one service and keeps its head open.
  const a = await rawFrom(p.port, '127.0.0.1');
  a.s.write(head('/a'));
  await new Promise((r) => setTimeout(r, 200)); // its head place is taken in the primary
  // The second goes to the other service (the least loaded): its head is whole, but must wait.
  const b = await rawFrom(p.port, '127.0.0.1');
  b.s.write(head('/b') + '\r\n');
  // Another address is not held back.
  const c = await rawFrom(p.port, '127.0.0.2');
  c.s.write(head('/c') + '\r\n');
  await until(() => /tsi=\d/.test(c.text()), 'the other address\'s answer');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(b.text(), '', 'the second head from 127.0.0.1 is not read while the first is incomplete');
  a.s.write('\r\n');
  await until(() => /tsi=\d/.test(a.text()) && /tsi=\d/.test(b.text()), 'both answers');
  const tsiA = /tsi=(\d)/.exec(a.text())![1];
  const tsiB = /tsi=(\d)/.exec(b.text())![1];
  assert.notEqual(tsiA, tsiB, 'the two connections were served by different services');
  for (const x of [a, b, c]) x.s.destroy();
});

test('/metrics in SMP: one exposition summing every service, with the primary\'s view of each; promtool accepts it', async (t) => {
  const p = await startPrimary();
  t.after(() => cleanup(p));
  const one = await open(p);
  const two = await open(p);
  assert.notEqual(one.r.tsi, two.r.tsi, 'one WebSocket on each service');
  // open() sent one message each; three more on the first.
  for (let i = 0; i < 3; i++) await ask(p, one.ws);
  const res = await fetch(`http://127.0.0.1:${p.port}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const value = (re: RegExp): number => {
    const m = re.exec(text);
    assert.ok(m, `${re} in\n${text}`);
    return Number(m[1]);
  };
  assert.equal(value(/^tslws_ws_messages_total\{[^}]*protocol="tsi",direction="in"\} (\d+)$/m), 5, 'messages received by both services');
  assert.equal(value(/^tslws_ws_open\{[^}]*protocol="tsi"\} (\d+)$/m), 2, 'WebSockets open on both services');
  assert.equal(value(/^tslws_smp_service_up\{service="0"\} (\d+)$/m), 1);
  assert.equal(value(/^tslws_smp_service_up\{service="1"\} (\d+)$/m), 1);
  assert.equal(value(/^tslws_smp_services_missing (\d+)$/m), 0);
  assert.ok(value(/^tslws_smp_service_connections\{service="0"\} (\d+)$/m) + value(/^tslws_smp_service_connections\{service="1"\} (\d+)$/m) >= 3,
    'the two WebSockets and the scrape\'s connection');
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    assert.fail('promtool is not installed: it comes with Debian\'s "prometheus" package (apt-get install prometheus)');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  one.ws.destroy();
  two.ws.destroy();
});
