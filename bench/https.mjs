#!/usr/bin/env node
/**
 * HTTPS benchmark: a tslws TLS vhost with a FILE mount against a node:https
 * server answering from memory, with wrk as the load generator.
 *
 *   node bench/https.mjs [--duration SECS] [--rounds N] [--cert rsa|ec] [--only small,handshake]
 *                        [--max-noise PCT] [--retries N] [--json]
 *
 * Servers (each a child process pinned to core 0 with `taskset -c 0`, the
 * same certificate and key, TLS settings left at their defaults):
 *   tslws       createContext({ port, iface, sslCertFilepath, sslPrivateKeyFilepath,
 *               mounts: [{ mountpoint: '/', origin: DIR, originProtocol: Mount.FILE }] })
 *               from dist/src/index.js
 *   node-https  https.createServer({ cert, key }), every file read into a Buffer
 *               once at startup (http-files' node-cached, over TLS)
 *
 * Certificates: an RSA 2048 and an ECDSA P-256 self-signed certificate are
 * made with the openssl CLI in the temporary directory at every run; RSA is
 * measured unless --cert ec.
 *
 * Scenarios, each `taskset -c 1 wrk -t1 -c50 -dNs --latency https://...`:
 *   small      keep-alive GETs of a 1 KiB file: requests/s, p50/p99, peak RSS
 *   handshake  the same with `-H 'Connection: close'`: the server closes after
 *              every response and wrk reconnects, so every request is a new
 *              TCP + TLS connection; requests/s = handshakes/s (wrk's latency
 *              leaves the handshake out; 50 / rate is a connection's mean life)
 * Both also report the server's CPU time per request, the fair comparison
 * when wrk (one thread, doing its half of every handshake) sets the rate.
 *
 * Before measuring: every server must return the file's exact bytes over
 * https, both on a keep-alive connection and with `Connection: close` (and
 * then close the connection); a Node client records what each negotiates
 * (version, cipher, key exchange, certificate) and whether each resumes a
 * session offered to it. Then a short probe: a second instance of each
 * server, counting on the server side how many TLS connections were
 * resumed (`tlsSocket.isSessionReused()` on every 'secure'), takes 1 s of
 * the handshake load, which tells which kind of handshake wrk makes.
 *
 * Method and noise handling as in http-files.mjs: a 1 s warm-up per server
 * and scenario, --rounds rounds with the servers' order rotating, medians;
 * a run during which the rest of the machine used more than --max-noise
 * percent of one core is repeated up to --retries times (then kept, flagged).
 * Every child is stopped on exit, error or Ctrl-C.
 *
 * The same file, run as `https.mjs --serve tslws|node ROOT PORT CERT KEY`,
 * is either server; with BENCH_TLS_PROBE=1 in its environment it counts
 * handshakes and prints the counts on SIGUSR2.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import https from 'node:https';
import tls from 'node:tls';
import { Fatal, freePort, guardChildren, sleep, spawnPinned, stopChild, tail } from './lib/proc.mjs';
import { kernelRelease, rssKiB } from './lib/procfs.mjs';
import { WRK, measureQuietly, runWrk, wrkVersion } from './lib/wrk.mjs';
import { get, waitReady } from './lib/client.mjs';
import { cachedFilesHandler } from './lib/cached-files.mjs';
import { CERT_KINDS as CERTS, makeCert, opensslVersion } from './lib/certs.mjs';
import { alignTable, buildLine, describeBuild, fmtInt, fmtMs, machineInfo, median, mib, pct } from './lib/report.mjs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const DIST = join(REPO, 'dist/src/index.js');
const SERVER_CORE = '0';
const WRK_CORE = '1';
const CONNECTIONS = 50;
const FILE = '1k.txt';
const PROBE_SECS = 1;


const SCENARIOS = [
  { id: 'small', label: 'keep-alive, 1 KiB', headers: [] },
  { id: 'handshake', label: 'handshake per request', headers: ['Connection: close'] },
];

// ---------------------------------------------------------------------------
// Servers (child-process mode)

/**
 * With BENCH_TLS_PROBE=1: count the TLS connections this process completes
 * and how many of them resumed a session, by TLS version and cipher;
 * SIGUSR2 prints the counts as one `tls-probe {...}` line. Only the probe
 * instances do this; the measured servers run without it.
 */
