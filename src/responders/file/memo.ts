import type { Stats } from 'node:fs';
import type { ResponseMemo } from '../../http/exchange.js';

/**
 * What one mounted file's responses share while the file is unchanged: its
 * validators, its 200 header lines, and the last whole 200 response the
 * wire built (valid for as long as the wire's own key says).
 */
export interface FileMemo extends ResponseMemo {
  ino: number;
  size: number;
  mtimeMs: number;
  /** content-type … accept-ranges lines of a 200. */
  tail: string;
}

export function emptyMemo(): FileMemo {
  return { ino: -1, size: -1, mtimeMs: -1, tail: '', key: '', resp: null, body: null };
}

/** Is the memo still about the file `st` describes? If not it is reset for `tail`. */
export function memoFor(m: FileMemo, st: Stats, tail: () => string): FileMemo {
  if (m.ino === st.ino && m.size === st.size && m.mtimeMs === st.mtimeMs) return m;
  m.ino = st.ino;
  m.size = st.size;
  m.mtimeMs = st.mtimeMs;
  m.tail = tail();
  m.key = '';
  m.resp = null;
  m.body = null;
  return m;
}
