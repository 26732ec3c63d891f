import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  SIG_LOCAL, SIG_CENTRAL, SIG_EOCD, LOCAL_SIZE, CENTRAL_SIZE, EOCD_SIZE, METHOD_STORED, METHOD_DEFLATED, fromDosTime,
} from './format.js';
import { coded, ErrorCode, type TslwsError } from '../core/errors.js';

/** Limits applied when opening an archive; each has a default. */
export interface ZipLimits {
  /** Most entries in the central directory. Default 10000. */
  readonly maxEntries: number;
  /** Largest uncompressed member, in bytes. Default 1 GiB. */
  readonly maxEntrySize: number;
  /** Largest uncompressed/compressed ratio of a deflated member (deflate cannot pass ~1032). Default 1100. */
  readonly maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 10000,
  maxEntrySize: 1 << 30,
  maxRatio: 1100,
});

/** One member, with every offset checked to lie inside the archive. */
export interface ZipEntry {
  readonly name: string;
  readonly method: 0 | 8;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Where the member's (compressed) bytes start in the archive file. */
  readonly dataOffset: number;
  readonly mtime: Date;
}

/** A zip archive tslws refuses: a malformed directory or one over its limits. `code` is always `TSLWS_ZIP_FORMAT`. */
export class ZipFormatError extends Error implements TslwsError {
  declare readonly code: typeof ErrorCode.ZIP_FORMAT;
  constructor(message: string) {
    super(message);
    this.name = 'ZipFormatError';
    coded(this, ErrorCode.ZIP_FORMAT);
  }
}

/** A name that could never be a safe path: absolute, `..`, backslashes, NUL, empty parts. */
function unsafeName(n: string): boolean {
  if (n === '' || n.startsWith('/') || n.includes('\\') || n.includes('\0')) return true;
  const parts = n.split('/');
  if (parts[parts.length - 1] === '') parts.pop(); // directory entries end in '/'
  return parts.some((p) => p === '' || p === '.' || p === '..');
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n <= 0) throw new ZipFormatError('archive ended early');
    got += n;
  }
  return b;
}

/**
 * A zip archive's table of contents, read strictly: the end record must
 * end the file exactly, the central directory must lie before it, every
 * local header must match its signature and every member's bytes must lie
 * before the central directory. zip64, encryption, and methods other than
 * stored and deflate are refused. Members with unsafe names, or larger or
 * more compressed than the limits allow, are left out (with a reason in
 * `skipped`).
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  readonly skipped: Array<{ name: string; why: string }> = [];

  private constructor(readonly path: string, readonly fileSize: number) {}

  static open(path: string, limits: Partial<ZipLimits> = {}): ZipArchive {
    const lim = { ...DEFAULT_ZIP_LIMITS, ...limits };
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const z = new ZipArchive(path, size);
      z.#read(fd, size, lim);
      return z;
    } finally {
      closeSync(fd);
    }
  }

  #read(fd: number, size: number, lim: ZipLimits): void {
    if (size < EOCD_SIZE) throw new ZipFormatError('too small to be a zip archive');
    const tailLen = Math.min(size, EOCD_SIZE + 0xffff);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let p = tail.length - EOCD_SIZE; p >= 0; p--) {
      // The end record's comment must reach exactly to the end of the file.
      if (tail.readUInt32LE(p) === SIG_EOCD && p + EOCD_SIZE + tail.readUInt16LE(p + 20) === tail.length) {
        eocd = p;
        break;
      }
    }
    if (eocd < 0) throw new ZipFormatError('no end of central directory record');
    const disk = tail.readUInt16LE(eocd + 4);
    const cdDisk = tail.readUInt16LE(eocd + 6);
    const onDisk = tail.readUInt16LE(eocd + 8);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdPos = size - tailLen + eocd;
    if (disk !== 0 || cdDisk !== 0 || onDisk !== count) throw new ZipFormatError('multi-disk archives are not supported');
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipFormatError('zip64 archives are not supported');
    if (count > lim.maxEntries) throw new ZipFormatError(`more than ${lim.maxEntries} entries`);
    if (cdOffset + cdSize > eocdPos) throw new ZipFormatError('central directory overlaps the end record or lies outside the file');
    if (count * CENTRAL_SIZE > cdSize) throw new ZipFormatError('central directory too small for its entry count');
    const cd = readAt(fd, cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + CENTRAL_SIZE > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw new ZipFormatError(`central directory entry ${i} is malformed`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const time = cd.readUInt16LE(p + 12);
      const date = cd.readUInt16LE(p + 14);
      const crc = cd.readUInt32LE(p + 16);
      const csize = cd.readUInt32LE(p + 20);
      const usize = cd.readUInt32LE(p + 24);
      const nlen = cd.readUInt16LE(p + 28);
      const elen = cd.readUInt16LE(p + 30);
      const clen = cd.readUInt16LE(p + 32);
      const localOff = cd.readUInt32LE(p + 42);
      const end = p + CENTRAL_SIZE + nlen + elen + clen;
      if (end > cd.length) throw new ZipFormatError(`central directory entry ${i} runs past the directory`);
      const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + CENTRAL_SIZE, p + CENTRAL_SIZE + nlen);
      p = end;
      if (csize === 0xffffffff || usize === 0xffffffff || localOff === 0xffffffff) throw new ZipFormatError('zip64 entries are not supported');
      if (localOff + LOCAL_SIZE > cdOffset) throw new ZipFormatError(`entry ${JSON.stringify(name)}: local header outside the archive's data`);
      const lh = readAt(fd, localOff, LOCAL_SIZE);
      if (lh.readUInt32LE(0) !== SIG_LOCAL) throw new ZipFormatError(`entry ${JSON.stringify(name)}: bad local header signature`);
      const dataOffset = localOff + LOCAL_SIZE + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      if (dataOffset + csize > cdOffset) throw new ZipFormatError(`entry ${JSON.stringify(name)}: data runs past the archive's data`);
      if (name.endsWith('/')) continue; // a directory
      const skip = (why: string) => this.skipped.push({ name, why });
      if (unsafeName(name)) { skip('unsafe name'); continue; }
      if (flags & 1) { skip('encrypted'); continue; }
      if (method !== METHOD_STORED && method !== METHOD_DEFLATED) { skip(`compression method ${method}`); continue; }
      if (method === METHOD_STORED && csize !== usize) { skip('stored sizes differ'); continue; }
      if (usize > lim.maxEntrySize) { skip(`larger than ${lim.maxEntrySize} bytes`); continue; }
      if (method === METHOD_DEFLATED && usize > 1024 && usize / Math.max(csize, 1) > lim.maxRatio) { skip('compression ratio too high'); continue; }
      if (this.entries.has(name)) { skip('duplicate name'); continue; }
      this.entries.set(name, { name, method: method as 0 | 8, crc, compressedSize: csize, size: usize, dataOffset, mtime: fromDosTime(date, time) });
    }
  }

  /** Is there any member below `dir` (a path ending in `/`, or '' for the root)? */
  hasDir(dir: string): boolean {
    for (const n of this.entries.keys()) if (n.startsWith(dir)) return true;
    return false;
  }
}
