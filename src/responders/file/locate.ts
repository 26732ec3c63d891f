/**
 * Where a FILE mount's request leads on disk, and whether it may be read:
 * whatever the path, its encoding or its symlinks say, a file must live
 * under the mount's origin.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import type { ResolvedMount } from '../../http/mount.js';
import { log } from '../../core/log.js';
import type { FileMemo } from './memo.js';

interface Origin {
  /** The origin's real path, null when it does not exist. */
  real: string | null;
  /** The real path with one '/' after it: what every file under it starts with. */
  under: string;
  /** The origin as configured, without trailing '/': paths are reported under it. */
  base: string;
  /**
   * Paths already proven to resolve inside the origin (keyed by the path
   * below it, with its leading '/'), with the identity of the file they
   * reached. A later request whose `stat` reaches the same (dev, ino)
   * reaches the same file, so the walk through every component
   * (realpath) is not repeated on each hit; anything that changes what the
   * path leads to changes the identity and forces the full check again.
   */
  verified: Map<string, Verified>;
  /** Its absence was reported. */
  warned: boolean;
}

/** A path proven to lead inside its origin, and what its responses share. */
export interface Verified {
  dev: number;
  ino: number;
  real: string;
  /** The path under the origin's real path that was proven (what is `stat`ed). */
  path: string;
  /** The path under the origin as configured (what file ops are given). */
  fsPath: string;
  /** The file's content type once looked up (null: none, the mount does not serve it). */
  mime?: string | null;
  memo?: FileMemo;
}

const VERIFIED_MAX = 4096;
const origins = new WeakMap<ResolvedMount, Origin>();

function originOf(m: ResolvedMount): Origin {
  let o = origins.get(m);
  if (!o) {
    let real: string | null;
    try {
      real = realpathSync.native(m.origin);
    } catch {
      real = null;
    }
    const under = real === null ? '' : real.endsWith('/') ? real : real + '/';
    o = { real, under, base: m.origin.replace(/\/+$/, ''), verified: new Map(), warned: false };
    origins.set(m, o);
  }
  return o;
}

/**
 * One `stat` per path per event-loop turn: requests handled in the same turn
 * (pipelined, or many connections readable at once) see the same instant of
 * the file system, and later turns look again, so a changed file is served
 * changed from the next turn on.
 */
const turnStats = new Map<string, Stats | null>();
let turnClearScheduled = false;
const NO_THROW = { throwIfNoEntry: false } as const;

function clearTurnStats(): void {
  turnStats.clear();
  turnClearScheduled = false;
}

export function statThisTurn(path: string): Stats | undefined {
  const seen = turnStats.get(path);
  if (seen !== undefined) return seen ?? undefined;
  const st = statSync(path, NO_THROW);
  turnStats.set(path, st ?? null);
  if (!turnClearScheduled) {
    turnClearScheduled = true;
    setImmediate(clearTurnStats);
  }
  return st;
}

/** Where a request below a FILE mount leads. */
export type Located =
  /** A regular file on disk, inside the origin. */
  | { kind: 'file'; fsPath: string; real: string; st: Stats; verified: Verified }
  /** Nothing on disk: only file ops that open it as VIRTUAL may serve it. */
  | { kind: 'absent'; fsPath: string }
  /** A directory: answered with a redirect (no trailing slash) or 403. */
  | { kind: 'directory' }
  /** Refused: `status` says why (403 outside the origin or unreadable, 404). */
  | { kind: 'refused'; status: number };

/**
 * Find `rel` (the path below the mountpoint, the default file already
 * appended for directories) under the mount's origin. `dirRel` is the
 * directory asked for when the default file was appended.
 */
export function locate(m: ResolvedMount, rel: string, dirRel: string | undefined): Located {
  const origin = originOf(m);
  const root = origin.real;
  const slashRel = rel.charCodeAt(0) === 0x2f ? rel : '/' + rel;
  const known = origin.verified.get(slashRel);
  if (known) {
    // The usual case, a file asked for again: no path is built.
    const st = statThisTurn(known.path);
    if (st && st.dev === known.dev && st.ino === known.ino && st.isFile())
      return { kind: 'file', fsPath: known.fsPath, real: known.real, st, verified: known };
    origin.verified.delete(slashRel);
  }
  const fsPath = origin.base + slashRel;
  if (!root) return { kind: 'absent', fsPath };
  const under = origin.under;
  const rootPath = root + slashRel;
  let real: string;
  try {
    real = realpathSync.native(rootPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'ELOOP') return { kind: 'refused', status: 403 };
    // A directory that exists but has no default file is forbidden (no
    // listing), not missing.
    if (dirRel !== undefined && isDirUnder(root, under, dirRel)) return { kind: 'refused', status: 403 };
    return { kind: 'absent', fsPath };
  }
  if (real !== root && !real.startsWith(under)) {
    log.info('%s resolves outside mount %s', rootPath, m.mountpoint);
    return { kind: 'refused', status: 403 };
  }
  const st = statSync(real, NO_THROW);
  if (!st) return { kind: 'absent', fsPath };
  if (st.isDirectory()) return { kind: 'directory' };
  if (!st.isFile()) return { kind: 'refused', status: 403 };
  if (origin.verified.size >= VERIFIED_MAX) origin.verified.clear();
  const v: Verified = { dev: st.dev, ino: st.ino, real, path: rootPath, fsPath };
  origin.verified.set(slashRel, v);
  return { kind: 'file', fsPath, real, st, verified: v };
}

/** Is `rel` (relative to the origin) a directory that really lives under it? */
function isDirUnder(root: string, under: string, rel: string): boolean {
  try {
    const d = realpathSync.native(root + (rel.startsWith('/') ? rel : '/' + rel));
    return (d === root || d.startsWith(under)) && statSync(d).isDirectory();
  } catch {
    return false;
  }
}

/** Say once per mount that its origin does not exist (when nothing but the disk could serve it). */
export function warnIfOriginMissing(m: ResolvedMount): void {
  const o = originOf(m);
  if (o.real !== null || o.warned) return;
  o.warned = true;
  log.warn('mount %s: origin %s does not exist', m.mountpoint, m.origin);
}