function installTlsProbe() {
  const counts = { handshakes: 0, resumed: 0, versions: {}, ciphers: {} };
  const emit = tls.TLSSocket.prototype.emit;
  tls.TLSSocket.prototype.emit = function (event, ...args) {
    if (event === 'secure') {
      counts.handshakes++;
      if (this.isSessionReused()) counts.resumed++;
      const v = this.getProtocol();
      const c = this.getCipher()?.name;
      counts.versions[v] = (counts.versions[v] ?? 0) + 1;
      counts.ciphers[c] = (counts.ciphers[c] ?? 0) + 1;
    }
    return emit.call(this, event, ...args);
  };
  process.on('SIGUSR2', () => process.stdout.write(`tls-probe ${JSON.stringify(counts)}\n`));
}

async function serve(kind, root, port, certFile, keyFile) {
  if (process.env.BENCH_TLS_PROBE === '1') installTlsProbe();
  let stop;
  if (kind === 'tslws') {
    const { createContext, Mount } = await import(pathToFileURL(DIST).href);
    const ctx = createContext({
      port, iface: '127.0.0.1',
      sslCertFilepath: certFile, sslPrivateKeyFilepath: keyFile,
      mounts: [{ mountpoint: '/', origin: root, originProtocol: Mount.FILE }],
    });
    await ctx.listening;
    stop = () => ctx.destroy().then(() => process.exit(0));
  } else if (kind === 'node') {
    const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, cachedFilesHandler(root));
    server.on('error', (e) => {
      process.stderr.write(`node-https: ${e.message}\n`);
      process.exit(1);
    });
    await new Promise((res) => server.listen(port, '127.0.0.1', res));
    stop = () => {
      server.close();
      server.closeAllConnections();
      process.exit(0);
    };
  } else {
    process.stderr.write(`https: unknown server kind ${kind}\n`);
    process.exit(2);
  }
  process.stdout.write(`${kind}: listening on https://127.0.0.1:${port}\n`);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// ---------------------------------------------------------------------------
// The benchmark

const USAGE = 'usage: https.mjs [--duration SECS (5)] [--rounds N (3)] [--cert rsa|ec (rsa)] [--only small,handshake]\n' +
  '                 [--max-noise PCT (5)] [--retries N (5)] [--json]\n';

