/**
 * Numbers and tables for the benchmarks' summaries: medians, formatting,
 * aligned text tables, the machine and the tslws build that were measured.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

/** Median of a list of numbers; NaN for an empty list. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export const fmtInt = (x) => Math.round(x).toLocaleString('en-US');
export const fmtMs = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) + ' ms';
export const fmtUs = (x) => (x >= 10000 ? (x / 1000).toFixed(1) + ' ms' : Math.round(x) + ' us');
export const pct = (x) => Math.round(x * 100) + '%';
export const mib = (kib) => (kib / 1024).toFixed(1) + ' MiB';

/**
 * Lines of a text table: columns separated by two spaces, `right(i)` tells
 * which columns are right-aligned, a dashed line under the first row.
 */
export function alignTable(rows, right) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const L = [];
  for (const [j, r] of rows.entries()) {
    L.push(r.map((c, i) => (right(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd());
    if (j === 0) L.push(w.map((n) => '-'.repeat(n)).join('  '));
  }
  return L;
}

/** Cores, CPU model, memory and Node version of this machine. */
export function machineInfo() {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
  };
}

/** Which tslws was measured: its script, the build time, the repository's commit and state. */
export function describeBuild(repo, bin) {
  const git = (...a) => {
    const r = spawnSync('git', ['-C', repo, ...a], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const changed = git('status', '--porcelain', '--', 'src');
  return {
    bin,
    built: existsSync(bin) ? statSync(bin).mtime.toISOString() : 'missing',
    commit: git('rev-parse', '--short', 'HEAD') ?? 'unknown',
    srcModified: changed === undefined ? 'unknown' : changed !== '',
  };
}

/** The top of the git checkout holding `file` (a build's script); `fallback` outside any checkout. */
export function repoOf(file, fallback = dirname(file)) {
  const r = spawnSync('git', ['-C', dirname(file), 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : fallback;
}

/** "tslws: BIN, built DATE, commit X[ + uncommitted src changes]" for a table's heading. */
export function buildLine(repo, b) {
  return `tslws: ${b.bin.startsWith(repo + '/') ? b.bin.slice(repo.length + 1) : b.bin}, built ${b.built}, commit ${b.commit}${b.srcModified === true ? ' + uncommitted src changes' : ''}`;
}
