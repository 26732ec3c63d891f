#!/usr/bin/env node
/**
 * permessage-deflate benchmark: tslws's echo server against the `ws`
 * package's, both with compression on, driven by the same Node load
 * generator (a `ws` client with perMessageDeflate; bench/wsload does not
 * speak deflate).
 *
 *   node bench/ws-deflate.mjs [--duration SECS] [--rounds N] [--quick] [--json]
 *                             [--conns N] [--servers tslws,ws] [--only ID,...] [--out FILE]
 *
 * Servers (each a fresh child process per run, pinned to core 0 with
 * `taskset -c 0` when there is one, open-file limit raised to the hard limit):
 *   tslws  an echo protocol written as a user would (rxBufferSize 65536),
 *          vhost option ws.perMessageDeflate { threshold: 0 }
 *   ws     `ws` 8 WebSocketServer echoing every message with its type,
 *          perMessageDeflate { threshold: 0 }
 * Both use their defaults otherwise (context takeover, 15-bit windows,
 * 10 zlib operations at once); --no-context-takeover makes both servers
 * reset their compressor after every message (server_no_context_takeover).
 *
 * Scenarios: --conns connections (default 1000), each with one message of
 * compressible text in flight, echoed and checked byte for byte; each
 * connection cycles through 64 alike but different texts:
 *   deflate-1k    1 KiB text
 *   deflate-64k   64 KiB text
 * Reported per server: messages/s echoed (median over rounds), bytes the
 * server sent on the wire per message (frames included: the compression
 * ratio it achieved), server RSS while every connection is echoing (the
 * median of samples every 250 ms: "busy"), peak RSS during the run
 * (VmHWM), RSS per connection busy and after the connections then stayed
 * open and quiet for 3 s (idle), and the tslws/ws ratios. Both servers run with glibc's mmap
 * threshold at 64 KiB so that freed zlib state leaves RSS. The load generator (core 1) is one Node process: with
 * compression it may be the bottleneck, and it is the same for both.
 *
 * --quick: 1 round of 1 s runs with 100 connections. The same file runs as
 * `--serve tslws|ws PORT` (a server) and `--load ...` (the load generator).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, guardChildren, hardFdLimit, spawnPinned, stopChild } from './lib/proc.mjs';
import { CLK_TCK, cpuTicks, statusKiB } from './lib/procfs.mjs';
import { median } from './lib/report.mjs';
import { echoAndStopOnSignal } from './lib/ws-echo-server.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const DIST = join(REPO, 'dist/src/index.js');
const MAX = 64 * 1024 * 1024;
/** Seconds connections stay open and quiet after the run before the idle RSS is read (tslws frees compressors after 2 s). */
const IDLE_SECS = 3;
/**
 * Messages each connection cycles through: alike (as a stream of JSON
 * records is) but not equal, and more of them than a 32 KiB window holds,
 * so no message is ever an exact repeat of one the compressor still sees.
 */
const VARIANTS = 64;
/**
 * Both servers run with glibc's mmap threshold at 64 KiB, so zlib's large
 * blocks (64 KiB each with 15-bit windows) are mapped on their own and a
 * freed one leaves RSS at once; with the default, malloc keeps freed
 * blocks and RSS could not show memory given back.
 */
const SERVER_ENV = { MALLOC_MMAP_THRESHOLD_: '65536' };

/** Compressible text of `n` bytes (words, numbers; about 4:1 with deflate). */
function textOf(n, variant = 0) {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  let s = '';
  for (let i = variant * 131; s.length < n; i++) s += `${words[(i * 7 + (i >> 3)) % 8]} ${(i * 2654435761) % 10007} `;
  return Buffer.from(s.slice(0, n));
}

// ---------------------------------------------------------------------------
// Servers (child-process mode)

/** Server-side deflate settings: the defaults, or with --no-context-takeover the server resets after every message. */
const serverPmd = (noCtx) => (noCtx ? { threshold: 0, serverNoContextTakeover: true } : { threshold: 0 });

