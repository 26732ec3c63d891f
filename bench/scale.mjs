#!/usr/bin/env node
/**
 * Operating at scale: what one server holds and how it behaves over time.
 *
 *   node bench/scale.mjs idle [--conns 100000]        one service process holds N idle WebSockets
 *                                                     (from 127.0.0.1..x, past one address's ports):
 *                                                     RSS per connection, then a ping on every one
 *   node bench/scale.mjs smp [--duration 5] [--rounds 3]
 *                                                     echo with lws-test-echo -j 2 against -j 1
 *   node bench/scale.mjs soak [--minutes 30]          mixed HTTP and WebSocket load on one server
 *                                                     for that long; its RSS sampled every 10 s
 *
 * Each prints a table (or `--json`). The servers are the built bins
 * (`npx tsc -p tsconfig.json` first); the load is bench/wsload (built with
 * gcc on first use) and, for the soak, Debian's wrk.
 */
import { parseArgs } from 'node:util';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fatal, sleep, alive, stopChild, tail, freePort, spawnPinned, guardChildren, hardFdLimit } from './lib/proc.mjs';
import { rssKiB, cpuTicks, CLK_TCK } from './lib/procfs.mjs';
import { buildWsload, WSLOAD, canConnect } from './lib/wsload.mjs';
import { median, fmtInt, mib, alignTable, machineInfo } from './lib/report.mjs';
import { WRK } from './lib/wrk.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ECHO_BIN = join(ROOT, 'dist/src/bin/lws-test-echo.js');
const USAGE = 'usage: node bench/scale.mjs idle|smp|soak [--conns N] [--duration S] [--rounds N] [--minutes M] [--json]\n';
/** Connections per source address: under the ~28k ephemeral ports of one. */
const PER_SOURCE = 20000;

const say = (s) => process.stderr.write(s + '\n');

/** Start lws-test-echo (with `-j count`) with a raised open-file limit; resolves once it accepts. */
async function startEcho(ctx, { count = 1, fdLimit, core = '0', nice = false } = {}) {
  const port = await freePort();
  const argv = [process.execPath, ECHO_BIN, '-i', '127.0.0.1', '-p', port, '--rx-buffer-size', '65536', '-j', count];
  const child = spawnPinned(core, nice ? ['nice', '-n', '19', ...argv] : argv, { fdLimit });
  ctx.children.add(child);
  child.once('exit', () => ctx.children.delete(child));
  const srv = { name: `tslws -j ${count}`, port: String(port), child, pid: child.pid, out: tail(child) };
  const end = Date.now() + 15000;
  while (!(await canConnect(port))) {
    if (!alive(child)) throw new Fatal(`lws-test-echo exited:\n${srv.out.text}`);
    if (Date.now() > end) throw new Fatal(`lws-test-echo did not listen within 15 s:\n${srv.out.text}`);
    await sleep(50);
  }
  // With services, the primary accepts before they are ready: wait for them.
  if (count > 1) {
    while ((srv.out.text.match(/service \d+ of \d+ serving/g)?.length ?? 0) < count) {
      if (Date.now() > end) throw new Fatal(`the services did not start within 15 s:\n${srv.out.text}`);
      await sleep(50);
    }
  }
  return srv;
}

/** Pids of `pid` and every process below it (SMP services are the primary's children). */
function tree(pid) {
  const out = [pid];
  try {
    const kids = spawnSyncText('pgrep', ['-P', String(pid)]).split('\n').filter(Boolean).map(Number);
    for (const k of kids) out.push(...tree(k));
  } catch { /* gone */ }
  return out;
}

function spawnSyncText(cmd, args) {
  return spawnSync(cmd, args, { encoding: 'utf8' }).stdout || '';
}

