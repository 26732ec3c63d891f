#!/usr/bin/env node
/**
 * WebSocket benchmark: tslws's echo server against the `ws` package's, with
 * our own C load generator (bench/wsload/wsload.c) driving them.
 *
 *   node bench/ws-echo.mjs [--duration SECS] [--rounds N] [--quick] [--json]
 *                          [--servers tslws,ws,ws-plain,floor] [--only ID,ID...]
 *                          [--idle-conns N] [--max-noise PCT] [--retries N]
 *                          [--tslws ECHO.js] [--tslws-base ECHO.js] [--out FILE]
 *
 * Servers (each a child process pinned to core 0 with `taskset -c 0`, its
 * open-file limit raised with `ulimit -n` to the hard limit):
 *   tslws     node dist/src/bin/lws-test-echo.js -p PORT -i 127.0.0.1 --rx-buffer-size 65536
 *   ws        `ws` 8 WebSocketServer echoing every message with its type, with
 *             the native `bufferutil` (masking in C++)
 *   ws-plain  the same without it (WS_NO_BUFFER_UTIL=1)
 *   floor     Node's floor: a minimal node:net WebSocket echo
 *             (bench/lib/floor-servers.mjs), the same system calls and nothing else
 *   tslws-base with --tslws-base: another build's lws-test-echo.js, run as tslws
 *             is (for an A/B of two builds, see bench/ab.mjs)
 *
 * Load: bench/out/wsload (built here with `gcc -O2`), pinned to core 1.
 * Every echoed byte is checked; a run with any error fails the scenario.
 *   echo-cN-S     N connections, 1 message of S bytes in flight each
 *                 (32 B and 1 KiB text, 64 KiB binary; N = 1, 100, 1000)
 *   echo-c10k16   10 connections x 16 messages of 64 B text in flight
 *   handshake     16 concurrent connect + upgrade + close loops
 *   idle          RSS per idle connection: a fresh server, 200 connections
 *                 opened and closed to warm it, RSS read, --idle-conns (10,000)
 *                 connections opened and upgraded, held 2 s, RSS read again
 *                 (median of 5 samples 200 ms apart); (after - before) / N
 * --only also takes echo scenarios that are not in the default set, by an id
 * of the same form: echo-c<N>-<S>[-k<K>][-text|-bin] (N connections, K
 * messages of S bytes in flight each, S a number of bytes or <n>k KiB;
 * binary from 64 KiB up, text below, unless -text or -bin), e.g. echo-c1-64,
 * echo-c10-64k.
 *
 * Method: after a warm-up of every server, --rounds rounds (default 3);
 * in every round each scenario runs against each server, the servers'
 * order rotating from round to round. Each run has a 1 s warm-up of its
 * own, then --duration seconds measured (default 5). Medians over rounds
 * are reported. Before every run the script waits while another
 * benchmark (wrk, another wsload) is running, and a run during which the
 * rest of the machine used more than --max-noise percent of one core
 * (default 5) is repeated, up to --retries times (then kept, flagged).
 *
 * --quick: 1 round of 1 s runs, 2,000 idle connections. Every child is
 * stopped on exit, error or Ctrl-C. The same file, run as
 * `ws-echo.mjs --serve PORT`, is the `ws` echo server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fatal, guardChildren, hardFdLimit, sleep, stopChild } from './lib/proc.mjs';
import { kernelRelease, rssKiB } from './lib/procfs.mjs';
import { serveWsEcho } from './lib/ws-echo-server.mjs';
import { LOAD_CORE, SERVER_CORE, buildWsload, measureQuiet, runLoad, startServer } from './lib/wsload.mjs';
import { alignTable, buildLine, describeBuild, fmtInt, fmtUs, machineInfo, median, mib, pct, repoOf } from './lib/report.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const SELF = fileURLToPath(import.meta.url);
const HERE = dirname(SELF);
const REPO = resolve(HERE, '..');
const TSLWS_BIN = join(REPO, 'dist/src/bin/lws-test-echo.js');
const FLOOR = join(HERE, 'lib/floor-servers.mjs');

// ---------------------------------------------------------------------------
// Scenarios

function scenarios(idleConns) {
  const list = [];
  for (const [size, label, binary] of [[32, '32 B text', false], [1024, '1 KiB text', false], [65536, '64 KiB binary', true]]) {
    for (const conns of [1, 100, 1000]) {
      const tag = size === 32 ? '32' : size === 1024 ? '1k' : '64k';
      list.push({
        id: `echo-c${conns}-${tag}`, kind: 'echo', label: `echo ${conns} conn${conns > 1 ? 's' : ''}, ${label}`,
        conns, inflight: 1, size, binary, aim: size === 32 ? 'small' : size === 65536 ? 'large' : null,
      });
    }
  }
  list.push({ id: 'echo-c10k16', kind: 'echo', label: 'echo 10 conns x 16 in flight, 64 B text', conns: 10, inflight: 16, size: 64, binary: false, aim: 'small' });
  list.push({ id: 'handshake', kind: 'handshake', label: 'handshakes, 16 concurrent', conns: 16, aim: 'handshake' });
  list.push({ id: 'idle', kind: 'idle', label: `idle memory, ${idleConns.toLocaleString('en-US')} conns`, conns: idleConns, aim: 'idle' });
  return list;
}

/**
 * An echo scenario outside the default set, from its id:
 * echo-c<N>-<S>[-k<K>][-text|-bin] (S in bytes, or <n>k for KiB; binary from
 * 64 KiB up unless told). null when the id is not of that form.
 */
