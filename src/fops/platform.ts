import { closeSync, fstatSync, openSync, readSync, writeSync, constants } from 'node:fs';
import { FopFlag, type FileOps, type FopFd } from './fops.js';

function nodeFlags(flags: number): number {
  const acc = flags & 3;
  let f = acc === FopFlag.WRONLY ? constants.O_WRONLY : acc === FopFlag.RDWR ? constants.O_RDWR : constants.O_RDONLY;
  if (flags & FopFlag.CREAT) f |= constants.O_CREAT;
  if (flags & FopFlag.TRUNC) f |= constants.O_TRUNC;
  // Opening a FIFO to read would block the event loop until a writer came;
  // regular files ignore O_NONBLOCK, and open() then refuses what is not one.
  if (acc === FopFlag.RDONLY && constants.O_NONBLOCK !== undefined) f |= constants.O_NONBLOCK;
  return f;
}

/** The platform's files, through node:fs. Every context starts with these. */
export const platformFops: FileOps = Object.freeze({
  open(path: string, flags: number): FopFd | null {
    let fd: number;
    try {
      fd = openSync(path, nodeFlags(flags), 0o600);
    } catch {
      return null;
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      return null;
    }
    return {
      fops: platformFops,
      pos: 0,
      len: st.size,
      flags: (flags & 3) | FopFlag.MOD_TIME_VALID,
      modTime: Math.floor(st.mtimeMs / 1000),
      mtimeMs: st.mtimeMs,
      handle: fd,
    };
  },
  close(fd: FopFd): void {
    if (typeof fd.handle !== 'number') return;
    try {
      closeSync(fd.handle);
    } finally {
      fd.handle = undefined;
    }
  },
  seekCur(fd: FopFd, offset: number): number {
    const p = fd.pos + offset;
    if (!Number.isFinite(p) || p < 0) return -1;
    fd.pos = p;
    return p;
  },
  read(fd: FopFd, buf: Uint8Array): number {
    if (typeof fd.handle !== 'number') return -1;
    try {
      const n = readSync(fd.handle, buf, 0, buf.length, fd.pos);
      fd.pos += n;
      return n;
    } catch {
      return -1;
    }
  },
  write(fd: FopFd, buf: Uint8Array): number {
    if (typeof fd.handle !== 'number') return -1;
    try {
      const n = writeSync(fd.handle, buf, 0, buf.length, fd.pos);
      fd.pos += n;
      if (fd.pos > fd.len) fd.len = fd.pos;
      return n;
    } catch {
      return -1;
    }
  },
});

/** Whether `path`, opened through `fops`, is the platform's own file (see FileOps.passesThrough). */
export function opensPlainly(fops: FileOps, path: string): boolean {
  return fops === platformFops || fops.passesThrough?.(path) === true;
}