/** wsload with `args`, unpinned or pinned; resolves with its JSON; `onStderr(text, child)` sees its progress. */
function wsload(args, ctx, { core = '1', onStderr, timeoutSecs = 300, nice = false } = {}) {
  return new Promise((res, rej) => {
    const argv = [...(core === null ? [] : ['taskset', '-c', core]), ...(nice ? ['nice', '-n', '19'] : []), WSLOAD, ...args.map(String)];
    const w = spawn('sh', ['-c', `ulimit -n ${ctx.fdLimit} && exec "$@"`, 'sh', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    ctx.children.add(w);
    let out = '';
    let err = '';
    w.stdout.on('data', (d) => (out += d));
    w.stderr.on('data', (d) => {
      err = (err + d).slice(-20000);
      w.lastErr = err;
      onStderr?.(err, w);
    });
    const limit = setTimeout(() => w.kill('SIGKILL'), timeoutSecs * 1000);
    w.once('exit', (code, sig) => {
      clearTimeout(limit);
      ctx.children.delete(w);
      try {
        const j = JSON.parse(out.trim().split('\n').pop());
        j.stderr = err;
        res(j);
      } catch {
        rej(new Fatal(`wsload exited ${code ?? sig} without a result (${args.join(' ')}):\n${err.trim()}`));
      }
    });
  });
}

// ---- idle: N connections on one service ----

async function idle(ctx, conns) {
  const srv = await startEcho(ctx, { fdLimit: ctx.fdLimit });
  try {
    await wsload(['-m', 'idle', '-p', srv.port, '-c', 200, '-t', 0.2], ctx);
    await sleep(1000);
    const rss0 = rssKiB(srv.pid);
    let rss1 = 0;
    let pongs = null;
    let openSecs = 0;
    const sources = Math.ceil(conns / PER_SOURCE);
    say(`idle: opening ${fmtInt(conns)} WebSockets from ${sources} source addresses`);
    const r = await wsload(['-m', 'idle', '-p', srv.port, '-c', conns, '-L', sources, '-t', 0, '-r', 200, '-T', 600], ctx, {
      timeoutSecs: 900,
      onStderr(text, w) {
        if (rss1 || !/wsload: ready \d+/.test(text) || w.sampling) return;
        w.sampling = true;
        openSecs = Number(/open in ([\d.]+) s/.exec(text)?.[1] ?? 0);
        void (async () => {
          await sleep(3000);
          const samples = [];
          for (let i = 0; i < 5; i++) {
            samples.push(rssKiB(srv.pid));
            await sleep(300);
          }
          rss1 = median(samples);
          say(`idle: RSS ${mib(rss0)} -> ${mib(rss1)}; pinging every connection`);
          w.kill('SIGUSR2');
          const end = Date.now() + 60000;
          while (!/wsload: pongs/.test(w.lastErr ?? '') && Date.now() < end) await sleep(100);
          try { w.kill('SIGTERM'); } catch { /* gone */ }
        })();
      },
    });
    const m = /wsload: pongs (\d+) of (\d+) in ([\d.]+) s/.exec(r.stderr);
    if (m) pongs = { got: Number(m[1]), sent: Number(m[2]), secs: Number(m[3]) };
    return {
      scenario: 'idle', conns, opened: r.opened, openSecs, errors: r.errors, rss0, rss1,
      kbPerConn: ((rss1 - rss0) * 1024) / conns / 1000, pongs,
    };
  } finally {
    await stopChild(srv.child);
  }
}

// ---- smp: echo with 1 and 2 services ----

async function smp(ctx, duration, rounds) {
  const scen = [
    { id: 'c100-64', args: ['-c', 100, '-s', 64] },
    { id: 'c100-1k', args: ['-c', 100, '-s', 1024] },
  ];
  const rows = [];
  for (const sc of scen) {
    const rates = { 1: [], 2: [] };
    const cpu = { 1: [], 2: [] };
    const cores = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round++) {
      for (const count of round % 2 ? [2, 1] : [1, 2]) {
        // One service: the server on core 0, the load on core 1. Two: the
        // services may use both cores, and so does the load (not pinned).
        const srv = await startEcho(ctx, { count, fdLimit: 4096, core: count === 1 ? '0' : null });
        try {
          const pids = tree(srv.pid);
          const t0 = pids.reduce((a, p) => a + cpuTicks(p), 0);
          const w0 = performance.now();
          const r = await wsload(['-m', 'echo', '-p', srv.port, ...sc.args, '-d', duration, '-w', 1], ctx, { core: count === 1 ? '1' : null });
          const t1 = tree(srv.pid).reduce((a, p) => a + cpuTicks(p), 0);
          const wallSecs = (performance.now() - w0) / 1000;
          if (r.errors) throw new Fatal(`${sc.id} with -j ${count}: ${r.errors} errors ${JSON.stringify(r.error_kinds)}`);
          rates[count].push(r.rate);
          // The CPU time spans the warm-up as well as the measured window:
          // per message and per core are taken over the whole run, at the
          // measured rate.
          const cpuSecs = (t1 - t0) / CLK_TCK;
          cpu[count].push(cpuSecs / ((r.rate || 1) * wallSecs) * 1e6);
          cores[count].push(cpuSecs / wallSecs);
          say(`smp ${sc.id} -j ${count}: ${fmtInt(r.rate)} msgs/s`);
        } finally {
          await stopChild(srv.child);
        }
      }
    }
    rows.push({ scenario: sc.id, one: median(rates[1]), two: median(rates[2]), ratio: median(rates[2]) / median(rates[1]),
      cpuUsOne: median(cpu[1]), cpuUsTwo: median(cpu[2]), coresOne: median(cores[1]), coresTwo: median(cores[2]),
      perCoreOne: median(rates[1]) / median(cores[1]), perCoreTwo: median(rates[2]) / median(cores[2]), roundsOne: rates[1], roundsTwo: rates[2] });
  }
  return rows;
}

// ---- soak: mixed load for minutes, RSS over time ----

const SOAK_SERVER = `
import { createContext, createEchoProtocol, callbackHttpDummy, Mount } from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))};
const port = Number(process.argv[2]);
const ctx = createContext({ port, iface: '127.0.0.1',
  protocols: [{ name: 'http', callback: callbackHttpDummy }, createEchoProtocol('lws-echo', { rxBufferSize: 65536 })],
  pvo: { 'lws-echo': { default: '1' } },
  mounts: [{ mountpoint: '/', origin: ${JSON.stringify(join(ROOT, 'www'))}, def: 'test.html', originProtocol: Mount.FILE }],
});
await ctx.listening;
console.log('soak server on ' + port);
`;

async function soak(ctx, minutes) {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-soak-'));
  ctx.cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.mjs');
  writeFileSync(file, SOAK_SERVER);
  const port = await freePort();
  const child = spawnPinned('0', ['nice', '-n', '10', process.execPath, file, port], { fdLimit: 4096 });
  ctx.children.add(child);
  const srv = { child, pid: child.pid, out: tail(child) };
  const end0 = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (!alive(child) || Date.now() > end0) throw new Fatal(`the soak server did not start:\n${srv.out.text}`);
    await sleep(50);
  }
  const secs = Math.round(minutes * 60);
  say(`soak: ${minutes} min of wrk (HTTP files, keep-alive), WebSocket echo (50 x 1 KiB) and handshake loops`);
  const loads = [
    wsload(['-m', 'echo', '-p', port, '-c', 50, '-s', 1024, '-d', secs, '-w', 0, '-S', 60], ctx, { core: '1', nice: true, timeoutSecs: secs + 120 }),
    wsload(['-m', 'handshake', '-p', port, '-c', 4, '-d', secs, '-w', 0], ctx, { core: '1', nice: true, timeoutSecs: secs + 120 }),
    new Promise((res, rej) => {
      const w = spawn('taskset', ['-c', '1', 'nice', '-n', '19', WRK, '-t1', '-c20', `-d${secs}s`, `http://127.0.0.1:${port}/test.html`], { stdio: ['ignore', 'pipe', 'pipe'] });
      ctx.children.add(w);
      let out = '';
      w.stdout.on('data', (d) => (out += d));
      w.stderr.on('data', (d) => (out += d));
      w.once('error', (e) => rej(new Fatal(`wrk: ${e.message} (apt-get install wrk)`)));
      w.once('exit', () => {
        ctx.children.delete(w);
        res({ requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0), non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0), out });
      });
    }),
  ];
  const samples = [];
  const t0 = Date.now();
  const timer = setInterval(() => samples.push({ t: (Date.now() - t0) / 1000, rss: rssKiB(child.pid) }), 10000);
  const [echo, hs, wrk] = await Promise.all(loads);
  clearInterval(timer);
  await stopChild(child);
  // Flat means: after the first minute, the last samples are not above the early ones by more than noise.
  const after = samples.filter((s) => s.t >= 60);
  const firstMin = after.slice(0, 6);
  const lastMin = after.slice(-6);
  return {
    scenario: 'soak', minutes, echoRate: echo.rate, echoErrors: echo.errors, handshakes: hs.rate, handshakeErrors: hs.errors,
    httpRequests: wrk.requests, httpNon2xx: wrk.non2xx,
    rssFirstMinute: median(firstMin.map((s) => s.rss)), rssLastMinute: median(lastMin.map((s) => s.rss)),
    rssMax: Math.max(...samples.map((s) => s.rss)), samples,
  };
}

