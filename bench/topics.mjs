#!/usr/bin/env node
/**
 * Topics: one publisher to many subscribers. tslws's `vhost.publish` (the
 * frame built once, shared by every subscriber's queue) against `ws` with
 * `for (const c of clients) c.send(msg)`, in the same run, with the same
 * subscriber process; then the latency of a publish from one tslws process
 * to a subscriber of another through Redis.
 *
 *   node bench/topics.mjs [--quick] [--json] [--only ID,...] [--servers tslws,ws]
 *                         [--latency-samples N] [--no-redis]
 *   node bench/topics.mjs --memory [--conns N] [--rounds N] [--quick] [--json]
 *
 * Fan-out cases: fan-1k-64, fan-10k-64, fan-1k-4k, fan-10k-4k (subscribers,
 * message size). The server (a child pinned to core 0) and the subscribers
 * (one Node process holding every connection, raw sockets, pinned to core
 * 1; open-file limits raised) are separate processes; this driver tells
 * them what to do over IPC. The publisher keeps at most WINDOW messages
 * per subscriber unacknowledged (the subscriber process reports what it
 * counted; 64 for 64 B, 16 for 4 KiB), so neither server queues without
 * bound: tslws's queue bounds are never reached and `ws`'s buffers stay
 * bounded too.
 *
 * Figures: deliveries per second (messages × subscribers / time from the
 * first publish to the last message counted) and the server's CPU time
 * per delivery (/proc, user + system, over the same span).
 *
 * Memory (--memory): server RSS per idle WebSocket with --conns (10,000)
 * connections each subscribed to one topic (all the same topic; each its
 * own), against as many not subscribed, read as ws-echo.mjs idle does
 * (warm, baseline, open, 2 s settle, median of 5 samples); fresh servers
 * of the same build, in rotating order, --rounds times; medians.
 *
 * Latency: redis-server (Debian's, on a free port), two tslws processes
 * with the Redis bus attached; a client of the first sends a command that
 * publishes a message stamped with the monotonic clock, a client of the
 * second receives it: p50 / p99 over --latency-samples publishes, one at
 * a time, after a warm-up.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { Fatal, freePort, guardChildren, hardFdLimit, sleep, spawnPinned, tail } from './lib/proc.mjs';
import { cpuTicks, CLK_TCK, rssKiB } from './lib/procfs.mjs';
import { alignTable, fmtInt, machineInfo, median } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(here);
const SELF = fileURLToPath(import.meta.url);
/** Messages per subscriber the publisher may be ahead of what was counted: 64 for small messages, 16 for 4 KiB. */
const windowFor = (size) => (size <= 256 ? 64 : 16);
const TOPIC = 'bench';

// ---------------------------------------------------------------- server
async function serve(kind, port) {
  const clients = new Set();
  let publish;
  if (kind === 'ws') {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false });
    wss.on('connection', (c) => {
      clients.add(c);
      c.on('close', () => clients.delete(c));
    });
    await new Promise((r) => wss.on('listening', r));
    publish = (msg) => {
      for (const c of clients) c.send(msg);
    };
  } else {
    // tslws: every connection on one topic; tslws-own: each on a topic of its own; tslws-plain: none subscribed.
    const { createContext, Reason } = await import(pathToFileURL(join(ROOT, 'dist/src/index.js')).href);
    let established = 0;
    const ctx = createContext({
      port, iface: '127.0.0.1', maxConnections: 30000,
      topics: { maxQueueMessages: 4 * windowFor(0), maxQueueBytes: 64 << 20 },
      protocols: [{
        name: 'sub',
        callback(wsi, reason) {
          if (reason === Reason.ESTABLISHED) {
            established++;
            if (kind === 'tslws') wsi.subscribe(TOPIC);
            else if (kind === 'tslws-own') wsi.subscribe(`${TOPIC}-${established}`);
          } else if (reason === Reason.CLOSED) established--;
          return 0;
        },
      }],
    });
    await ctx.listening;
    const vh = ctx.vhosts[0];
    publish = (msg) => vh.publish(TOPIC, msg);
    clients.size0 = () => (kind === 'tslws' ? vh.subscriberCount(TOPIC) : established);
  }
  const count = () => (clients.size0 ? clients.size0() : clients.size);
  process.on('message', (m) => {
    if (m.cmd === 'count') process.send({ count: count() });
    else if (m.cmd === 'publish') {
      const msg = Buffer.alloc(m.size, 0x61);
      for (let i = 0; i < m.n; i++) publish(msg);
      process.send({ published: m.n });
    }
  });
  process.send({ ready: port });
}