async function serveTslws(port, noCtx, extra) {
  const { createContext, callbackHttpDummy, Reason, Write } = await import(pathToFileURL(DIST).href);
  const echo = {
    name: 'echo',
    rxBufferSize: 65536,
    createSessionData: () => ({ parts: [], out: [] }),
    callback(wsi, reason, pss, input) {
      if (reason === Reason.RECEIVE) {
        pss.parts.push(Buffer.from(input));
        if (wsi.isFinalFragment() && wsi.remainingPacketPayload() === 0) {
          pss.out.push([pss.parts.length === 1 ? pss.parts[0] : Buffer.concat(pss.parts), wsi.frameIsBinary() ? Write.BINARY : Write.TEXT]);
          pss.parts = [];
          wsi.callbackOnWritable();
        }
      } else if (reason === Reason.SERVER_WRITEABLE) {
        while (pss.out.length && !wsi.sendPipeChoked()) {
          const [b, f] = pss.out.shift();
          wsi.write(b, f);
        }
        if (pss.out.length) wsi.callbackOnWritable();
      }
      return 0;
    },
  };
  const ctx = createContext({
    port, iface: '127.0.0.1',
    protocols: [{ name: 'http', callback: callbackHttpDummy }, echo],
    pvo: { echo: { default: '1' } },
    ws: { maxMessageSize: MAX, perMessageDeflate: { ...serverPmd(noCtx), ...extra } },
  });
  await ctx.listening;
  process.stdout.write(`listening ${port}\n`);
  const stop = () => ctx.destroy().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function serveWs(port, noCtx) {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: MAX, perMessageDeflate: serverPmd(noCtx) });
  echoAndStopOnSignal(wss);
  wss.on('listening', () => process.stdout.write(`listening ${port}\n`));
}

// ---------------------------------------------------------------------------
// Load generator (child-process mode): open, one exchange each ("primed"),
// then echo loops; prints one JSON line.

async function load(port, conns, size, warm, duration) {
  const { default: WebSocket } = await import('ws');
  const msgs = Array.from({ length: VARIANTS }, (_, k) => textOf(size, k));
  const socks = [];
  let errors = 0;
  const open = () => new Promise((res) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { threshold: 0 }, maxPayload: MAX });
    ws.once('open', () => res(ws));
    ws.once('error', () => { errors++; res(null); });
  });
  for (let i = 0; i < conns; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, conns - i) }, open));
    for (const ws of batch) if (ws) socks.push(ws);
  }
  let counting = false;
  let running = true;
  let count = 0;
  // What the server sent, in bytes on the wire (frames included), to see the compression ratio.
  const wireIn = () => socks.reduce((n, ws) => n + ws._socket.bytesRead, 0);
  const loop = (ws, i) => new Promise((res) => {
    let k = i;
    ws.on('message', (data) => {
      if (!data.equals(msgs[k % VARIANTS])) errors++;
      if (counting) count++;
      k++;
      if (running) ws.send(msgs[k % VARIANTS]);
      else res();
    });
    ws.on('close', res);
    ws.send(msgs[k % VARIANTS]);
  });
  // Prime: one message each, so every zlib context exists, then report.
  await Promise.all(socks.map((ws) => new Promise((res) => {
    ws.once('message', res);
    ws.send(msgs[0]);
  })));
  process.stdout.write(`primed ${socks.length}\n`);
  const done = Promise.all(socks.map(loop));
  await new Promise((r) => setTimeout(r, warm * 1000));
  const wire0 = wireIn();
  process.stdout.write('counting\n');
  counting = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, duration * 1000));
  counting = false;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const measured = count;
  const wireBytes = wireIn() - wire0;
  running = false;
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  process.stdout.write(JSON.stringify({ connected: socks.length, msgs: measured, secs, errors, wireBytes }) + '\n');
  // Quiet but connected: what each server holds for idle connections.
  await new Promise((r) => setTimeout(r, IDLE_SECS * 1000));
  process.stdout.write('idle\n');
  await new Promise((r) => setTimeout(r, 500));
  for (const ws of socks) ws.terminate();
  process.exit(0);
}

// ---------------------------------------------------------------------------
// The benchmark

const USAGE = 'usage: ws-deflate.mjs [--duration SECS (5)] [--rounds N (3)] [--quick] [--json] [--conns N (1000)]\n' +
  '                      [--servers tslws,ws] [--only deflate-1k,deflate-64k] [--no-context-takeover] [--out FILE]\n' +
  '                      [--tslws-pmd JSON (extra ws.perMessageDeflate settings for tslws, e.g. \'{"keptCompressors":2000}\')]\n';

const SCENARIOS = [
  { id: 'deflate-1k', size: 1024, label: '1 KiB text' },
  { id: 'deflate-64k', size: 65536, label: '64 KiB text' },
];

/** Node running `args`, pinned to `core` when taskset and 2 cores are there, open-file limit raised to the hard limit. */
function pinned(core, args, env) {
  const pin = existsSync('/usr/bin/taskset') && availableParallelism() >= 2 ? core : null;
  return spawnPinned(pin, [process.execPath, ...args], { fdLimit: hardFdLimit() || '1024', env });
}