async function bench() {
  const opts = parseBenchArgs(USAGE, {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    cert: { type: 'string', default: 'rsa' },
    only: { type: 'string' },
    'max-noise': { type: 'string', default: '5' },
    retries: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  }).values;
  const duration = Number(opts.duration);
  const rounds = Number(opts.rounds);
  const maxNoise = Number(opts['max-noise']) / 100;
  const retries = Number(opts.retries);
  if (!Number.isInteger(duration) || duration < 1 || !Number.isInteger(rounds) || rounds < 1 ||
    !(maxNoise >= 0) || !Number.isInteger(retries) || retries < 0 || !CERTS[opts.cert]) {
    usageError('https', USAGE, `bad option value`);
  }
  let scen = SCENARIOS;
  if (opts.only) {
    const want = opts.only.split(',').map((s) => s.trim());
    for (const w of want) if (!SCENARIOS.some((s) => s.id === w)) {
      usageError('https', USAGE, `unknown scenario ${w}`);
    }
    scen = SCENARIOS.filter((s) => want.includes(s.id));
  }

  let tmp;
  const say = (s) => process.stderr.write(s + '\n');
  const guard = guardChildren('https', {
    cleanup: () => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  });
  const { children, stopAll } = guard;

  try {
    for (const [what, path] of [['wrk', WRK], ['taskset', '/usr/bin/taskset']]) {
      if (!existsSync(path)) throw new Fatal(`${what} not found at ${path} (apt-get install ${what === 'wrk' ? 'wrk' : 'util-linux'})`);
    }
    const openssl = opensslVersion();
    if (!existsSync(DIST)) throw new Fatal(`${DIST} missing: run \`npm run build\` (or \`npm run bench\`) first`);

    tmp = mkdtempSync(join(tmpdir(), 'tslws-bench-https-'));
    const root = join(tmp, 'www');
    mkdirSync(root);
    const line = 'tslws https bench: 1 KiB of text, served from a FILE mount over TLS.\n';
    const data = Buffer.from(line.repeat(Math.ceil(1024 / line.length)).slice(0, 1023) + '\n');
    writeFileSync(join(root, FILE), data);

    // Both certificates, every run; the chosen one is given to both servers.
    const certs = {};
    for (const k of Object.keys(CERTS)) certs[k] = makeCert(tmp, k, k);
    const cert = certs[opts.cert];
    say(`certificates: ${Object.entries(certs).map(([k, c]) => `${CERTS[k].label} (${c.certFile.slice(tmp.length + 1)})`).join(', ')}; measuring with ${cert.label}`);

    const defs = [
      { name: 'tslws', kind: 'tslws' },
      { name: 'node-https', kind: 'node' },
    ];
    const start = async (d, env) => {
      const port = await freePort();
      const child = spawnPinned(SERVER_CORE, [process.execPath, SELF, '--serve', d.kind, root, port, cert.certFile, cert.keyFile], { env });
      children.add(child);
      const srv = { name: d.name, port, child, out: tail(child), pid: child.pid };
      await waitReady(srv, FILE, { tls: true });
      return srv;
    };
    const servers = [];
    for (const d of defs) {
      const srv = await start(d);
      srv.idleRss = rssKiB(srv.pid);
      servers.push(srv);
      say(`started ${srv.name} (pid ${srv.pid}) on https://127.0.0.1:${srv.port}, pinned to core ${SERVER_CORE}, RSS ${mib(srv.idleRss)}`);
    }

    // --- Fairness: the file's exact bytes over https, keep-alive and with Connection: close.
    const tlsSeen = {};
    for (const s of servers) {
      const r = await get(s, FILE, 10000, { tls: true });
      if (r.status !== 200) throw new Fatal(`${s.name} answered ${r.status} for /${FILE}`);
      if (!r.body.equals(data)) throw new Fatal(`${s.name} returned different bytes for /${FILE} (${r.body.length} bytes, expected ${data.length})`);
      if (Number(r.headers['content-length']) !== data.length) throw new Fatal(`${s.name}: bad content-length for /${FILE}`);
      const first = await closeRequest(s, FILE, data);
      const again = await closeRequest(s, FILE, data, first.session);
      tlsSeen[s.name] = { ...first.tls, resumesSessions: again.tls.resumed };
    }
    say(`verified: all servers return identical bytes for ${FILE} over https, and close the connection after a Connection: close request`);
    const describeTls = (t) => `${t.version} ${t.cipher}, key exchange ${t.group}, certificate ${t.certKey}`;
    for (const [n, t] of Object.entries(tlsSeen)) say(`${n}: ${describeTls(t)}; resumes an offered session: ${t.resumesSessions ? 'yes' : 'no'}`);
    const same = new Set(Object.values(tlsSeen).map(describeTls)).size === 1;
    if (!same) say('warning: the servers negotiated different TLS parameters (see above)');

    // --- Which handshakes does wrk make? Count them on the server side, on probe instances.
    let probe = null;
    if (scen.some((s) => s.id === 'handshake')) {
      probe = {};
      for (const d of defs) {
        const p = await start(d, { BENCH_TLS_PROBE: '1' });
        try {
          // Counted before and after, so the start-up checks' own connections are left out.
          const before = await probeCounts(p);
          const r = await runWrk({ srv: p, url: urlOf(p), secs: PROBE_SECS, connections: CONNECTIONS, headers: ['Connection: close'], core: WRK_CORE, children });
          probe[d.name] = { ...countsSince(before, await probeCounts(p)), wrkRequests: r.requests, wrkErrors: r.errors };
        } finally {
          await stopChild(p.child);
          children.delete(p.child);
        }
        const c = probe[d.name];
        say(`probe ${d.name}: ${fmtInt(c.handshakes)} TLS handshakes in ${PROBE_SECS} s of wrk with Connection: close, ${fmtInt(c.resumed)} of them resumed (${Object.entries(c.versions).map(([v, n]) => `${v} ${fmtInt(n)}`).join(', ')})`);
      }
    }
    const handshakeKind = probe ? kindOf(probe) : null;
    if (handshakeKind) say(`handshakes measured: ${handshakeKind.text}`);

    // --- Warm-up (JIT), not recorded.
    for (const sc of scen) for (const s of servers) await run(s, sc, 1, children);
    say('warm-up done');

    // --- Rounds: per scenario, servers in an order rotated every round.
    const runs = {};
    const peak = {};
    for (const sc of scen) {
      runs[sc.id] = {};
      peak[sc.id] = {};
      for (const s of servers) {
        runs[sc.id][s.name] = [];
        peak[sc.id][s.name] = 0;
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const sc of scen) {
        for (let i = 0; i < servers.length; i++) {
          const s = servers[(i + round) % servers.length];
          const res = await measureQuietly({
            run: () => run(s, sc, duration, children),
            noise: (x) => x.otherCpu + x.steal,
            maxNoise,
            retries,
            onGiveUp: (x, noise, attempt) => say(`round ${round + 1}/${rounds} ${sc.id} ${s.name}: still ${pct(noise)} other load after ${attempt} retries, keeping it (flagged)`),
            onRetry: (x, noise) => say(`round ${round + 1}/${rounds} ${sc.id} ${s.name}: ${fmtInt(x.rps)} req/s but ${pct(noise)} of the machine busy elsewhere; retrying`),
          });
          runs[sc.id][s.name].push(res);
          peak[sc.id][s.name] = Math.max(peak[sc.id][s.name], res.peakRss);
          say(`round ${round + 1}/${rounds} ${sc.id.padEnd(9)} ${s.name.padEnd(10)} ${fmtInt(res.rps).padStart(8)} req/s  p50 ${fmtMs(res.p50)}  p99 ${fmtMs(res.p99)}  peak RSS ${mib(res.peakRss)}  CPU ${pct(res.serverCpu)}/${pct(res.wrkCpu)} other ${pct(res.otherCpu + res.steal)}${res.errors ? `  errors ${res.errors}` : ''}${res.non2xx ? `  non-2xx ${res.non2xx}` : ''}`);
        }
      }
    }

    // --- Summary.
    const summary = {
      date: new Date().toISOString(),
      machine: { ...machineInfo(), wrk: wrkVersion(), openssl, kernel: kernelRelease() },
      tslws: describeBuild(REPO, DIST),
      method: {
        duration, rounds, maxNoise, retries, connections: CONNECTIONS, wrkThreads: 1,
        serverCore: Number(SERVER_CORE), wrkCore: Number(WRK_CORE), file: FILE, fileBytes: data.length,
        certificate: cert.label, statistic: 'median over clean rounds (all rounds if none is clean); peak RSS: maximum',
      },
      tls: tlsSeen,
      sameTlsParameters: same,
      handshakeProbe: probe,
      handshakeKind: handshakeKind?.kind ?? null,
      results: {},
      ratios: {},
    };
    for (const sc of scen) {
      summary.results[sc.id] = {};
      for (const s of servers) {
        const all = runs[sc.id][s.name];
        const clean = all.filter((x) => !x.noisy);
        const rs = clean.length ? clean : all;
        const rps = median(rs.map((x) => x.rps));
        summary.results[sc.id][s.name] = {
          rps,
          p50ms: median(rs.map((x) => x.p50)),
          p99ms: median(rs.map((x) => x.p99)),
          // Little's law: with CONNECTIONS connections always open or opening, each lives this long on average.
          connectionCycleMs: sc.id === 'handshake' ? (CONNECTIONS / rps) * 1000 : null,
          // Server CPU per request: comparable even when wrk, not the server, sets the rate.
          serverCpuPerRequestUs: median(rs.map((x) => (x.serverCpu / x.rps) * 1e6)),
          peakRssKiB: peak[sc.id][s.name],
          idleRssKiB: s.idleRss,
          serverCpu: median(rs.map((x) => x.serverCpu)),
          wrkCpu: median(rs.map((x) => x.wrkCpu)),
          otherCpu: median(rs.map((x) => x.otherCpu)),
          steal: median(rs.map((x) => x.steal)),
          rpsRounds: all.map((x) => x.rps),
          noisyRoundsIndex: all.flatMap((x, i) => (x.noisy ? [i] : [])),
          errors: all.reduce((a, x) => a + x.errors, 0),
          non2xx: all.reduce((a, x) => a + x.non2xx, 0),
          retried: all.reduce((a, x) => a + x.retries, 0),
          noisyRounds: all.filter((x) => x.noisy).length,
        };
      }
      const [t, n] = [summary.results[sc.id].tslws, summary.results[sc.id]['node-https']];
      summary.ratios[sc.id] = { 'tslws/node-https': t.rps / n.rps, 'cpuPerRequest tslws/node-https': t.serverCpuPerRequestUs / n.serverCpuPerRequestUs };
    }

    await stopAll();
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else process.stdout.write(table(summary, scen));
    const bad = Object.values(summary.results).flatMap((o) => Object.values(o)).some((x) => x.errors || x.non2xx);
    if (bad) say('warning: some runs had socket errors or non-2xx responses (see the table)');
  } catch (e) {
    if (guard.interrupted) {
      await stopAll();
      process.exit(guard.interrupted);
    }
    say(`https: ${e instanceof Fatal ? e.message : e.stack ?? e}`);
    await stopAll();
    process.exit(1);
  }
}