function customEcho(id) {
  const m = /^echo-c(\d+)-(\d+)(k?)(?:-k(\d+))?(?:-(text|bin))?$/.exec(id);
  if (!m) return null;
  const conns = Number(m[1]);
  const size = Number(m[2]) * (m[3] ? 1024 : 1);
  const inflight = Number(m[4] ?? 1);
  if (conns < 1 || size < 1 || inflight < 1) return null;
  const binary = m[5] ? m[5] === 'bin' : size >= 65536;
  const sz = size >= 1024 && size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
  return {
    id, kind: 'echo', conns, inflight, size, binary, aim: null,
    label: `echo ${conns} conn${conns > 1 ? 's' : ''}${inflight > 1 ? ` x ${inflight} in flight` : ''}, ${sz} ${binary ? 'binary' : 'text'}`,
  };
}

const AIMS = {
  small: { text: 'small-message echo >= 1.5x ws', test: (t, w) => t / w >= 1.5 },
  large: { text: '64 KiB echo >= ws with bufferutil', test: (t, w) => t / w >= 1.0 },
  handshake: { text: 'handshakes >= 2x ws', test: (t, w) => t / w >= 2.0 },
  idle: { text: 'idle memory <= 5.4 KB per connection', test: (t) => t <= 5.4 },
};

// ---------------------------------------------------------------------------
// The benchmark

const USAGE = 'usage: ws-echo.mjs [--duration SECS (5)] [--rounds N (3)] [--quick] [--json] [--servers tslws,ws,ws-plain,floor]\n' +
  '                   [--only ID,...] [--idle-conns N (10000)] [--max-noise PCT (5)] [--retries N (3)] [--tslws ECHO.js]\n' +
  '                   [--tslws-base ECHO.js (adds server tslws-base: another build)]\n' +
  '                   [--out FILE (also write the JSON summary there)]\n' +
  'scenario ids: echo-c{1,100,1000}-{32,1k,64k}, echo-c10k16, handshake, idle;\n' +
  '  with --only also echo-c<N>-<S>[-k<K>][-text|-bin] (S bytes or <n>k; binary from 64 KiB up), e.g. echo-c1-64\n';

