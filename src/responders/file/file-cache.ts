import { readSync, type Stats } from 'node:fs';
import { withRegularFile } from './regular.js';
import type { Context } from '../../core/context.js';
import { registerContextFeature } from '../../core/features.js';

interface Entry {
  ino: number;
  size: number;
  mtimeMs: number;
  data: Buffer;
}

/**
 * Small files kept in memory. Every use is checked against a fresh `stat`
 * (inode, size, mtime), so a changed file is served changed; the total is
 * bounded and the least recently used entries go first.
 */
export class FileCache {
  #map = new Map<string, Entry>();
  #bytes = 0;

  constructor(readonly maxBytes: number, readonly maxFile: number) {}

  /** The contents of `path` as `st` describes it, reading it if needed; undefined if not cacheable. */
  get(path: string, st: Stats): Buffer | undefined {
    if (st.size > this.maxFile || st.size > this.maxBytes) return undefined;
    const e = this.#map.get(path);
    if (e && e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs) {
      // Move to the end of the Map's order, so eviction (from the front) is least recently used, not oldest inserted.
      this.#map.delete(path);
      this.#map.set(path, e);
      return e.data;
    }
    if (e) this.#drop(path, e);
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

  clear(): void {
    this.#map.clear();
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
    /** Bytes of small files kept in memory (revalidated by stat on every use). Default 8 MiB; 0 disables. */
    fileCacheBytes?: number;
    /** Largest file kept in that cache. Default 64 KiB. */
    fileCacheMaxFile?: number;
  }
}

const caches = new WeakMap<Context, FileCache>();

/** The context's cache of small files, if it keeps one. */
export function fileCacheOf(ctx: Context): FileCache | undefined {
  return caches.get(ctx);
}

registerContextFeature({
  name: 'file-cache',
  order: 30,
  create(ctx, info) {
    caches.set(ctx, new FileCache(info.fileCacheBytes ?? 8 * 1024 * 1024, info.fileCacheMaxFile ?? 64 * 1024));
  },
  destroy(ctx) {
    caches.get(ctx)?.clear();
  },
});