const urlOf = (srv) => `https://127.0.0.1:${srv.port}/${FILE}`;

/** One wrk run of a scenario: -t1 -c50, wrk pinned to core 1. */
function run(srv, sc, secs, children) {
  return runWrk({ srv, url: urlOf(srv), secs, connections: CONNECTIONS, headers: sc.headers, core: WRK_CORE, children });
}

/**
 * GET /FILE with `Connection: close` on a new TLS connection (offering
 * `session` if given): the response must be 200 with exactly `expect` as
 * its body, and the server must then close the connection. Resolves with
 * what was negotiated and the session the server gave (for resumption).
 */
function closeRequest(srv, file, expect, session) {
  return new Promise((res, rej) => {
    const s = tls.connect({ host: '127.0.0.1', port: srv.port, servername: 'localhost', rejectUnauthorized: false, session });
    const chunks = [];
    let info = null;
    let newSession = null;
    const timer = setTimeout(() => {
      s.destroy();
      rej(new Fatal(`${srv.name} did not close the connection within 5 s of answering a Connection: close request`));
    }, 5000);
    s.once('secureConnect', () => {
      const peer = s.getPeerCertificate();
      const eph = s.getEphemeralKeyInfo();
      info = {
        version: s.getProtocol(),
        cipher: s.getCipher()?.name,
        group: eph && eph.name ? eph.name : eph?.type ?? 'none',
        certKey: peer?.asn1Curve ? `EC ${peer.nistCurve ?? peer.asn1Curve}` : peer?.bits ? `RSA ${peer.bits}` : 'unknown',
        resumed: s.isSessionReused(),
      };
      s.write(`GET /${file} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    s.on('session', (x) => (newSession = x));
    s.on('data', (c) => chunks.push(c));
    s.once('error', (e) => {
      clearTimeout(timer);
      rej(new Fatal(`${srv.name}: ${e.message} on a Connection: close request`));
    });
    s.once('end', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const at = all.indexOf('\r\n\r\n');
      const head = at < 0 ? '' : all.subarray(0, at).toString('latin1');
      const body = at < 0 ? Buffer.alloc(0) : all.subarray(at + 4);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      const len = /^content-length:\s*(\d+)/im.exec(head)?.[1];
      if (status !== '200') return rej(new Fatal(`${srv.name} answered ${status ?? 'nothing'} to a Connection: close request:\n${head}`));
      if (Number(len) !== expect.length || !body.equals(expect)) {
        return rej(new Fatal(`${srv.name} returned different bytes for /${file} with Connection: close (${body.length} bytes, expected ${expect.length})`));
      }
      // TLS 1.3 tickets may come after the handshake: give a late one a moment.
      setImmediate(() => res({ tls: info, session: newSession }));
    });
  });
}

/** Ask a probe instance for its counts (SIGUSR2, answered with one `tls-probe {...}` line). */
async function probeCounts(srv) {
  const seen = (srv.out.text.match(/tls-probe /g) ?? []).length;
  srv.child.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    const all = [...srv.out.text.matchAll(/tls-probe (\{.*\})\n/g)];
    if (all.length > seen) return JSON.parse(all[all.length - 1][1]);
    await sleep(20);
  }
  throw new Fatal(`${srv.name}: the TLS probe did not answer:\n${srv.out.text.trim()}`);
}

/** The probe's counts between two readings. */
function countsSince(a, b) {
  const diff = (x, y) => Object.fromEntries(Object.entries(y).map(([k, n]) => [k, n - (x[k] ?? 0)]).filter(([, n]) => n > 0));
  return { handshakes: b.handshakes - a.handshakes, resumed: b.resumed - a.resumed, versions: diff(a.versions, b.versions), ciphers: diff(a.ciphers, b.ciphers) };
}

/** Full, resumed or mixed handshakes, from the probe's counts on every server. */
function kindOf(probe) {
  const parts = Object.entries(probe).map(([n, c]) => `${fmtInt(c.resumed)} of ${fmtInt(c.handshakes)} resumed at ${n}`);
  const all = Object.values(probe);
  let kind;
  if (all.every((c) => c.resumed === 0)) kind = 'full';
  else if (all.every((c) => c.resumed >= c.handshakes - CONNECTIONS)) kind = 'resumed';
  else kind = 'mixed';
  const what = {
    full: 'full handshakes: wrk did not resume TLS sessions',
    resumed: 'resumed handshakes: wrk resumed its TLS session on every reconnection',
    mixed: 'a mix of full and resumed handshakes',
  }[kind];
  return { kind, text: `${what} (${parts.join(', ')} during a ${PROBE_SECS} s probe)` };
}

function table(sum, scen) {
  const L = [];
  const m = sum.machine;
  L.push('');
  L.push(`https: ${sum.date}, ${m.nproc} cores (${m.cpu}), node ${m.node}, ${m.wrk}, ${m.openssl}`);
  L.push(buildLine(REPO, sum.tslws) + ' (createContext, TLS vhost, FILE mount)');
  const t = Object.values(sum.tls)[0];
  L.push(`certificate ${sum.method.certificate} (self-signed, made at run time); negotiated ${sum.sameTlsParameters ? 'by both' : 'by the first (they differ!)'}: ${t.version} ${t.cipher}, key exchange ${t.group}`);
  L.push(`servers on core ${sum.method.serverCore}, wrk -t1 -c${sum.method.connections} on core ${sum.method.wrkCore}, ` +
    `${sum.method.rounds} rounds x ${sum.method.duration} s, medians; file ${sum.method.file} (${sum.method.fileBytes} bytes)`);
  L.push('');
  const head = ['scenario', 'server', 'req/s', 'rounds (req/s)', 'p50', 'p99', 'conn cycle', 'idle RSS', 'peak RSS', 'CPU srv/wrk', 'srv CPU/req', 'other'];
  const rows = [head];
  for (const sc of scen) {
    for (const [name, r] of Object.entries(sum.results[sc.id])) {
      rows.push([
        sc.label, name, fmtInt(r.rps), r.rpsRounds.map((x, i) => fmtInt(x) + (r.noisyRoundsIndex.includes(i) ? '*' : '')).join(' / '),
        fmtMs(r.p50ms), fmtMs(r.p99ms), r.connectionCycleMs === null ? '-' : fmtMs(r.connectionCycleMs),
        mib(r.idleRssKiB), mib(r.peakRssKiB) + (r.errors || r.non2xx ? ' !' : ''),
        `${pct(r.serverCpu)} / ${pct(r.wrkCpu)}`, `${Math.round(r.serverCpuPerRequestUs)} us`, pct(r.otherCpu + r.steal),
      ]);
    }
  }
  const right = new Set([2, 4, 5, 6, 7, 8, 9, 10, 11]);
  L.push(...alignTable(rows, (i) => right.has(i)));
  L.push('');
  for (const sc of scen) {
    const what = sc.id === 'handshake' ? 'handshakes/s' : 'requests/s';
    const q = sum.ratios[sc.id];
    L.push(`${sc.label}: tslws/node-https ${q['tslws/node-https'].toFixed(2)} (${what}), server CPU per request ${q['cpuPerRequest tslws/node-https'].toFixed(2)} (lower is better)`);
  }
  if (sum.handshakeKind) {
    const p = sum.handshakeProbe;
    L.push(`handshake per request: wrk -H 'Connection: close', every request on a new TCP + TLS connection; req/s = handshakes/s.`);
    L.push(`  Measured: ${kindOf(p).text}.`);
    L.push(`  Session resumption offered to the servers by a Node client: ${Object.entries(sum.tls).map(([n, x]) => `${n} ${x.resumesSessions ? 'resumes' : 'does not resume'}`).join(', ')}.`);
    L.push('  p50/p99 are wrk\'s: from writing the request to the end of the response, the handshake not included;');
    L.push(`  conn cycle = ${sum.method.connections} connections / rate, the mean life of one connection (connect, handshake, request, close).`);
  }
  L.push('CPU srv/wrk: share of one core used by the server process (all threads) / by wrk (wrk near 100% means the client');
  L.push('limits the rate: compare srv CPU/req, the server\'s CPU time per request, then); other: CPU used by');
  L.push(`anything else on the machine (plus steal) during the run, a noise gauge (runs above ${pct(sum.method.maxNoise)} are`);
  L.push(`retried up to ${sum.method.retries} times; a round still noisy after that is marked * and left out of the`);
  L.push('medians unless every round was noisy). Medians are taken per metric over the rounds; peak RSS is the maximum.');
  L.push('');
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Entry (last, so every declaration above is initialised)

if (process.argv[2] === '--serve') {
  const [kind, root, port, certFile, keyFile] = process.argv.slice(3);
  await serve(kind, root, Number(port), certFile, keyFile);
} else {
  await bench();
}
