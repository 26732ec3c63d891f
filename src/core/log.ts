/**
 * Logging after lws: a bit mask of levels, notice and above on by default,
 * and one emitter function that receives each finished line.
 *
 * ```ts
 * import { setLogLevel, LogLevel, log } from 'tslws';
 * setLogLevel(LogLevel.ERR | LogLevel.WARN | LogLevel.NOTICE | LogLevel.INFO);
 * log.info('listening on %d', 7681);
 * ```
 */
import { format } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { ErrorCode, rangeError } from './errors.js';

export const LogLevel = {
  ERR: 1,
  WARN: 2,
  NOTICE: 4,
  INFO: 8,
  DEBUG: 16,
  PARSER: 32,
  HEADER: 64,
  EXT: 128,
  CLIENT: 256,
  LATENCY: 512,
  USER: 1024,
} as const;
export type LogLevelBit = (typeof LogLevel)[keyof typeof LogLevel];

/** Receives one formatted line (no trailing newline) and its level bit. */
export type LogEmitter = (level: number, line: string) => void;

const LETTERS: Record<number, string> = {
  1: 'E', 2: 'W', 4: 'N', 8: 'I', 16: 'D', 32: 'P', 64: 'H', 128: 'X', 256: 'C', 512: 'L', 1024: 'U',
};

const DEFAULT_LEVELS = LogLevel.ERR | LogLevel.WARN | LogLevel.NOTICE;
let levels: number = DEFAULT_LEVELS;

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** `[2026/11/24 08:42:37:1234] N: text`, the shape of lws's own lines. */
export function timestampedLine(level: number, text: string): string {
  const d = new Date();
  const ts = `${d.getFullYear()}/${pad(d.getMonth() + 1, 2)}/${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}:${pad(d.getMilliseconds() * 10, 4)}`;
  return `[${ts}] ${LETTERS[level] ?? '?'}: ${text}`;
}

/** The default emitter: timestamped lines on stderr. */
export const emitStderr: LogEmitter = (level, line) => {
  process.stderr.write(timestampedLine(level, line) + '\n');
};

let emitter: LogEmitter = emitStderr;

/**
 * Choose which levels are logged and, optionally, where lines go. Passing
 * `undefined` (or `null`) as the emitter keeps the current one, as lws does
 * with NULL.
 */
export function setLogLevel(mask: number, emit?: LogEmitter | null): void {
  if (!Number.isInteger(mask) || mask < 0) throw rangeError(ErrorCode.INVALID_ARGUMENT, `setLogLevel: mask must be a non-negative integer, got ${mask}`);
  levels = mask;
  if (emit) emitter = emit;
}

/** The levels currently enabled. */
export function getLogLevel(): number {
  return levels;
}

/** True when `level` would be emitted; guards costly formatting. */
export function logVisible(level: number): boolean {
  return (levels & level) !== 0;
}

function at(level: number) {
  return (fmt: unknown, ...args: unknown[]): void => {
    if ((levels & level) === 0) return;
    emitter(level, typeof fmt === 'string' ? format(fmt, ...args) : format(fmt, ...args));
  };
}

/** `log.err(...)` … `log.user(...)`: printf-style, as `util.format`. */
export const log = {
  err: at(LogLevel.ERR),
  warn: at(LogLevel.WARN),
  notice: at(LogLevel.NOTICE),
  info: at(LogLevel.INFO),
  debug: at(LogLevel.DEBUG),
  parser: at(LogLevel.PARSER),
  header: at(LogLevel.HEADER),
  ext: at(LogLevel.EXT),
  client: at(LogLevel.CLIENT),
  latency: at(LogLevel.LATENCY),
  user: at(LogLevel.USER),
};

/** Where `createSyslogEmitter` sends lines. */
export interface SyslogOptions {
  /** The program name syslog shows; default `tslws`. */
  ident?: string;
  /** syslog facility number; default 3 (daemon). */
  facility?: number;
  /** A syslog socket other than the system's `/dev/log`. */
  socket?: string;
  /** Bytes waiting for the logger past which lines are dropped; default 256 KiB. */
  maxQueuedBytes?: number;
}

const SYSLOG_SEVERITY: Record<number, number> = { 1: 3, 2: 4, 4: 5, 8: 6 };

/**
 * An emitter that sends each line to syslog. Node cannot open the
 * datagram socket `/dev/log`, so the lines go through one long-lived
 * `logger` process (util-linux), each tagged with its priority. If
 * `logger` cannot run, lines fall back to stderr.
 *
 * ```ts
 * setLogLevel(LogLevel.ERR | LogLevel.WARN | LogLevel.NOTICE, createSyslogEmitter({ ident: 'myserver' }));
 * ```
 */
export function createSyslogEmitter(opts: SyslogOptions = {}): LogEmitter & { close(): void } {
  const facility = opts.facility ?? 3;
  const maxQueued = opts.maxQueuedBytes ?? 256 * 1024;
  let child: ChildProcess | null = null;
  let failed = false;
  const start = (): ChildProcess | null => {
    if (child || failed) return child;
    const args = ['--prio-prefix', '-t', opts.ident ?? 'tslws', `--id=${process.pid}`];
    if (opts.socket) args.push('-u', opts.socket, '--socket-errors=off');
    const c = spawn('logger', args, { stdio: ['pipe', 'ignore', 'ignore'] });
    c.on('error', () => {
      failed = true;
      child = null;
    });
    c.on('exit', () => {
      if (child === c) child = null;
    });
    c.stdin?.on('error', () => {});
    // The logger must not keep the process alive.
    c.unref();
    (c.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    child = c;
    return c;
  };
  const emit = (level: number, line: string): void => {
    const c = start();
    const stdin = c?.stdin;
    if (!stdin || failed) {
      emitStderr(level, line);
      return;
    }
    if (stdin.writableLength > maxQueued) return;
    const pri = facility * 8 + (SYSLOG_SEVERITY[level] ?? 7);
    stdin.write(`<${pri}>${line.replace(/[\r\n]+/g, ' ')}\n`);
  };
  return Object.assign(emit, {
    close(): void {
      child?.stdin?.end();
      child = null;
    },
  });
}

let defaultSyslog: (LogEmitter & { close(): void }) | null = null;

/** lws's `lwsl_emit_syslog`: lines to the system log under the ident `tslws`. */
export const emitSyslog: LogEmitter = (level, line) => {
  defaultSyslog ??= createSyslogEmitter();
  defaultSyslog(level, line);
};