async function main() {
  let o;
  try {
    o = parseArgs({ allowPositionals: true, options: {
      conns: { type: 'string' }, duration: { type: 'string' }, rounds: { type: 'string' }, minutes: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    } });
  } catch (e) {
    process.stderr.write(`scale.mjs: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const what = o.positionals[0];
  if (!['idle', 'smp', 'soak'].includes(what)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const conns = Number(o.values.conns ?? 100000);
  const duration = Number(o.values.duration ?? 5);
  const rounds = Number(o.values.rounds ?? 3);
  const minutes = Number(o.values.minutes ?? 30);
  if (!(conns >= 1 && conns <= 250 * PER_SOURCE && duration > 0 && rounds >= 1 && minutes > 0)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const hard = hardFdLimit();
  const hardN = hard === 'unlimited' ? Infinity : Number(hard);
  if (what === 'idle' && conns + 512 > hardN) {
    process.stderr.write(`scale.mjs: ${conns} idle connections need an open-file limit of at least ${conns + 512} in the server and in wsload; ` +
      `the hard limit here is ${hard} (raise it as root with CAP_SYS_RESOURCE: ulimit -Hn, or LimitNOFILE= in systemd), or pass --conns ${Math.max(1, hardN - 512)}\n`);
    return 1;
  }
  const guard = guardChildren('scale.mjs', { cleanup: () => ctx.cleanup.forEach((f) => f()) });
  const ctx = { children: guard.children, cleanup: [], fdLimit: Math.min(hardN, Math.max(conns + 512, 4096)) };
  buildWsload(say);
  const started = new Date().toISOString();
  let result;
  try {
    if (what === 'idle') result = await idle(ctx, conns);
    else if (what === 'smp') result = await smp(ctx, duration, rounds);
    else result = await soak(ctx, minutes);
  } finally {
    await guard.stopAll();
  }
  if (o.values.json) {
    process.stdout.write(JSON.stringify({ started, machine: machineInfo(), what, result }, null, 2) + '\n');
    return 0;
  }
  const m = machineInfo();
  process.stdout.write(`${started}: ${m.nproc} cores (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}\n`);
  if (what === 'idle') {
    const r = result;
    process.stdout.write(alignTable([
      ['connections', 'opened', 'open in', 'RSS before -> after', 'KB / connection', 'pongs'],
      [fmtInt(r.conns), fmtInt(r.opened), `${r.openSecs} s`, `${mib(r.rss0)} -> ${mib(r.rss1)}`, r.kbPerConn.toFixed(2),
        r.pongs ? `${fmtInt(r.pongs.got)} of ${fmtInt(r.pongs.sent)} in ${r.pongs.secs} s` : 'none reported'],
    ], (i) => i > 0).join('\n') + '\n');
  } else if (what === 'smp') {
    process.stdout.write(alignTable([
      ['scenario', '-j 1 msgs/s', '-j 2 msgs/s', '-j 2 / -j 1', 'server CPU/msg -j 1 / -j 2', 'server cores busy -j 1 / -j 2',
        'msgs/s per server core -j 1 / -j 2', '-j 1 rounds', '-j 2 rounds'],
      ...result.map((r) => [r.scenario, fmtInt(r.one), fmtInt(r.two), r.ratio.toFixed(2), `${r.cpuUsOne.toFixed(1)} / ${r.cpuUsTwo.toFixed(1)} us`,
        `${r.coresOne.toFixed(2)} / ${r.coresTwo.toFixed(2)}`, `${fmtInt(r.perCoreOne)} / ${fmtInt(r.perCoreTwo)} (${(r.perCoreTwo / r.perCoreOne).toFixed(2)})`,
        r.roundsOne.map(fmtInt).join(' / '), r.roundsTwo.map(fmtInt).join(' / ')]),
    ], (i) => i > 0).join('\n') + '\n');
  } else {
    const r = result;
    process.stdout.write(alignTable([
      ['minutes', 'echo msgs/s', 'handshakes/s', 'HTTP requests', 'errors (echo/hs/non-2xx)', 'RSS 2nd min', 'RSS last min', 'RSS max'],
      [String(r.minutes), fmtInt(r.echoRate), fmtInt(r.handshakes), fmtInt(r.httpRequests), `${r.echoErrors}/${r.handshakeErrors}/${r.httpNon2xx}`,
        mib(r.rssFirstMinute), mib(r.rssLastMinute), mib(r.rssMax)],
    ], (i) => i > 0).join('\n') + '\n');
    process.stdout.write('RSS every minute: ' + r.samples.filter((_, i) => i % 6 === 5).map((s) => mib(s.rss)).join(' ') + '\n');
  }
  return 0;
}

main().then((rc) => process.exit(rc), (e) => {
  process.stderr.write(e instanceof Fatal ? `scale.mjs: ${e.message}\n` : `${e.stack}\n`);
  process.exit(1);
});