// ---------------------------------------------------------------- subscribers
/** `n` raw WebSocket connections; counts whole messages received (server frames: unmasked, FIN). */
async function subscribers(port, n) {
  let total = 0;
  let open = 0;
  const socks = [];
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const req = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sub\r\n\r\n`;
  const one = () => new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let head = true;
    let buf = Buffer.alloc(0);
    s.on('connect', () => s.write(req));
    s.on('error', reject);
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (head) {
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        if (!/^HTTP\/1\.1 101/.test(buf.toString('latin1', 0, 12))) return reject(new Error(buf.toString('latin1', 0, e)));
        head = false;
        open++;
        buf = buf.subarray(e + 4);
        resolve();
      }
      let off = 0;
      while (buf.length - off >= 2) {
        const l7 = buf[off + 1] & 0x7f;
        let hl = 2;
        let len = l7;
        if (l7 === 126) {
          if (buf.length - off < 4) break;
          len = buf.readUInt16BE(off + 2);
          hl = 4;
        } else if (l7 === 127) {
          if (buf.length - off < 10) break;
          len = Number(buf.readBigUInt64BE(off + 2));
          hl = 10;
        }
        if (buf.length - off < hl + len) break;
        if ((buf[off] & 0x0f) !== 0) total++;
        off += hl + len;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    });
    socks.push(s);
  });
  // Connect in batches: the listen backlog is finite.
  for (let i = 0; i < n; i += 200) await Promise.all(Array.from({ length: Math.min(200, n - i) }, one));
  process.on('message', (m) => {
    if (m.cmd === 'total') process.send({ total, open });
    else if (m.cmd === 'close') {
      for (const s of socks) s.destroy();
      process.send({ closed: true });
    }
  });
  process.send({ connected: open });
}

// ---------------------------------------------------------------- driver helpers
function ask(child, msg, key, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.off('message', on);
      reject(new Fatal(`no ${key} from a child within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m) => {
      if (m && key in m) {
        clearTimeout(t);
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    if (msg) child.send(msg);
  });
}