function lineFrom(child, re, ms, what) {
  return new Promise((res, rej) => {
    let buf = '';
    let err = '';
    const t = setTimeout(() => rej(new Error(`${what}: nothing in ${ms} ms (${err.trim()})`)), ms);
    child.stderr.on('data', (d) => (err += d));
    const on = (d) => {
      buf += d;
      const m = re.exec(buf);
      if (m) {
        clearTimeout(t);
        child.stdout.off('data', on);
        res(m);
      }
    };
    child.stdout.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`${what}: exited (${code}): ${err.trim()}`));
    });
  });
}

async function runOne(server, sc, conns, warm, duration, children, noCtx, tslwsPmd) {
  const port = await freePort();
  const srv = pinned('0', [SELF, '--serve', server, String(port), noCtx ? 'no-context-takeover' : 'takeover', tslwsPmd], SERVER_ENV);
  children.add(srv);
  try {
    await lineFrom(srv, /listening/, 10000, `${server} server`);
    const base = statusKiB(srv.pid, 'VmRSS');
    const ld = pinned('1', [SELF, '--load', String(port), String(conns), String(sc.size), String(warm), String(duration)]);
    children.add(ld);
    try {
      await lineFrom(ld, /primed (\d+)/, 120000, 'load generator');
      const primedRss = statusKiB(srv.pid, 'VmRSS');
      // RSS while every connection is echoing: the busy figure.
      const busySamples = [];
      const sampler = setInterval(() => busySamples.push(statusKiB(srv.pid, 'VmRSS')), 250);
      let m;
      let cpu0 = 0;
      let t0 = 0;
      try {
        await lineFrom(ld, /^counting$/m, warm * 1000 + 30000, 'load generator (counting)');
        cpu0 = cpuTicks(srv.pid);
        t0 = Date.now();
        m = await lineFrom(ld, /^(\{.*\})$/m, duration * 1000 + 30000, 'load generator');
      } finally {
        clearInterval(sampler);
      }
      // The server's CPU (all its threads, zlib's included) over the counted
      // window: near 100 % of its one core it is the bottleneck, below it the
      // load generator is, and CPU per message compares the two servers' cost.
      const cpuSecs = (cpuTicks(srv.pid) - cpu0) / CLK_TCK;
      const cpuPct = cpuSecs / ((Date.now() - t0) / 1000) * 100;
      const busy = median(busySamples.length ? busySamples : [primedRss]);
      const r = JSON.parse(m[1]);
      const peak = statusKiB(srv.pid, 'VmHWM');
      if (r.errors || r.connected !== conns) throw new Error(`${server} ${sc.id}: ${r.errors} errors, ${r.connected}/${conns} connected`);
      await lineFrom(ld, /^idle$/m, IDLE_SECS * 1000 + 10000, 'load generator (idle)');
      const idle = statusKiB(srv.pid, 'VmRSS');
      return {
        rate: r.msgs / r.secs, baseMb: base / 1024, primedMb: primedRss / 1024, busyMb: busy / 1024, peakMb: peak / 1024,
        perConnKb: (busy - base) / conns, idlePerConnKb: (idle - base) / conns, wirePerMsg: r.msgs ? r.wireBytes / r.msgs : NaN, cpuPct,
        cpuUsPerMsg: r.msgs ? (cpuSecs * 1e6) / r.msgs : NaN,
      };
    } finally {
      await stopChild(ld);
      children.delete(ld);
    }
  } finally {
    await stopChild(srv);
    children.delete(srv);
  }
}

