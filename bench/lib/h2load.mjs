/**
 * One h2load run (nghttp2's HTTP/2 load generator, Debian `nghttp2-client`)
 * against one server child, with the figures around it, as wrk.mjs does
 * for wrk: the server's peak RSS (sampled every 50 ms), the CPU time of the
 * server and of h2load, and the noise gauge (CPU the rest of the machine
 * used meanwhile), all over h2load's main phase. Latency percentiles come
 * from h2load's `--log-file` (one line per request); h2load itself prints
 * only min/max/mean/sd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { alive, Fatal } from './proc.mjs';
import { CLK_TCK, cpuTicks, sysTicks, watchPeakRss } from './procfs.mjs';

export const H2LOAD = '/usr/bin/h2load';

/** "nghttp2/1.52.0", from `h2load --version`. */
export function h2loadVersion() {
  return (spawnSync(H2LOAD, ['--version'], { encoding: 'utf8' }).stdout || '').trim().replace(/^h2load\s+/, '');
}

/** h2load stopped answering (see runH2load); the caller may retry the run. */
export class H2loadStuck extends Fatal {}

/**
 * `taskset -c CORE h2load -cCLIENTS -mSTREAMS --warm-up-time=W -DSECS [extra...] URL`
 * against `srv` ({ name, child, pid, out }); `children` is the set the
 * caller stops on exit (h2load is in it while it runs).
 *
 * h2load counts requests and bytes only in its main phase (after the
 * warm-up), so the CPU figures are taken over the same span: /proc is read
 * when h2load prints "Main benchmark duration is started" and again at
 * "... is over". The warm-up also lets every connection finish its TLS
 * handshake before the main phase: h2load 1.52 never stops a connection
 * whose handshake completes after the main phase is over (it goes on
 * loading the server for ever), which happens when a server busy sending
 * large bodies takes seconds to answer handshakes. As a last resort a run
 * still going `stuckSecs` after its end is killed (SIGKILL: h2load ignores
 * SIGTERM while stuck) and rejected with H2loadStuck.
 *
 * With `logFile`, h2load writes one line per request there; p50/p99/p999
 * come from it and the file is removed. Resolves with the parsed figures
 * (parseH2load) plus peakRss (KiB, over the whole run), and over the main
 * phase: serverTicks, serverCpu, h2loadCpu, otherCpu (the machine's busy
 * time less softirq, the server's, h2load's and this process's), softirq,
 * steal (shares of one core) and mainSecs.
 */
