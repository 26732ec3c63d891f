#!/usr/bin/env node
/**
 * A/B of two builds of tslws in one run: does any figure of the new build
 * fall behind the base build's by more than the run-to-run spread?
 *
 *   node bench/ab.mjs [--base REV | --base-dir DIR] [--head DIR] [--duration N] [--rounds N]
 *                     [--quick] [--json] [--out FILE] [--check] [--max-noise PCT] [--retries N]
 *                     [scenario names...]
 *
 * Builds:
 *   base  --base REV (a git revision of the head checkout's repository):
 *         checked out with `git worktree add --detach` in a temporary
 *         directory, node_modules linked from this repository (no npm ci),
 *         built with the worktree's own `npx tsc -p tsconfig.json`; the
 *         worktree is removed at the end, also on error and on Ctrl-C.
 *         Default: HEAD when the head checkout has uncommitted changes
 *         under src/ (the build before them), else HEAD~1 (the build before
 *         the last commit). --base-dir DIR instead measures a checkout that
 *         is already built (nothing is made or removed).
 *   new   --head DIR: the checkout whose dist/ is the new build (default:
 *         the repository this script is in). It must be built already.
 *   Each build's servers are found through its own package.json "bin"
 *   entries (lws-test-echo, lws-test-server), so a build whose files moved
 *   is still found.
 *
 * Scenarios (the measuring code is this repository's bench/ws-echo.mjs and
 * bench/http-files.mjs, run once each with both builds as two servers:
 * `--tslws NEW --tslws-base BASE --servers tslws-base,tslws`):
 *   echo-c1      WebSocket echo, 1 connection, 64 B text, 1 in flight     (ws-echo echo-c1-64)
 *   echo-c100    the same with 100 connections                             (ws-echo echo-c100-64)
 *   pipelined    10 connections x 16 messages of 64 B in flight            (ws-echo echo-c10k16)
 *   binary-64k   10 connections, 64 KiB binary messages, 1 in flight       (ws-echo echo-c10-64k)
 *   handshake    connect + upgrade + close, 16 concurrent loops            (ws-echo handshake)
 *   http-1k      HTTP/1.1 GET of a 1 KiB file, wrk -t1 -c50 keep-alive     (http-files 1k.txt)
 *   http-1m      the same with a 1 MiB file                                (http-files 1m.bin)
 * Names select scenarios (`ws` = the five WebSocket ones, `http` = the two
 * HTTP ones); none means all.
 *
 * Every server is pinned to core 0 and the load generator (wsload, wrk) to
 * core 1, as in those scripts. In every round each scenario is run against
 * both builds, base first in odd rounds and new first in even ones (A B,
 * B A, A B, ...), so a slow drift of the machine hits both alike. Reported
 * per scenario and build: the median rate over the rounds and the spread
 * (max - min) / median of its rounds; the ratio new/base of the medians;
 * a verdict: "worse" / "better" when the ratio is further from 1 than the
 * larger of the two spreads, else "noise". Also the server's CPU time per
 * message (request, handshake) and p99 latency of both.
 *
 * --quick: --duration 1 --rounds 2 --retries 0 (checks that it runs; the
 * figures mean little). --check: exit 3 when a scenario is "worse".
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, lstatSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alignTable, fmtInt, machineInfo, median } from './lib/report.mjs';
import { kernelRelease } from './lib/procfs.mjs';
import { WRK, wrkVersion } from './lib/wrk.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');

const SCENARIOS = [
  { name: 'echo-c1', bench: 'ws', id: 'echo-c1-64', label: 'WS echo 1 conn, 64 B', unit: 'msg/s' },
  { name: 'echo-c100', bench: 'ws', id: 'echo-c100-64', label: 'WS echo 100 conns, 64 B', unit: 'msg/s' },
  { name: 'pipelined', bench: 'ws', id: 'echo-c10k16', label: 'WS echo 10 conns x 16 in flight, 64 B', unit: 'msg/s' },
  { name: 'binary-64k', bench: 'ws', id: 'echo-c10-64k', label: 'WS echo 10 conns, 64 KiB binary', unit: 'msg/s' },
  { name: 'handshake', bench: 'ws', id: 'handshake', label: 'WS handshakes, 16 concurrent', unit: 'hs/s' },
  { name: 'http-1k', bench: 'http', id: '1k.txt', label: 'HTTP 1 KiB file, wrk -c50', unit: 'req/s' },
  { name: 'http-1m', bench: 'http', id: '1m.bin', label: 'HTTP 1 MiB file, wrk -c50', unit: 'req/s' },
];
const GROUPS = { ws: SCENARIOS.filter((s) => s.bench === 'ws'), http: SCENARIOS.filter((s) => s.bench === 'http') };
const BENCH_FILES = { ws: 'ws-echo.mjs', http: 'http-files.mjs' };
const BINS = { ws: 'lws-test-echo', http: 'lws-test-server' };
// In the child scripts' results: the base build is the server `tslws-base`, the new one `tslws`.
const SERVER = { base: 'tslws-base', new: 'tslws' };

const USAGE = `usage: node bench/ab.mjs [--base REV | --base-dir DIR] [--head DIR] [--duration N (5)] [--rounds N (4)]
                        [--quick] [--json] [--out FILE] [--check] [--max-noise PCT] [--retries N]
                        [scenario ...]
  --base REV      the base build: a git revision, built in a temporary worktree
                  (default: HEAD if the head checkout has uncommitted changes under src/, else HEAD~1)
  --base-dir DIR  the base build: a checkout already built (instead of --base)
  --head DIR      the checkout whose dist/ is the new build (default: ${REPO})
  --duration N    seconds per measured run (integer; default 5)
  --rounds N      rounds; each build is measured once per scenario per round,
                  base first in odd rounds, new first in even ones (default 4)
  --quick         --duration 1 --rounds 2 --retries 0
  --max-noise PCT, --retries N   passed to the benchmarks (a run while the rest of the
                  machine used more than PCT % of a core is repeated up to N times)
  --json          JSON on stdout instead of the table; --out FILE also writes the JSON there
  --check         exit 3 if a scenario got worse by more than the spread
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}; groups: ws, http (default: all)
`;

const say = (s) => process.stderr.write(s + '\n');
class Fatal extends Error {}

// ---------------------------------------------------------------------------
// Clean-up: the worktree goes on exit, on error and on signals.

let worktree = null; // { repo, dir, tmp }
let current = null; // the child process running now
let interrupted = 0;

function removeWorktree() {
  if (!worktree) return;
  const { repo, dir, tmp } = worktree;
  worktree = null;
  // The node_modules link first, so nothing below can ever reach the real one.
  try {
    if (lstatSync(join(dir, 'node_modules')).isSymbolicLink()) unlinkSync(join(dir, 'node_modules'));
  } catch { /* not there */ }
  const r = spawnSync('git', ['-C', repo, 'worktree', 'remove', '--force', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    spawnSync('git', ['-C', repo, 'worktree', 'prune'], { encoding: 'utf8' });
  }
  rmSync(tmp, { recursive: true, force: true });
  say(`ab: removed the base worktree ${dir}`);
}

