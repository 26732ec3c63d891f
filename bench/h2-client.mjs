#!/usr/bin/env node
/**
 * HTTP/2 client benchmark: tslws's client (clientConnect with http2
 * 'require') against node:http2's client and undici's (`allowH2: true`),
 * GETs over ONE TLS connection with N streams in flight, from the same
 * node:http2 server in the same run.
 *
 *   node bench/h2-client.mjs [1k|1m ...] [--duration SECS] [--rounds N] [--streams N] [--quick]
 *                            [--clients LIST] [--json]
 *
 * Server: node:http2's core API in its own process pinned to core 0
 * (`taskset -c 0`), TLS (ALPN h2) with a self-signed certificate, answering
 * /1k.txt (1 KiB) and /1m.bin (1 MiB) from Buffers made at startup. It
 * counts the sessions and streams it served; after each client run the
 * benchmark checks that the client used exactly one connection and that
 * the server served at least the requests the client counted (so each
 * client really spoke HTTP/2, multiplexed).
 *
 * Clients, each run as its own process pinned to core 1, keep --streams
 * requests in flight on one connection for 1 s of warm-up and then
 * --duration seconds, reading every body byte:
 *   tslws       context.clientConnect({ method: 'GET', http2: 'require', ssl }):
 *               a new request (a stream) as each one closes
 *   node-http2  http2.connect(): session.request() as each stream ends
 *   undici      new Client(url, { allowH2: true, pipelining: N }): N loops of
 *               `await client.request()` reading the body
 * Reported per file and client: requests/s, body MiB/s, and the client
 * process's CPU time per request (user + system, from process.cpuUsage over
 * the measured window). --rounds rounds with the clients' order rotating;
 * medians. A client error or a wrong body length fails the run.
 *
 * The same file runs the server (`--serve PORT CERT KEY`) and the clients
 * (`--client NAME PORT PATH STREAMS SECS BYTES`).
 */
import http2 from 'node:http2';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Fatal, freePort, guardChildren, sleep, spawnPinned, tail } from './lib/proc.mjs';
import { makeCert } from './lib/certs.mjs';
import { alignTable, describeBuild, buildLine, fmtInt, machineInfo, median, repoOf } from './lib/report.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const TSLWS_INDEX = join(REPO, 'dist/src/index.js');
const SERVER_CORE = '0';
const CLIENT_CORE = '1';
const WARMUP_SECS = 1;
const FILES = [
  { id: '1k', path: '/1k.txt', label: '1 KiB', bytes: 1024 },
  { id: '1m', path: '/1m.bin', label: '1 MiB', bytes: 1024 * 1024 },
];
const CLIENTS = ['tslws', 'node-http2', 'undici'];

// ---- the server ----

async function serve(port, certFile, keyFile) {
  const bodies = new Map(FILES.map((f) => [f.path, Buffer.alloc(f.bytes, 0x61)]));
  const stats = { sessions: 0, streams: 0 };
  const server = http2.createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  server.on('session', () => stats.sessions++);
  server.on('stream', (s, h) => {
    stats.streams++;
    s.on('error', () => {});
    const b = bodies.get(h[':path']);
    if (!b) {
      s.respond({ ':status': 404 });
      s.end();
      return;
    }
    s.respond({ ':status': 200, 'content-length': String(b.length) });
    s.end(b);
  });
  server.on('sessionError', () => {});
  process.on('SIGUSR2', () => process.stdout.write(JSON.stringify(stats) + '\n'));
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  process.stdout.write('listening\n');
}

// ---- the clients ----