async function bench() {
  const o = parseBenchArgs(USAGE, {
    duration: { type: 'string' }, rounds: { type: 'string' }, quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false }, conns: { type: 'string' }, servers: { type: 'string', default: 'tslws,ws' },
    only: { type: 'string' }, out: { type: 'string' },
    'no-context-takeover': { type: 'boolean', default: false },
    'tslws-pmd': { type: 'string', default: '{}' },
  }).values;
  try {
    const extra = JSON.parse(o['tslws-pmd']);
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new Error('not an object');
  } catch (e) {
    usageError('ws-deflate', USAGE, `--tslws-pmd must be a JSON object (${e.message})`);
  }
  const duration = Number(o.duration ?? (o.quick ? 1 : 5));
  const rounds = Number(o.rounds ?? (o.quick ? 1 : 3));
  const conns = Number(o.conns ?? (o.quick ? 100 : 1000));
  const warm = o.quick ? 0.5 : 1;
  const servers = o.servers.split(',').map((s) => s.trim()).filter(Boolean);
  let scen = SCENARIOS;
  if (o.only) {
    const want = o.only.split(',').map((s) => s.trim());
    for (const w of want) if (!SCENARIOS.some((s) => s.id === w)) {
      usageError('ws-deflate', USAGE, `unknown scenario ${w}`);
    }
    scen = SCENARIOS.filter((s) => want.includes(s.id));
  }
  if (!(duration > 0) || !Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(conns) || conns < 1 ||
    servers.some((s) => s !== 'tslws' && s !== 'ws')) {
    usageError('ws-deflate', USAGE, `bad option value`);
  }
  if (!existsSync(DIST)) {
    process.stderr.write('ws-deflate: build first (npm run build)\n');
    process.exit(2);
  }
  const { children } = guardChildren('ws-deflate', { what: 'servers and load generator' });

  const results = {};
  for (let round = 0; round < rounds; round++) {
    // rotate the servers' order so neither always runs first
    const order = servers.map((_, i) => servers[(i + round) % servers.length]);
    for (const sc of scen) {
      for (const server of order) {
        process.stderr.write(`round ${round + 1}/${rounds}: ${sc.id} on ${server} (${conns} conns, ${duration} s)\n`);
        const r = await runOne(server, sc, conns, warm, duration, children, o['no-context-takeover'], o['tslws-pmd']);
        ((results[sc.id] ??= {})[server] ??= []).push(r);
      }
    }
  }
  const summary = scen.map((sc) => {
    const row = { id: sc.id, label: `${conns} conns, ${sc.label}` };
    for (const server of servers) {
      const rs = results[sc.id][server];
      row[server] = {
        msgsPerSec: median(rs.map((r) => r.rate)),
        rssMb: median(rs.map((r) => r.busyMb)),
        primedRssMb: median(rs.map((r) => r.primedMb)),
        peakRssMb: median(rs.map((r) => r.peakMb)),
        perConnKb: median(rs.map((r) => r.perConnKb)),
        idlePerConnKb: median(rs.map((r) => r.idlePerConnKb)),
        wireBytesPerMsg: median(rs.map((r) => r.wirePerMsg)),
        serverCpuPct: median(rs.map((r) => r.cpuPct)),
        serverCpuUsPerMsg: median(rs.map((r) => r.cpuUsPerMsg)),
      };
    }
    if (row.tslws && row.ws) {
      row.throughputRatio = row.tslws.msgsPerSec / row.ws.msgsPerSec;
      row.cpuRatio = row.tslws.serverCpuUsPerMsg / row.ws.serverCpuUsPerMsg;
      row.memoryRatio = row.tslws.perConnKb / row.ws.perConnKb;
      row.idleMemoryRatio = row.tslws.idlePerConnKb / row.ws.idlePerConnKb;
    }
    return row;
  });
  const json = { bench: 'ws-deflate', conns, duration, rounds, serverNoContextTakeover: o['no-context-takeover'], tslwsPmd: JSON.parse(o['tslws-pmd']), results: summary };
  if (o.out) writeFileSync(o.out, JSON.stringify(json, null, 2) + '\n');
  if (o.json) {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return;
  }
  const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const lines = ['| scenario | server | msgs/s | server CPU % | CPU µs/msg | wire B/msg | RSS MB busy | peak RSS MB | KB/conn busy | KB/conn idle | tslws/ws |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const row of summary) {
    for (const server of servers) {
      const r = row[server];
      const ratio = server === 'tslws' && row.throughputRatio
        ? `${f(row.throughputRatio, 2)}x msgs, ${f(row.cpuRatio, 2)}x CPU/msg, ${f(row.memoryRatio, 2)}x busy, ${f(row.idleMemoryRatio, 2)}x idle KB/conn` : '';
      lines.push(`| ${row.label} | ${server} | ${f(r.msgsPerSec)} | ${f(r.serverCpuPct)} | ${f(r.serverCpuUsPerMsg)} | ${f(r.wireBytesPerMsg)} | ${f(r.rssMb, 1)} | ${f(r.peakRssMb, 1)} | ${f(r.perConnKb, 1)} | ${f(r.idlePerConnKb, 1)} | ${ratio} |`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

const argv = process.argv.slice(2);
if (argv[0] === '--serve') {
  const noCtx = argv[3] === 'no-context-takeover';
  if (argv[1] === 'tslws') await serveTslws(Number(argv[2]), noCtx, JSON.parse(argv[4] ?? '{}'));
  else await serveWs(Number(argv[2]), noCtx);
} else if (argv[0] === '--load') {
  const [port, conns, size, warm, duration] = argv.slice(1).map(Number);
  await load(port, conns, size, warm, duration);
} else {
  await bench();
}
