#!/usr/bin/env node
/**
 * HTTP/1.1 file-serving benchmark: tslws's FILE mount against plain
 * node:http servers, Node's floor and nginx, with wrk as the load generator.
 *
 *   node bench/http-files.mjs [--duration SECS] [--rounds N] [--max-noise PCT]
 *                             [--retries N] [--tslws SERVER.js] [--json]
 *                             [--tslws-base SERVER.js] [--servers LIST] [--files LIST]
 *
 * Servers (each a child process pinned to core 0 with `taskset -c 0`):
 *   tslws        node dist/src/bin/lws-test-server.js -p PORT -r DIR
 *   node-cached  node:http, every file read into a Buffer once at startup
 *   node-stream  node:http, fs.stat + fs.createReadStream(path).pipe(res) per request
 *   floor        Node's floor: node:net answering each request head of a read
 *                with a canned response from memory (bench/lib/floor-servers.mjs)
 *   nginx        Debian's nginx, one process in the foreground, serving the
 *                same directory as Debian's default configuration would
 *                (sendfile, tcp_nopush), with no access log and no limit on
 *                requests per connection
 *   tslws-base   with --tslws-base: another build's lws-test-server.js, run as
 *                tslws is (an A/B of two builds, see bench/ab.mjs)
 * --servers picks which run (default tslws,node-cached,node-stream), in that
 * order; --files which files are loaded (default 1k.txt,1m.bin).
 *
 * Load: `taskset -c 1 wrk -t1 -c50 -dNs --latency URL` (keep-alive, 50
 * connections), for a 1 KiB and a 1 MiB file. Servers are interleaved (the
 * order rotates every round) and the whole set is repeated for --rounds
 * rounds after a 1 s warm-up; the median of each metric is reported. Peak
 * RSS is sampled from /proc/PID/status every 50 ms during every run.
 *
 * Noise: during each run the CPU time the rest of the machine used (from
 * /proc/stat, minus the server's, wrk's and this script's own) is measured;
 * a run during which it exceeds --max-noise percent of one core (default 5)
 * is thrown away and repeated, up to --retries times (then kept, flagged).
 *
 * Before measuring, every server must return the same bytes as the file on
 * disk, and tslws must serve a rewritten file rewritten (its cache is
 * revalidated on each request). Every child is stopped on exit, error or
 * Ctrl-C; a server that does not start makes the script exit non-zero.
 *
 * --tslws measures another build of lws-test-server.js (A/B of a change).
 * The same file, run as `http-files.mjs --serve cached|stream ROOT PORT`, is
 * the node:http reference server (so the bench is a single file).
 */
