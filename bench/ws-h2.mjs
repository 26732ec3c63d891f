#!/usr/bin/env node
/**
 * WebSockets over HTTP/2 (RFC 8441) against WebSockets over HTTP/1.1, same
 * server, same client code, same run: tslws's lws-test-echo pinned to core
 * 0, a Node load process pinned to core 1.
 *
 *   node bench/ws-h2.mjs [--duration SECS] [--rounds N] [--conns N] [--size BYTES]
 *                        [--inflight K] [--quick] [--json] [--max-noise PCT] [--retries N]
 *
 * Scenarios (each --conns WebSockets, default 100, each with --inflight
 * text messages of --size bytes in flight, default 1 of 64 B, echoed in a
 * closed loop; every echo is checked byte for byte):
 *   h2   one HTTP/2 connection (clear text, prior knowledge) carrying every
 *        WebSocket on its own stream: node:http2's client, extended CONNECT
 *   h1   one TCP connection per WebSocket, HTTP/1.1 upgrade on a raw socket
 * Both use the same framing code (masked client frames, a small parser),
 * so only the transport differs.
 *
 * Method: a warm-up run of each, then --rounds rounds (default 3) of both,
 * their order alternating; each run has a 1 s warm-up of its own, then
 * --duration seconds measured (default 5). Medians over rounds. A run
 * during which the rest of the machine used more than --max-noise percent
 * of one core (default 5) is repeated, up to --retries times (then kept,
 * flagged). --quick: 1 round of 1 s.
 *
 * The same file, run as `ws-h2.mjs --load MODE PORT CONNS SIZE INFLIGHT SECS`,
 * is the load process; it prints one JSON line.
 */
import { connect as netConnect } from 'node:net';
import { connect as h2connect } from 'node:http2';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');

// ---------------------------------------------------------------- the load process

function maskedText(payload) {
  const len = payload.length;
  const ext = len < 126 ? 0 : 2;
  const out = Buffer.allocUnsafe(2 + ext + 4 + len);
  out[0] = 0x81;
  out[1] = 0x80 | (ext ? 126 : len);
  if (ext) out.writeUInt16BE(len, 2);
  const key = randomBytes(4);
  key.copy(out, 2 + ext);
  for (let i = 0; i < len; i++) out[6 + ext + i] = payload[i] ^ key[i & 3];
  return out;
}

/** One WebSocket's echo loop over any duplex: frames out, frames parsed in, latencies recorded. */
class Echoer {
  constructor(stream, payload, inflight, stats) {
    this.stream = stream;
    this.payload = payload;
    this.inflight = inflight;
    this.stats = stats;
    this.buf = Buffer.alloc(0);
    this.sent = [];
  }

  start() {
    for (let i = 0; i < this.inflight; i++) this.send();
  }

  send() {
    this.sent.push(process.hrtime.bigint());
    this.stream.write(maskedText(this.payload));
  }

  data(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.buf.length < 2) return;
      let len = this.buf[1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        hl = 4;
      }
      if (this.buf.length < hl + len) return;
      const body = this.buf.subarray(hl, hl + len);
      this.buf = this.buf.subarray(hl + len);
      if (!body.equals(this.payload)) this.stats.errors++;
      const t0 = this.sent.shift();
      if (this.stats.measuring) {
        this.stats.msgs++;
        if (this.stats.lat.length < 200000) this.stats.lat.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      if (!this.stats.stopped) this.send();
    }
  }
}

async function openH1(port, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(new Promise((res, rej) => {
      const s = netConnect({ port, host: '127.0.0.1' });
      s.setNoDelay(true);
      let head = Buffer.alloc(0);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const e = head.indexOf('\r\n\r\n');
        if (e < 0) return;
        s.off('data', onData);
        if (!head.subarray(0, 12).toString().includes('101')) return rej(new Error(`no 101: ${head.toString().split('\r\n')[0]}`));
        res({ stream: s, rest: head.subarray(e + 4) });
      };
      s.on('data', onData);
      s.once('error', rej);
      s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: lws-echo\r\n\r\n');
    }));
  }
  return Promise.all(out);
}

