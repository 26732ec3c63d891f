#!/usr/bin/env node
/**
 * HTTP/2 benchmark: tslws's HTTP/2 server role against node:http2 and
 * nginx, with h2load (nghttp2) as the load generator.
 *
 *   node bench/h2.mjs [tls|h2c|1k|1m ...] [--duration SECS] [--rounds N] [--quick]
 *                     [--servers LIST] [--tslws SERVER.js] [--max-noise PCT] [--retries N] [--json] [--out FILE]
 *
 * Cases: a 1 KiB and a 1 MiB file, each over TLS (ALPN h2) and over h2c
 * (clear text, prior knowledge). Names select cases: `tls`, `h2c` pick the
 * transport, `1k`, `1m` the file (`h2.mjs h2c 1k` is one case; none: all
 * four); `--only tls,1k` is the same, for when the names cannot lead (run.mjs).
 *
 * Servers, one child process per server and case, each pinned to core 0
 * with `taskset -c 0`:
 *   tslws       node dist/src/bin/lws-test-server.js -i 127.0.0.1 -p PORT -r DIR
 *               [-s -C CERT -K KEY]: a FILE mount; HTTP/2 by ALPN on TLS and
 *               by prior knowledge on the clear-text port
 *   node-http2  node:http2's core API: server.on('stream', (stream, headers) =>
 *               stream.respond(...); stream.end(buf)) from Buffers read once at
 *               startup (createSecureServer / createServer): the upper bound for Node
 *   nginx       Debian's nginx (nginx-light; needs http_v2): a generated minimal
 *               config, worker_processes 1, master_process off, daemon off,
 *               `listen PORT ssl http2` / `listen PORT http2`, root DIR
 *
 * Load: `taskset -c 1 h2load -c50 -m10 --warm-up-time=3 -DSECS URL` (one
 * h2load thread, 50 connections, 10 streams in flight on each), TLS 1.3
 * with TLS_AES_128_GCM_SHA256 for every server. --rounds rounds with the
 * servers' order rotating; medians. CPU time is read from /proc over
 * h2load's main phase only (what its counts cover); CPU per request is
 * per response's worth of body bytes, so 1 MiB bodies cut off at the end
 * count for their share. Any failed, errored or timed-out request, any
 * non-2xx status or a protocol other than h2/h2c fails the run.
 *
 * Before measuring, every server must answer each file with status 200,
 * the right content-length and exactly the file's bytes over HTTP/2
 * (node:http2's client), on its own transport.
 *
 * The same file, run as `h2.mjs --serve tls|h2c ROOT PORT [CERT KEY]`, is
 * the node-http2 server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NGINX, writeNginxConfig } from './lib/nginx.mjs';
import { alive, Fatal, freePort, guardChildren, sleep, spawnPinned, tail } from './lib/proc.mjs';
import { CLK_TCK, cpuTicks, kernelRelease, rssKiB } from './lib/procfs.mjs';
import { measureQuietly } from './lib/wrk.mjs';
import { H2LOAD, H2loadStuck, h2loadVersion, runH2load } from './lib/h2load.mjs';
import { makeCert, opensslVersion } from './lib/certs.mjs';
import { MIME } from './lib/cached-files.mjs';
import { alignTable, buildLine, describeBuild, fmtInt, fmtMs, fmtUs, machineInfo, median, mib, pct, repoOf } from './lib/report.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const TSLWS_BIN = join(REPO, 'dist/src/bin/lws-test-server.js');
const SERVER_CORE = '0';
const LOAD_CORE = '1';
const CLIENTS = 50;
const STREAMS = 10;
const WARMUP_SECS = 3; // h2load --warm-up-time of every run
const STUCK_RETRIES = 3;
const TLS13_CIPHER = 'TLS_AES_128_GCM_SHA256';

const TRANSPORTS = [
  { id: 'tls', label: 'TLS', tls: true, protocol: 'h2' },
  { id: 'h2c', label: 'h2c', tls: false, protocol: 'h2c' },
];
const FILES = [
  { id: '1k', name: '1k.txt', label: '1 KiB', bytes: 1024 },
  { id: '1m', name: '1m.bin', label: '1 MiB', bytes: 1024 * 1024 },
];
const SERVERS = ['tslws', 'node-http2', 'nginx'];

const USAGE = 'usage: h2.mjs [tls|h2c|1k|1m ...] [--only LIST] [--duration SECS (5)] [--rounds N (3)] [--quick (1 s x 1 round)]\n' +
  '                [--servers LIST (tslws,node-http2,nginx)] [--tslws SERVER.js] [--max-noise PCT (5)] [--retries N (5)]\n' +
  '                [--json] [--out FILE (the JSON summary, also)]\n';

// ---------------------------------------------------------------------------
// The node-http2 reference server (child-process mode)

function serve(mode, root, port, certFile, keyFile) {
  // Every file of the directory, read once: the stream API answering from memory.
  const files = new Map();
  for (const name of readdirSync(root)) {
    const type = MIME[extname(name)];
    if (type) files.set('/' + name, { type, buf: readFileSync(join(root, name)) });
  }
  const server = mode === 'tls'
    ? http2.createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) })
    : mode === 'h2c' ? http2.createServer() : null;
  if (!server) {
    process.stderr.write(`h2: unknown server mode ${mode} (tls, h2c)\n`);
    process.exit(2);
  }
  server.on('stream', (stream, headers) => {
    const f = files.get(headers[':path']);
    if (!f) {
      stream.respond({ ':status': 404, 'content-length': 0 });
      stream.end();
      return;
    }
    stream.respond({ ':status': 200, 'content-type': f.type, 'content-length': f.buf.length });
    stream.end(f.buf);
  });
  server.on('error', (e) => {
    process.stderr.write(`node-http2: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`node-http2: listening on ${mode} 127.0.0.1:${port}\n`));
  process.once('SIGINT', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------------------
// nginx

/** nginx's version line, after checking it exists and has the http_v2 module. */
function checkNginx() {
  if (!existsSync(NGINX)) throw new Fatal(`nginx not found at ${NGINX} (apt-get install -y nginx-light), or leave it out: --servers tslws,node-http2`);
  const r = spawnSync(NGINX, ['-V'], { encoding: 'utf8' });
  const text = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Fatal(`${NGINX} -V failed:\n${text}`);
  if (!/--with-http_v2_module\b/.test(text)) throw new Fatal(`${NGINX} was built without the http_v2 module (nginx -V does not list --with-http_v2_module): install Debian's nginx-light`);
  return /nginx version: (\S+)/.exec(text)?.[1] ?? 'nginx';
}

