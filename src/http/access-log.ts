/**
 * Per-vhost access logs in Apache's combined format, as lws writes them:
 *
 *   IP - - [dd/Mon/YYYY:HH:MM:SS +zzzz] "METHOD URI HTTP/1.x" STATUS BYTES "REFERER" "UA"
 *
 * One line per completed HTTP transaction. Lines go through an append-mode
 * write stream (mode 0600), so the event loop never waits on the disk; if
 * the disk falls behind by more than `maxQueuedBytes`, lines are dropped
 * and counted rather than held without bound. `reopen()` (on SIGHUP)
 * starts a fresh file descriptor for log rotation.
 *
 * ```ts
 * const al = new AccessLog('/var/log/tslws/access.log');
 * attachAccessLog(vhost, al);
 * ```
 */
import { createWriteStream, fchown, type WriteStream } from 'node:fs';
import type { Vhost } from '../core/vhost.js';
import type { Wsi } from '../core/wsi.js';
import { log } from '../core/log.js';
import { ErrorCode, rangeError } from '../core/errors.js';

export interface AccessLogOptions {
  /** Bytes waiting for the disk past which lines are dropped; default 1 MiB. */
  maxQueuedBytes?: number;
  /** Longest line; longer ones are cut (lws: 512). Default 512. */
  maxLineBytes?: number;
  /** Give the file to this user and group (numeric ids) once opened, as lws chowns its log to the uid/gid it drops to. */
  owner?: { uid?: number; gid?: number };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function p2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `[24/Nov/2026:13:05:01 +0000]`'s inside, in local time as Apache does. */
export function clfDate(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ` +
    `${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

/** What one line says. */
export interface AccessRecord {
  peer: string;
  method: string;
  target: string;
  version: 10 | 11 | 20;
  status: number;
  bytes: number;
  referer?: string;
  userAgent?: string;
  date?: Date;
}

function quoted(s: string | undefined): string {
  // As lws: a `"` in a header would end the field early, so it becomes `'`.
  return s === undefined || s === '' ? '-' : s.replace(/"/g, "'").replace(/[\x00-\x1f\x7f]/g, '?');
}

/** One combined-format line, with its newline, cut to `max` bytes. */
export function formatAccessLine(r: AccessRecord, max = 512): string {
  const line = `${r.peer} - - [${clfDate(r.date ?? new Date())}] "${r.method} ${quoted(r.target)} ${r.version === 20 ? 'HTTP/2.0' : r.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1'}" ` +
    `${r.status} ${r.bytes} "${quoted(r.referer)}" "${quoted(r.userAgent)}"`;
  const b = Buffer.from(line);
  return (b.length > max - 1 ? b.subarray(0, max - 1).toString() : line) + '\n';
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw rangeError(ErrorCode.INVALID_OPTION, `AccessLog: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** An append-only log file. */
export class AccessLog {
  readonly path: string;
  #stream: WriteStream;
  #maxQueued: number;
  readonly maxLineBytes: number;
  #owner: { uid?: number; gid?: number } | undefined;
  #dropped = 0;

  constructor(path: string, opts: AccessLogOptions = {}) {
    this.path = path;
    this.#maxQueued = positiveInt('maxQueuedBytes', opts.maxQueuedBytes ?? 1024 * 1024);
    this.maxLineBytes = positiveInt('maxLineBytes', opts.maxLineBytes ?? 512);
    this.#owner = opts.owner;
    this.#stream = this.#open();
  }

  #open(): WriteStream {
    const s = createWriteStream(this.path, { flags: 'a', mode: 0o600 });
    s.on('error', (e) => log.err('access log %s: %s', this.path, e.message));
    const o = this.#owner;
    if (o && (o.uid !== undefined || o.gid !== undefined)) {
      s.once('open', (fd: number) => {
        fchown(fd, o.uid ?? -1, o.gid ?? -1, (e) => {
          if (e) log.warn('access log %s: cannot change its owner: %s', this.path, e.message);
        });
      });
    }
    return s;
  }

  /** Resolves once the file is open; rejects if it cannot be. */
  ready(): Promise<void> {
    const s = this.#stream;
    if (s.pending === false) return Promise.resolve();
    return new Promise((resolve, reject) => {
      s.once('ready', () => resolve());
      s.once('error', reject);
    });
  }

  /** Lines dropped because the disk fell behind. */
  get dropped(): number {
    return this.#dropped;
  }

  write(line: string): void {
    if (this.#stream.writableLength > this.#maxQueued) {
      if (this.#dropped++ === 0) log.warn('access log %s: the disk is behind, dropping lines', this.path);
      return;
    }
    this.#stream.write(line);
  }

  /** Close the file and open it again by name (after rotation). */
  reopen(): void {
    const old = this.#stream;
    this.#stream = this.#open();
    old.end();
  }

  /** Flush and close. */
  close(): Promise<void> {
    const s = this.#stream;
    return new Promise((resolve) => {
      if (s.closed || s.destroyed) return resolve();
      s.end(() => resolve());
      s.once('error', () => resolve());
    });
  }
}

const logs = new WeakMap<Vhost, AccessLog>();
let everAttached = false;

/** Log `vhost`'s transactions to `al` (null stops logging). */
export function attachAccessLog(vhost: Vhost, al: AccessLog | null): void {
  if (al) {
    logs.set(vhost, al);
    everAttached = true;
  } else logs.delete(vhost);
}

/**
 * @internal Has any vhost of the process had an access log? Until one has,
 * a transaction need not note where its bytes start (the Host header may
 * yet move it to a vhost that logs, so the vhost of the moment is not enough).
 */
export function accessLogsInUse(): boolean {
  return everAttached;
}

/** The access log of `vhost`, if it has one. */
export function vhostAccessLog(vhost: Vhost): AccessLog | undefined {
  return logs.get(vhost);
}

/** @internal Request-head facts the HTTP role hands over. */
export interface LoggedRequest {
  readonly method: string;
  readonly target: string;
  readonly version: 10 | 11 | 20;
  header(name: string): string | undefined;
}

/** @internal Write one transaction's line to the access log of `wsi`'s vhost, if it has one. */
export function writeAccessLine(wsi: Wsi, req: LoggedRequest, status: number, bytes: number): void {
  const al = logs.get(wsi.vhost);
  if (!al) return;
  al.write(formatAccessLine({
    peer: wsi.peerAddress, method: req.method, target: req.target, version: req.version, status,
    bytes, referer: req.header('referer'), userAgent: req.header('user-agent'),
  }, al.maxLineBytes));
}