async function bench() {
  const opts = parseBenchArgs(USAGE, {
    duration: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'tslws,ws,ws-plain' },
    only: { type: 'string' },
    'idle-conns': { type: 'string' },
    'max-noise': { type: 'string', default: '5' },
    retries: { type: 'string', default: '3' },
    tslws: { type: 'string', default: TSLWS_BIN },
    'tslws-base': { type: 'string' },
    out: { type: 'string' },
  }).values;
  const quick = opts.quick;
  const duration = Number(opts.duration ?? (quick ? 1 : 5));
  const warm = quick ? 0.5 : 1;
  const rounds = Number(opts.rounds ?? (quick ? 1 : 3));
  const idleConns = Number(opts['idle-conns'] ?? (quick ? 2000 : 10000));
  const maxNoise = Number(opts['max-noise']) / 100;
  const retries = Number(opts.retries);
  if (!(duration > 0) || !Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(idleConns) || idleConns < 1 ||
    !(maxNoise >= 0) || !Number.isInteger(retries) || retries < 0) {
    usageError('ws-echo', USAGE, `bad option value`);
  }
  const serverNames = opts.servers.split(',').map((s) => s.trim()).filter(Boolean);
  const known = ['tslws', 'ws', 'ws-plain', 'floor', ...(opts['tslws-base'] ? ['tslws-base'] : [])];
  for (const n of serverNames) {
    if (!known.includes(n)) {
      usageError('ws-echo', USAGE, `unknown server ${n} (${known.join(', ')}${opts['tslws-base'] ? '' : '; tslws-base needs --tslws-base'})`);
    }
  }
  let scen = scenarios(idleConns);
  if (opts.only) {
    // In the order given; ids outside the default set may name other echo scenarios.
    const want = [...new Set(opts.only.split(',').map((s) => s.trim()).filter(Boolean))];
    const picked = [];
    for (const w of want) {
      const s = scen.find((x) => x.id === w) ?? customEcho(w);
      if (!s) {
        usageError('ws-echo', USAGE, `unknown scenario ${w}`);
      }
      picked.push(s);
    }
    scen = picked;
  }

  const say = (s) => process.stderr.write(s + '\n');
  const guard = guardChildren('ws-echo', { what: 'servers and load' });
  const { children, stopAll } = guard;

  try {
    if (!existsSync('/usr/bin/taskset')) throw new Fatal('taskset not found (apt-get install util-linux)');
    const tslwsBin = resolve(opts.tslws);
    if (serverNames.includes('tslws') && !existsSync(tslwsBin))
      throw new Fatal(`${tslwsBin} missing: run \`npx tsc -p tsconfig.json\` (or \`npm run bench\`) first`);
    const baseBin = opts['tslws-base'] ? resolve(opts['tslws-base']) : null;
    if (baseBin && !existsSync(baseBin)) throw new Fatal(`${baseBin} (--tslws-base) missing: build that checkout first`);
    buildWsload(say);
    const hardFd = Number(hardFdLimit()) || 1024;
    if (scen.some((s) => s.kind === 'idle') && hardFd !== Infinity && hardFd < idleConns + 256)
      throw new Fatal(`the hard open-file limit ${hardFd} is too low for ${idleConns} idle connections: raise it or pass --idle-conns`);

    const defs = {
      tslws: { args: [tslwsBin, '-i', '127.0.0.1', '--rx-buffer-size', '65536', '-p'], env: {} },
      ws: { args: [SELF, '--serve'], env: {} },
      'ws-plain': { args: [SELF, '--serve'], env: { WS_NO_BUFFER_UTIL: '1' } },
      floor: { args: [FLOOR, 'ws'], env: {}, banner: /^floor:/ },
      ...(baseBin ? { 'tslws-base': { args: [baseBin, '-i', '127.0.0.1', '--rx-buffer-size', '65536', '-p'], env: {} } } : {}),
    };
    const ctx = { children, hardFd, say };
    const start = (name) => startServer(name, defs[name], ctx);

    const servers = [];
    for (const n of serverNames) {
      const s = await start(n);
      servers.push(s);
      say(`started ${s.name} (pid ${s.pid}) on 127.0.0.1:${s.port}, core ${SERVER_CORE}: ${s.banner}`);
    }
    // Every server must echo text and binary, small and large, byte for byte.
    for (const s of servers) {
      for (const a of [['-s', '100'], ['-s', '65536', '-b'], ['-s', '1000', '-k', '8']]) {
        const r = await runLoad(['-m', 'echo', '-p', s.port, '-c', '4', '-d', '0.3', '-w', '0', ...a], ctx, s);
        if (r.errors || !r.count) throw new Fatal(`${s.name} failed the echo check (${a.join(' ')}): ${JSON.stringify(r.error_kinds)}\n${r.stderr}`);
      }
    }
    say('verified: every server echoes text and binary messages byte for byte');

    // Warm-up (JIT), not recorded.
    const echoScen = scen.filter((s) => s.kind === 'echo');
    if (echoScen.length || scen.some((s) => s.kind === 'handshake')) {
      for (const s of servers) {
        await runLoad(['-m', 'echo', '-p', s.port, '-c', '100', '-s', '32', '-d', String(warm), '-w', '0'], ctx, s);
        await runLoad(['-m', 'echo', '-p', s.port, '-c', '10', '-s', '65536', '-b', '-d', String(warm), '-w', '0'], ctx, s);
        await runLoad(['-m', 'handshake', '-p', s.port, '-c', '16', '-d', String(warm), '-w', '0'], ctx, s);
      }
      say('warm-up done');
    }

    const runs = {};
    for (const sc of scen) {
      runs[sc.id] = {};
      for (const s of servers) runs[sc.id][s.name] = [];
    }
    for (let round = 0; round < rounds; round++) {
      for (const sc of scen) {
        for (let i = 0; i < servers.length; i++) {
          const s = servers[(i + round) % servers.length];
          const res = await measureQuiet(
            () => (sc.kind === 'idle' ? runIdle(sc, s.name, start, ctx) : runScenario(sc, s, { duration, warm }, ctx)),
            { say, maxNoise, retries, what: `${sc.id} ${s.name}` },
          );
          runs[sc.id][s.name].push(res);
          say(`round ${round + 1}/${rounds} ${sc.id.padEnd(14)} ${s.name.padEnd(8)} ${describeRun(sc, res)}`);
        }
      }
    }

    // Summary: medians over clean rounds (all rounds when none is clean).
    const summary = {
      date: new Date().toISOString(),
      machine: {
        ...machineInfo(),
        kernel: kernelRelease(),
        gcc: (spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout || '').trim(),
      },
      tslws: describeBuild(repoOf(tslwsBin, REPO), tslwsBin),
      ...(baseBin ? { tslwsBase: describeBuild(repoOf(baseBin, REPO), baseBin) } : {}),
      servers: Object.fromEntries(servers.map((s) => [s.name, s.banner])),
      method: {
        duration, warmup: warm, rounds, maxNoise, retries, idleConns,
        serverCore: Number(SERVER_CORE), loadCore: Number(LOAD_CORE),
        statistic: 'median over clean rounds (all rounds if none is clean)',
      },
      results: {},
      ratios: {},
      aims: [],
    };
    for (const sc of scen) {
      summary.results[sc.id] = { label: sc.label, kind: sc.kind };
      for (const s of servers) {
        const all = runs[sc.id][s.name];
        const clean = all.filter((x) => !x.noisy);
        const rs = clean.length ? clean : all;
        const r = { rounds: all.map((x) => x.value), noisyRounds: all.filter((x) => x.noisy).length, errors: all.reduce((a, x) => a + x.errors, 0) };
        r.perRound = all; // every round's figures, in the order run (noisy ones flagged)
        r.value = median(rs.map((x) => x.value));
        if (sc.kind !== 'idle') {
          r.p50us = median(rs.map((x) => x.p50));
          r.p90us = median(rs.map((x) => x.p90));
          r.p99us = median(rs.map((x) => x.p99));
          r.serverCpu = median(rs.map((x) => x.serverCpu));
          r.loadCpu = median(rs.map((x) => x.loadCpu));
        } else {
          r.rssBeforeKiB = median(rs.map((x) => x.rss0));
          r.rssAfterKiB = median(rs.map((x) => x.rss1));
        }
        r.otherCpu = median(rs.map((x) => x.otherCpu));
        summary.results[sc.id][s.name] = r;
      }
      const res = summary.results[sc.id];
      const t = res.tslws?.value;
      const ratio = {};
      if (t !== undefined) {
        if (res.ws) ratio['tslws/ws'] = t / res.ws.value;
        if (res['ws-plain']) ratio['tslws/ws-plain'] = t / res['ws-plain'].value;
        if (res.floor) ratio['tslws/floor'] = t / res.floor.value;
        if (res['tslws-base']) ratio['tslws/tslws-base'] = t / res['tslws-base'].value;
      }
      summary.ratios[sc.id] = ratio;
      if (sc.aim && t !== undefined) {
        const aim = AIMS[sc.aim];
        const ref = res.ws?.value;
        if (sc.kind === 'idle') summary.aims.push({ scenario: sc.id, aim: aim.text, met: aim.test(t), value: t });
        else if (ref !== undefined) summary.aims.push({ scenario: sc.id, aim: aim.text, met: aim.test(t, ref), ratio: t / ref });
      }
    }

    await stopAll();
    if (opts.out) writeFileSync(opts.out, JSON.stringify(summary, null, 2) + '\n');
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(table(summary, scen, servers.map((s) => s.name)));
    const bad = Object.values(summary.results).some((o) => Object.values(o).some((x) => typeof x === 'object' && x.errors));
    if (bad) say('warning: some runs counted errors (marked ! in the table)');
  } catch (e) {
    if (guard.interrupted) {
      await stopAll();
      process.exit(guard.interrupted);
    }
    say(`ws-echo: ${e instanceof Fatal ? e.message : e.stack ?? e}`);
    await stopAll();
    process.exit(1);
  }
}

