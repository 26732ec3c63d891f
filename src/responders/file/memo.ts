import type { Stats } from 'node:fs';
import type { ResponseMemo } from '../../http/exchange.js';
import type { ResolvedMount } from '../../http/mount.js';
import { cacheControl, httpDateOfMs, makeEtag } from './validators.js';

/**
 * What one mounted file's responses share while the file is unchanged: its
 * validators, its 200 header lines, and the last whole 200 response the
 * wire built (valid for as long as the wire's own key says).
 */
export interface FileMemo extends ResponseMemo {
  ino: number;
  size: number;
  mtimeMs: number;
  etag: string;
  /** content-type … accept-ranges lines of a 200. */
  tail: string;
}

export function emptyMemo(): FileMemo {
  return { ino: -1, size: -1, mtimeMs: -1, etag: '', tail: '', resp: null, body: null, status: 0, date: '', connLine: '', extra: '', v10: false };
}

/** The memo, brought up to date with the file `st` describes (served as `mime` from mount `mount`). */
export function memoFor(m: FileMemo, st: Stats, mime: string, mount: ResolvedMount): FileMemo {
  if (m.ino === st.ino && m.size === st.size && m.mtimeMs === st.mtimeMs) return m;
  m.ino = st.ino;
  m.size = st.size;
  m.mtimeMs = st.mtimeMs;
  m.etag = makeEtag(st.size, st.mtimeMs, false);
  m.tail = (mime ? `content-type: ${mime}\r\n` : '') + `etag: ${m.etag}\r\nlast-modified: ${httpDateOfMs(st.mtimeMs)}\r\n` +
    `cache-control: ${cacheControl(mount)}\r\naccept-ranges: bytes\r\n`;
  m.resp = null;
  m.body = null;
  return m;
}
