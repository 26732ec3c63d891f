import { readSync, type Stats } from 'node:fs';
import { withRegularFile } from './regular.js';
import type { Context } from '../../core/context.js';
import { registerContextFeature } from '../../core/features.js';
import { ErrorCode, rangeError } from '../../core/errors.js';

interface Entry {
  path: string;
  ino: number;
  size: number;
  mtimeMs: number;
  data: Buffer;
  /** Neighbours in recency order (`prev` used less recently). */
  prev: Entry | null;
  next: Entry | null;
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
  // Recency is a list through the entries, not the Map's order: moving a
  // key to the back of a Map (delete + set) leaves a hole, and V8 rebuilds
  // the Map's table, in the old generation, once holes fill half of it, so
  // a hit every request made a new table every few requests.
  /** Least recently used. */
  #head: Entry | null = null;
  /** Most recently used. */
  #tail: Entry | null = null;
  #bytes = 0;
  #seen = new Map<string, { ino: number; size: number; mtimeMs: number }>();

  constructor(readonly maxBytes: number, readonly maxFile: number, readonly maxHotFile: number = maxFile) {}

  /** The contents of `path` as `st` describes it, reading it if needed; undefined if not cacheable. */
  get(path: string, st: Stats): Buffer | undefined {
    if (st.size > this.maxBytes || st.size > Math.max(this.maxFile, this.maxHotFile)) return undefined;
    const e = this.#map.get(path);
    if (e && same(e, st)) {
      if (e !== this.#tail) {
        this.#unlink(e);
        this.#append(e);
      }
      return e.data;
    }
    if (e) this.#drop(e);
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
    while (this.#bytes + data.length > this.maxBytes && this.#head) this.#drop(this.#head);
    const entry: Entry = { path, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, data, prev: null, next: null };
    this.#map.set(path, entry);
    this.#append(entry);
    this.#bytes += data.length;
    return data;
  }

  #drop(e: Entry): void {
    this.#map.delete(e.path);
    this.#unlink(e);
    this.#bytes -= e.data.length;
  }

  #unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.#head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#tail = e.prev;
    e.prev = e.next = null;
  }

  #append(e: Entry): void {
    e.prev = this.#tail;
    if (this.#tail) this.#tail.next = e;
    else this.#head = e;
    this.#tail = e;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#map.clear();
    this.#head = this.#tail = null;
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
