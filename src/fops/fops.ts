/**
 * Platform-independent file access (lws's `lws_plat_file_ops`): the
 * context holds one `FileOps`, FILE mounts read through it, and user code
 * may wrap it (to log, to count) or replace it (a virtual file system
 * such as an in-memory tree). Calls are synchronous, as in lws: an
 * implementation should answer from memory or a local disk.
 */
import { ErrorCode, typeError } from '../core/errors.js';

/** Open flags and per-file facts, with lws's values where lws has them. */
export enum FopFlag {
  RDONLY = 0,
  WRONLY = 1,
  RDWR = 2,
  CREAT = 0o100,
  TRUNC = 0o1000,
  /** Set by `open` when the caller may take gzip-compressed content. */
  COMPR_ACCEPTABLE_GZIP = 1 << 24,
  /** Set by `open` when the content it returns is gzip-compressed. */
  COMPR_IS_GZIP = 1 << 25,
  /** Set by `open` when `modTime` is meaningful. */
  MOD_TIME_VALID = 1 << 26,
  /** Set by `open` when the file is not reachable by the platform's own calls (lws's LWS_FOP_FLAG_VIRTUAL). */
  VIRTUAL = 1 << 27,
  /**
   * Set by `open` when the file can only be read in order (its bytes are
   * made as it is read, as a zip member being inflated): a range request
   * is answered with the whole file.
   */
  SEQUENTIAL = 1 << 28,
}

/**
 * `read` returns this when no bytes are ready yet but more will come (a
 * file made as it is read); `fd.waitReadable` says when to read again.
 */
export const FOP_READ_AGAIN = -2;

/**
 * An open file (lws's `lws_fop_fd_t`): the generic facts every
 * implementation keeps up to date, plus its own `handle`.
 */
export interface FopFd {
  /** The file ops that opened it; every later call goes through them. */
  readonly fops: FileOps;
  /** Current position in bytes. */
  pos: number;
  /** Length in bytes. */
  len: number;
  /** FopFlag bits left after open (VIRTUAL, MOD_TIME_VALID …). */
  flags: number;
  /** Modification time in seconds since the epoch, valid with MOD_TIME_VALID. */
  modTime: number;
  /** Modification time in milliseconds, when the implementation knows it that finely (validators use it). */
  mtimeMs?: number;
  /**
   * A strong validator the implementation knows (a content hash, quoted as
   * an HTTP entity tag); without it one is made from the length and the
   * modification time.
   */
  etag?: string;
  /** After `read` returned `FOP_READ_AGAIN`: call `ready` once reading can go on (bytes, the end, or a failure). */
  waitReadable?(ready: () => void): void;
  /** The implementation's own state. */
  handle?: unknown;
}

export interface FileOps {
  /** Open `path`; null when it does not exist or cannot be opened (a directory is not a file). */
  open(path: string, flags: number): FopFd | null;
  close(fd: FopFd): void;
  /** Move by `offset` from the current position; returns the new position or -1. */
  seekCur(fd: FopFd, offset: number): number;
  /**
   * Read into `buf` from the current position; returns the bytes read (0 at
   * the end), -1 on failure, or `FOP_READ_AGAIN` when bytes are not ready yet.
   */
  read(fd: FopFd, buf: Uint8Array): number;
  /** Write `buf` at the current position; returns the bytes written or -1. */
  write(fd: FopFd, buf: Uint8Array): number;
  /**
   * Optional: true when this layer would hand `path` to `platformFops`
   * unchanged. FILE mounts and `serveHttpFile` then read such a file
   * themselves, which lets them keep small files in memory (revalidated
   * by `stat`) instead of opening the file on every request. A layer that
   * wraps only some paths says so for the others; one that copies another
   * layer's members (`{ ...base }`) must set its own answer, since the
   * copied one does not know about its wrapping.
   *
   * @example
   * const fops = { ...platformFops, open(p, f) { return p === special ? virtual() : platformFops.open(p, f); },
   *                passesThrough: (p) => p !== special };
   */
  passesThrough?(path: string): boolean;
}

// ---- lws's helper calls, in camelCase ----


/** Open through `fops` (lws's `lws_vfs_file_open` / `lws_plat_file_open`). */
export function vfsFileOpen(fops: FileOps, path: string, flags: number = FopFlag.RDONLY): FopFd | null {
  return fops.open(path, flags);
}

export function vfsFileClose(fd: FopFd): void {
  fd.fops.close(fd);
}

export function vfsFileRead(fd: FopFd, buf: Uint8Array): number {
  return fd.fops.read(fd, buf);
}

export function vfsFileWrite(fd: FopFd, buf: Uint8Array): number {
  return fd.fops.write(fd, buf);
}

export function vfsFileSeekCur(fd: FopFd, offset: number): number {
  return fd.fops.seekCur(fd, offset);
}

/** Current position (lws's `lws_vfs_tell`). */
export function vfsTell(fd: FopFd): number {
  return fd.pos;
}

/** Length (lws's `lws_vfs_get_length`). */
export function vfsGetLength(fd: FopFd): number {
  return fd.len;
}

/** Modification time in seconds since the epoch, 0 when the implementation did not set it. */
export function vfsGetModTime(fd: FopFd): number {
  return fd.flags & FopFlag.MOD_TIME_VALID ? fd.modTime : 0;
}

/** Seek to `offset` from the start; returns the new position or -1. */
export function vfsFileSeekSet(fd: FopFd, offset: number): number {
  return fd.fops.seekCur(fd, offset - fd.pos);
}

/** Seek to `offset` from the end (usually negative or 0); returns the new position or -1. */
export function vfsFileSeekEnd(fd: FopFd, offset: number): number {
  return fd.fops.seekCur(fd, fd.len + offset - fd.pos);
}

/** Refuse an object that is not a FileOps, with the missing call named. @internal */
export function checkFops(f: FileOps): FileOps {
  for (const k of ['open', 'close', 'seekCur', 'read', 'write'] as const)
    if (!f || typeof f[k] !== 'function') throw typeError(ErrorCode.FOPS, `fops: ${k}() is missing; a FileOps needs open, close, seekCur, read and write`);
  if (f.passesThrough !== undefined && typeof f.passesThrough !== 'function') throw typeError(ErrorCode.FOPS, 'fops: passesThrough must be a function or left out');
  return f;
}