export function runH2load({ srv, url, secs, warmup = 2, clients, streams, extra = [], core, children, logFile, stuckSecs = 10 }) {
  return new Promise((res, rej) => {
    if (!alive(srv.child)) return rej(new Fatal(`${srv.name} died:\n${srv.out.text.trim()}`));
    if (logFile) rmSync(logFile, { force: true }); // h2load appends
    const args = [`-c${clients}`, `-m${streams}`, `--warm-up-time=${warmup}`, `-D${secs}`, ...extra, ...(logFile ? [`--log-file=${logFile}`] : []), url];
    const h = spawn('taskset', ['-c', String(core), H2LOAD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(h);
    const snap = () => ({ srv: cpuTicks(srv.pid), load: cpuTicks(h.pid), self: cpuTicks(process.pid), sys: sysTicks(), t: process.hrtime.bigint() });
    let start = null;
    let end = null;
    let out = '';
    h.stdout.on('data', (d) => {
      out += d;
      if (!start && out.includes('Main benchmark duration is started')) start = snap();
      if (start && !end && out.includes('Main benchmark duration is over')) end = snap();
    });
    h.stderr.on('data', (d) => (out += d));
    const rss = watchPeakRss(srv.pid, 50);
    const first = snap();
    let stuck = false;
    const watchdog = setTimeout(() => {
      stuck = true;
      try { h.kill('SIGKILL'); } catch { /* gone */ }
    }, (warmup + secs + stuckSecs) * 1000);
    h.once('error', (e) => {
      clearTimeout(watchdog);
      rss.stop();
      children.delete(h);
      rej(new Fatal(`h2load: ${e.message}`));
    });
    h.once('exit', (code, sig) => {
      clearTimeout(watchdog);
      const peakRss = rss.stop();
      children.delete(h);
      const last = snap();
      const a = start ?? first;
      const b = end ?? last;
      const wall = Number(b.t - a.t) / 1e9;
      const serverTicks = b.srv - a.srv;
      const loadTicks = b.load - a.load;
      // Softirq is left out: at GB/s over loopback the kernel's softirq time for this
      // run's own traffic is 10-40 % of a core, charged to neither process.
      const softirq = b.sys.softirq - a.sys.softirq;
      const otherCpu = Math.max(0, b.sys.busy - a.sys.busy - softirq - serverTicks - loadTicks - (b.self - a.self)) / CLK_TCK / wall;
      const steal = (b.sys.steal - a.sys.steal) / CLK_TCK / wall;
      const drop = () => {
        if (logFile) rmSync(logFile, { force: true });
      };
      if (!alive(srv.child)) return drop(), rej(new Fatal(`${srv.name} died during the run:\n${srv.out.text.trim()}`));
      if (stuck) {
        drop();
        return rej(new H2loadStuck(`h2load against ${srv.name} (${url}) was still running ${stuckSecs} s after its end and was killed:\n${out.split('\n').slice(-6).join('\n')}`));
      }
      if (code !== 0) return drop(), rej(new Fatal(`h2load exited ${code ?? sig} against ${srv.name} (${url}):\n${out}`));
      if (!start || !end) return drop(), rej(new Fatal(`h2load against ${srv.name} printed no main phase:\n${out}`));
      let r;
      try {
        r = parseH2load(out);
        if (logFile) Object.assign(r, latencyFromLog(readFileSync(logFile, 'utf8')));
      } catch (e) {
        return rej(new Fatal(`cannot parse h2load's output (${e.message}):\n${out}`));
      } finally {
        drop();
      }
      res({
        ...r, output: out, peakRss, mainSecs: wall, serverTicks,
        serverCpu: serverTicks / CLK_TCK / wall, h2loadCpu: loadTicks / CLK_TCK / wall, otherCpu, steal, softirq: softirq / CLK_TCK / wall,
      });
    });
  });
}

/** h2load's time units → milliseconds. */
function toMs(v, unit) {
  const k = { us: 1e-3, ms: 1, s: 1000 }[unit];
  if (k === undefined) throw new Error(`unit ${unit}`);
  return Number(v) * k;
}

/** The summary h2load prints at the end of a run. */
export function parseH2load(out) {
  const m = (re, what) => {
    const x = re.exec(out);
    if (!x) throw new Error(`no ${what}`);
    return x;
  };
  const fin = m(/^finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/m, 'finished line');
  const rq = m(/^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m, 'requests line');
  const st = m(/^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m, 'status codes');
  const tr = m(/^traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers.*?, .*?\((\d+)\) data/m, 'traffic line');
  const t = m(/^time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/m, 'time for request');
  const [done, succeeded, failed, errored, timeout] = [3, 4, 5, 6, 7].map((i) => Number(rq[i]));
  return {
    rps: Number(fin[3]),
    finishedSecs: toMs(fin[1], fin[2]) / 1000,
    done, succeeded, failed, errored, timeout,
    status: { '2xx': Number(st[1]), '3xx': Number(st[2]), '4xx': Number(st[3]), '5xx': Number(st[4]) },
    non2xx: Number(st[2]) + Number(st[3]) + Number(st[4]),
    // h2load 1.52 counts `total` in the main phase only, but `headers` and `data` from the start of the warm-up.
    totalBytes: Number(tr[1]), headerBytes: Number(tr[2]), dataBytes: Number(tr[3]),
    reqMinMs: toMs(t[1], t[2]), reqMaxMs: toMs(t[3], t[4]), reqMeanMs: toMs(t[5], t[6]), reqSdMs: toMs(t[7], t[8]),
    protocol: /^Application protocol: (\S+)/m.exec(out)?.[1] ?? null,
    tls: /^TLS Protocol: (\S+)/m.test(out)
      ? { version: /^TLS Protocol: (\S+)/m.exec(out)[1], cipher: /^Cipher: (\S+)/m.exec(out)?.[1], tempKey: /^Server Temp Key: (.+)$/m.exec(out)?.[1] }
      : null,
  };
}

/**
 * p50, p99 and p99.9 of the time to the end of each response (ms), from
 * h2load's --log-file (tab-separated: start µs, status, µs to the end of
 * the response; status -1 for a failed stream, counted in logFailed).
 */
export function latencyFromLog(text) {
  const us = [];
  let failed = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [, status, t] = line.split('\t');
    if (status === '-1') failed++;
    else us.push(Number(t));
  }
  us.sort((a, b) => a - b);
  const q = (p) => (us.length ? us[Math.min(us.length - 1, Math.floor(p * us.length))] / 1000 : NaN);
  return { p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), logged: us.length, logFailed: failed };
}
