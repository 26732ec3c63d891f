/**
 * A zip archive as file operations (lws's fops-zip): its members are files
 * opened by their names inside the archive. A stored member reads as it
 * is; a deflated one reads as gzip (its deflate stream between a gzip
 * header and trailer, never recompressed) when the caller accepts gzip,
 * else inflated as it is read, its size and CRC checked before its last
 * bytes are handed out, so a corrupt member never reads to its end.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import { log } from '../core/log.js';
import { FOP_READ_AGAIN, FopFlag, type FileOps, type FopFd } from '../fops/fops.js';
import { archiveAt } from './archives.js';
import { crc32 } from './crc32.js';
import { GZIP_HEADER, gzipTrailer } from './gzip.js';
import { METHOD_DEFLATED } from './format.js';
import type { ZipEntry } from './reader.js';

/** Compressed bytes handed to the inflater at once: one piece can inflate to at most ~1000 times this. */
const INFLATE_PIECE = 4096;

/** Reads one open member from the archive's descriptor. */
abstract class MemberReader {
  constructor(readonly fd: number, readonly entry: ZipEntry, readonly archive: string) {}

  /** Bytes of the stored data from `off` (relative to the member's data). */
  protected pread(buf: Uint8Array, off: number, len: number): number {
    try {
      return readSync(this.fd, buf, 0, len, this.entry.dataOffset + off);
    } catch (e) {
      log.err('zip %s: reading member %s failed: %s', this.archive, this.entry.name, (e as Error).message);
      return -1;
    }
  }

  abstract read(f: FopFd, buf: Uint8Array): number;
  seekable = true;
  waitReadable(_ready: () => void): void {}
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
  }
}

/** A stored member: its bytes as they are in the archive. */
class StoredReader extends MemberReader {
  read(f: FopFd, buf: Uint8Array): number {
    const want = Math.min(buf.length, f.len - f.pos);
    if (want <= 0) return 0;
    const n = this.pread(buf, f.pos, want);
    if (n > 0) f.pos += n;
    return n === 0 ? -1 : n; // 0 before the end: the archive shrank
  }
}

/** A deflated member as a gzip file: header, the raw deflate data, trailer. */
class GzipReader extends MemberReader {
  #trailer: Buffer;
  constructor(fd: number, entry: ZipEntry, archive: string) {
    super(fd, entry, archive);
    this.#trailer = gzipTrailer(entry.crc, entry.size);
  }

  read(f: FopFd, buf: Uint8Array): number {
    const csize = this.entry.compressedSize;
    let out = 0;
    while (out < buf.length && f.pos < f.len) {
      const p = f.pos;
      let n: number;
      if (p < GZIP_HEADER.length) {
        n = Math.min(buf.length - out, GZIP_HEADER.length - p);
        buf.set(GZIP_HEADER.subarray(p, p + n), out);
      } else if (p < GZIP_HEADER.length + csize) {
        const off = p - GZIP_HEADER.length;
        n = Math.min(buf.length - out, csize - off);
        const r = this.pread(buf.subarray(out), off, n);
        if (r <= 0) return -1;
        n = r;
      } else {
        const off = p - GZIP_HEADER.length - csize;
        n = Math.min(buf.length - out, 8 - off);
        buf.set(this.#trailer.subarray(off, off + n), out);
      }
      out += n;
      f.pos += n;
    }
    return out;
  }
}

/**
 * A deflated member inflated as it is read. Reading is pulled by the
 * caller: the next compressed piece goes to the inflater only once what
 * it made has been read, so a slow reader holds about one inflated piece.
 */
class InflatingReader extends MemberReader {
  #inf: InflateRaw;
  #queue: Buffer[] = [];
  #pos = 0;
  #feeding = false;
  #ended = false;
  #failed = false;
  #inflated = 0;
  #crc = 0;
  #held: Buffer | null = null;
  #ready: (() => void) | null = null;
  override seekable = false;

