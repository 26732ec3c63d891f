import { HEX } from './chars.js';
import { HttpError } from './errors.js';

/**
 * Decode `%xx` escapes once. A malformed escape or an escaped NUL is a bad
 * request; nothing is decoded twice, so `%252e` stays the literal `%2e`.
 */
export function percentDecode(s: string, plusIsSpace = false): string {
  if (s.indexOf('%') < 0 && !(plusIsSpace && s.indexOf('+') >= 0)) return s;
  const out = Buffer.allocUnsafe(s.length);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h = i + 2 < s.length ? HEX[s.charCodeAt(i + 1) & 0xff] : -1;
      const l = i + 2 < s.length ? HEX[s.charCodeAt(i + 2) & 0xff] : -1;
      if (h < 0 || l < 0) throw new HttpError(400, 'malformed percent-encoding');
      const b = h * 16 + l;
      if (b === 0) throw new HttpError(400, 'encoded NUL in the URL');
      out[o++] = b;
      i += 2;
    } else if (c === 0x2b && plusIsSpace) {
      out[o++] = 0x20;
    } else {
      out[o++] = c;
    }
  }
  return out.toString('utf8', 0, o);
}

/**
 * The request path made safe to map onto a directory: decoded, `//` and
 * `/./` collapsed, `..` resolved. A `..` that would climb above `/`, a
 * backslash or a NUL is refused (403), whatever encoding carried it.
 */
export function normalisePath(rawPath: string): string {
  const decoded = percentDecode(rawPath);
  if (decoded.charCodeAt(0) !== 0x2f) throw new HttpError(400, 'path must start with "/"');
  if (decoded.indexOf('\\') >= 0) throw new HttpError(403, 'backslash in path');
  if (decoded.indexOf('\0') >= 0) throw new HttpError(400, 'NUL in path');
  // Fast path: nothing to collapse.
  if (decoded.indexOf('/.') < 0 && decoded.indexOf('//') < 0) return decoded;
  const segs = decoded.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    if (s === '' && i !== segs.length - 1) continue;
    if (s === '.') {
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) throw new HttpError(403, 'path climbs above the root');
      out.pop();
      if (i === segs.length - 1) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}

/** Split `a=1&b=2;c` into decoded `name=value` fragments, as lws keeps URL args. */
export function splitArgs(query: string): string[] {
  if (!query) return [];
  const out: string[] = [];
  for (const part of query.split(/[&;]/)) {
    if (part === '') continue;
    try {
      out.push(percentDecode(part, true));
    } catch {
      out.push(part);
    }
  }
  return out;
}

/**
 * `path` is decoded; a Location needs it encoded again, or a space, a
 * non-ASCII name or `#` makes a broken URL, and CR/LF in a directory name
 * would make a redirect throw out of the request parser.
 */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The request's query with its `?`, or nothing: what a redirect must carry on. */
export function queryPart(query: string | undefined): string {
  return query ? '?' + query : '';
}