async function runScenario(sc, srv, t, ctx) {
  const args = sc.kind === 'handshake'
    ? ['-m', 'handshake', '-p', srv.port, '-c', sc.conns, '-d', t.duration, '-w', t.warm]
    : ['-m', 'echo', '-p', srv.port, '-c', sc.conns, '-k', sc.inflight, '-s', sc.size, ...(sc.binary ? ['-b'] : []), '-d', t.duration, '-w', t.warm];
  const r = await runLoad(args, ctx, srv, { timeoutSecs: t.duration + t.warm + 60 });
  return {
    value: r.rate, p50: r.latency_us.p50, p90: r.latency_us.p90, p99: r.latency_us.p99,
    errors: r.errors, errorKinds: r.error_kinds, serverCpu: r.serverCpu, loadCpu: r.loadCpu, otherCpu: r.otherCpu,
  };
}

/** Idle memory: a fresh server, warmed, RSS before and after N idle connections. */
async function runIdle(sc, name, start, ctx) {
  const srv = await start(name);
  try {
    // Load the code paths (accept, handshake, close) before the baseline.
    await runLoad(['-m', 'idle', '-p', srv.port, '-c', '200', '-t', '0.2'], ctx, srv);
    await sleep(1000);
    const rss0 = rssKiB(srv.pid);
    let rss1 = 0;
    let readyAt = null;
    const r = await runLoad(['-m', 'idle', '-p', srv.port, '-c', sc.conns, '-t', '0', '-r', '100', '-T', '60'], ctx, srv, {
      timeoutSecs: 120,
      onStderr(text, w) {
        if (readyAt !== null || !/wsload: ready \d+/.test(text)) return;
        readyAt = Date.now();
        // Settle, then the median of 5 samples; then let wsload close everything.
        void (async () => {
          await sleep(2000);
          const samples = [];
          for (let i = 0; i < 5; i++) {
            samples.push(rssKiB(srv.pid));
            await sleep(200);
          }
          rss1 = median(samples);
          try { w.kill('SIGTERM'); } catch { /* gone */ }
        })();
      },
    });
    if (r.opened < sc.conns) r.errors = (r.errors || 0) + (sc.conns - r.opened);
    return {
      value: ((rss1 - rss0) * 1024) / sc.conns / 1000, // KB (1000 bytes) per connection
      rss0, rss1, opened: r.opened, errors: r.errors, errorKinds: r.error_kinds, otherCpu: r.otherCpu,
    };
  } finally {
    await stopChild(srv.child);
  }
}

