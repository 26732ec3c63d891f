/**
 * What a file's response depends on besides its bytes: validators, cache
 * headers, conditional requests (RFC 9110 13) and single byte ranges
 * (RFC 9110 14), the same for every source of files.
 */
import type { ResolvedMount } from '../../http/mount.js';
import type { HttpRequest } from '../../http/request.js';

/** The `cache-control` a mount asks for. */
export function cacheControl(m: ResolvedMount | undefined): string {
  if (!m || !m.cacheMaxAge || !m.cacheReusable) return 'no-store';
  const who = m.cacheIntermediaries ? 'public' : 'private';
  return `${m.cacheRevalidate ? 'must-revalidate, ' : ''}${who}, max-age=${Math.floor(m.cacheMaxAge)}`;
}

/** A strong entity tag from a file's length and modification time (`-gz` for its gzip representation). */
export function makeEtag(len: number, mtimeMs: number | undefined, gzip: boolean): string {
  return `"${len.toString(16)}${mtimeMs === undefined ? '' : '-' + Math.floor(mtimeMs).toString(16)}${gzip ? '-gz' : ''}"`;
}

// The last date made: requests for one file (or files written in the
// same second) ask for the same one, and a Date and its string cost more
// than the rest of the head.
let lastSec = Number.NaN;
let lastDate = '';

/** `Last-Modified`'s value: whole seconds, as HTTP dates carry. */
export function httpDateOfMs(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== lastSec) {
    lastDate = new Date(sec * 1000).toUTCString();
    lastSec = sec;
  }
  return lastDate;
}

/** Does an If-None-Match list contain `etag` (weak comparison, RFC 9110 13.1.2)? */
export function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  for (const t of header.split(',')) if (t.trim().replace(/^W\//, '') === bare) return true;
  return false;
}

/** Does an If-Match list contain `etag` (strong comparison: weak tags never match, RFC 9110 13.1.1)? */
export function matchStrong(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  if (etag.startsWith('W/')) return false;
  for (const t of header.split(',')) if (t.trim() === etag) return true;
  return false;
}

/** What the request's preconditions decide (RFC 9110 13.2.2), before any range. */
export type Precondition = 'ok' | 'not-modified' | 'failed';

/**
 * Evaluate the preconditions in RFC 9110's order: If-Match, else
 * If-Unmodified-Since (412 when they fail); then If-None-Match, else
 * If-Modified-Since (304 for GET and HEAD, 412 for other methods).
 */
export function evaluatePreconditions(req: HttpRequest, etag: string, lastModMs: number | undefined): Precondition {
  const im = req.first('if-match');
  if (im !== undefined) {
    if (!matchStrong(im, etag)) return 'failed';
  } else if (lastModMs !== undefined) {
    const ius = req.first('if-unmodified-since');
    if (ius !== undefined) {
      const t = Date.parse(ius);
      if (!Number.isNaN(t) && Math.floor(lastModMs / 1000) * 1000 > t) return 'failed';
    }
  }
  const safe = req.method === 'GET' || req.method === 'HEAD';
  const inm = req.first('if-none-match');
  if (inm !== undefined) {
    if (noneMatch(inm, etag)) return safe ? 'not-modified' : 'failed';
  } else if (safe && lastModMs !== undefined) {
    const ims = req.first('if-modified-since');
    if (ims !== undefined) {
      const t = Date.parse(ims);
      if (!Number.isNaN(t) && Math.floor(lastModMs / 1000) * 1000 <= t) return 'not-modified';
    }
  }
  return 'ok';
}

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A single byte range (RFC 9110 14.1.2). Undefined means "serve the whole
 * file" (no Range, several ranges, or a Range we do not understand, all of
 * which RFC 9110 lets a server ignore); null means unsatisfiable.
 */
export function parseRange(h: string, size: number): ByteRange | null | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(h);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return undefined;
  if (start >= size) return null;
  if (end >= size) end = size - 1;
  return { start, end };
}

/**
 * The range a GET asks for, honouring If-Range (RFC 9110 13.1.5: a strong
 * etag, or a date that exactly matches Last-Modified).
 */
export function requestedRange(req: HttpRequest, size: number, etag: string, lastModMs: number | undefined): ByteRange | null | undefined {
  const rh = req.first('range');
  if (rh === undefined || req.method !== 'GET') return undefined;
  const ifRange = req.first('if-range');
  if (ifRange !== undefined) {
    const v = ifRange.trim();
    const isTag = v.startsWith('"') || v.startsWith('W/');
    const ok = isTag ? v === etag && !etag.startsWith('W/')
      : lastModMs !== undefined && Date.parse(v) === Math.floor(lastModMs / 1000) * 1000;
    if (!ok) return undefined;
  }
  return parseRange(rh, size);
}