/** nginx.conf for one instance: HTTP/2 on one port (with TLS when `tls`), files from `root`. */
function nginxConfig(dir, { port, tls, root, cert }) {
  return writeNginxConfig(dir, {
    port, root, by: 'bench/h2.mjs', listen: `${tls ? 'ssl ' : ''}http2`,
    server: tls ? `    ssl_certificate ${cert.certFile};
    ssl_certificate_key ${cert.keyFile};
    # nginx 1.22 leaves TLS 1.3 out by default; the Node servers offer it.
    ssl_protocols TLSv1.2 TLSv1.3;
` : '',
  });
}

// ---------------------------------------------------------------------------
// The HTTP/2 client of the checks

/**
 * GET /FILE over HTTP/2 with node:http2's client, on a new connection:
 * TLS with ALPN h2 (the certificate is self-signed: not verified) or h2c
 * by prior knowledge. Resolves with { status, headers, body, alpn }.
 */
function h2get(port, tls, file, timeout = 10000) {
  return new Promise((res, rej) => {
    const session = http2.connect(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`, tls ? { rejectUnauthorized: false, servername: 'localhost' } : {});
    const timer = setTimeout(() => {
      session.destroy();
      rej(new Error('timeout'));
    }, timeout);
    const fail = (e) => {
      clearTimeout(timer);
      session.destroy();
      rej(e);
    };
    session.once('error', fail);
    const req = session.request({ ':path': '/' + file });
    let headers = {};
    const chunks = [];
    req.on('response', (h) => (headers = h));
    req.on('data', (c) => chunks.push(c));
    req.once('error', fail);
    req.once('end', () => {
      clearTimeout(timer);
      const alpn = session.alpnProtocol;
      session.close();
      res({ status: headers[':status'], headers, body: Buffer.concat(chunks), alpn });
    });
    req.end();
  });
}

/** Poll `srv` with an HTTP/2 GET until it answers 200; Fatal if it exits or takes over 10 s. */
async function waitReadyH2(srv, file) {
  const deadline = Date.now() + 10000;
  let exited = null;
  srv.child.once('exit', (code, sig) => (exited = sig ?? code));
  srv.child.once('error', (e) => (exited = e.message));
  while (Date.now() < deadline) {
    if (exited !== null || !alive(srv.child)) {
      throw new Fatal(`${srv.name} (${srv.transport.id}) failed to start (exit ${exited ?? srv.child.exitCode ?? srv.child.signalCode}):\n${srv.out.text.trim()}`);
    }
    try {
      if ((await h2get(srv.port, srv.transport.tls, file, 1000)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Fatal(`${srv.name} (${srv.transport.id}) did not answer on port ${srv.port} within 10 s:\n${srv.out.text.trim()}`);
}

// ---------------------------------------------------------------------------
// The benchmark

function parseOptions() {
  const parsed = parseBenchArgs(USAGE, {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string', default: SERVERS.join(',') },
    tslws: { type: 'string', default: TSLWS_BIN },
    'max-noise': { type: 'string', default: '5' },
    retries: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  }, { positionals: true });
  const o = parsed.values;
  const bad = (m) => usageError('h2', USAGE, m);
  const duration = o.quick ? 1 : Number(o.duration);
  const rounds = o.quick ? 1 : Number(o.rounds);
  const maxNoise = Number(o['max-noise']) / 100;
  const retries = Number(o.retries);
  if (!Number.isInteger(duration) || duration < 1 || !Number.isInteger(rounds) || rounds < 1) bad('--duration and --rounds must be positive integers');
  if (!(maxNoise >= 0) || !Number.isInteger(retries) || retries < 0) bad('--max-noise must be a percentage, --retries a count');
  const names = [...parsed.positionals, ...(o.only ? o.only.split(',') : [])].map((x) => x.trim()).filter(Boolean);
  for (const n of names) if (![...TRANSPORTS, ...FILES].some((x) => x.id === n)) bad(`unknown case name ${n} (tls, h2c, 1k, 1m)`);
  const ts = TRANSPORTS.filter((t) => names.includes(t.id));
  const fs = FILES.filter((f) => names.includes(f.id));
  const cases = [];
  for (const t of ts.length ? ts : TRANSPORTS) for (const f of fs.length ? fs : FILES) cases.push({ id: `${t.id}-${f.id}`, transport: t, file: f });
  const servers = [...new Set(o.servers.split(',').map((x) => x.trim()).filter(Boolean))];
  for (const s of servers) if (!SERVERS.includes(s)) bad(`unknown server ${s} (${SERVERS.join(', ')})`);
  if (!servers.length) bad('no server chosen');
  return { duration, rounds, maxNoise, retries, cases, servers, tslws: resolve(o.tslws), json: o.json, out: o.out };
}

async function bench() {
  const opts = parseOptions();
  const { duration, rounds, maxNoise, retries, cases } = opts;
  let tmp;
  const say = (s) => process.stderr.write(s + '\n');
  // Servers and h2load are stopped, and the temporary directory removed, on exit, error and signals.
  const guard = guardChildren('h2', {
    cleanup: () => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  });
  const { children, stopAll } = guard;

  try {
    if (!existsSync(H2LOAD)) throw new Fatal(`h2load not found at ${H2LOAD} (apt-get install -y nghttp2-client)`);
    if (!existsSync('/usr/bin/taskset')) throw new Fatal('taskset not found (apt-get install util-linux)');
    const openssl = cases.some((c) => c.transport.tls) ? opensslVersion() : null;
    const nginxVersion = opts.servers.includes('nginx') ? checkNginx() : null;
    if (opts.servers.includes('tslws') && !existsSync(opts.tslws)) throw new Fatal(`${opts.tslws} missing: run \`npx tsc -p tsconfig.json\` (or \`npm run bench\`) first`);

    tmp = mkdtempSync(join(tmpdir(), 'tslws-bench-h2-'));
    const root = join(tmp, 'www');
    mkdirSync(root);
    const line = 'tslws h2 bench: 1 KiB of text, served over HTTP/2.\n';
    const data = {
      '1k.txt': Buffer.from(line.repeat(Math.ceil(1024 / line.length)).slice(0, 1023) + '\n'),
      '1m.bin': randomBytes(FILES[1].bytes),
    };
    for (const [n, b] of Object.entries(data)) writeFileSync(join(root, n), b);
    const cert = openssl ? makeCert(tmp, 'rsa', 'rsa') : null;
    if (cert) say(`certificate: ${cert.label}, self-signed, made now in ${tmp}`);

    // --- One instance of every server per case, so each case's memory figures are its own.
    const start = async (name, c) => {
      const t = c.transport;
      const port = await freePort();
      let argv;
      if (name === 'tslws') {
        argv = [process.execPath, opts.tslws, '-i', '127.0.0.1', '-p', port, '-r', root, ...(t.tls ? ['-s', '-C', cert.certFile, '-K', cert.keyFile] : [])];
      } else if (name === 'node-http2') {
        argv = [process.execPath, SELF, '--serve', t.id, root, port, ...(t.tls ? [cert.certFile, cert.keyFile] : [])];
      } else {
        const dir = join(tmp, `nginx-${c.id}`);
        const conf = nginxConfig(dir, { port, tls: t.tls, root, cert });
        argv = [NGINX, '-e', join(dir, 'error.log'), '-p', dir, '-c', conf];
      }
      const child = spawnPinned(SERVER_CORE, argv);
      children.add(child);
      const srv = { name, transport: t, port, child, out: tail(child), pid: child.pid };
      await waitReadyH2(srv, '1k.txt');
      srv.idleRss = rssKiB(srv.pid);
      say(`started ${name} for ${c.id} (pid ${srv.pid}) on ${t.tls ? 'https' : 'http'}://127.0.0.1:${port}, pinned to core ${SERVER_CORE}, RSS ${mib(srv.idleRss)}`);
      return srv;
    };
    const servers = {}; // servers[case id] = [srv, ...] in --servers order
    for (const c of cases) {
      servers[c.id] = [];
      for (const name of opts.servers) servers[c.id].push(await start(name, c));
    }

    // --- Fairness: every server returns both files' exact bytes over HTTP/2 on its transport.
    for (const c of cases) {
      for (const s of servers[c.id]) {
        for (const [name, want] of Object.entries(data)) {
          const r = await h2get(s.port, s.transport.tls, name);
          const where = `${s.name} (${c.id}) for /${name}`;
          if (r.status !== 200) throw new Fatal(`${where}: status ${r.status}`);
          if (r.headers['content-length'] === undefined || Number(r.headers['content-length']) !== want.length) {
            throw new Fatal(`${where}: content-length ${r.headers['content-length']}, expected ${want.length}`);
          }
          if (!r.body.equals(want)) throw new Fatal(`${where}: different bytes (${r.body.length} bytes, expected ${want.length})`);
          if (r.alpn !== s.transport.protocol) throw new Fatal(`${where}: protocol ${r.alpn}, expected ${s.transport.protocol}`);
        }
      }
    }
    say(`verified: every server returns status 200, the content-length and the exact bytes of 1k.txt and 1m.bin over HTTP/2 (${[...new Set(cases.map((c) => c.transport.id))].join(', ')})`);

    // --- Rounds: per case, servers in an order rotated every round.
    const runs = {};
    for (const c of cases) {
      runs[c.id] = {};
      for (const s of servers[c.id]) runs[c.id][s.name] = [];
    }
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        const list = servers[c.id];
        for (let i = 0; i < list.length; i++) {
          const s = list[(i + round) % list.length];
          const tag = `round ${round + 1}/${rounds} ${c.id.padEnd(6)} ${s.name.padEnd(10)}`;
          const res = await measureQuietly({
            run: () => load(s, c, duration, children, tmp, say),
            noise: (x) => x.otherCpu + x.steal,
            maxNoise,
            retries,
            onGiveUp: (x, noise, attempt) => say(`${tag}: still ${pct(noise)} other load after ${attempt} retries, keeping it (flagged)`),
            onRetry: (x, noise) => say(`${tag}: ${fmtInt(x.rps)} req/s but ${pct(noise)} of the machine busy elsewhere; retrying`),
          });
          res.rssAfter = rssKiB(s.pid);
          runs[c.id][s.name].push(res);
          say(`${tag} ${fmtInt(res.rps).padStart(7)} req/s  ${(res.bodyBytes / duration / 2 ** 20).toFixed(0).padStart(5)} MiB/s  CPU/req ${fmtUs(res.cpuPerReqUs)}  ` +
            `mean ${fmtMs(res.reqMeanMs)} p99 ${fmtMs(res.p99Ms)}  peak RSS ${mib(res.peakRss)}  CPU ${pct(res.serverCpu)}/${pct(res.h2loadCpu)} other ${pct(res.otherCpu + res.steal)}`);
        }
      }
    }

    // --- Summary.
    const summary = {
      date: new Date().toISOString(),
      machine: { ...machineInfo(), h2load: h2loadVersion(), nginx: nginxVersion, openssl, kernel: kernelRelease() },
      tslws: opts.servers.includes('tslws') ? describeBuild(repoOf(opts.tslws, REPO), opts.tslws) : null,
      tslwsDescribe: gitDescribe(repoOf(opts.tslws, REPO)),
      method: {
        duration, rounds, maxNoise, retries, clients: CLIENTS, streamsPerClient: STREAMS, h2loadThreads: 1, warmupSecs: WARMUP_SECS,
        serverCore: Number(SERVER_CORE), h2loadCore: Number(LOAD_CORE), tls13Cipher: TLS13_CIPHER, certificate: cert?.label ?? null,
        statistic: 'median over clean rounds (all rounds if none is clean); peak RSS: maximum',
        cpuPerRequest: "server CPU time (all threads) in h2load's main phase / responses' worth of bytes received in it",
      },
      results: {},
      ratios: {},
      aims: [],
    };
    for (const c of cases) {
      const res = (summary.results[c.id] = {});
      for (const s of servers[c.id]) {
        const all = runs[c.id][s.name];
        const clean = all.filter((x) => !x.noisy);
        const rs = clean.length ? clean : all;
        const med = (f) => median(rs.map(f));
        const cpuPerReqUs = med((x) => x.cpuPerReqUs);
        res[s.name] = {
          rps: med((x) => x.rps),
          mibPerSec: med((x) => x.bodyBytes / duration / 2 ** 20),
          cpuPerReqUs,
          reqPerCpuSec: med((x) => 1e6 / x.cpuPerReqUs),
          reqMeanMs: med((x) => x.reqMeanMs), reqSdMs: med((x) => x.reqSdMs), reqMaxMs: med((x) => x.reqMaxMs),
          p50Ms: med((x) => x.p50Ms), p99Ms: med((x) => x.p99Ms), p999Ms: med((x) => x.p999Ms),
          idleRssKiB: s.idleRss,
          peakRssKiB: Math.max(...all.map((x) => x.peakRss)),
          peakRssRoundsKiB: all.map((x) => x.peakRss),
          rssAfterRoundsKiB: all.map((x) => x.rssAfter),
          serverCpu: med((x) => x.serverCpu), h2loadCpu: med((x) => x.h2loadCpu),
          otherCpu: med((x) => x.otherCpu), steal: med((x) => x.steal), softirq: med((x) => x.softirq),
          tls: all[0].tls,
          rpsRounds: all.map((x) => x.rps),
          noisyRoundsIndex: all.flatMap((x, i) => (x.noisy ? [i] : [])),
          requestsDone: all.reduce((a, x) => a + x.done, 0),
          failed: all.reduce((a, x) => a + x.failed + x.errored + x.timeout + x.non2xx, 0),
          retried: all.reduce((a, x) => a + x.retries, 0),
          stuckRuns: all.reduce((a, x) => a + x.stuck, 0),
          perRound: all.map(({ output, ...x }) => x),
        };
      }
      const t = res.tslws;
      const q = {};
      for (const other of ['node-http2', 'nginx']) {
        if (!t || !res[other]) continue;
        q[`tslws/${other}`] = { rps: t.rps / res[other].rps, mibPerSec: t.mibPerSec / res[other].mibPerSec, reqPerCpuSec: t.reqPerCpuSec / res[other].reqPerCpuSec };
      }
      summary.ratios[c.id] = q;
      summary.aims.push(...aimsOf(c, q));
    }

    await stopAll();
    const json = JSON.stringify(summary, null, 2) + '\n';
    if (opts.out) writeFileSync(opts.out, json);
    if (opts.json) process.stdout.write(json);
    else process.stdout.write(table(summary, cases));
  } catch (e) {
    if (guard.interrupted) {
      await stopAll();
      process.exit(guard.interrupted);
    }
    say(`h2: ${e instanceof Fatal ? e.message : e.stack ?? e}`);
    await stopAll();
    process.exit(1);
  }
}