async function openH2(port, n) {
  const session = h2connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1 << 20 } });
  await new Promise((res, rej) => {
    session.once('remoteSettings', res);
    session.once('error', rej);
  });
  if (!session.remoteSettings.enableConnectProtocol) throw new Error('the server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL');
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(new Promise((res, rej) => {
      const st = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/', ':authority': `127.0.0.1:${port}`,
        'sec-websocket-version': '13', 'sec-websocket-protocol': 'lws-echo' });
      st.once('response', (h) => (h[':status'] === 200 ? res({ stream: st, rest: Buffer.alloc(0) }) : rej(new Error(`status ${h[':status']}`))));
      st.once('error', rej);
    }));
  }
  return { session, conns: await Promise.all(out) };
}

async function load(mode, port, conns, size, inflight, secs) {
  const payload = Buffer.alloc(size, 0x61);
  const stats = { msgs: 0, errors: 0, lat: [], measuring: false, stopped: false };
  let session = null;
  let opened;
  if (mode === 'h2') ({ session, conns: opened } = await openH2(port, conns));
  else opened = await openH1(port, conns);
  const echoers = opened.map(({ stream, rest }) => {
    const e = new Echoer(stream, payload, inflight, stats);
    stream.on('data', (d) => e.data(d));
    stream.on('error', () => stats.errors++);
    if (rest.length) e.data(rest);
    return e;
  });
  for (const e of echoers) e.start();
  await new Promise((r) => setTimeout(r, 1000));
  stats.measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, secs * 1000));
  stats.measuring = false;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  stats.stopped = true;
  const lat = stats.lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0);
  process.stdout.write(JSON.stringify({ mode, msgsPerSec: stats.msgs / wall, errors: stats.errors, p50Us: q(0.5), p99Us: q(0.99) }) + '\n');
  for (const { stream } of opened) stream.destroy();
  session?.destroy();
  setTimeout(() => process.exit(0), 100).unref();
}

// ---------------------------------------------------------------- the benchmark

