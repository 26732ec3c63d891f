import { readFileSync, type Stats } from 'node:fs';

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
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      return undefined;
    }
    if (data.length !== st.size) return undefined; // changed under us: do not cache
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