process.on('exit', () => {
  // SIGTERM, so a benchmark script still running stops its own servers.
  if (current && current.exitCode === null && current.signalCode === null) try { current.kill('SIGTERM'); } catch { /* gone */ }
  removeWorktree();
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1);
    say(`\nab: ${sig}, stopping`);
    // A terminal's Ctrl-C reaches the child too (same process group); a
    // signal aimed at this process only is passed on. The child stops its
    // servers; the main flow then removes the worktree and exits.
    if (current && current.exitCode === null && current.signalCode === null) current.kill(sig);
    else {
      removeWorktree();
      process.exit(interrupted);
    }
  });
}

/** Run a child to completion; resolves with { code, stdout } (stdout captured when asked, stderr passed through). */
function run(cmd, args, { cwd, capture = false } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    current = child;
    let out = '';
    if (capture) child.stdout.on('data', (d) => (out += d));
    child.once('error', (e) => {
      current = null;
      rej(new Fatal(`cannot run ${cmd}: ${e.message}`));
    });
    child.once('exit', (code, sig) => {
      current = null;
      res({ code: code ?? 128, signal: sig, stdout: out });
    });
  });
}

const git = (dir, ...a) => spawnSync('git', ['-C', dir, ...a], { encoding: 'utf8' });
const gitOut = (dir, ...a) => {
  const r = git(dir, ...a);
  return r.status === 0 ? r.stdout.trim() : undefined;
};