function describeRun(sc, r) {
  const bad = r.errors ? `  ERRORS ${r.errors} ${JSON.stringify(r.errorKinds)}` : '';
  if (sc.kind === 'idle') return `${r.value.toFixed(2)} KB/conn (RSS ${mib(r.rss0)} -> ${mib(r.rss1)}, ${r.opened} open) other ${pct(r.otherCpu)}${bad}`;
  const unit = sc.kind === 'handshake' ? 'hs/s' : 'msg/s';
  return `${fmtInt(r.value).padStart(8)} ${unit}  p50 ${fmtUs(r.p50)}  p99 ${fmtUs(r.p99)}  CPU srv ${pct(r.serverCpu)} load ${pct(r.loadCpu)} other ${pct(r.otherCpu)}${bad}`;
}

function table(sum, scen, names) {
  const L = [];
  const m = sum.machine;
  L.push('');
  L.push(`ws-echo: ${sum.date}, ${m.nproc} cores (${m.cpu}), node ${m.node}, linux ${m.kernel}`);
  L.push(buildLine(REPO, sum.tslws));
  if (sum.tslwsBase) L.push(buildLine(REPO, sum.tslwsBase).replace(/^tslws:/, 'tslws-base:'));
  for (const [n, banner] of Object.entries(sum.servers)) L.push(`${n}: ${banner}`);
  L.push(`servers on core ${sum.method.serverCore}, wsload on core ${sum.method.loadCore}; ${sum.method.rounds} round(s) x ${sum.method.duration} s (+${sum.method.warmup} s warm-up), medians`);
  L.push('');
  const others = names.includes('tslws') ? names.filter((n) => n !== 'tslws') : [];
  const head = ['scenario', ...names.map((n) => n), ...others.map((n) => `tslws/${n}`), `p50 (${names.join(' / ')})`, `p99 (${names.join(' / ')})`];
  const rows = [head];
  for (const sc of scen) {
    const r = sum.results[sc.id];
    const unit = sc.kind === 'idle' ? ' KB' : sc.kind === 'handshake' ? ' hs/s' : '';
    const val = (x) => (sc.kind === 'idle' ? x.value.toFixed(2) : fmtInt(x.value)) + unit + (x.errors ? ' !' : '') + (x.noisyRounds ? ' *' : '');
    const ratios = others.map((n) => {
      const q = sum.ratios[sc.id]?.[`tslws/${n}`];
      return q === undefined ? '-' : q.toFixed(2);
    });
    const lat = (k) => (sc.kind === 'idle' ? '-' : names.map((n) => fmtUs(r[n][k])).join(' / '));
    rows.push([sc.label, ...names.map((n) => val(r[n])), ...ratios, lat('p50us'), lat('p99us')]);
  }
  L.push(...alignTable(rows, (i) => i !== 0));
  L.push('');
  L.push('echo: messages/s (each echoed byte checked); handshakes: connect + upgrade + Close per second; idle: server RSS');
  L.push('growth per connection in KB (1000 bytes). Latency: send of a message to the last byte of its echo (handshake:');
  L.push('connect to close). ! = errors counted, * = a round flagged noisy (other load on the machine).');
  if (sum.aims.length) {
    L.push('');
    L.push('aims (against ws with bufferutil):');
    for (const a of sum.aims) {
      const v = a.ratio !== undefined ? `${a.ratio.toFixed(2)}x` : `${a.value.toFixed(2)} KB/conn`;
      L.push(`  ${a.met ? 'met    ' : 'NOT met'}  ${a.aim.padEnd(40)} ${a.scenario.padEnd(15)} ${v}`);
    }
  }
  L.push('');
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Entry (last, so every declaration above is initialised)

if (process.argv[2] === '--serve') await serveWsEcho(Number(process.argv[3]));
else await bench();
