/**
 * What /proc says about a process and the machine: memory (VmRSS, VmHWM),
 * CPU time, the machine's busy time (the noise gauge), and a sampler for a
 * process's peak RSS during a run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** A `kB` field of /proc/PID/status (VmRSS, VmHWM, ...) in KiB; NaN if the process is gone. */
export function statusKiB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** VmRSS in KiB; 0 if the process is gone. */
export function rssKiB(pid) {
  const v = statusKiB(pid, 'VmRSS');
  return Number.isNaN(v) ? 0 : v;
}

/** utime + stime of a process (all its threads), in clock ticks; 0 if gone. */
export function cpuTicks(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/**
 * Busy (user+nice+system+irq+softirq) and steal ticks of the whole machine,
 * from /proc/stat. Softirq is included because loopback TCP work done in a
 * process's context is charged to that process as well; it is also given
 * on its own (softirq), for gauges that must leave it out.
 */
export function sysTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: f[0] + f[1] + f[2] + f[5] + f[6], steal: f[7] ?? 0, softirq: f[6] };
}

export function kernelRelease() {
  return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
}

/**
 * Sample a process's VmRSS every `ms` (and, if given, call `also()` on each
 * tick); `stop()` ends the sampling and returns the peak in KiB.
 */
export function watchPeakRss(pid, ms = 50, also) {
  let peak = rssKiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
    if (also) also();
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, rssKiB(pid));
      return peak;
    },
  };
}