  constructor(fd: number, entry: ZipEntry, archive: string) {
    super(fd, entry, archive);
    const inf = createInflateRaw({ chunkSize: 16384 });
    this.#inf = inf;
    inf.on('data', (d: Buffer) => {
      if (this.#failed) return;
      this.#inflated += d.length;
      if (this.#inflated > entry.size) {
        this.#fail('member inflates past its declared size');
        return;
      }
      this.#crc = crc32(d, this.#crc);
      // The last piece waits for the check at the end.
      if (this.#held) this.#queue.push(this.#held);
      this.#held = d;
      if (this.#queue.length) this.#wake();
    });
    inf.on('end', () => {
      if (this.#failed) return;
      if (this.#inflated !== entry.size || this.#crc !== entry.crc) {
        this.#fail(`member is corrupt (${this.#inflated} bytes, crc ${this.#crc.toString(16)})`);
        return;
      }
      if (this.#held) this.#queue.push(this.#held);
      this.#held = null;
      this.#ended = true;
      this.#wake();
    });
    inf.on('error', (e) => this.#fail(`member does not inflate: ${e.message}`));
  }

  #fail(why: string): void {
    if (this.#failed) return;
    this.#failed = true;
    log.err('zip %s: member %s: %s', this.archive, this.entry.name, why);
    this.#queue = [];
    this.#held = null;
    this.#wake();
  }

  #wake(): void {
    const r = this.#ready;
    this.#ready = null;
    r?.();
  }

  read(f: FopFd, buf: Uint8Array): number {
    if (this.#failed) return -1;
    let out = 0;
    while (out < buf.length && this.#queue.length) {
      const q = this.#queue[0];
      const n = Math.min(q.length, buf.length - out);
      buf.set(n === q.length ? q : q.subarray(0, n), out);
      out += n;
      if (n === q.length) this.#queue.shift();
      else this.#queue[0] = q.subarray(n);
    }
    if (out > 0) {
      f.pos += out;
      return out;
    }
    if (this.#ended) return 0;
    this.#feed();
    return this.#failed ? -1 : FOP_READ_AGAIN;
  }

  #feed(): void {
    if (this.#feeding || this.#failed || this.#ended) return;
    const csize = this.entry.compressedSize;
    if (this.#pos >= csize) {
      if (!this.#inf.writableEnded) this.#inf.end();
      return;
    }
    const want = Math.min(INFLATE_PIECE, csize - this.#pos);
    const piece = Buffer.allocUnsafe(want);
    const n = this.pread(piece, this.#pos, want);
    if (n <= 0) {
      this.#fail('the archive shrank while being read');
      return;
    }
    this.#pos += n;
    this.#feeding = true;
    this.#inf.write(n === want ? piece : piece.subarray(0, n), () => {
      this.#feeding = false;
      // That piece gave nothing to read yet (or only what is held back): a reader waits for more.
      if (!this.#queue.length && this.#ready && !this.#failed) this.#feed();
    });
  }

  override waitReadable(ready: () => void): void {
    if (this.#failed || this.#ended || this.#queue.length) {
      setImmediate(ready);
      return;
    }
    this.#ready = ready;
  }

  override close(): void {
    this.#failed = true;
    this.#inf.destroy();
    this.#queue = [];
    this.#held = null;
    this.#ready = null;
    super.close();
  }
}

function readerOf(f: FopFd): MemberReader {
  return f.handle as MemberReader;
}

/** `"crc-size"`: a zip member's strong validator (`-gz` for the gzip representation). */
function memberEtag(e: ZipEntry, gzip: boolean): string {
  return `"${e.crc.toString(16)}-${e.size.toString(16)}${gzip ? '-gz' : ''}"`;
}

const opsCache = new Map<string, FileOps>();
const OPS_CACHE_MAX = 64;

/**
 * The file operations of the zip archive at `archive`: `open(name)` opens
 * the member of that name. `FopFlag.COMPR_ACCEPTABLE_GZIP` lets a
 * deflated member open as gzip (`COMPR_IS_GZIP` is then set).
 *
 * ```ts
 * const fops = zipFileOps('/srv/book.zip');
 * const fd = fops.open('index.html', FopFlag.RDONLY);
 * ```
 */
export function zipFileOps(archive: string): FileOps {
  let ops = opsCache.get(archive);
  if (ops) return ops;
  const self: FileOps = {
    open(name: string, flags: number): FopFd | null {
      const a = archiveAt(archive);
      if (typeof a === 'string') return null;
      const entry = a.entries.get(name.replace(/^\/+/, ''));
      if (!entry) return null;
      let fd: number;
      try {
        fd = openSync(archive, 'r');
      } catch {
        return null;
      }
      // The archive must still be the one whose directory was read.
      if (fstatSync(fd).size !== a.fileSize) {
        closeSync(fd);
        log.warn('zip %s: the archive changed while opening %s', archive, name);
        return null;
      }
      const deflated = entry.method === METHOD_DEFLATED;
      const gzip = deflated && (flags & FopFlag.COMPR_ACCEPTABLE_GZIP) !== 0;
      const reader = !deflated ? new StoredReader(fd, entry, archive)
        : gzip ? new GzipReader(fd, entry, archive) : new InflatingReader(fd, entry, archive);
      const f: FopFd = {
        fops: self,
        pos: 0,
        len: gzip ? entry.compressedSize + GZIP_HEADER.length + 8 : entry.size,
        flags: FopFlag.VIRTUAL | FopFlag.MOD_TIME_VALID | (gzip ? FopFlag.COMPR_IS_GZIP : 0) |
          (reader.seekable ? 0 : FopFlag.SEQUENTIAL),
        modTime: Math.floor(entry.mtime.getTime() / 1000),
        mtimeMs: entry.mtime.getTime(),
        etag: memberEtag(entry, gzip),
        handle: reader,
        waitReadable: (ready) => reader.waitReadable(ready),
      };
      return f;
    },
    close(f: FopFd): void {
      readerOf(f).close();
    },
    seekCur(f: FopFd, offset: number): number {
      const p = f.pos + offset;
      if (!Number.isFinite(p) || p < 0 || p > f.len) return -1;
      if (p !== f.pos && !readerOf(f).seekable) return -1;
      f.pos = p;
      return p;
    },
    read(f: FopFd, buf: Uint8Array): number {
      return readerOf(f).read(f, buf);
    },
    write(): number {
      return -1;
    },
  };
  if (opsCache.size >= OPS_CACHE_MAX) opsCache.clear();
  opsCache.set(archive, self);
  return self;
}
