import { statSync } from 'node:fs';
import { log } from '../core/log.js';
import { ZipArchive, type ZipLimits } from './reader.js';

interface Cached {
  ino: number;
  size: number;
  mtimeMs: number;
  archive: ZipArchive | null;
  error: string;
}

const MAX_CACHED = 64;
const cache = new Map<string, Cached>();

/**
 * The table of contents of the archive at `path`, read once and again
 * whenever the file changes; an archive that cannot be read gives its
 * reason instead (logged once per version of the file).
 */
export function archiveAt(path: string, limits?: Partial<ZipLimits>): ZipArchive | string {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st || !st.isFile()) return 'archive not found';
  let c = cache.get(path);
  if (!c || c.ino !== st.ino || c.size !== st.size || c.mtimeMs !== st.mtimeMs) {
    c = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, archive: null, error: '' };
    try {
      c.archive = ZipArchive.open(path, limits);
      for (const s of c.archive.skipped) log.warn('zip %s: member %s left out: %s', path, JSON.stringify(s.name), s.why);
    } catch (e) {
      c.error = (e as Error).message;
      log.err('zip %s: %s', path, c.error);
    }
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(path, c);
  }
  return c.archive ?? c.error;
}