async function client(name, port, path, streams, secs, bytesEach) {
  const st = { requests: 0, bytes: 0, errors: 0, wrong: 0 };
  let counting = false;
  let stop = false;
  const got = (n) => {
    if (counting) st.bytes += n;
  };
  const finished = (len) => {
    if (len !== bytesEach) st.wrong++;
    if (counting) st.requests++;
  };
  const url = `https://127.0.0.1:${port}`;
  let close = async () => {};
  if (name === 'tslws') {
    const { createContext, Reason } = await import(pathToFileURL(TSLWS_INDEX).href);
    const ssl = { allowSelfSigned: true, skipHostnameCheck: true };
    let ctx;
    const next = () => {
      if (!stop) ctx.clientConnect({ address: '127.0.0.1', port, path, method: 'GET', http2: 'require', ssl, connectTimeoutSecs: 30, userdata: { n: 0 } });
    };
    ctx = createContext({
      protocols: [{
        name: 'bench',
        callback(wsi, reason, user) {
          switch (reason) {
            case Reason.RECEIVE_CLIENT_HTTP: {
              const n = wsi.httpClientRead().length;
              user.n += n;
              got(n);
              break;
            }
            case Reason.COMPLETED_CLIENT_HTTP:
              finished(user.n);
              break;
            case Reason.CLOSED_CLIENT_HTTP:
              next();
              break;
            case Reason.CLIENT_CONNECTION_ERROR:
              st.errors++;
              next();
              break;
          }
          return 0;
        },
      }],
    });
    for (let i = 0; i < streams; i++) next();
    close = () => ctx.destroy();
  } else if (name === 'node-http2') {
    const s = http2.connect(url, { rejectUnauthorized: false });
    s.on('error', () => st.errors++);
    const next = () => {
      if (stop) return;
      const r = s.request({ ':path': path });
      let n = 0;
      r.on('data', (d) => {
        n += d.length;
        got(d.length);
      });
      r.on('end', () => {
        finished(n);
        next();
      });
      r.on('error', () => {
        st.errors++;
        next();
      });
      r.end();
    };
    for (let i = 0; i < streams; i++) next();
    close = async () => s.close();
  } else if (name === 'undici') {
    const { Client } = await import('undici');
    const c = new Client(url, { allowH2: true, pipelining: streams, connect: { rejectUnauthorized: false } });
    const loop = async () => {
      while (!stop) {
        try {
          const { body } = await c.request({ path, method: 'GET' });
          let n = 0;
          for await (const chunk of body) {
            n += chunk.length;
            got(chunk.length);
          }
          finished(n);
        } catch {
          st.errors++;
        }
      }
    };
    for (let i = 0; i < streams; i++) void loop();
    close = () => c.close().catch(() => {});
  } else throw new Fatal(`unknown client ${name}`);
  await sleep(WARMUP_SECS * 1000);
  counting = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(secs * 1000);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  counting = false;
  stop = true;
  process.stdout.write(JSON.stringify({ ...st, elapsed, cpuUs: cpu.user + cpu.system }) + '\n');
  await Promise.race([close(), sleep(2000)]);
  process.exit(0);
}

// ---- the benchmark ----

function lines(child) {
  const out = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return out;
}

async function waitLine(out, pred, ms, what, child) {
  const end = Date.now() + ms;
  for (;;) {
    const l = out.find(pred);
    if (l !== undefined) return l;
    if (Date.now() > end) throw new Fatal(`${what}: no answer in ${ms} ms\n${tail(child)}`);
    await sleep(20);
  }
}