import { mkdtempSync, writeFileSync, rmSync, stat as fsStat, createReadStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { NGINX, writeNginxConfig } from './lib/nginx.mjs';
import { Fatal, freePort, guardChildren, sleep, spawnPinned, tail } from './lib/proc.mjs';
import { kernelRelease, rssKiB } from './lib/procfs.mjs';
import { WRK, measureQuietly, runWrk as wrk, wrkVersion } from './lib/wrk.mjs';
import { get, waitReady } from './lib/client.mjs';
import { MIME, cachedFilesHandler } from './lib/cached-files.mjs';
import { alignTable, buildLine, describeBuild, fmtInt, fmtMs, machineInfo, median, mib, pct, repoOf } from './lib/report.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const TSLWS_BIN = join(REPO, 'dist/src/bin/lws-test-server.js');
const SERVER_CORE = '0';
const WRK_CORE = '1';
const CONNECTIONS = 50;
const USAGE = 'usage: http-files.mjs [--duration SECS (5)] [--rounds N (3)] [--max-noise PCT (5)] [--retries N (5)] [--tslws SERVER.js] [--json]\n' +
  '                     [--tslws-base SERVER.js (adds server tslws-base: another build)]\n' +
  '                     [--servers LIST (tslws,node-cached,node-stream; also floor, nginx, tslws-base)] [--files LIST (1k.txt,1m.bin)]\n';


// ---------------------------------------------------------------------------
// Reference servers (child-process mode)

function serve(kind, root, port) {
  let handler;
  if (kind === 'cached') {
    // Read once at startup; never looks at the disk again.
    handler = cachedFilesHandler(root);
  } else if (kind === 'stream') {
    // stat for the length, then a fresh read stream per request.
    const base = resolve(root);
    handler = (req, res) => {
      const path = join(base, normalize(decodeURIComponent(req.url.split('?')[0])));
      const type = MIME[extname(path)];
      if (!type || !path.startsWith(base + sep)) {
        res.writeHead(404, { 'content-length': 0 });
        res.end();
        return;
      }
      fsStat(path, (err, st) => {
        if (err || !st.isFile()) {
          res.writeHead(404, { 'content-length': 0 });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': type, 'content-length': st.size });
        createReadStream(path).pipe(res);
      });
    };
  } else {
    process.stderr.write(`http-files: unknown server kind ${kind}\n`);
    process.exit(2);
  }
  const server = http.createServer(handler);
  server.on('error', (e) => {
    process.stderr.write(`node-${kind}: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`node-${kind}: listening on 127.0.0.1:${port}\n`));
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// ---------------------------------------------------------------------------
// The benchmark

async function bench() {
  const opts = parseBenchArgs(USAGE, {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'max-noise': { type: 'string', default: '5' },
    retries: { type: 'string', default: '5' },
    tslws: { type: 'string', default: TSLWS_BIN },
    'tslws-base': { type: 'string' },
    servers: { type: 'string', default: 'tslws,node-cached,node-stream' },
    files: { type: 'string', default: '1k.txt,1m.bin' },
    json: { type: 'boolean', default: false },
  }).values;
  const duration = Number(opts.duration);
  const rounds = Number(opts.rounds);
  const maxNoise = Number(opts['max-noise']) / 100;
  const retries = Number(opts.retries);
  if (!Number.isInteger(duration) || duration < 1 || !Number.isInteger(rounds) || rounds < 1) {
    usageError('http-files', USAGE, '--duration and --rounds must be positive integers');
  }
  if (!(maxNoise >= 0) || !Number.isInteger(retries) || retries < 0) {
    usageError('http-files', USAGE, '--max-noise must be a percentage, --retries a count');
  }
  const knownServers = ['tslws', 'node-cached', 'node-stream', 'floor', 'nginx', ...(opts['tslws-base'] ? ['tslws-base'] : [])];
  const serverNames = [...new Set(opts.servers.split(',').map((x) => x.trim()).filter(Boolean))];
  const fileNames = [...new Set(opts.files.split(',').map((x) => x.trim()).filter(Boolean))];
  for (const n of serverNames) {
    if (!knownServers.includes(n)) {
      usageError('http-files', USAGE, `unknown server ${n} (${knownServers.join(', ')}${opts['tslws-base'] ? '' : '; tslws-base needs --tslws-base'})`);
    }
  }
  for (const f of fileNames) {
    if (!['1k.txt', '1m.bin'].includes(f)) {
      usageError('http-files', USAGE, `unknown file ${f} (1k.txt, 1m.bin)`);
    }
  }
  if (!serverNames.length || !fileNames.length) {
    usageError('http-files', USAGE, `no server or no file chosen`);
  }

  let tmp;
  const say = (s) => process.stderr.write(s + '\n');
  // Servers and wrk are stopped, and the temporary directory removed, on exit, error and signals.
  const guard = guardChildren('http-files', {
    cleanup: () => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  });
  const { children, stopAll } = guard;

  try {
    for (const [what, path] of [['wrk', WRK], ['taskset', '/usr/bin/taskset']]) {
      if (!existsSync(path)) throw new Fatal(`${what} not found at ${path} (apt-get install ${what === 'wrk' ? 'wrk' : 'util-linux'})`);
    }
    const tslwsBin = resolve(opts.tslws);
    if (serverNames.includes('tslws') && !existsSync(tslwsBin)) throw new Fatal(`${tslwsBin} missing: run \`npx tsc -p tsconfig.json\` (or \`npm run bench\`) first`);
    if (serverNames.includes('nginx') && !existsSync(NGINX)) throw new Fatal(`nginx not found at ${NGINX} (apt-get install nginx-light), or leave it out of --servers`);
    const baseBin = opts['tslws-base'] ? resolve(opts['tslws-base']) : null;
    if (baseBin && serverNames.includes('tslws-base') && !existsSync(baseBin)) throw new Fatal(`${baseBin} (--tslws-base) missing: build that checkout first`);

    tmp = mkdtempSync(join(tmpdir(), 'tslws-bench-'));
    const line = 'tslws http-files bench: 1 KiB of text, served from a FILE mount.\n';
    const k1 = Buffer.from(line.repeat(Math.ceil(1024 / line.length)).slice(0, 1023) + '\n');
    const m1 = randomBytes(1024 * 1024);
    writeFileSync(join(tmp, '1k.txt'), k1);
    writeFileSync(join(tmp, '1m.bin'), m1);
    const files = [
      { name: '1k.txt', label: '1 KiB', data: k1 },
      { name: '1m.bin', label: '1 MiB', data: m1 },
    ].filter((f) => fileNames.includes(f.name));

    const allDefs = [
      { name: 'tslws', tslws: true, args: [tslwsBin, '-i', '127.0.0.1', '-r', tmp, '-p'] },
      { name: 'node-cached', args: [SELF, '--serve', 'cached', tmp] },
      { name: 'node-stream', args: [SELF, '--serve', 'stream', tmp] },
      { name: 'floor', args: [join(dirname(SELF), 'lib/floor-servers.mjs'), 'http', tmp] },
      { name: 'nginx', nginx: true },
      ...(baseBin ? [{ name: 'tslws-base', tslws: true, args: [baseBin, '-i', '127.0.0.1', '-r', tmp, '-p'] }] : []),
    ];
    const defs = serverNames.map((n) => allDefs.find((d) => d.name === n));
    const servers = [];
    for (const d of defs) {
      const port = await freePort();
      const argv = d.nginx ? nginxArgv(join(tmp, '.nginx'), port, tmp) : [process.execPath, ...d.args, port];
      const child = spawnPinned(SERVER_CORE, argv);
      children.add(child);
      const srv = { name: d.name, tslws: !!d.tslws, port, child, out: tail(child), pid: child.pid };
      servers.push(srv);
      await waitReady(srv, '1k.txt');
      srv.idleRss = rssKiB(srv.pid);
      say(`started ${srv.name} (pid ${srv.pid}) on 127.0.0.1:${port}, pinned to core ${SERVER_CORE}, RSS ${mib(srv.idleRss)}`);
    }

    // --- Fairness: every server returns the file's exact bytes (both files, whichever are loaded).
    for (const f of [{ name: '1k.txt', data: k1 }, { name: '1m.bin', data: m1 }]) {
      for (const s of servers) {
        const r = await get(s, f.name);
        if (r.status !== 200) throw new Fatal(`${s.name} answered ${r.status} for /${f.name}`);
        if (!r.body.equals(f.data)) throw new Fatal(`${s.name} returned different bytes for /${f.name} (${r.body.length} bytes, expected ${f.data.length})`);
        if (Number(r.headers['content-length']) !== f.data.length) throw new Fatal(`${s.name}: bad content-length for /${f.name}`);
      }
    }
    say('verified: all servers return identical bytes for 1k.txt, 1m.bin');

    // --- Freshness: tslws serves a rewritten file rewritten (same size, so only mtime/content tell).
    const p1k = join(tmp, '1k.txt');
    const changed = Buffer.from(k1.toString('latin1').toUpperCase(), 'latin1');
    if (changed.equals(k1) || changed.length !== k1.length) throw new Error('bad changed content');
    const freshness = {};
    const tslwsServers = servers.filter((s) => s.tslws);
    for (const s of tslwsServers) await get(s, '1k.txt'); // surely cached now
    await sleep(20); // let the mtime move on even on coarse clocks
    writeFileSync(p1k, changed);
    let r;
    for (const s of tslwsServers) {
      r = await get(s, '1k.txt');
      if (!r.body.equals(changed)) throw new Fatal(`${s.name} served stale content after 1k.txt was rewritten (same size)`);
    }
    const longer = Buffer.concat([changed, Buffer.from('one more line\n')]);
    writeFileSync(p1k, longer);
    for (const s of tslwsServers) {
      r = await get(s, '1k.txt');
      if (!r.body.equals(longer)) throw new Fatal(`${s.name} served stale content after 1k.txt grew`);
      freshness[s.name] = 'fresh';
    }
    for (const s of servers.filter((x) => !x.tslws)) freshness[s.name] = (await get(s, '1k.txt')).body.equals(longer) ? 'fresh' : 'stale (by design)';
    writeFileSync(p1k, k1);
    await sleep(20);
    for (const s of servers) {
      r = await get(s, '1k.txt');
      if (!r.body.equals(k1)) throw new Fatal(`${s.name} does not serve the restored 1k.txt`);
    }
    say(`verified: after rewriting 1k.txt, ${Object.entries(freshness).map(([k, v]) => `${k} ${v}`).join(', ')}; restored`);

    // --- Warm-up (JIT, caches), not recorded.
    for (const f of files) for (const s of servers) await runWrk(s, f.name, 1, children);
    say('warm-up done');

    // --- Rounds: per file, servers in an order rotated every round.
    const runs = {}; // runs[file][server] = [ {rps,p50,p99,...}, ... ]
    for (const f of files) {
      runs[f.name] = {};
      for (const s of servers) runs[f.name][s.name] = [];
    }
    const peak = {};
    for (const f of files) {
      peak[f.name] = {};
      for (const s of servers) peak[f.name][s.name] = 0;
    }
    for (let round = 0; round < rounds; round++) {
      for (const f of files) {
        for (let i = 0; i < servers.length; i++) {
          const s = servers[(i + round) % servers.length];
          const res = await measureQuietly({
            run: () => runWrk(s, f.name, duration, children),
            noise: (x) => x.otherCpu + x.steal,
            maxNoise,
            retries,
            onGiveUp: (x, noise, attempt) => say(`round ${round + 1}/${rounds} ${f.name} ${s.name}: still ${pct(noise)} other load after ${attempt} retries, keeping it (flagged)`),
            onRetry: (x, noise) => say(`round ${round + 1}/${rounds} ${f.name} ${s.name}: ${fmtInt(x.rps)} req/s but ${pct(noise)} of the machine busy elsewhere; retrying`),
          });
          runs[f.name][s.name].push(res);
          peak[f.name][s.name] = Math.max(peak[f.name][s.name], res.peakRss);
          say(`round ${round + 1}/${rounds} ${f.name.padEnd(7)} ${s.name.padEnd(12)} ${fmtInt(res.rps).padStart(8)} req/s  p50 ${fmtMs(res.p50)}  p99 ${fmtMs(res.p99)}  peak RSS ${mib(res.peakRss)}  CPU ${pct(res.serverCpu)}/${pct(res.wrkCpu)} other ${pct(res.otherCpu + res.steal)}${res.errors ? `  errors ${res.errors}` : ''}${res.non2xx ? `  non-2xx ${res.non2xx}` : ''}`);
        }
      }
    }

    // --- Summary.
    const summary = {
      date: new Date().toISOString(),
      machine: { ...machineInfo(), wrk: wrkVersion(), kernel: kernelRelease() },
      tslws: describeBuild(repoOf(tslwsBin, REPO), tslwsBin),
      ...(baseBin ? { tslwsBase: describeBuild(repoOf(baseBin, REPO), baseBin) } : {}),
      method: {
        duration, rounds, maxNoise, retries, connections: CONNECTIONS, wrkThreads: 1,
        serverCore: Number(SERVER_CORE), wrkCore: Number(WRK_CORE), keepAlive: true, statistic: 'median over clean rounds (all rounds if none is clean); peak RSS: maximum',
      },
      freshness,
      results: {},
      ratios: {},
    };
    for (const f of files) {
      summary.results[f.name] = {};
      for (const s of servers) {
        const all = runs[f.name][s.name];
        // Medians over the clean runs; runs still noisy after every retry count only if none is clean.
        const clean = all.filter((x) => !x.noisy);
        const rs = clean.length ? clean : all;
        summary.results[f.name][s.name] = {
          rps: median(rs.map((x) => x.rps)),
          p50ms: median(rs.map((x) => x.p50)),
          p99ms: median(rs.map((x) => x.p99)),
          mbPerSec: median(rs.map((x) => x.bytesPerSec)) / 2 ** 20,
          peakRssKiB: peak[f.name][s.name],
          serverCpu: median(rs.map((x) => x.serverCpu)),
          wrkCpu: median(rs.map((x) => x.wrkCpu)),
          otherCpu: median(rs.map((x) => x.otherCpu)),
          steal: median(rs.map((x) => x.steal)),
          idleRssKiB: s.idleRss,
          rpsRounds: all.map((x) => x.rps),
          noisyRoundsIndex: all.flatMap((x, i) => (x.noisy ? [i] : [])),
          errors: all.reduce((a, x) => a + x.errors, 0),
          non2xx: all.reduce((a, x) => a + x.non2xx, 0),
          retried: all.reduce((a, x) => a + x.retries, 0),
          noisyRounds: all.filter((x) => x.noisy).length,
          perRound: all, // every round's figures, in the order run (noisy ones flagged)
        };
      }
      const res = summary.results[f.name];
      const t = res.tslws;
      const ratio = {};
      if (t) {
        if (res['node-cached']) ratio['tslws/cached'] = t.rps / res['node-cached'].rps;
        if (res['node-stream']) ratio['tslws/stream'] = t.rps / res['node-stream'].rps;
        if (res.floor) ratio['tslws/floor'] = t.rps / res.floor.rps;
        if (res.nginx) ratio['tslws/nginx'] = t.rps / res.nginx.rps;
        if (res['tslws-base']) ratio['tslws/tslws-base'] = t.rps / res['tslws-base'].rps;
      }
      summary.ratios[f.name] = ratio;
    }

    await stopAll();
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(table(summary, files));
    const bad = Object.values(summary.results).flatMap((o) => Object.values(o)).some((x) => x.errors || x.non2xx);
    if (bad) say('warning: some runs had socket errors or non-2xx responses (see the table)');
  } catch (e) {
    if (guard.interrupted) {
      await stopAll();
      process.exit(guard.interrupted);
    }
    say(`http-files: ${e instanceof Fatal ? e.message : e.stack ?? e}`);
    await stopAll();
    process.exit(1);
  }
}

/**
 * nginx's command line for one process serving `root` on 127.0.0.1:`port`,
 * its configuration, logs and pid in `dir`: as Debian's default
 * configuration serves files (sendfile, tcp_nopush).
 */
function nginxArgv(dir, port, root) {
  const conf = writeNginxConfig(dir, { port, root, by: 'bench/http-files.mjs', http: '  sendfile on;\n  tcp_nopush on;\n' });
  return [NGINX, '-p', dir, '-c', conf];
}

/** One wrk run of this benchmark: keep-alive, CONNECTIONS connections, wrk pinned to WRK_CORE. */
function runWrk(srv, file, secs, children) {
  return wrk({ srv, url: `http://127.0.0.1:${srv.port}/${file}`, secs, connections: CONNECTIONS, core: WRK_CORE, children });
}

function table(sum, files) {
  const L = [];
  const m = sum.machine;
  L.push('');
  L.push(`http-files: ${sum.date}, ${m.nproc} cores (${m.cpu}), node ${m.node}, ${m.wrk}`);
  L.push(buildLine(REPO, sum.tslws));
  if (sum.tslwsBase) L.push(buildLine(REPO, sum.tslwsBase).replace(/^tslws:/, 'tslws-base:'));
  L.push(`servers on core ${sum.method.serverCore}, wrk -t1 -c${sum.method.connections} on core ${sum.method.wrkCore}, ` +
    `${sum.method.rounds} rounds x ${sum.method.duration} s, medians`);
  L.push('');
  const head = ['file', 'server', 'req/s', 'rounds (req/s)', 'MiB/s', 'p50', 'p99', 'idle RSS', 'peak RSS', 'CPU srv/wrk', 'other'];
  const rows = [head];
  for (const f of files) {
    for (const [name, r] of Object.entries(sum.results[f.name])) {
      rows.push([
        f.name, name, fmtInt(r.rps), r.rpsRounds.map((x, i) => fmtInt(x) + (r.noisyRoundsIndex.includes(i) ? '*' : '')).join(' / '), r.mbPerSec.toFixed(0),
        fmtMs(r.p50ms), fmtMs(r.p99ms), mib(r.idleRssKiB), mib(r.peakRssKiB) + (r.errors || r.non2xx ? ' !' : ''),
        `${pct(r.serverCpu)} / ${pct(r.wrkCpu)}`, pct(r.otherCpu + r.steal),
      ]);
    }
  }
  const right = new Set([2, 4, 5, 6, 7, 8, 9, 10]);
  L.push(...alignTable(rows, (i) => right.has(i)));
  L.push('');
  for (const f of files) {
    const r = Object.entries(sum.ratios[f.name]);
    if (r.length) L.push(`${f.name}: ${r.map(([k, v]) => `${k} ${v.toFixed(2)}`).join('   ')}`);
  }
  L.push('CPU srv/wrk: share of one core used by the server process (all threads) / by wrk; other: CPU used by');
  L.push(`anything else on the machine (plus steal) during the run, a noise gauge (runs above ${pct(sum.method.maxNoise)} are`);
  L.push(`retried up to ${sum.method.retries} times; a round still noisy after that is marked * and left out of the`);
  L.push('medians unless every round was noisy). Medians are taken per metric over the rounds; peak RSS is the maximum.');
  L.push(`freshness after rewriting 1k.txt: ${Object.entries(sum.freshness).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  L.push('');
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Entry (last, so every declaration above is initialised)

if (process.argv[2] === '--serve') serve(process.argv[3], process.argv[4], Number(process.argv[5]));
else await bench();