/** A child running this file in a mode, pinned with taskset and an open-file limit, with an IPC channel. */
function forkPinned(core, args, fdLimit) {
  // fork() cannot pin or raise limits: a shell does both, then execs node with the IPC channel inherited.
  const c = spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec taskset -c ${core} "$@"`, 'sh', process.execPath, SELF, ...args.map(String)],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  c.out = tail(c);
  return c;
}

async function fanOut(guard, kind, subs, size, messages) {
  const port = await freePort();
  const fd = Math.max(4096, subs + 1024);
  const server = forkPinned(0, ['--serve', kind, port], fd);
  guard.children.add(server);
  await ask(server, null, 'ready', 15_000).catch((e) => { throw new Fatal(`${kind} did not start: ${e.message}; ${server.out.text}`); });
  const client = forkPinned(1, ['--subscribers', port, subs], fd);
  guard.children.add(client);
  await ask(client, null, 'connected', 120_000).catch((e) => { throw new Fatal(`subscribers did not connect: ${e.message}; ${client.out.text}`); });
  for (let i = 0; i < 100; i++) {
    if ((await ask(server, { cmd: 'count' }, 'count')).count >= subs) break;
    await sleep(50);
  }
  const cpu0 = cpuTicks(server.pid);
  const t0 = process.hrtime.bigint();
  let sent = 0;
  const WINDOW = windowFor(size);
  const batch = WINDOW / 2;
  while (sent < messages) {
    const n = Math.min(batch, messages - sent);
    await ask(server, { cmd: 'publish', n, size }, 'published');
    sent += n;
    // Keep at most WINDOW messages unacknowledged per subscriber.
    const need = (sent - WINDOW / 2) * subs;
    for (;;) {
      const { total } = await ask(client, { cmd: 'total' }, 'total');
      if (total >= need) break;
      await sleep(1);
    }
  }
  for (;;) {
    const { total } = await ask(client, { cmd: 'total' }, 'total');
    if (total >= messages * subs) break;
    await sleep(1);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = (cpuTicks(server.pid) - cpu0) / CLK_TCK;
  await ask(client, { cmd: 'close' }, 'closed').catch(() => {});
  for (const c of [client, server]) {
    guard.children.delete(c);
    c.kill('SIGKILL');
  }
  const deliveries = messages * subs;
  return { deliveries, secs, perSec: deliveries / secs, cpuNsPerDelivery: (cpu * 1e9) / deliveries };
}

// ---------------------------------------------------------------- memory per subscriber
/**
 * Server RSS per idle connection, as ws-echo.mjs idle reads it: a fresh
 * server, 200 connections opened and closed to warm it, RSS read, `conns`
 * connections opened (each subscribed, or not, by the server kind), 2 s to
 * settle, the median of 5 samples 200 ms apart.
 */
async function memory(guard, kind, conns) {
  const port = await freePort();
  const fd = Math.max(4096, conns + 1024);
  const server = forkPinned(0, ['--serve', kind, port], fd);
  guard.children.add(server);
  const stop = (c) => {
    guard.children.delete(c);
    c.kill('SIGKILL');
  };
  try {
    await ask(server, null, 'ready', 15_000).catch((e) => { throw new Fatal(`${kind} did not start: ${e.message}; ${server.out.text}`); });
    const open = async (n) => {
      const c = forkPinned(1, ['--subscribers', port, n], fd);
      guard.children.add(c);
      await ask(c, null, 'connected', 120_000).catch((e) => { throw new Fatal(`subscribers did not connect: ${e.message}; ${c.out.text}`); });
      for (let i = 0; i < 200; i++) {
        if ((await ask(server, { cmd: 'count' }, 'count')).count >= n) return c;
        await sleep(50);
      }
      throw new Fatal(`${kind}: ${n} connections did not all reach the server`);
    };
    const warm = await open(200);
    await ask(warm, { cmd: 'close' }, 'closed');
    stop(warm);
    await sleep(1000);
    const rss0 = rssKiB(server.pid);
    const held = await open(conns);
    await sleep(2000);
    const samples = [];
    for (let i = 0; i < 5; i++) {
      samples.push(rssKiB(server.pid));
      await sleep(200);
    }
    const rss1 = median(samples);
    stop(held);
    return { rss0, rss1, kbPerConn: ((rss1 - rss0) * 1024) / conns / 1000 };
  } finally {
    stop(server);
  }
}

const MEMORY_KINDS = [
  { kind: 'tslws-plain', label: 'not subscribed' },
  { kind: 'tslws', label: 'all on one topic' },
  { kind: 'tslws-own', label: 'each on a topic of its own' },
];

async function memoryRuns(guard, conns, rounds) {
  const runs = new Map(MEMORY_KINDS.map((k) => [k.kind, []]));
  for (let r = 0; r < rounds; r++) {
    // The order rotates, so a drift of the machine does not favour one kind.
    for (let i = 0; i < MEMORY_KINDS.length; i++) {
      const k = MEMORY_KINDS[(i + r) % MEMORY_KINDS.length];
      process.stderr.write(`topics: memory ${k.kind} ${conns} connections, round ${r + 1}/${rounds}\n`);
      runs.get(k.kind).push(await memory(guard, k.kind, conns));
    }
  }
  const plain = median(runs.get('tslws-plain').map((x) => x.kbPerConn));
  return MEMORY_KINDS.map((k) => {
    const rs = runs.get(k.kind);
    const kb = median(rs.map((x) => x.kbPerConn));
    return {
      kind: k.kind, label: k.label, conns, rounds,
      rssBeforeKiB: median(rs.map((x) => x.rss0)), rssAfterKiB: median(rs.map((x) => x.rss1)),
      kbPerConn: kb, kbOverPlain: kb - plain, all: rs.map((x) => x.kbPerConn),
    };
  });
}

// ---------------------------------------------------------------- latency through Redis
const LATENCY_SERVER = `
import { createContext, Reason, Write } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/index.js')).href)};
import { createRedisTopicBus, attachRedisTopicBus } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/redis/index.js')).href)};
const [url, node, port] = process.argv.slice(2);
const bus = await createRedisTopicBus({ url, node });
const ctx = createContext({ port: Number(port), iface: '127.0.0.1', protocols: [{ name: 'l', callback(wsi, reason, _p, input) {
  if (reason === Reason.ESTABLISHED) wsi.subscribe('lat');
  if (reason === Reason.RECEIVE) wsi.vhost.publish('lat', Buffer.from(input));
  return 0;
} }] });
attachRedisTopicBus(ctx, bus);
await ctx.listening;
await bus.whenConnected(5000);
console.log('ready');
`;

async function latency(guard, samples) {
  const REDIS = '/usr/bin/redis-server';
  if (!existsSync(REDIS)) throw new Fatal(`${REDIS} is missing (apt-get install redis-server): the latency through Redis is not measured`);
  const { WebSocket } = await import('ws');
  const rport = await freePort();
  const redis = spawn(REDIS, ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  guard.children.add(redis);
  await sleep(300);
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'tslws-bench-topics-')), 'lat.mjs');
  writeFileSync(file, LATENCY_SERVER);
  const ports = [await freePort(), await freePort()];
  const servers = ports.map((p, i) => {
    const c = spawnPinned(i, [process.execPath, file, `redis://127.0.0.1:${rport}`, `n${i}`, p]);
    c.out = tail(c);
    guard.children.add(c);
    return c;
  });
  for (const s of servers) {
    const end = Date.now() + 10_000;
    while (!/ready/.test(s.out.text)) {
      if (Date.now() > end) throw new Fatal(`latency server did not start: ${s.out.text}`);
      await sleep(20);
    }
  }
  const open = (p) => new Promise((res, rej) => {
    const ws = new WebSocket(`ws://127.0.0.1:${p}/`, 'l');
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
  const pub = await open(ports[0]);
  const sub = await open(ports[1]);
  await sleep(300);
  const times = [];
  for (let i = 0; i < samples + 50; i++) {
    const t0 = process.hrtime.bigint();
    const got = new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Fatal('a publish did not arrive through Redis within 5 s')), 5000);
      sub.once('message', () => {
        clearTimeout(t);
        res();
      });
    });
    pub.send(String(i));
    await got;
    if (i >= 50) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  pub.close();
  sub.close();
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  for (const c of [...servers, redis]) {
    guard.children.delete(c);
    c.kill('SIGKILL');
  }
  return { samples: times.length, p50us: q(0.5), p99us: q(0.99) };
}

