import { readSync, type Stats } from 'node:fs';
import { withRegularFile } from './regular.js';
import type { Context } from '../../core/context.js';
import { registerContextFeature } from '../../core/features.js';
import { ErrorCode, rangeError } from '../../core/errors.js';

interface Entry {
  ino: number;
  size: number;
  mtimeMs: number;
  data: Buffer;
}

/** Larger files seen once, remembered (by identity) to be kept when asked for again. */
const SEEN_MAX = 1024;

const same = (a: { ino: number; size: number; mtimeMs: number }, st: Stats): boolean =>
  a.ino === st.ino && a.size === st.size && a.mtimeMs === st.mtimeMs;

/**
 * Files kept in memory: small ones from their first request, larger ones
 * (up to `maxHotFile`) once the same version of the file is asked for a
 * second time, so a file fetched once is never read whole. Every use is
 * checked against a fresh `stat` (inode, size, mtime), so a changed file
 * is served changed; the total is bounded and the least recently used
 * entries go first.
 */
export class FileCache {
  #map = new Map<string, Entry>();
  #bytes = 0;
  #seen = new Map<string, { ino: number; size: number; mtimeMs: number }>();

  constructor(readonly maxBytes: number, readonly maxFile: number, readonly maxHotFile: number = maxFile) {}

  /** The contents of `path` as `st` describes it, reading it if needed; undefined if not cacheable. */
  get(path: string, st: Stats): Buffer | undefined {
    if (st.size > this.maxBytes || st.size > Math.max(this.maxFile, this.maxHotFile)) return undefined;
    const e = this.#map.get(path);
    if (e && same(e, st)) {
      // Move to the end of the Map's order, so eviction (from the front) is least recently used, not oldest inserted.
      this.#map.delete(path);
      this.#map.set(path, e);
      return e.data;
    }
    if (e) this.#drop(path, e);
    if (st.size > this.maxFile) {
      // A larger file is read whole only when it is hot: the second request for this version.
      const seen = this.#seen.get(path);
      if (!seen || !same(seen, st)) {
        this.#seen.delete(path);
        this.#seen.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
        if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value as string);
        return undefined;
      }
      this.#seen.delete(path);
    }
    const data = readSmallFile(path, st.size);
    if (!data) return undefined; // changed under us: do not cache
    while (this.#bytes + data.length > this.maxBytes && this.#map.size) {
      const [k, v] = this.#map.entries().next().value as [string, Entry];
      this.#drop(k, v);
    }
    this.#map.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, data });
    this.#bytes += data.length;
    return data;
  }

  #drop(k: string, e: Entry): void {
    this.#map.delete(k);
    this.#bytes -= e.data.length;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#map.clear();
    this.#seen.clear();
    this.#bytes = 0;
  }
}

/** Read a small regular file whole; null unless it is the regular file of `size` bytes that was stat'ed. */
function readSmallFile(path: string, size: number): Buffer | null {
  return withRegularFile(path, (fd, st) => {
    if (st.size !== size) return null;
    const buf = Buffer.allocUnsafe(size);
    for (let off = 0; off < size;) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n <= 0) return null;
      off += n;
    }
    return buf;
  });
}

declare module '../../core/context.js' {
  interface ContextCreationInfo {
    /** Bytes of files kept in memory (revalidated by stat on every use). Default 32 MiB; 0 disables. */
    fileCacheBytes?: number;
    /** Largest file kept in that cache from its first request. Default 64 KiB. */
    fileCacheMaxFile?: number;
    /** Largest file kept once it is hot (the same version asked for twice). Default 4 MiB; at most fileCacheMaxFile disables the hot tier. */
    fileCacheHotFile?: number;
  }
}

const caches = new WeakMap<Context, FileCache>();

/** The context's file cache, if it keeps one. */
export function fileCacheOf(ctx: Context): FileCache | undefined {
  return caches.get(ctx);
}

registerContextFeature({
  name: 'file-cache',
  order: 30,
  create(ctx, info) {
    const size = (k: 'fileCacheBytes' | 'fileCacheMaxFile' | 'fileCacheHotFile', dflt: number): number => {
      const v = info[k];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw rangeError(ErrorCode.INVALID_OPTION, `${k} must be a whole number of bytes >= 0, got ${String(v)}`);
      return v ?? dflt;
    };
    caches.set(ctx, new FileCache(size('fileCacheBytes', 32 * 1024 * 1024), size('fileCacheMaxFile', 64 * 1024), size('fileCacheHotFile', 4 * 1024 * 1024)));
  },
  destroy(ctx) {
    caches.get(ctx)?.clear();
  },
});