async function main() {
  const { values: o, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      streams: { type: 'string', default: '10' },
      clients: { type: 'string', default: CLIENTS.join(',') },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (o.help) {
    process.stdout.write('usage: h2-client.mjs [1k|1m ...] [--duration SECS (5)] [--rounds N (3)] [--streams N (10)] [--clients LIST] [--quick] [--json]\n');
    return;
  }
  const secs = o.quick ? 1 : Number(o.duration);
  const rounds = o.quick ? 1 : Number(o.rounds);
  const streams = Number(o.streams);
  const wanted = [...positionals, ...(o.only ? o.only.split(',') : [])];
  const files = wanted.length ? FILES.filter((f) => wanted.includes(f.id)) : FILES;
  const clients = o.clients.split(',');
  for (const c of clients) if (!CLIENTS.includes(c)) throw new Fatal(`unknown client ${c} (${CLIENTS.join(', ')})`);
  if (!files.length) throw new Fatal(`no file among ${wanted.join(', ')} (1k, 1m)`);
  const dir = mkdtempSync(join(tmpdir(), 'tslws-h2c-bench-'));
  const guard = guardChildren('h2-client', { cleanup: () => rmSync(dir, { recursive: true, force: true }) });
  const track = (c) => {
    guard.children.add(c);
    c.once('exit', () => guard.children.delete(c));
    return c;
  };
  const cert = makeCert(dir, 'server');
  const port = await freePort();
  const server = track(spawnPinned(SERVER_CORE, [process.execPath, SELF, '--serve', port, cert.certFile, cert.keyFile]));
  const serverOut = lines(server);
  await waitLine(serverOut, (l) => l === 'listening', 5000, 'the server', server);
  let statsSeen = 0;
  const serverStats = async () => {
    server.kill('SIGUSR2');
    const want = statsSeen + 1;
    await waitLine(serverOut, () => serverOut.filter((l) => l.startsWith('{')).length >= want, 5000, 'server stats', server);
    statsSeen = want;
    return JSON.parse(serverOut.filter((l) => l.startsWith('{'))[want - 1]);
  };
  const results = new Map(); // `${file}|${client}` → runs
  let before = await serverStats();
  for (let r = 0; r < rounds; r++) {
    for (const f of files) {
      const order = clients.map((_, i) => clients[(i + r) % clients.length]);
      for (const c of order) {
        process.stderr.write(`round ${r + 1}/${rounds}: ${c} GET ${f.path} x${streams} streams, ${secs} s\n`);
        const child = track(spawnPinned(CLIENT_CORE, [process.execPath, SELF, '--client', c, port, f.path, streams, secs, f.bytes]));
        const out = lines(child);
        const line = await waitLine(out, (l) => l.startsWith('{'), (WARMUP_SECS + secs + 30) * 1000, `client ${c}`, child);
        await new Promise((res) => (child.exitCode !== null ? res() : child.once('exit', res)));
        const run = JSON.parse(line);
        const after = await serverStats();
        const sessions = after.sessions - before.sessions;
        const served = after.streams - before.streams;
        before = after;
        if (run.errors || run.wrong) throw new Fatal(`${c} ${f.path}: ${run.errors} errors, ${run.wrong} bodies of the wrong length`);
        if (sessions !== 1) throw new Fatal(`${c} ${f.path}: the server saw ${sessions} connections, not one`);
        if (served < run.requests) throw new Fatal(`${c} ${f.path}: the server served ${served} streams, the client counted ${run.requests}`);
        const key = `${f.id}|${c}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push({ rps: run.requests / run.elapsed, mibps: run.bytes / run.elapsed / 2 ** 20, cpuUsPerReq: run.cpuUs / Math.max(1, run.requests) });
      }
    }
  }
  await guard.stopAll();
  const summary = [];
  for (const f of files) for (const c of clients) {
    const runs = results.get(`${f.id}|${c}`);
    summary.push({ file: f.label, client: c, streams, rps: median(runs.map((x) => x.rps)), mibps: median(runs.map((x) => x.mibps)), cpuUsPerReq: median(runs.map((x) => x.cpuUsPerReq)) });
  }
  const build = describeBuild(repoOf(TSLWS_INDEX), TSLWS_INDEX);
  if (o.json) {
    process.stdout.write(JSON.stringify({ machine: machineInfo(), build, duration: secs, rounds, results: summary }, null, 2) + '\n');
    return;
  }
  const m = machineInfo();
  process.stdout.write(`HTTP/2 client: GETs over one TLS connection, ${streams} streams in flight; node:http2 server on core ${SERVER_CORE}, client on core ${CLIENT_CORE}\n`);
  process.stdout.write(`${m.cpu}, ${m.nproc} cores, Node ${m.node}; ${buildLine(REPO, build)}; ${rounds} round(s) x ${secs} s, medians\n\n`);
  const rows = [['file', 'client', 'req/s', 'MiB/s', 'client CPU/req']];
  for (const s of summary) rows.push([s.file, s.client, fmtInt(s.rps), s.mibps.toFixed(1), `${Math.round(s.cpuUsPerReq)} us`]);
  process.stdout.write(alignTable(rows, (i) => i >= 2).join('\n') + '\n');
}

const argv = process.argv.slice(2);
try {
  if (argv[0] === '--serve') await serve(Number(argv[1]), argv[2], argv[3]);
  else if (argv[0] === '--client') await client(argv[1], Number(argv[2]), argv[3], Number(argv[4]), Number(argv[5]), Number(argv[6]));
  else await main();
} catch (e) {
  process.stderr.write(`h2-client: ${e instanceof Fatal ? e.message : e.stack}\n`);
  process.exit(1);
}
