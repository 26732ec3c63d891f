#!/usr/bin/env node
/**
 * ws-gc.mjs: the garbage collector's work behind a WebSocket echo, per
 * build, from V8's own trace (`node --trace-gc --trace-gc-nvp`): how many
 * scavenges and mark-compacts a measured run of wsload causes, per second
 * and per 1,000 echoed messages, what the scavenges promoted, the share of
 * the server's CPU time spent in GC pauses, the server's CPU per
 * message, and how many buffers of 16 KiB or more the server's JavaScript
 * made per message (through Buffer's own calls; Node's socket reads are
 * made in C++ and not counted). Counts of collections depend far less on the rest of a shared
 * machine than rates do, so two builds can be told apart by them when
 * msg/s cannot.
 *
 *   node bench/ws-gc.mjs                                   # this checkout's lws-test-echo, 100 x 64 KiB
 *   node bench/ws-gc.mjs --base ../old/dist/src/bin/lws-test-echo.js --rounds 3
 *   node bench/ws-gc.mjs --servers tslws,ws --ballast 3    # each server's heap made 3 MB larger first
 *   node bench/ws-gc.mjs --conns 10 --size 65536 --secs 4
 *
 * Options: --tslws FILE (lws-test-echo of the build to measure), --base
 * FILE (a second build, the server tslws-base), --servers LIST (tslws,
 * tslws-base, ws; default tslws and tslws-base when given), --conns N
 * (100), --size BYTES (65536, binary), --secs N (4, after 2 s of
 * warm-up), --rounds N (2, the servers alternating), --ballast MB (0:
 * before the server starts, that many MB of small objects are made and
 * kept, to see how the collector behaves with a larger old generation),
 * --json. Needs what ws-echo.mjs needs (taskset, gcc for wsload); like
 * it, each run waits while another benchmark is running.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Fatal, freePort, guardChildren, sleep, stopChild } from './lib/proc.mjs';
import { buildWsload, runLoad, canConnect, waitQuiet, SERVER_CORE } from './lib/wsload.mjs';
import { CLK_TCK, cpuTicks } from './lib/procfs.mjs';
import { alignTable, fmtInt } from './lib/report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH, '..');

const { values: o } = parseArgs({
  options: {
    tslws: { type: 'string', default: join(REPO, 'dist/src/bin/lws-test-echo.js') },
    base: { type: 'string' },
    servers: { type: 'string' },
    conns: { type: 'string', default: '100' },
    size: { type: 'string', default: '65536' },
    secs: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    ballast: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, ''));
  process.exit(0);
}
const say = (s) => process.stderr.write(s + '\n');
const servers = (o.servers ?? (o.base ? 'tslws-base,tslws' : 'tslws')).split(',');
const ballastMb = Number(o.ballast);
const guard = guardChildren('ws-gc');
const tmp = mkdtempSync(join(tmpdir(), 'tslws-ws-gc-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// The ballast: plain objects made before the server's code loads, and kept.
const ballastFile = join(tmp, 'ballast.cjs');
writeFileSync(ballastFile, `globalThis.__benchBallast = [];
for (let i = 0; i < ${ballastMb} * 1e6 / 64; i++) globalThis.__benchBallast.push({ a: i, b: i + 1, c: null, d: null });\n`);
// Buffers of 16 KiB or more made through Buffer's own calls (not Node's
// socket reads, made in C++), counted and reported on SIGUSR2.
const countFile = join(tmp, 'count.cjs');
writeFileSync(countFile, `let n = 0, bytes = 0;
for (const k of ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'from', 'concat']) {
  const f = Buffer[k];
  Buffer[k] = function (...a) { const b = f.apply(this, a); if (b.length >= 16384) { n++; bytes += b.length; } return b; };
}
process.on('SIGUSR2', () => process.stderr.write('ws-gc-alloc ' + n + ' ' + bytes + '\\n'));\n`);

function argvOf(name, port) {
  const pre = ['--trace-gc', '--trace-gc-nvp', '-r', countFile, ...(ballastMb > 0 ? ['-r', ballastFile] : [])];
  if (name === 'ws') return [...pre, join(BENCH, 'ws-echo.mjs'), '--serve', port];
  const bin = name === 'tslws-base' ? o.base : o.tslws;
  if (!bin) throw new Fatal('tslws-base needs --base FILE');
  return [...pre, resolve(bin), '-i', '127.0.0.1', '--rx-buffer-size', '65536', '-p', port];
}

/** One server, one measured run: the trace lines written during it. */
async function measure(name) {
  await waitQuiet(say);
  const port = String(await freePort());
  const child = spawn('taskset', ['-c', SERVER_CORE, process.execPath, ...argvOf(name, port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  guard.children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const allocs = async () => {
    const before = err.length;
    child.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      const m = /ws-gc-alloc (\d+) (\d+)\n/.exec(err.slice(before));
      if (m) return { n: Number(m[1]), bytes: Number(m[2]) };
      await sleep(10);
    }
    throw new Fatal(`${name} did not report its allocations`);
  };
  try {
    const t0 = Date.now();
    while (!(await canConnect(port))) {
      if (Date.now() - t0 > 15000) throw new Fatal(`${name} did not listen within 15 s`);
      await sleep(50);
    }
    const ctx = { children: guard.children };
    const load = ['-m', 'echo', '-p', port, '-c', o.conns, '-s', o.size, '-b', '-w', '0', '-q'];
    await runLoad([...load, '-d', '2'], ctx, null);
    await sleep(200);
    const a0 = await allocs();
    const mark = out.length;
    const c0 = cpuTicks(child.pid);
    const r = await runLoad([...load, '-d', o.secs], ctx, null);
    const cpu = (cpuTicks(child.pid) - c0) / CLK_TCK;
    const a1 = await allocs();
    const lines = out.slice(mark).split('\n');
    let scav = 0, mc = 0, promoted = 0, pause = 0;
    for (const l of lines) {
      const kind = /\bgc=(\w+)/.exec(l)?.[1];
      if (!kind) continue;
      const num = (k) => Number(new RegExp(`\\b${k}=([\\d.]+)`).exec(l)?.[1] ?? 0);
      pause += num('pause');
      if (kind === 's') {
        scav++;
        promoted += num('promoted');
      } else if (kind === 'mc' || kind === 'mmc') mc++;
    }
    const msgs = r.count;
    if (r.errors) throw new Fatal(`${name}: wsload counted ${r.errors} errors`);
    return { server: name, rate: r.rate, msgs, scavenges: scav, markCompacts: mc, mcPer1k: (mc / msgs) * 1000,
      scavPer1k: (scav / msgs) * 1000, bigBuffersPerMsg: (a1.n - a0.n) / msgs, bigBufferKBPerMsg: (a1.bytes - a0.bytes) / msgs / 1024,
      promotedPerScavengeKB: scav ? promoted / scav / 1000 : 0,
      gcPauseShare: cpu > 0 ? pause / 1000 / cpu : 0, cpuUsPerMsg: (cpu / msgs) * 1e6, otherCpu: r.otherCpu };
  } finally {
    await stopChild(child);
    guard.children.delete(child);
  }
}

try {
  buildWsload(say);
  const all = [];
  for (let round = 0; round < Number(o.rounds); round++) {
    const order = round % 2 ? [...servers].reverse() : servers;
    for (const s of order) {
      const m = await measure(s);
      m.round = round + 1;
      all.push(m);
      say(`round ${round + 1} ${s}: ${fmtInt(m.rate)} msg/s, ${m.scavenges} scavenges, ${m.markCompacts} mark-compacts`);
    }
  }
  if (o.json) process.stdout.write(JSON.stringify({ conns: Number(o.conns), size: Number(o.size), secs: Number(o.secs), ballastMb, runs: all }, null, 2) + '\n');
  else {
    const rows = [['server', 'round', 'msg/s', `scavenges / ${o.secs} s`, `mark-compacts / ${o.secs} s`, 'MC per 1k msg', 'promoted / scavenge', 'buffers >= 16 KiB / msg', 'GC pauses / CPU', 'CPU / msg', 'other load']];
    for (const m of all) {
      rows.push([m.server, String(m.round), fmtInt(m.rate), String(m.scavenges), String(m.markCompacts), m.mcPer1k.toFixed(2),
        `${m.promotedPerScavengeKB.toFixed(1)} KB`, `${m.bigBuffersPerMsg.toFixed(2)} (${m.bigBufferKBPerMsg.toFixed(0)} KiB)`, `${(m.gcPauseShare * 100).toFixed(1)} %`, `${Math.round(m.cpuUsPerMsg)} us`, `${Math.round(m.otherCpu * 100)} %`]);
    }
    process.stdout.write(`${o.conns} connections x ${o.size} B binary, 1 in flight, ${o.secs} s measured${ballastMb ? `, ${ballastMb} MB ballast` : ''}\n`);
    process.stdout.write(alignTable(rows, (i) => i >= 2).join('\n') + '\n');
  }
  await guard.stopAll();
} catch (e) {
  await guard.stopAll();
  say(`ws-gc: ${e instanceof Fatal ? e.message : e.stack}`);
  process.exit(1);
}