// ---------------------------------------------------------------- main
const CASES = [
  { id: 'fan-1k-64', subs: 1000, size: 64, messages: 2000 },
  { id: 'fan-10k-64', subs: 10000, size: 64, messages: 256 },
  { id: 'fan-1k-4k', subs: 1000, size: 4096, messages: 400 },
  { id: 'fan-10k-4k', subs: 10000, size: 4096, messages: 48 },
];

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve') return serve(argv[1], Number(argv[2]));
  if (argv[0] === '--subscribers') return subscribers(Number(argv[1]), Number(argv[2]));
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const only = opt('--only', null)?.split(',');
  const servers = opt('--servers', 'tslws,ws').split(',');
  const samples = Number(opt('--latency-samples', quick ? 200 : 2000));
  const rounds = quick ? 1 : Number(opt('--rounds', 3));
  if (!existsSync(join(ROOT, 'dist/src/index.js'))) throw new Fatal('build first: npx tsc -p tsconfig.json');
  const hard = hardFdLimit();
  if (hard !== 'unlimited' && Number(hard) < 11_100) throw new Fatal(`the hard open-file limit is ${hard}: 10,000 subscribers need about 11,100 per process (raise it with ulimit -Hn)`);
  const guard = guardChildren('topics');
  if (argv.includes('--memory')) {
    const conns = Number(opt('--conns', quick ? 2000 : 10000));
    if (!Number.isInteger(conns) || conns < 1 || (hard !== 'unlimited' && Number(hard) < conns + 1100))
      throw new Fatal(`--conns must be a whole number the open-file limit (${hard}) allows, got ${opt('--conns')}`);
    const mem = await memoryRuns(guard, conns, rounds);
    await guard.stopAll();
    if (json) {
      process.stdout.write(JSON.stringify({ machine: machineInfo(), memory: mem }, null, 2) + '\n');
      return;
    }
    process.stdout.write(alignTable([['connections', 'subscribed', 'RSS before -> after (MiB)', 'KB / connection', 'over not subscribed'],
      ...mem.map((m) => [fmtInt(m.conns), m.label, `${(m.rssBeforeKiB / 1024).toFixed(1)} -> ${(m.rssAfterKiB / 1024).toFixed(1)}`,
        m.kbPerConn.toFixed(2), `${m.kbOverPlain >= 0 ? '+' : ''}${m.kbOverPlain.toFixed(2)}`])], (i) => i >= 2).join('\n') + '\n');
    return;
  }
  const rows = [];
  const results = [];
  for (const c of CASES) {
    if (only && !only.includes(c.id)) continue;
    for (const kind of servers) {
      const runs = [];
      for (let r = 0; r < rounds; r++) {
        process.stderr.write(`topics: ${c.id} ${kind} round ${r + 1}/${rounds}\n`);
        runs.push(await fanOut(guard, kind, c.subs, c.size, quick ? Math.max(windowFor(c.size), Math.floor(c.messages / 4)) : c.messages));
      }
      const perSec = median(runs.map((x) => x.perSec));
      const ns = median(runs.map((x) => x.cpuNsPerDelivery));
      results.push({ case: c.id, server: kind, deliveriesPerSec: Math.round(perSec), serverCpuNsPerDelivery: Math.round(ns), rounds: runs.length });
      rows.push([c.id, kind, fmtInt(perSec), `${Math.round(ns)} ns`]);
    }
  }
  let lat = null;
  if (!argv.includes('--no-redis')) {
    process.stderr.write('topics: latency through Redis\n');
    lat = await latency(guard, samples);
  }
  await guard.stopAll();
  if (json) {
    process.stdout.write(JSON.stringify({ machine: machineInfo(), fanOut: results, redisLatency: lat }, null, 2) + '\n');
    return;
  }
  process.stdout.write(alignTable([['case', 'server', 'deliveries/s', 'server CPU/delivery'], ...rows], (i) => i >= 2).join('\n') + '\n');
  if (lat) process.stdout.write(`\ncross-process latency through Redis (${lat.samples} publishes): p50 ${Math.round(lat.p50us)} us, p99 ${Math.round(lat.p99us)} us\n`);
}

main().catch((e) => {
  process.stderr.write(`topics: ${e instanceof Fatal ? e.message : e.stack}\n`);
  process.exit(1);
});
