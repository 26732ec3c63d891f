/**
 * One wrk run against one server child, with the figures around it: the
 * server's peak RSS (sampled every 50 ms), the CPU share of the server and
 * of wrk, and the noise gauge (CPU the rest of the machine used meanwhile).
 */
import { spawn, spawnSync } from 'node:child_process';
import { alive, Fatal } from './proc.mjs';
import { CLK_TCK, cpuTicks, sysTicks, watchPeakRss } from './procfs.mjs';

export const WRK = '/usr/bin/wrk';

/** "debian/4.1.0-3+b2 [epoll]"-like first line of `wrk -v`, without the copyright. */
export function wrkVersion() {
  return (spawnSync(WRK, ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].replace(/\s*Copyright.*$/, '').trim();
}

/**
 * `taskset -c CORE wrk -tTHREADS -cCONNECTIONS -dSECSs --latency [-H h]... URL`
 * against `srv` ({ name, child, pid, out }); `children` is the set the
 * caller stops on exit (wrk is in it while it runs). Resolves with the
 * parsed wrk figures plus peakRss (KiB), serverCpu, wrkCpu, otherCpu and
 * steal (shares of one core over the run's wall time).
 */
export function runWrk({ srv, url, secs, connections, threads = 1, headers = [], core, children }) {
  return new Promise((res, rej) => {
    if (!alive(srv.child)) return rej(new Fatal(`${srv.name} died:\n${srv.out.text.trim()}`));
    const args = [`-t${threads}`, `-c${connections}`, `-d${secs}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
    const w = spawn('taskset', ['-c', String(core), WRK, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(w);
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    w.stderr.on('data', (d) => (out += d));
    let wrkCpu = 0;
    const rss = watchPeakRss(srv.pid, 50, () => {
      wrkCpu = cpuTicks(w.pid) || wrkCpu;
    });
    const srvCpu0 = cpuTicks(srv.pid);
    const self0 = cpuTicks(process.pid);
    const sys0 = sysTicks();
    const t0 = process.hrtime.bigint();
    w.once('error', (e) => {
      rss.stop();
      children.delete(w);
      rej(new Fatal(`wrk: ${e.message}`));
    });
    w.once('exit', (code, sig) => {
      const peakRss = rss.stop();
      children.delete(w);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const srvTicks = cpuTicks(srv.pid) - srvCpu0;
      const serverCpu = srvTicks / CLK_TCK / wall;
      const sys1 = sysTicks();
      // Machine CPU (user+system, both cores) not spent by this server, wrk or this script: other load.
      const otherCpu = Math.max(0, sys1.busy - sys0.busy - srvTicks - wrkCpu - (cpuTicks(process.pid) - self0)) / CLK_TCK / wall;
      const steal = (sys1.steal - sys0.steal) / CLK_TCK / wall;
      if (!alive(srv.child)) return rej(new Fatal(`${srv.name} died during the run:\n${srv.out.text.trim()}`));
      if (code !== 0) return rej(new Fatal(`wrk exited ${code ?? sig} against ${srv.name}:\n${out}`));
      try {
        res({ ...parseWrk(out), peakRss, serverCpu, wrkCpu: wrkCpu / CLK_TCK / wall, otherCpu, steal });
      } catch (e) {
        rej(new Fatal(`cannot parse wrk output (${e.message}):\n${out}`));
      }
    });
  });
}

/** wrk's units → milliseconds. */
function toMs(v, unit) {
  const n = Number(v);
  switch (unit) {
    case 'us': return n / 1000;
    case 'ms': return n;
    case 's': return n * 1000;
    case 'm': return n * 60000;
    case 'h': return n * 3600000;
    default: throw new Error(`unit ${unit}`);
  }
}

function toBytes(v, unit) {
  const k = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[unit];
  if (k === undefined) throw new Error(`unit ${unit}`);
  return Number(v) * k;
}

export function parseWrk(out) {
  const num = (re, what) => {
    const m = re.exec(out);
    if (!m) throw new Error(`no ${what}`);
    return m;
  };
  const rps = Number(num(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]);
  const p50 = num(/^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$/m, 'p50');
  const p99 = num(/^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m, 'p99');
  const tr = num(/^Transfer\/sec:\s+([\d.]+)([KMGT]?B)/m, 'Transfer/sec');
  const reqs = Number(num(/^\s+(\d+) requests in/m, 'request count')[1]);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = se ? se.slice(1).reduce((a, x) => a + Number(x), 0) : 0;
  const nx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    rps, requests: reqs,
    p50: toMs(p50[1], p50[2]), p99: toMs(p99[1], p99[2]),
    bytesPerSec: toBytes(tr[1], tr[2]),
    errors, non2xx: nx ? Number(nx[1]) : 0,
  };
}

/**
 * Run `run()` until the noise it reports (`noise(result)`, a share of one
 * core) is at most `maxNoise`, pausing 2 s, 4 s, ... between tries; after
 * `retries` repeats the last result is kept with `noisy: true`. Every
 * result gets `retries` (how many repeats it took). `onRetry(result,
 * noise, attempt)` and `onGiveUp(result, noise, attempt)` report progress.
 */
export async function measureQuietly({ run, noise, maxNoise, retries, onRetry, onGiveUp }) {
  for (let attempt = 0; ; attempt++) {
    const res = await run();
    res.retries = attempt;
    const n = noise(res);
    if (n <= maxNoise) return res;
    if (attempt >= retries) {
      res.noisy = true;
      onGiveUp?.(res, n, attempt);
      return res;
    }
    onRetry?.(res, n, attempt);
    await new Promise((r) => setTimeout(r, 2000 * (attempt + 1)));
  }
}
