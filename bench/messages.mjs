#!/usr/bin/env node
/**
 * The message layer's echo against `ws`'s: tslws's `createWebSocketServer`
 * with a `MessageSocket` echo, and `ws`'s `WebSocketServer` echo, written
 * the same way (`socket.on('message', (data, isBinary) => socket.send(data,
 * { binary: isBinary }))`), measured in the same run by the same load
 * generator (bench/wsload, the C client ws-echo.mjs uses).
 *
 *   node bench/messages.mjs [--duration SECS] [--rounds N] [--quick] [--json]
 *                           [--servers tslws,ws] [--only ID,...] [--max-noise PCT]
 *                           [--retries N] [--tslws INDEX.js] [--tslws-base INDEX.js]
 *                           [--cpu-prof DIR] [--out FILE]
 *
 * Servers (each a child process pinned to core 0, open-file limit raised):
 *   tslws       `messages.mjs --serve tslws PORT`: createWebSocketServer from
 *               dist/src/node (its defaults: 64 KiB fragments, 16 MiB
 *               messages), on 127.0.0.1
 *   ws          `ws` 8 with `bufferutil`, as in ws-echo.mjs
 *   ws-plain    (only when asked) the same without `bufferutil`
 *               (WS_NO_BUFFER_UTIL=1): `ws` as `npm install ws` gives it,
 *               since bufferutil is an optional addon installed apart
 *   tslws-cb    (only when asked) lws-test-echo, the callback-level echo of
 *               ws-echo.mjs: what the layer is built on
 *   tslws-base  with --tslws-base: another build's dist/src/node/index.js,
 *               served as tslws is (to A/B a change of the layer)
 *
 * Scenarios (one message in flight per connection, every echoed byte checked):
 *   echo-c1-64      1 connection, 64 B text
 *   echo-c100-64    100 connections, 64 B text
 *   echo-c1-64k     1 connection, 64 KiB binary
 *   echo-c100-64k   100 connections, 64 KiB binary
 *
 * Method: every server must first echo text, binary, 64 KiB and pipelined
 * messages byte for byte; then a warm-up of each (JIT), not recorded. Then
 * --rounds rounds (3), in each every scenario against every server, the
 * servers' order rotating; each run has a warm-up of its own (1 s), then
 * --duration seconds measured (5). Medians over the rounds. A run during
 * which the rest of the machine used more than --max-noise % of a core is
 * repeated (--retries, 3), as in ws-echo.mjs. --quick: 1 round of 1 s.
 * --cpu-prof DIR runs every server under `node --cpu-prof`: each writes its
 * profile into DIR/<server>/ when it stops. Every child is stopped on exit,
 * error or Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Fatal, guardChildren, hardFdLimit } from './lib/proc.mjs';
import { kernelRelease } from './lib/procfs.mjs';
import { alignTable, buildLine, describeBuild, fmtInt, fmtUs, machineInfo, median, pct, repoOf } from './lib/report.mjs';
import { serveWsEcho } from './lib/ws-echo-server.mjs';
import { LOAD_CORE, SERVER_CORE, buildWsload, measureQuiet, runLoad, startServer } from './lib/wsload.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const TSLWS_NODE = join(REPO, 'dist/src/node/index.js');
const TSLWS_ECHO_BIN = join(REPO, 'dist/src/bin/lws-test-echo.js');
const BANNER = /^(tslws messages|lws-test-echo|ws echo):/;

// ---------------------------------------------------------------------------
// The message layer's echo server (child-process mode)

async function serveTslws(port, indexJs) {
  const { createWebSocketServer } = await import(pathToFileURL(indexJs).href);
  const server = createWebSocketServer({ port, iface: '127.0.0.1' });
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  server.on('error', (e) => {
    process.stderr.write(`tslws messages: ${e.message}\n`);
    process.exit(1);
  });
  server.on('listening', () => process.stdout.write(`tslws messages: createWebSocketServer from ${indexJs}, on 127.0.0.1:${server.port}\n`));
  const stop = () => {
    // process.exit, not a signal's default: --cpu-prof writes its profile at exit.
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// ---------------------------------------------------------------------------
// Scenarios

const SCENARIOS = [
  { id: 'echo-c1-64', label: 'echo 1 conn, 64 B text', conns: 1, size: 64, binary: false },
  { id: 'echo-c100-64', label: 'echo 100 conns, 64 B text', conns: 100, size: 64, binary: false },
  { id: 'echo-c1-64k', label: 'echo 1 conn, 64 KiB binary', conns: 1, size: 65536, binary: true },
  { id: 'echo-c100-64k', label: 'echo 100 conns, 64 KiB binary', conns: 100, size: 65536, binary: true },
];

const USAGE = 'usage: messages.mjs [--duration SECS (5)] [--rounds N (3)] [--quick] [--json] [--servers tslws,ws]\n' +
  '                   [--only ID,...] [--max-noise PCT (5)] [--retries N (3)] [--tslws INDEX.js] [--tslws-base INDEX.js]\n' +
  '                   [--cpu-prof DIR] [--out FILE]\n' +
  `servers: tslws, ws, ws-plain (ws without bufferutil), tslws-cb (the callback echo), tslws-base (with --tslws-base)\n` +
  `scenario ids: ${SCENARIOS.map((s) => s.id).join(', ')}\n`;

async function bench() {
  const opts = parseBenchArgs(USAGE, {
    duration: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'tslws,ws' },
    only: { type: 'string' },
    'max-noise': { type: 'string', default: '5' },
    retries: { type: 'string', default: '3' },
    tslws: { type: 'string', default: TSLWS_NODE },
    'tslws-base': { type: 'string' },
    'cpu-prof': { type: 'string' },
    out: { type: 'string' },
  }).values;
  const duration = Number(opts.duration ?? (opts.quick ? 1 : 5));
  const warm = opts.quick ? 0.5 : 1;
  const rounds = Number(opts.rounds ?? (opts.quick ? 1 : 3));
  const maxNoise = Number(opts['max-noise']) / 100;
  const retries = Number(opts.retries);
  if (!(duration > 0) || !Number.isInteger(rounds) || rounds < 1 || !(maxNoise >= 0) || !Number.isInteger(retries) || retries < 0) {
    usageError('messages', USAGE, `bad option value`);
  }
  const serverNames = opts.servers.split(',').map((s) => s.trim()).filter(Boolean);
  const known = ['tslws', 'ws', 'ws-plain', 'tslws-cb', ...(opts['tslws-base'] ? ['tslws-base'] : [])];
  for (const n of serverNames) {
    if (!known.includes(n)) {
      usageError('messages', USAGE, `unknown server ${n} (${known.join(', ')}${opts['tslws-base'] ? '' : '; tslws-base needs --tslws-base'})`);
    }
  }
  let scen = SCENARIOS;
  if (opts.only) {
    scen = [];
    for (const id of new Set(opts.only.split(',').map((s) => s.trim()).filter(Boolean))) {
      const s = SCENARIOS.find((x) => x.id === id);
      if (!s) {
        usageError('messages', USAGE, `unknown scenario ${id}`);
      }
      scen.push(s);
    }
  }

  const say = (s) => process.stderr.write(s + '\n');
  const guard = guardChildren('messages', { what: 'servers and load' });
  const { children, stopAll } = guard;

  try {
    if (!existsSync('/usr/bin/taskset')) throw new Fatal('taskset not found (apt-get install util-linux)');
    const tslwsIndex = resolve(opts.tslws);
    const baseIndex = opts['tslws-base'] ? resolve(opts['tslws-base']) : null;
    for (const [n, f] of [['tslws', tslwsIndex], ['tslws-base', baseIndex], ['tslws-cb', TSLWS_ECHO_BIN]]) {
      if (serverNames.includes(n) && !existsSync(f)) throw new Fatal(`${f} missing: run \`npx tsc -p tsconfig.json\` (in that checkout) first`);
    }
    buildWsload(say);
    // With --cpu-prof, each server writes its profile into DIR/<server>/ when it stops.
    const prof = opts['cpu-prof'] ? resolve(opts['cpu-prof']) : null;
    const profArgs = (name) => {
      if (!prof) return [];
      mkdirSync(join(prof, name), { recursive: true });
      return ['--cpu-prof', '--cpu-prof-dir', join(prof, name)];
    };
    const defs = {
      tslws: { args: () => [...profArgs('tslws'), SELF, '--serve', 'tslws', tslwsIndex] },
      ws: { args: () => [...profArgs('ws'), SELF, '--serve', 'ws', '-'] },
      'ws-plain': { args: () => [...profArgs('ws-plain'), SELF, '--serve', 'ws', '-'], env: { WS_NO_BUFFER_UTIL: '1' } },
      'tslws-cb': { args: () => [...profArgs('tslws-cb'), TSLWS_ECHO_BIN, '-i', '127.0.0.1', '--rx-buffer-size', '65536', '-p'] },
      'tslws-base': { args: () => [...profArgs('tslws-base'), SELF, '--serve', 'tslws', baseIndex] },
    };
    const ctx = { children, hardFd: Number(hardFdLimit()) || 1024, say };

    const servers = [];
    for (const n of serverNames) {
      const s = await startServer(n, { args: defs[n].args(), env: defs[n].env ?? {}, banner: BANNER }, ctx);
      servers.push(s);
      say(`started ${s.name} (pid ${s.pid}) on 127.0.0.1:${s.port}, core ${SERVER_CORE}: ${s.banner}`);
    }
    for (const s of servers) {
      for (const a of [['-s', '100'], ['-s', '65536', '-b'], ['-s', '1000', '-k', '8'], ['-s', '200000', '-b']]) {
        const r = await runLoad(['-m', 'echo', '-p', s.port, '-c', '4', '-d', '0.3', '-w', '0', ...a], ctx, s);
        if (r.errors || !r.count) throw new Fatal(`${s.name} failed the echo check (${a.join(' ')}): ${JSON.stringify(r.error_kinds)}\n${r.stderr}`);
      }
    }
    say('verified: every server echoes text and binary messages byte for byte');
    for (const s of servers) {
      await runLoad(['-m', 'echo', '-p', s.port, '-c', '100', '-s', '64', '-d', String(warm), '-w', '0'], ctx, s);
      await runLoad(['-m', 'echo', '-p', s.port, '-c', '10', '-s', '65536', '-b', '-d', String(warm), '-w', '0'], ctx, s);
    }
    say('warm-up done');

    const runs = Object.fromEntries(scen.map((sc) => [sc.id, Object.fromEntries(servers.map((s) => [s.name, []]))]));
    for (let round = 0; round < rounds; round++) {
      for (const sc of scen) {
        for (let i = 0; i < servers.length; i++) {
          const s = servers[(i + round) % servers.length];
          const res = await measureQuiet(() => runEcho(sc, s, { duration, warm }, ctx), { say, maxNoise, retries, what: `${sc.id} ${s.name}` });
          runs[sc.id][s.name].push(res);
          const bad = res.errors ? `  ERRORS ${res.errors} ${JSON.stringify(res.errorKinds)}` : '';
          say(`round ${round + 1}/${rounds} ${sc.id.padEnd(14)} ${s.name.padEnd(10)} ${fmtInt(res.value).padStart(8)} msg/s  ` +
            `p50 ${fmtUs(res.p50)}  p99 ${fmtUs(res.p99)}  CPU srv ${pct(res.serverCpu)} load ${pct(res.loadCpu)} other ${pct(res.otherCpu)}${bad}`);
        }
      }
    }

    const summary = {
      date: new Date().toISOString(),
      machine: { ...machineInfo(), kernel: kernelRelease(), gcc: (spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout || '').trim() },
      tslws: describeBuild(repoOf(tslwsIndex, REPO), tslwsIndex),
      ...(baseIndex ? { tslwsBase: describeBuild(repoOf(baseIndex, REPO), baseIndex) } : {}),
      servers: Object.fromEntries(servers.map((s) => [s.name, s.banner])),
      method: {
        duration, warmup: warm, rounds, maxNoise, retries, serverCore: Number(SERVER_CORE), loadCore: Number(LOAD_CORE),
        statistic: 'median over clean rounds (all rounds if none is clean)',
      },
      results: {},
    };
    for (const sc of scen) {
      const out = { label: sc.label };
      for (const s of servers) {
        const all = runs[sc.id][s.name];
        const clean = all.filter((x) => !x.noisy);
        const rs = clean.length ? clean : all;
        const m = (k) => median(rs.map((x) => x[k]));
        out[s.name] = {
          value: m('value'), rounds: all.map((x) => x.value), noisyRounds: all.length - clean.length,
          errors: all.reduce((a, x) => a + x.errors, 0), p50us: m('p50'), p99us: m('p99'),
          serverCpu: m('serverCpu'), loadCpu: m('loadCpu'), otherCpu: m('otherCpu'),
          // Server CPU time per echoed message: the sharper figure where the round trip, not the server, sets the rate.
          cpuPerMsgUs: median(rs.map((x) => (x.serverCpu / x.value) * 1e6)),
          perRound: all,
        };
      }
      const t = out.tslws?.value;
      out.ratios = {};
      if (t !== undefined) for (const s of servers) if (s.name !== 'tslws') out.ratios[`tslws/${s.name}`] = t / out[s.name].value;
      summary.results[sc.id] = out;
    }

    await stopAll();
    if (prof) say(`profiles in ${prof}/<server>/ (open them in Chrome DevTools' Performance panel)`);
    if (opts.out) writeFileSync(opts.out, JSON.stringify(summary, null, 2) + '\n');
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(table(summary, scen, servers.map((s) => s.name)));
    if (Object.values(summary.results).some((o) => servers.some((s) => o[s.name].errors))) say('warning: some runs counted errors (marked ! in the table)');
  } catch (e) {
    if (guard.interrupted) {
      await stopAll();
      process.exit(guard.interrupted);
    }
    say(`messages: ${e instanceof Fatal ? e.message : e.stack ?? e}`);
    await stopAll();
    process.exit(1);
  }
}

async function runEcho(sc, srv, t, ctx) {
  const args = ['-m', 'echo', '-p', srv.port, '-c', sc.conns, '-k', 1, '-s', sc.size, ...(sc.binary ? ['-b'] : []), '-d', t.duration, '-w', t.warm];
  const r = await runLoad(args, ctx, srv, { timeoutSecs: t.duration + t.warm + 60 });
  return {
    value: r.rate, p50: r.latency_us.p50, p99: r.latency_us.p99, errors: r.errors, errorKinds: r.error_kinds,
    serverCpu: r.serverCpu, loadCpu: r.loadCpu, otherCpu: r.otherCpu,
  };
}

function table(sum, scen, names) {
  const L = [];
  const m = sum.machine;
  L.push('');
  L.push(`messages: ${sum.date}, ${m.nproc} cores (${m.cpu}), node ${m.node}, linux ${m.kernel}`);
  L.push(buildLine(REPO, sum.tslws));
  if (sum.tslwsBase) L.push(buildLine(REPO, sum.tslwsBase).replace(/^tslws:/, 'tslws-base:'));
  for (const [n, banner] of Object.entries(sum.servers)) L.push(`${n}: ${banner}`);
  L.push(`servers on core ${sum.method.serverCore}, wsload on core ${sum.method.loadCore}; ${sum.method.rounds} round(s) x ${sum.method.duration} s (+${sum.method.warmup} s warm-up), medians`);
  L.push('');
  const others = names.includes('tslws') ? names.filter((n) => n !== 'tslws') : [];
  const all = names.join(' / ');
  const rows = [['scenario', ...names, ...others.map((n) => `tslws/${n}`), `CPU/msg (${all})`, `p50 (${all})`, `p99 (${all})`, ...names.map((n) => `${n} per round`)]];
  for (const sc of scen) {
    const r = sum.results[sc.id];
    const val = (x) => fmtInt(x.value) + (x.errors ? ' !' : '') + (x.noisyRounds ? ' *' : '');
    rows.push([
      sc.label, ...names.map((n) => val(r[n])), ...others.map((n) => r.ratios[`tslws/${n}`].toFixed(2)),
      names.map((n) => fmtUs(r[n].cpuPerMsgUs)).join(' / '),
      names.map((n) => fmtUs(r[n].p50us)).join(' / '), names.map((n) => fmtUs(r[n].p99us)).join(' / '),
      ...names.map((n) => r[n].perRound.map((x) => fmtInt(x.value) + (x.noisy ? '*' : '')).join(' / ')),
    ]);
  }
  L.push(...alignTable(rows, (i) => i > 0 && i <= names.length + others.length));
  L.push('');
  L.push('messages/s echoed (each echoed byte checked), one message in flight per connection; CPU/msg: server CPU time per');
  L.push('echoed message; latency: send of a message to the last byte of its echo. ! = errors counted, * = a round flagged');
  L.push('noisy (other load on the machine; left out of the medians when clean rounds exist).');
  L.push('');
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Entry (last, so every declaration above is initialised)

if (process.argv[2] === '--serve') {
  const [, , , kind, file, port] = process.argv;
  if (kind === 'ws') await serveWsEcho(Number(port));
  else await serveTslws(Number(port), file);
} else await bench();