/**
 * One h2load run of a case against one server, checked: every request
 * must succeed with a 2xx over the case's protocol, or the run fails. A
 * run h2load got stuck in (see runH2load) is repeated, after the server
 * has gone quiet, up to STUCK_RETRIES times (r.stuck counts them). Adds
 * cpuPerReqUs: the server's CPU time in h2load's main phase per
 * response's worth of body bytes received in it (partly sent 1 MiB bodies
 * count for their share, so the figure does not jump with how many of the
 * 500 streams in flight happened to finish before the end).
 */
async function load(srv, c, secs, children, tmp, say) {
  const url = `${c.transport.tls ? 'https' : 'http'}://127.0.0.1:${srv.port}/${c.file.name}`;
  let r;
  for (let stuck = 0; ; stuck++) {
    try {
      r = await runH2load({
        srv, url, secs, warmup: WARMUP_SECS, clients: CLIENTS, streams: STREAMS, core: LOAD_CORE, children, logFile: join(tmp, 'h2load.log'),
        extra: c.transport.tls ? [`--tls13-ciphers=${TLS13_CIPHER}`] : [],
      });
      r.stuck = stuck;
      break;
    } catch (e) {
      if (!(e instanceof H2loadStuck) || stuck >= STUCK_RETRIES) throw e;
      say(`${srv.name} (${c.id}): ${e.message.split('\n')[0]}; repeating the run`);
      await quiet(srv);
    }
  }
  const what = `${srv.name} (${c.id}, ${secs} s)`;
  if (r.failed || r.errored || r.timeout || r.logFailed || r.non2xx) {
    throw new Fatal(`${what}: h2load counted ${r.failed} failed, ${r.errored} errored, ${r.timeout} timed-out requests, ${r.non2xx} non-2xx statuses ` +
      `(${r.logFailed} failed streams in its log):\n${r.output}\n${srv.name}'s last output:\n${srv.out.text.trim()}`);
  }
  if (r.protocol !== c.transport.protocol) throw new Fatal(`${what}: h2load spoke ${r.protocol}, expected ${c.transport.protocol}:\n${r.output}`);
  // Responses' worth received in the main phase. h2load 1.52 counts its `total` (every
  // frame byte) in the main phase only, but `headers` and `data` from the start of the
  // warm-up: their ratio still gives the header block's size per body byte. A response
  // is then its body, its header block and 9 bytes per frame (HEADERS, and DATA frames
  // of at most 16 KiB, h2load's SETTINGS_MAX_FRAME_SIZE); other frames are below 0.1 %.
  // For 1 KiB this reproduces h2load's completed count; for 1 MiB it counts the bodies
  // in flight at the end for their share.
  const perResponse = c.file.bytes * (1 + r.headerBytes / r.dataBytes) + 9 + 9 * Math.ceil(c.file.bytes / 16384);
  r.responses = r.totalBytes / perResponse;
  r.bodyBytes = r.responses * c.file.bytes;
  if (!(r.responses > 0)) throw new Fatal(`${what}: no response bytes received in ${secs} s:\n${r.output}`);
  r.cpuPerReqUs = ((r.serverTicks / CLK_TCK) / r.responses) * 1e6;
  return r;
}


