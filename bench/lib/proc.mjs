/**
 * Child processes for the benchmarks: start one pinned to a core, keep the
 * tail of its output, stop it (and every other child) on exit, error or
 * Ctrl-C, and find a free port for it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';

/** An error whose message is shown as is (no stack): a failed check, a server that would not start. */
export class Fatal extends Error {}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function alive(c) {
  return c.exitCode === null && c.signalCode === null;
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the child is gone. */
export function stopChild(c) {
  return new Promise((res) => {
    if (!alive(c)) return res();
    const t = setTimeout(() => { try { c.kill('SIGKILL'); } catch { /* gone */ } }, 3000);
    c.once('exit', () => {
      clearTimeout(t);
      res();
    });
    try { c.kill('SIGTERM'); } catch { clearTimeout(t); res(); }
  });
}

/** Keep the last few KiB of a child's output, for error messages (and so its pipes never fill). */
export function tail(child) {
  const o = { text: '' };
  const add = (d) => {
    o.text = (o.text + d.toString()).slice(-4000);
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  return o;
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** The hard open-file limit as the shell reports it (a number, or "unlimited"). */
export function hardFdLimit() {
  return (spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout || '').trim();
}

/**
 * Spawn `argv` pinned to `core` with `taskset -c` (no pinning when core is
 * null), stdout and stderr piped. With `fdLimit`, a shell raises the
 * open-file limit first. Either way the program is exec'd, so the child's
 * pid is the program's own (what /proc figures are read from).
 */
export function spawnPinned(core, argv, { env, fdLimit } = {}) {
  const opts = { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) };
  if (fdLimit !== undefined) {
    const pin = core === null ? '' : `taskset -c ${core} `;
    return spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec ${pin}"$@"`, 'sh', ...argv.map(String)], opts);
  }
  if (core === null) return spawn(argv[0], argv.slice(1).map(String), opts);
  return spawn('taskset', ['-c', String(core), ...argv.map(String)], opts);
}

/**
 * The set of children a benchmark started, stopped on the way out: by
 * `stopAll()` (SIGTERM, then SIGKILL), on SIGINT/SIGTERM/SIGHUP (then the
 * process exits 128 + signal), and with SIGKILL from the 'exit' handler as
 * a last resort. `cleanup` runs after the children are gone (and on exit),
 * e.g. to remove a temporary directory.
 */
export function guardChildren(name, { what = 'servers', cleanup } = {}) {
  const children = new Set();
  let stopping = null;
  const state = { interrupted: 0 };
  const clean = () => {
    if (cleanup) try { cleanup(); } catch { /* ignore */ }
  };
  const stopAll = () => {
    if (stopping) return stopping;
    stopping = Promise.all([...children].map((c) => stopChild(c))).then(clean);
    return stopping;
  };
  process.on('exit', () => {
    for (const c of children) if (alive(c)) try { c.kill('SIGKILL'); } catch { /* gone */ }
    clean();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (state.interrupted) return;
      state.interrupted = 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1);
      process.stderr.write(`\n${name}: ${sig}, stopping ${what}\n`);
      void stopAll().then(() => process.exit(state.interrupted));
    });
  }
  return {
    children,
    stopAll,
    get interrupted() {
      return state.interrupted;
    },
  };
}