// ---------------------------------------------------------------------------
// Builds

/** A build's server script NAME: from its package.json "bin", else dist/src/bin/NAME.js. */
function binOf(root, name) {
  try {
    const rel = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin?.[name];
    if (rel) return resolve(root, rel);
  } catch { /* no package.json */ }
  return join(root, 'dist/src/bin', `${name}.js`);
}

/** Newest mtime (ms) of the .ts files under DIR. */
function newestTs(dir) {
  let t = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestTs(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function describe(root, label) {
  const commit = gitOut(root, 'rev-parse', 'HEAD');
  const dirty = gitOut(root, 'status', '--porcelain', '--', 'src');
  return {
    label,
    dir: root,
    commit: commit ?? 'unknown',
    subject: commit ? gitOut(root, 'log', '-1', '--format=%s', commit)?.slice(0, 100) : undefined,
    srcModified: dirty === undefined ? 'unknown' : dirty !== '',
  };
}

async function buildBase(repo, rev) {
  const commit = gitOut(repo, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  if (!commit) throw new Fatal(`--base ${rev}: not a revision of ${repo}`);
  const nm = [join(REPO, 'node_modules'), join(repo, 'node_modules')].find((p) => existsSync(join(p, '.bin/tsc')));
  if (!nm) throw new Fatal(`no node_modules with typescript in ${REPO} or ${repo}: run npm ci there first`);
  const tmp = mkdtempSync(join(tmpdir(), 'tslws-ab-'));
  const dir = join(tmp, 'base');
  worktree = { repo, dir, tmp };
  say(`ab: base ${rev} = ${commit.slice(0, 10)}: git worktree add ${dir}`);
  const r = git(repo, 'worktree', 'add', '--detach', dir, commit);
  if (r.status !== 0) throw new Fatal(`git worktree add failed:\n${r.stderr}`);
  symlinkSync(nm, join(dir, 'node_modules'), 'dir');
  say(`ab: building the base (npx tsc -p tsconfig.json in the worktree, node_modules -> ${nm})`);
  const t0 = Date.now();
  const b = await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: dir });
  if (interrupted) return null;
  const missing = Object.values(BINS).map((n) => binOf(dir, n)).filter((p) => !existsSync(p));
  if (b.code !== 0) {
    if (missing.length) throw new Fatal(`building the base failed (tsc exit ${b.code}), ${missing.join(', ')} missing`);
    say(`ab: warning: tsc exited ${b.code} for the base, but it emitted its servers: measuring them`);
  }
  say(`ab: base built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { ...describe(dir, 'base'), rev, commit, dir };
}

// ---------------------------------------------------------------------------
// Figures

/** One round's figures from a child script's per-round record (ws-echo: value; http-files: rps). */
function roundFigures(bench, x) {
  const rate = bench === 'ws' ? x.value : x.rps;
  return {
    rate,
    p50us: bench === 'ws' ? x.p50 : x.p50 * 1000,
    p99us: bench === 'ws' ? x.p99 : x.p99 * 1000,
    cpuUsPerOp: rate > 0 ? (x.serverCpu / rate) * 1e6 : NaN,
    serverCpu: x.serverCpu,
    otherCpu: bench === 'ws' ? x.otherCpu : x.otherCpu + x.steal,
    errors: (x.errors || 0) + (x.non2xx || 0),
    noisy: !!x.noisy,
  };
}

/**
 * Per build: medians and the spread of the rates over the clean rounds; over
 * all rounds when fewer than two are clean (so a spread can still be told).
 */
function buildStats(rounds) {
  const clean = rounds.filter((x) => !x.noisy);
  const rs = clean.length >= Math.min(2, rounds.length) ? clean : rounds;
  const rates = rs.map((x) => x.rate);
  const med = median(rates);
  return {
    median: med,
    spread: rates.length > 1 ? (Math.max(...rates) - Math.min(...rates)) / med : null,
    p50us: median(rs.map((x) => x.p50us)),
    p99us: median(rs.map((x) => x.p99us)),
    cpuUsPerOp: median(rs.map((x) => x.cpuUsPerOp)),
    serverCpu: median(rs.map((x) => x.serverCpu)),
    errors: rounds.reduce((a, x) => a + x.errors, 0),
    noisyRounds: rounds.filter((x) => x.noisy).length,
    roundsUsed: rs.length,
    rounds,
  };
}

function compare(base, neu) {
  const ratio = neu.median / base.median;
  const noise = base.spread === null || neu.spread === null ? null : Math.max(base.spread, neu.spread);
  let verdict;
  if (base.errors || neu.errors) verdict = 'errors';
  else if (noise === null) verdict = '1 round';
  else if (ratio < 1 - noise) verdict = 'worse';
  else if (ratio > 1 + noise) verdict = 'better';
  else verdict = 'noise';
  return { ratio, noise, verdict, cpuRatio: neu.cpuUsPerOp / base.cpuUsPerOp, p99Ratio: neu.p99us / base.p99us };
}

const pct1 = (x) => (x === null || Number.isNaN(x) ? '-' : `${(x * 100).toFixed(1)}%`);
const fmtRate = (x) => (x >= 100 ? fmtInt(x) : x.toFixed(1));
const fmtLat = (us) => (Number.isNaN(us) ? '-' : us >= 10000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} us`);
const fmtCpu = (us) => (Number.isNaN(us) ? '-' : us >= 100 ? `${Math.round(us)} us` : `${us.toFixed(1)} us`);

function table(sum) {
  const L = [''];
  const m = sum.machine;
  L.push(`A/B: ${sum.date}, ${m.nproc} cores (${m.cpu}), node ${m.node}, linux ${m.kernel}${m.wrk ? `, ${m.wrk}` : ''}`);
  const b = sum.builds;
  L.push(`base: ${b.base.rev ? `${b.base.rev} = ` : ''}${b.base.commit.slice(0, 10)} ${b.base.subject ? `"${b.base.subject.slice(0, 60)}"` : ''} (${b.base.dir})`);
  L.push(`new:  ${b.new.dir} at ${b.new.commit.slice(0, 10)}${b.new.srcModified === true ? ' + uncommitted src changes' : ''}`);
  L.push(`servers on core 0, load (wsload / wrk -t1 -c50) on core 1; ${sum.method.rounds} round(s) x ${sum.method.duration} s per build and scenario, ` +
    'order base,new / new,base alternating by round; medians over the rounds');
  L.push('');
  const rows = [['scenario', 'unit', 'base', 'new', 'new/base', 'spread base', 'spread new', 'verdict', 'CPU/op base', 'CPU/op new', 'CPU new/base', 'p99 base', 'p99 new']];
  for (const s of sum.scenarios) {
    const r = s.base;
    const n = s.new;
    const mark = (x) => (x.errors ? ' !' : '') + (x.noisyRounds ? ' *' : '');
    rows.push([
      s.name, s.unit, fmtRate(r.median) + mark(r), fmtRate(n.median) + mark(n), s.ratio.toFixed(3), pct1(r.spread), pct1(n.spread),
      s.verdict === 'worse' ? 'WORSE' : s.verdict, fmtCpu(r.cpuUsPerOp), fmtCpu(n.cpuUsPerOp),
      Number.isNaN(s.cpuRatio) ? '-' : s.cpuRatio.toFixed(3), fmtLat(r.p99us), fmtLat(n.p99us),
    ]);
  }
  const left = new Set([0, 1, 7]);
  L.push(...alignTable(rows, (i) => !left.has(i)));
  L.push('');
  L.push('every round\'s rate, in the order run (* = kept although noisy):');
  const rr = [['scenario', 'base', 'new']];
  for (const s of sum.scenarios) {
    const f = (x) => x.rounds.map((y) => fmtRate(y.rate) + (y.noisy ? '*' : '')).join(' / ');
    rr.push([s.name, f(s.base), f(s.new)]);
  }
  L.push(...alignTable(rr, () => false));
  L.push('');
  L.push('base/new: median rate over the rounds (msg/s: messages echoed; hs/s: connect + upgrade + close; req/s: wrk');
  L.push('requests). spread: (max - min) / median of that build\'s rounds, the run-to-run noise. verdict: "worse" or');
  L.push('"better" when new/base is further from 1 than the larger spread, else "noise" (no difference the run can');
  L.push('show). CPU/op: the server\'s CPU time (all threads) per message, handshake or request (lower is better;');
  L.push('the sharper figure where the server is not the bottleneck, e.g. 1 connection). ! = errors counted,');
  L.push('* = a round flagged noisy (other load on the machine), left out of medians and spread unless fewer');
  L.push('than two rounds were clean.');
  const worse = sum.scenarios.filter((s) => s.verdict === 'worse').map((s) => s.name);
  L.push('');
  L.push(worse.length ? `WORSE beyond the spread: ${worse.join(', ')}` : 'no scenario is worse by more than the spread');
  L.push('');
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Main

async function main() {
  const parsed = parseBenchArgs(USAGE, {
    base: { type: 'string' },
    'base-dir': { type: 'string' },
    head: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    check: { type: 'boolean', default: false },
    'max-noise': { type: 'string' },
    retries: { type: 'string' },
  }, { positionals: true });
  const opts = parsed.values;
  const duration = Number(opts.duration ?? (opts.quick ? 1 : 5));
  const rounds = Number(opts.rounds ?? (opts.quick ? 2 : 4));
  const retries = opts.retries ?? (opts.quick ? '0' : undefined);
  if (!Number.isInteger(duration) || duration < 1 || !Number.isInteger(rounds) || rounds < 1) usageError('ab', USAGE, '--duration and --rounds must be positive integers');
  if (opts.base !== undefined && opts['base-dir'] !== undefined) {
    usageError('ab', USAGE, '--base and --base-dir exclude each other');
  }
  const chosen = [];
  for (const w of parsed.positionals) {
    const list = GROUPS[w] ?? SCENARIOS.filter((s) => s.name === w);
    if (!list.length) usageError('ab', USAGE, `no scenario named ${w}`);
    for (const s of list) if (!chosen.includes(s)) chosen.push(s);
  }
  const scen = SCENARIOS.filter((s) => !chosen.length || chosen.includes(s)); // always in the table's order
  const benches = ['ws', 'http'].filter((b) => scen.some((s) => s.bench === b));

  if (!existsSync('/usr/bin/taskset')) throw new Fatal('taskset not found (apt-get install util-linux)');
  if (benches.includes('http') && !existsSync(WRK)) throw new Fatal(`wrk not found at ${WRK} (apt-get install wrk)`);
  if (availableParallelism() < 2) throw new Fatal('needs at least 2 cores (servers on core 0, load on core 1)');

  // The new build.
  const head = resolve(opts.head ?? REPO);
  const headBins = Object.fromEntries(benches.map((b) => [b, binOf(head, BINS[b])]));
  for (const p of Object.values(headBins)) if (!existsSync(p)) throw new Fatal(`${p} missing: build the head first (npx tsc -p tsconfig.json in ${head})`);
  const headMtimes = Object.fromEntries(Object.values(headBins).map((p) => [p, statSync(p).mtimeMs]));
  const headBuilt = Math.min(...Object.values(headMtimes));
  const newBuild = { ...describe(head, 'new'), built: new Date(headBuilt).toISOString() };
  if (newestTs(join(head, 'src')) > headBuilt)
    say(`ab: warning: ${head}/src has .ts files newer than its build (dist/ may be stale: npx tsc -p tsconfig.json)`);

  // The base build.
  let baseBuild;
  if (opts['base-dir'] !== undefined) {
    const dir = resolve(opts['base-dir']);
    baseBuild = { ...describe(dir, 'base'), dir };
  } else {
    const repo = gitOut(head, 'rev-parse', '--show-toplevel') ?? REPO;
    let rev = opts.base;
    if (rev === undefined) {
      rev = newBuild.srcModified === true ? 'HEAD' : 'HEAD~1';
      say(`ab: no --base: using ${rev} (${rev === 'HEAD' ? 'the head has uncommitted src changes' : 'the head\'s src is committed'})`);
    }
    baseBuild = await buildBase(repo, rev);
    if (!baseBuild) return;
  }
  const baseBins = Object.fromEntries(benches.map((b) => [b, binOf(baseBuild.dir, BINS[b])]));
  for (const p of Object.values(baseBins)) if (!existsSync(p)) throw new Fatal(`${p} missing: the base is not built`);
  baseBuild.built = new Date(Math.min(...Object.values(baseBins).map((p) => statSync(p).mtimeMs))).toISOString();
  baseBuild.bins = baseBins;
  newBuild.bins = headBins;

  // The measurements: one run of each benchmark script with both builds as two servers.
  const common = ['--duration', String(duration), '--rounds', String(rounds), '--json',
    ...(opts['max-noise'] !== undefined ? ['--max-noise', opts['max-noise']] : []), ...(retries !== undefined ? ['--retries', retries] : [])];
  const results = {};
  const t0 = Date.now();
  for (const b of benches) {
    const mine = scen.filter((s) => s.bench === b);
    const sel = b === 'ws' ? ['--only', mine.map((s) => s.id).join(',')] : ['--files', mine.map((s) => s.id).join(',')];
    const args = [join(HERE, BENCH_FILES[b]), '--tslws', headBins[b], '--tslws-base', baseBins[b], '--servers', `${SERVER.base},${SERVER.new}`, ...sel, ...common];
    say(`== node bench/${BENCH_FILES[b]} ${args.slice(1).join(' ')}`);
    const r = await run(process.execPath, args, { capture: true });
    if (interrupted) return;
    if (r.code !== 0) throw new Fatal(`bench/${BENCH_FILES[b]} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''})`);
    try {
      results[b] = JSON.parse(r.stdout);
    } catch (e) {
      throw new Fatal(`bench/${BENCH_FILES[b]} printed no JSON summary (${e.message})`);
    }
  }
  const elapsed = (Date.now() - t0) / 1000;
  removeWorktree();
  // The head is a live checkout (someone may rebuild it meanwhile): a server started after that measured another build.
  const rebuilt = Object.values(headBins).filter((p) => !existsSync(p) || statSync(p).mtimeMs !== headMtimes[p]);
  if (rebuilt.length) {
    newBuild.rebuiltDuringRun = true;
    say(`ab: warning: the head's build changed during the run (${rebuilt.join(', ')}): the new figures may mix two builds`);
  }

  const summary = {
    date: new Date().toISOString(),
    machine: { ...machineInfo(), kernel: kernelRelease(), ...(benches.includes('http') ? { wrk: wrkVersion() } : {}) },
    builds: { base: baseBuild, new: newBuild },
    method: {
      duration, rounds, measuredSeconds: Math.round(elapsed), serverCore: 0, loadCore: 1,
      order: 'in every round each scenario runs against both builds: base first in odd rounds, new first in even ones',
      statistic: 'median over clean rounds (all if none is clean); spread = (max - min) / median of the rates of those rounds',
      verdict: 'worse/better when new/base differs from 1 by more than the larger spread of the two builds, else noise',
      benchmarks: Object.fromEntries(benches.map((b) => [b, results[b].method])),
    },
    scenarios: [],
  };
  for (const s of scen) {
    const res = s.bench === 'ws' ? results.ws.results[s.id] : results.http.results[s.id];
    const base = buildStats(res[SERVER.base].perRound.map((x) => roundFigures(s.bench, x)));
    const neu = buildStats(res[SERVER.new].perRound.map((x) => roundFigures(s.bench, x)));
    summary.scenarios.push({ name: s.name, label: s.label, unit: s.unit, benchmark: `${BENCH_FILES[s.bench]} ${s.id}`, base, new: neu, ...compare(base, neu) });
  }
  const json = JSON.stringify(summary, null, 2) + '\n';
  if (opts.out) writeFileSync(opts.out, json);
  process.stdout.write(opts.json ? json : table(summary));
  say(`ab: measured for ${Math.round(elapsed)} s`);
  if (opts.check && summary.scenarios.some((s) => s.verdict === 'worse')) process.exitCode = 3;
}

try {
  await main();
  if (interrupted) {
    removeWorktree();
    process.exit(interrupted);
  }
} catch (e) {
  removeWorktree();
  if (interrupted) process.exit(interrupted);
  say(`ab: ${e instanceof Fatal ? e.message : e.stack ?? e}`);
  process.exit(1);
}