/** Wait (up to 15 s) until `srv` uses under 5 % of a core over half a second. */
async function quiet(srv) {
  for (let i = 0; i < 30; i++) {
    const t0 = cpuTicks(srv.pid);
    await sleep(500);
    if ((cpuTicks(srv.pid) - t0) / CLK_TCK < 0.025) return;
  }
}

/** The issue's aims for a case, each { case, aim, value, met }. */
function aimsOf(c, q) {
  const out = [];
  const push = (aim, v, want) => out.push({ case: c.id, aim, value: v, target: want, met: v >= want });
  if (c.file.id === '1k') {
    if (q['tslws/node-http2']) push('requests/s >= 1.5x node-http2', q['tslws/node-http2'].rps, 1.5);
    if (q['tslws/nginx']) push('requests/s >= nginx', q['tslws/nginx'].rps, 1);
  } else if (q['tslws/nginx']) {
    push('requests per server CPU-second >= nginx', q['tslws/nginx'].reqPerCpuSec, 1);
  }
  return out;
}

/** `git describe --always --tags` of the checkout holding the tslws build (uncommitted src/ changes: see describeBuild). */
function gitDescribe(repo) {
  const r = spawnSync('git', ['-C', repo, 'describe', '--always', '--tags'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function table(sum, cases) {
  const L = [];
  const m = sum.machine;
  L.push('');
  L.push(`h2: ${sum.date}, ${m.nproc} cores (${m.cpu}), node ${m.node}, h2load ${m.h2load}${m.nginx ? `, ${m.nginx}` : ''}${m.openssl ? `, ${m.openssl}` : ''}`);
  if (sum.tslws) L.push(`${buildLine(REPO, sum.tslws)} (git describe: ${sum.tslwsDescribe})`);
  L.push(`servers on core ${sum.method.serverCore}, h2load -t1 -c${sum.method.clients} -m${sum.method.streamsPerClient} on core ${sum.method.h2loadCore}, ` +
    `${sum.method.rounds} rounds x ${sum.method.duration} s, medians${sum.method.certificate ? `; TLS: ${sum.method.certificate} certificate, ${tlsLine(sum)}` : ''}`);
  L.push('');
  const head = ['case', 'server', 'req/s', 'rounds (req/s)', 'MiB/s', 'srv CPU/req', 'req/srv CPU-s', 'mean', 'p50', 'p99', 'max', 'idle RSS', 'peak RSS', 'CPU srv/h2load', 'other'];
  const rows = [head];
  for (const c of cases) {
    for (const [name, r] of Object.entries(sum.results[c.id])) {
      rows.push([
        c.id, name, fmtInt(r.rps), r.rpsRounds.map((x, i) => fmtInt(x) + (r.noisyRoundsIndex.includes(i) ? '*' : '')).join(' / '),
        r.mibPerSec.toFixed(0), fmtUs(r.cpuPerReqUs), fmtInt(r.reqPerCpuSec),
        fmtMs(r.reqMeanMs), fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtMs(r.reqMaxMs),
        mib(r.idleRssKiB), mib(r.peakRssKiB), `${pct(r.serverCpu)} / ${pct(r.h2loadCpu)}`, pct(r.otherCpu + r.steal),
      ]);
    }
  }
  const right = new Set([2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  L.push(...alignTable(rows, (i) => right.has(i)));
  L.push('');
  for (const c of cases) {
    const q = Object.entries(sum.ratios[c.id]);
    if (q.length) L.push(`${c.id}: ${q.map(([k, v]) => `${k} ${v.rps.toFixed(2)} req/s, ${v.mibPerSec.toFixed(2)} MiB/s, ${v.reqPerCpuSec.toFixed(2)} req/srv CPU-s`).join('; ')}`);
  }
  if (sum.aims.length) {
    L.push('');
    L.push('aims (tslws):');
    for (const a of sum.aims) L.push(`  ${a.case.padEnd(6)} ${a.aim.padEnd(42)} ${a.value.toFixed(2).padStart(6)}x  ${a.met ? 'met' : 'NOT met'}`);
  }
  const t = cases.filter((c) => sum.results[c.id].tslws);
  if (t.length) {
    L.push(`  memory: tslws peak RSS ${t.map((c) => `${c.id} ${mib(sum.results[c.id].tslws.peakRssKiB)}`).join(', ')}; ` +
      `RSS after each round ${t.map((c) => `${c.id} ${sum.results[c.id].tslws.rssAfterRoundsKiB.map((k) => (k / 1024).toFixed(0)).join('/')}`).join(', ')} MiB`);
  }
  L.push('');
  const stuck = cases.flatMap((c) => Object.entries(sum.results[c.id]).filter(([, r]) => r.stuckRuns).map(([n, r]) => `${c.id} ${n} ${r.stuckRuns}`));
  L.push('Every run: 0 failed, 0 errored, 0 timed-out requests, only 2xx (any other count fails the run).' +
    (stuck.length ? ` h2load runs that got stuck and were repeated: ${stuck.join(', ')}.` : ''));
  L.push(`Each run: h2load --warm-up-time=${sum.method.warmupSecs} then -D${sum.method.duration}; every figure but peak RSS is over the main phase only.`);
  L.push('req/s: h2load\'s completed requests per second. MiB/s: response bodies received. srv CPU/req: the server\'s CPU time');
  L.push('(all threads, /proc) divided by the responses\' worth of body bytes received; req/srv CPU-s is its inverse.');
  L.push('mean and max: h2load\'s time for request; p50/p99 from its --log-file. CPU srv/h2load: share of one core');
  L.push('(the kernel\'s softirq work for the loopback traffic is charged to neither: ' + softirqLine(sum, cases) + ');');
  L.push(`other: CPU used by anything else on the machine (plus steal), runs above ${pct(sum.method.maxNoise)} are retried up to ${sum.method.retries} times,`);
  L.push('then marked * and left out of the medians unless every round was noisy. Peak RSS is the maximum over the case\'s runs.');
  L.push('');
  return L.join('\n') + '\n';
}

/** The range of softirq shares over the cases' medians. */
function softirqLine(sum, cases) {
  const v = cases.flatMap((c) => Object.values(sum.results[c.id]).map((r) => r.softirq));
  return `${pct(Math.min(...v))} to ${pct(Math.max(...v))} of a core here`;
}

/** What h2load negotiated over TLS, and whether every server agreed. */
function tlsLine(sum) {
  const seen = new Map();
  for (const res of Object.values(sum.results)) {
    for (const [name, r] of Object.entries(res)) {
      if (r.tls) seen.set(name, `${r.tls.version} ${r.tls.cipher} ${r.tls.tempKey}`);
    }
  }
  const kinds = new Set(seen.values());
  if (kinds.size <= 1) return `${[...kinds][0] ?? 'none'} with every server`;
  return [...seen].map(([n, v]) => `${n}: ${v}`).join('; ');
}

// ---------------------------------------------------------------------------
// Entry (last, so every declaration above is initialised)

if (process.argv[2] === '--serve') {
  const [mode, root, port, certFile, keyFile] = process.argv.slice(3);
  serve(mode, root, Number(port), certFile, keyFile);
} else {
  await bench();
}
