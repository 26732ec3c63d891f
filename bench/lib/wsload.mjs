/**
 * The WebSocket benchmarks' load machinery: the C load generator
 * (bench/wsload/wsload.c, built into bench/out/wsload), servers started as
 * children pinned to core 0, wsload runs pinned to core 1 with the CPU of
 * both and of the rest of the machine read from /proc, the wait while
 * another benchmark runs, and the repeat of runs the rest of the machine
 * disturbed. Used by ws-echo.mjs and messages.mjs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fatal, alive, freePort, sleep, spawnPinned, tail } from './proc.mjs';
import { CLK_TCK, cpuTicks, sysTicks } from './procfs.mjs';
import { pct } from './report.mjs';

const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(BENCH, '..');
export const WSLOAD_SRC = join(BENCH, 'wsload/wsload.c');
const OUT = join(BENCH, 'out');
export const WSLOAD = join(OUT, 'wsload');
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';

/** Build bench/out/wsload with `gcc -O2` when it is missing or older than its source. */
export function buildWsload(say) {
  if (existsSync(WSLOAD) && statSync(WSLOAD).mtimeMs >= statSync(WSLOAD_SRC).mtimeMs) return;
  mkdirSync(OUT, { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', WSLOAD, WSLOAD_SRC], { encoding: 'utf8' });
  if (r.error) throw new Fatal(`cannot run gcc: ${r.error.message} (apt-get install gcc)`);
  if (r.status !== 0) throw new Fatal(`building wsload failed:\n${r.stderr}`);
  say(`built ${WSLOAD.slice(REPO.length + 1)} (gcc -O2)`);
}

/**
 * Start a server pinned to core 0 with a raised fd limit; resolves once it
 * accepts connections. `def`: `{ args, env, banner? }`, the server's
 * command line after `node` (the port is appended) and extra environment;
 * its banner is the last line of its output matching `banner` (default:
 * lines starting `lws-test-echo:` or `ws echo:`). `ctx`: `{ children, hardFd }`.
 */
export async function startServer(name, def, ctx) {
  const port = await freePort();
  const lim = Number.isFinite(ctx.hardFd) ? ctx.hardFd : 65536;
  // sh execs taskset, which execs node: the child's pid is the server's.
  const child = spawnPinned(SERVER_CORE, [process.execPath, ...def.args, port], { env: def.env, fdLimit: lim });
  ctx.children.add(child);
  child.once('exit', () => ctx.children.delete(child));
  const srv = { name, port: String(port), child, pid: child.pid, out: tail(child), banner: '' };
  const deadline = Date.now() + 10000;
  let exited = null;
  child.once('exit', (code, sig) => (exited = sig ?? code));
  child.once('error', (e) => (exited = e.message));
  for (;;) {
    if (exited !== null) throw new Fatal(`${name} failed to start (exit ${exited}):\n${srv.out.text.trim()}`);
    if (Date.now() > deadline) throw new Fatal(`${name} did not listen on ${port} within 10 s:\n${srv.out.text.trim()}`);
    if (await canConnect(port)) break;
    await sleep(50);
  }
  await sleep(100);
  const banner = def.banner ?? /^(lws-test-echo|ws echo):/;
  srv.banner = srv.out.text.split('\n').map((l) => l.trim()).filter((l) => banner.test(l)).pop() ?? '';
  return srv;
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
export function canConnect(port) {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/**
 * One wsload run pinned to core 1; resolves with its JSON plus CPU figures
 * (`serverCpu`, `loadCpu`, `otherCpu`: the rest of the machine, the noise
 * gauge, each in cores). `srv`: a server from `startServer`, or null.
 */
export function runLoad(args, ctx, srv, opts = {}) {
  return new Promise((res, rej) => {
    if (srv && !alive(srv.child)) return rej(new Fatal(`${srv.name} died:\n${srv.out.text.trim()}`));
    const w = spawn('taskset', ['-c', LOAD_CORE, WSLOAD, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    ctx.children.add(w);
    let out = '';
    let err = '';
    w.stdout.on('data', (d) => (out += d));
    w.stderr.on('data', (d) => {
      err += d;
      if (err.length > 20000) err = err.slice(-10000);
      if (opts.onStderr) opts.onStderr(err, w);
    });
    const srvCpu0 = srv ? cpuTicks(srv.pid) : 0;
    const self0 = cpuTicks(process.pid);
    const sys0 = sysBusy();
    const t0 = process.hrtime.bigint();
    let loadTicks = 0;
    const sampler = setInterval(() => (loadTicks = cpuTicks(w.pid) || loadTicks), 100);
    const limit = setTimeout(() => w.kill('SIGKILL'), (opts.timeoutSecs ?? 120) * 1000);
    w.once('error', (e) => {
      clearInterval(sampler);
      clearTimeout(limit);
      ctx.children.delete(w);
      rej(new Fatal(`wsload: ${e.message}`));
    });
    w.once('exit', (code, sig) => {
      clearInterval(sampler);
      clearTimeout(limit);
      ctx.children.delete(w);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const srvTicks = srv ? cpuTicks(srv.pid) - srvCpu0 : 0;
      const busy = sysBusy() - sys0;
      const other = Math.max(0, busy - srvTicks - loadTicks - (cpuTicks(process.pid) - self0)) / CLK_TCK / wall;
      let j;
      try {
        j = JSON.parse(out.trim().split('\n').pop());
      } catch {
        return rej(new Fatal(`wsload exited ${code ?? sig} without a result (${args.join(' ')}):\n${err.trim()}`));
      }
      if (srv && !alive(srv.child)) return rej(new Fatal(`${srv.name} died during the run:\n${srv.out.text.trim()}`));
      j.stderr = err.trim();
      j.serverCpu = srvTicks / CLK_TCK / wall;
      j.loadCpu = loadTicks / CLK_TCK / wall;
      j.otherCpu = other;
      res(j);
    });
  });
}

/** Wait while another benchmark (wrk, a wsload not ours) runs: two at once on 2 cores measure nothing. */
export async function waitQuiet(say) {
  // Our own ancestors (a shell whose command line names wsload) do not count.
  const mine = new Set();
  for (let pid = process.pid; pid > 1;) {
    mine.add(pid);
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  const others = (args) => (spawnSync('pgrep', args, { encoding: 'utf8' }).stdout || '')
    .split('\n').map(Number).filter((p) => p && !mine.has(p));
  let told = false;
  for (let waited = 0; waited < 600; waited += 5) {
    const busy = [...(others(['-x', 'wrk']).length ? ['wrk'] : []), ...(others(['-f', 'wsload']).length ? ['wsload'] : [])];
    if (!busy.length) return;
    if (!told) say(`waiting: another benchmark is running (${busy.join(', ')})`);
    told = true;
    await sleep(5000);
  }
  say('still busy after 10 minutes: measuring anyway (the figures may be noisy)');
}

/** Busy ticks of the whole machine (user, nice, system, irq, softirq, steal). */
export function sysBusy() {
  const t = sysTicks();
  return t.busy + t.steal;
}

/**
 * Run `measure()` (resolving with figures that include `otherCpu`) until the
 * rest of the machine stayed under `maxNoise` cores during it, at most
 * `retries` repeats (then the last one is kept with `noisy: true`), after
 * waiting while another benchmark runs. `what` names the run in messages.
 * Resolves with the figures and `retries`, the repeats it took.
 */
export async function measureQuiet(measure, { say, maxNoise, retries, what }) {
  for (let attempt = 0; ; attempt++) {
    await waitQuiet(say);
    const res = await measure();
    res.retries = attempt;
    const noise = res.otherCpu;
    if (noise <= maxNoise) return res;
    if (attempt >= retries) {
      res.noisy = true;
      say(`  ${what}: still ${pct(noise)} other load after ${attempt} retries, keeping it (flagged)`);
      return res;
    }
    say(`  ${what}: ${pct(noise)} of a core busy elsewhere; retrying`);
    await sleep(2000 * (attempt + 1));
  }
}