async function main() {
  const { Fatal, guardChildren, hardFdLimit, sleep } = await import('./lib/proc.mjs');
  const { CLK_TCK, cpuTicks } = await import('./lib/procfs.mjs');
  const { LOAD_CORE, SERVER_CORE, measureQuiet, startServer, sysBusy } = await import('./lib/wsload.mjs');
  const { alignTable, buildLine, describeBuild, fmtInt, fmtUs, machineInfo, median, pct } = await import('./lib/report.mjs');
  const { values: o } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, conns: { type: 'string', default: '100' },
      size: { type: 'string', default: '64' }, inflight: { type: 'string', default: '1' }, quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false }, 'max-noise': { type: 'string', default: '5' }, retries: { type: 'string', default: '5' },
      help: { type: 'boolean', default: false },
    },
  });
  if (o.help) {
    process.stdout.write(SELF.slice(REPO.length + 1) + ': see the comment at its top\n');
    return;
  }
  const secs = o.quick ? 1 : Number(o.duration);
  const rounds = o.quick ? 1 : Number(o.rounds);
  const [conns, size, inflight] = [Number(o.conns), Number(o.size), Number(o.inflight)];
  if (!(size > 0 && size < 65536)) throw new Fatal('--size must be 1..65535 bytes');
  const say = (m) => process.stderr.write(`ws-h2: ${m}\n`);
  const guard = guardChildren('ws-h2');
  const ctx = { children: guard.children, hardFd: Number(hardFdLimit()) || 1024 };
  const bin = join(REPO, 'dist/src/bin/lws-test-echo.js');
  try {
    const srv = await startServer('tslws', { args: [bin, '-i', '127.0.0.1', '--rx-buffer-size', '65536', '-p'], env: {} }, ctx);
    const run = (mode) => new Promise((res, rej) => {
      const w = spawn('taskset', ['-c', LOAD_CORE, process.execPath, SELF, '--load', mode, srv.port, conns, size, inflight, secs],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      ctx.children.add(w);
      let out = '';
      let err = '';
      w.stdout.on('data', (d) => (out += d));
      w.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
      const s0 = cpuTicks(srv.pid);
      const me0 = cpuTicks(process.pid);
      const b0 = sysBusy();
      const t0 = process.hrtime.bigint();
      let loadTicks = 0;
      const sampler = setInterval(() => (loadTicks = cpuTicks(w.pid) || loadTicks), 100);
      const limit = setTimeout(() => w.kill('SIGKILL'), (secs + 60) * 1000);
      w.once('exit', (code) => {
        clearInterval(sampler);
        clearTimeout(limit);
        ctx.children.delete(w);
        const wall = Number(process.hrtime.bigint() - t0) / 1e9;
        const srvTicks = cpuTicks(srv.pid) - s0;
        let j;
        try {
          j = JSON.parse(out.trim().split('\n').pop());
        } catch {
          return rej(new Fatal(`load ${mode} exited ${code} without a result:\n${err.trim()}`));
        }
        if (j.errors) return rej(new Fatal(`load ${mode}: ${j.errors} bad or failed echoes`));
        // CPU over the whole process life (connect + warm-up + run): shares, not absolute costs.
        j.serverCpu = srvTicks / CLK_TCK / wall;
        j.loadCpu = loadTicks / CLK_TCK / wall;
        j.otherCpu = Math.max(0, sysBusy() - b0 - srvTicks - loadTicks - (cpuTicks(process.pid) - me0)) / CLK_TCK / wall;
        res(j);
      });
    });
    const measure = (mode) => measureQuiet(() => run(mode), { say, maxNoise: Number(o['max-noise']) / 100, retries: Number(o.retries), what: mode });
    say(`warm-up: ${conns} WebSockets each way`);
    await run('h2');
    await run('h1');
    const results = { h2: [], h1: [] };
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 ? ['h1', 'h2'] : ['h2', 'h1']) {
        const j = await measure(mode);
        say(`round ${r + 1} ${mode}: ${fmtInt(j.msgsPerSec)} msg/s, p50 ${fmtUs(j.p50Us)}, p99 ${fmtUs(j.p99Us)}, server ${pct(j.serverCpu)}, other ${pct(j.otherCpu)}${j.noisy ? ' *' : ''}`);
        results[mode].push(j);
        await sleep(200);
      }
    }
    const sum = {};
    for (const [mode, list] of Object.entries(results)) {
      sum[mode] = {
        msgsPerSec: median(list.map((x) => x.msgsPerSec)), p50Us: median(list.map((x) => x.p50Us)), p99Us: median(list.map((x) => x.p99Us)),
        serverCpu: median(list.map((x) => x.serverCpu)), noisy: list.some((x) => x.noisy),
      };
    }
    if (o.json) {
      process.stdout.write(JSON.stringify({ conns, size, inflight, secs, rounds, results: sum }, null, 1) + '\n');
      return;
    }
    const rows = [['transport', 'msg/s', 'p50', 'p99', 'server CPU']];
    for (const [mode, label] of [['h2', `HTTP/2: 1 connection, ${conns} streams`], ['h1', `HTTP/1.1: ${conns} connections`]]) {
      const x = sum[mode];
      rows.push([label + (x.noisy ? ' *' : ''), fmtInt(x.msgsPerSec), fmtUs(x.p50Us), fmtUs(x.p99Us), pct(x.serverCpu)]);
    }
    process.stdout.write(`WebSocket echo, ${conns} WebSockets x ${inflight} x ${size} B text, ${rounds} x ${secs} s, medians\n`);
    process.stdout.write(alignTable(rows, (i) => i > 0).join('\n') + '\n');
    const m = machineInfo();
    process.stdout.write(`${m.nproc} cores (${m.cpu}), node ${m.node}\n${buildLine(REPO, describeBuild(REPO, bin))}\n`);
  } finally {
    await guard.stopAll();
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--load') {
  const [mode, port, conns, size, inflight, secs] = argv.slice(1);
  load(mode, Number(port), Number(conns), Number(size), Number(inflight), Number(secs)).catch((e) => {
    process.stderr.write(`load: ${e.stack ?? e}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`ws-h2: ${e.message}\n`);
    process.exit(1);
  });
}
