/**
 * `-D`, after lws_daemonize: the starting process launches a detached copy
 * of itself (own session, stdio on /dev/null), waits until it reports that
 * it serves (or failed), and exits. The daemon holds a lock file with its
 * pid, refuses to start while another live process holds it, and removes
 * it at exit. Node cannot fork, so the daemon is a fresh process running
 * the same command line rather than a fork of the starting one.
 */
import { spawn } from 'node:child_process';
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { setLogLevel, getLogLevel, createSyslogEmitter, timestampedLine, type LogEmitter } from '../core/log.js';

export interface DaemonOptions {
  lockFile: string;
  /** Log here instead of syslog. */
  logFile?: string;
  /** The command line after the script, passed on to the daemon. */
  argv: string[];
  /** How long the starting process waits for the daemon to report; default 10000 ms. */
  startTimeoutMs?: number;
  /** The program's name in messages and the syslog ident; default `lwsws`. */
  prog?: string;
  /**
   * A service process of the daemon (countThreads): the daemon holds the
   * lock and reports to the starter; this one only logs as the daemon does.
   */
  serviceOfDaemon?: boolean;
}

const CHILD_ENV = 'TSLWS_LWSWS_DAEMON';
/** How long a daemon that did not report gets to go after SIGTERM, and after SIGKILL. */
const KILL_GRACE_MS = 2000;

let logFd = -1;
let logPath = '';
let isDaemon = false;

/**
 * True in the daemon (after `daemonize` returned 'child'): its stdout
 * goes nowhere and its log to syslog or `--log-file`, so status lines
 * belong in the log.
 */
export function runningAsDaemon(): boolean {
  return isDaemon;
}

/** Open the daemon's `--log-file` again by name (after rotation); nothing without one. */
export function reopenDaemonLog(): void {
  if (logFd < 0) return;
  try {
    const fd = openSync(logPath, 'a', 0o600);
    const old = logFd;
    logFd = fd;
    closeSync(old);
  } catch {
    /* keep writing to the old file */
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file, if it names a live process. */
export function lockHolder(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'latin1').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Take the lock (replacing a stale one); false when a live process holds it. */
function takeLock(path: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      process.on('exit', () => {
        try {
          if (readFileSync(path, 'latin1').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lockHolder(path) !== null) return false;
      try {
        unlinkSync(path); // stale: its process is gone
      } catch {
        /* raced with another starter: try once more */
      }
    }
  }
  return false;
}

/** Tell the starting process how startup went, then let go of it. */
export function reportToStarter(ok: boolean, message: string): void {
  if (process.send) {
    process.send({ ok, message }, () => process.disconnect?.());
  }
}

/**
 * In the starting process: launch the daemon and return the exit code once
 * it reports. In the daemon: take the lock, switch logging, return 'child'.
 */
export async function daemonize(o: DaemonOptions): Promise<number | 'child'> {
  if (process.env[CHILD_ENV] === '1' || o.serviceOfDaemon) {
    if (!o.serviceOfDaemon && !takeLock(o.lockFile)) {
      reportToStarter(false, `already running: ${o.lockFile} holds pid ${lockHolder(o.lockFile)}`);
      return 1;
    }
    // Written synchronously, as lines to stderr are: the last lines before
    // an exit are not lost. Logging at notice level and above is rare.
    try {
      if (o.logFile) {
        logFd = openSync(o.logFile, 'a', 0o600);
        logPath = o.logFile;
      }
    } catch (e) {
      reportToStarter(false, `--log-file: ${(e as Error).message}`);
      return 1;
    }
    const emit: LogEmitter = logFd >= 0
      ? (level, line) => {
        try {
          writeSync(logFd, timestampedLine(level, line) + '\n');
        } catch {
          /* nowhere left to say it */
        }
      }
      : createSyslogEmitter({ ident: o.prog ?? 'lwsws' });
    setLogLevel(getLogLevel(), emit);
    isDaemon = true;
    return 'child';
  }
  const holder = lockHolder(o.lockFile);
  if (holder !== null) {
    process.stderr.write(`${o.prog ?? 'lwsws'}: already running: ${o.lockFile} holds pid ${holder}\n`);
    return 1;
  }
  const script = process.argv[1];
  const child = spawn(process.execPath, [...process.execArgv, script, ...o.argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  return await new Promise<number>((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write(`${o.prog ?? 'lwsws'}: the daemon did not report within ${o.startTimeoutMs ?? 10000} ms; stopping it\n`);
      // Exiting 1 says nothing runs: the daemon must not stay behind unseen.
      void stopChild().then(() => finish(1));
    }, o.startTimeoutMs ?? 10000);
    const finish = (rc: number) => {
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(rc);
    };
    // SIGTERM, then SIGKILL if it is still there after a grace period.
    const stopChild = async () => {
      child.removeAllListeners();
      child.on('error', () => {}); // a signal that cannot be delivered: it is gone already
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      const within = (ms: number) => Promise.race([gone.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
      child.kill('SIGTERM');
      if (await within(KILL_GRACE_MS)) return;
      child.kill('SIGKILL');
      await within(KILL_GRACE_MS);
    };
    child.on('message', (m: { ok?: boolean; message?: string }) => {
      if (m.ok) process.stdout.write(`${o.prog ?? 'lwsws'}: daemon pid ${child.pid} ${m.message ?? ''}\n`);
      else process.stderr.write(`${o.prog ?? 'lwsws'}: daemon failed: ${m.message ?? ''}\n`);
      finish(m.ok ? 0 : 1);
    });
    child.on('exit', (code) => {
      process.stderr.write(`${o.prog ?? 'lwsws'}: daemon exited with ${code} before reporting\n`);
      finish(1);
    });
  });
}
