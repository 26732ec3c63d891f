import type { HttpLimits } from '../../core/limits.js';
import { TCHAR, FIELD_VALUE, TARGET } from '../../http/chars.js';
import { HttpError } from '../../http/errors.js';
import { headerName } from '../../http/header-names.js';

/** A parsed request line and header section, before any interpretation. */
export interface RequestHead {
  method: string;
  target: string;
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version: 10 | 11;
  /** `[lower-case name, value]` in arrival order. */
  headers: Array<[string, string]>;
  /** Bytes the head took in the buffer, terminator included. */
  length: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/**
 * Incremental scanner for the end of a request head. It checks as bytes
 * arrive what can be checked early (bare LF, the request line's length, the
 * header count and block size) so a bad or slow peer is answered without
 * waiting for the rest.
 */
export class HeadScanner {
  /**
   * Offsets of each line's first byte, `lineCount` of them; the last is the
   * empty line. The array is kept from head to head (entries past the
   * count are stale): shrinking it for every request costs more than the
   * request line's parse.
   */
  readonly lineStarts: number[] = [];
  lineCount = 0;
  #pos = 0;
  #lineStart = 0;
  #leading = true;

  /** True once a request line has begun (empty lines before it do not count). */
  get started(): boolean {
    return !this.#leading;
  }

  reset(): void {
    this.lineCount = 0;
    this.#pos = 0;
    this.#lineStart = 0;
    this.#leading = true;
  }

  /**
   * Scan `buf` (the same growing buffer each time) and return the length of
   * the head when complete, or 0 when more bytes are needed. Throws
   * HttpError for what can already be refused.
   */
  scan(buf: Buffer, limits: Readonly<HttpLimits>): number {
    const len = buf.length;
    // RFC 9112 2.2: a server SHOULD ignore at least one empty line before
    // the request line; we ignore a few (robustness after a POST body).
    if (this.#leading) {
      let p = this.#pos;
      while (p < len) {
        if (buf[p] === LF) throw new HttpError(400, 'bare LF before the request line');
        if (buf[p] !== CR) break;
        if (p + 1 >= len) {
          this.#pos = p;
          return 0;
        }
        if (buf[p + 1] !== LF) break;
        if (p >= 8) throw new HttpError(400, 'too many empty lines before the request line');
        p += 2;
      }
      this.#pos = p;
      this.#lineStart = p;
      if (p >= len) return 0;
      this.#leading = false;
    }
    while (true) {
      const nl = buf.indexOf(LF, this.#pos);
      if (nl < 0) {
        this.#pos = len;
        this.#checkOpenLine(buf, limits);
        return 0;
      }
      const start = this.#lineStart;
      const crlf = nl > start && buf[nl - 1] === CR;
      // The limits come before the bare LF check, as #checkOpenLine must
      // apply them before the line's end arrives: the same bytes get the
      // same answer however they are split. The limit counts method, target
      // and version: not the CRLF (nor a bare LF).
      if (this.lineCount === 0 && nl - (crlf ? 1 : 0) - start > limits.maxRequestLine)
        throw new HttpError(414, 'request line too long');
      if (nl + 1 > limits.maxHeaderBytes) throw new HttpError(431, 'header block too large');
      if (!crlf) throw new HttpError(400, 'line ends in a bare LF (CRLF required)');
      this.lineStarts[this.lineCount++] = start;
      this.#lineStart = nl + 1;
      this.#pos = nl + 1;
      if (nl - 1 === start) {
        if (this.lineCount === 1) throw new HttpError(400, 'empty request line');
        return nl + 1;
      }
      if (this.lineCount - 1 > limits.maxHeaderCount) throw new HttpError(431, 'too many header fields');
    }
  }

  #checkOpenLine(buf: Buffer, limits: Readonly<HttpLimits>): void {
    const len = buf.length;
    if (this.lineCount === 0) {
      // A CR at the end may be the start of the CRLF, which is not counted.
      const n = len - this.#lineStart - (buf[len - 1] === CR ? 1 : 0);
      if (n > limits.maxRequestLine) throw new HttpError(414, 'request line too long');
    } else if (len > limits.maxHeaderBytes) {
      throw new HttpError(431, 'header block too large');
    }
  }
}

/** The method's name, without a new string for the common ones (compared byte by byte). */
function methodName(buf: Buffer, s: number, e: number): string {
  const n = e - s;
  const c = buf[s];
  if (n === 3 && c === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return 'GET';
  if (n === 4) {
    if (c === 0x50 && buf[s + 1] === 0x4f && buf[s + 2] === 0x53 && buf[s + 3] === 0x54) return 'POST';
    if (c === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44) return 'HEAD';
  }
  return buf.toString('latin1', s, e);
}

/** Parse a complete head found by `HeadScanner` (its `lineStarts` and `lineCount`). */
export function parseHead(buf: Buffer, lineStarts: readonly number[], lineCount: number, headLength: number): RequestHead {
  const rlEnd = lineStarts[1] - 2;
  const rlStart = lineStarts[0];
  // request-line = method SP request-target SP HTTP-version
  let p = rlStart;
  while (p < rlEnd && TCHAR[buf[p]]) p++;
  if (p === rlStart || p >= rlEnd || buf[p] !== SP) throw new HttpError(400, 'malformed method');
  const method = methodName(buf, rlStart, p);
  const ts = ++p;
  while (p < rlEnd && TARGET[buf[p]]) p++;
  if (p === ts || p >= rlEnd || buf[p] !== SP) throw new HttpError(400, 'malformed request-target');
  const target = buf.toString("latin1", ts, p);
  p++;
  const vlen = rlEnd - p;
  let version: 10 | 11;
  if (vlen === 8 && buf[p] === 0x48 && buf[p + 1] === 0x54 && buf[p + 2] === 0x54 && buf[p + 3] === 0x50 &&
    buf[p + 4] === 0x2f && buf[p + 5] === 0x31 && buf[p + 6] === 0x2e) {
    const minor = buf[p + 7];
    if (minor === 0x31) version = 11;
    else if (minor === 0x30) version = 10;
    else if (minor >= 0x30 && minor <= 0x39) throw new HttpError(505, 'HTTP version not supported');
    else throw new HttpError(400, 'malformed HTTP version');
  } else {
    const v = buf.toString("latin1", p, rlEnd);
    if (/^HTTP\/\d\.\d$/.test(v)) throw new HttpError(505, `HTTP version ${v.slice(5)} not supported`);
    throw new HttpError(400, 'malformed HTTP version');
  }

  const headers: Array<[string, string]> = [];
  const n = lineCount - 1;
  for (let i = 1; i < n; i++) {
    const s = lineStarts[i];
    const e = lineStarts[i + 1] - 2;
    const c0 = buf[s];
    if (c0 === SP || c0 === HTAB) throw new HttpError(400, 'obsolete line folding is not accepted');
    let q = s;
    while (q < e && TCHAR[buf[q]]) q++;
    if (q === s) throw new HttpError(400, 'malformed header field name');
    if (q >= e || buf[q] !== 0x3a) throw new HttpError(400, 'header field name followed by something other than ":"');
    const name = headerName(buf, s, q);
    q++;
    while (q < e && (buf[q] === SP || buf[q] === HTAB)) q++;
    let ve = e;
    while (ve > q && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    for (let k = q; k < ve; k++) if (!FIELD_VALUE[buf[k]]) throw new HttpError(400, `invalid byte 0x${buf[k].toString(16)} in header "${name}"`);
    headers.push([name, buf.toString("latin1", q, ve)]);
  }
  return { method, target, version, headers, length: headLength };
}
