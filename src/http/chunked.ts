import type { HttpLimits } from '../core/limits.js';
import { HEX, FIELD_VALUE, TCHAR } from './chars.js';
import { HttpError } from './errors.js';

const enum S {
  SIZE,
  EXT,
  SIZE_LF,
  DATA,
  DATA_CR,
  DATA_LF,
  TRAILER,
  TRAILER_LF,
  DONE,
}

/** Where we are inside `chunk-ext` (RFC 9112 7.1.1). */
const enum E {
  /** BWS before ";" (after the size or a complete extension) */
  BEFORE_SEMI,
  /** BWS after ";", before the name */
  BEFORE_NAME,
  NAME,
  /** BWS after the name */
  AFTER_NAME,
  /** BWS after "=" */
  BEFORE_VALUE,
  TOKEN_VALUE,
  QUOTED,
  QUOTED_PAIR,
  AFTER_QUOTED,
}

/** Where we are inside a trailer field line. */
const enum T {
  LINE_START,
  NAME,
  VALUE,
}

const SP = 0x20;
const HTAB = 0x09;
const CR = 13;
const SEMI = 0x3b;
const EQ = 0x3d;
const DQUOTE = 0x22;
const BSLASH = 0x5c;

/**
 * Decoder for a chunked request body (RFC 9112 7.1): sizes in hex, chunk
 * extensions checked and ignored, trailer fields checked and ignored.
 * Resumable across any split of the input.
 */
export class ChunkedDecoder {
  #s = S.SIZE;
  #ext = E.BEFORE_SEMI;
  #size = 0;
  #digits = 0;
  #lineLen = 0;
  #remaining = 0;
  #total = 0;
  #trailerBytes = 0;
  #trailerCount = 0;
  #trailer = T.LINE_START;

  constructor(private readonly limits: Readonly<HttpLimits>) {}

  get done(): boolean {
    return this.#s === S.DONE;
  }

  /**
   * Decode from `buf[start..]`, handing body bytes to `onData` as views.
   * Returns the offset after the last byte consumed (the end of the body
   * when `done`, else `buf.length`).
   */
  feed(buf: Buffer, start: number, onData: (chunk: Buffer) => boolean | void): number {
    let p = start;
    const len = buf.length;
    while (p < len && this.#s !== S.DONE) {
      const c = buf[p];
      switch (this.#s) {
        case S.SIZE: {
          const h = HEX[c];
          if (h >= 0) {
            // Leading zeros are legal but still bounded by the line limit.
            if (++this.#lineLen > this.limits.maxChunkLine) throw new HttpError(400, 'chunk size line too long');
            if ((this.#size > 0 || h > 0) && ++this.#digits > 15) throw new HttpError(413, 'chunk size too large');
            this.#size = this.#size * 16 + h;
            if (this.#total + this.#size > this.limits.maxBodySize) throw new HttpError(413, 'request body too large');
            p++;
            break;
          }
          if (this.#lineLen === 0) throw new HttpError(400, 'malformed chunk size');
          if (c === SEMI || c === SP || c === HTAB) {
            this.#s = S.EXT;
            this.#ext = E.BEFORE_SEMI;
          } else if (c === 13) {
            this.#s = S.SIZE_LF;
            p++;
          } else {
            throw new HttpError(400, 'malformed chunk size');
          }
          break;
        }
        case S.EXT:
          // Checked to the letter, then ignored: a lenient reading here is
          // where front ends and back ends start to disagree on framing.
          this.#extByte(c);
          p++;
          // maxChunkLine counts the line without its CRLF, as after bare digits:
          // the CR that ended the extensions is not counted.
          if (this.#s === S.EXT && ++this.#lineLen > this.limits.maxChunkLine) throw new HttpError(400, 'chunk extension too long');
          break;
        case S.SIZE_LF:
          if (c !== 10) throw new HttpError(400, 'chunk size line not ended by CRLF');
          p++;
          this.#lineLen = 0;
          this.#digits = 0;
          if (this.#size === 0) {
            this.#s = S.TRAILER;
            this.#trailer = T.LINE_START;
          } else {
            this.#total += this.#size;
            if (this.#total > this.limits.maxBodySize) throw new HttpError(413, 'request body too large');
            this.#remaining = this.#size;
            this.#size = 0;
            this.#s = S.DATA;
          }
          break;
        case S.DATA: {
          const n = Math.min(this.#remaining, len - p);
          const piece = buf.subarray(p, p + n);
          p += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#s = S.DATA_CR;
          onData(piece);
          break;
        }
        case S.DATA_CR:
          if (c !== 13) throw new HttpError(400, 'chunk data not followed by CRLF');
          this.#s = S.DATA_LF;
          p++;
          break;
        case S.DATA_LF:
          if (c !== 10) throw new HttpError(400, 'chunk data not followed by CRLF');
          this.#s = S.SIZE;
          p++;
          break;
        case S.TRAILER:
          // trailer-section = *( field-line CRLF ) CRLF, checked like headers;
          // maxHeaderBytes counts every byte of it, CRLFs included, as it does
          // for the request head.
          if (++this.#trailerBytes > this.limits.maxHeaderBytes) throw new HttpError(431, 'trailer section too large');
          if (this.#trailer === T.LINE_START) {
            if (c === SP || c === HTAB) throw new HttpError(400, 'obsolete line folding in trailer');
            if (c === CR) {
              this.#s = S.TRAILER_LF;
            } else if (TCHAR[c]) {
              this.#trailer = T.NAME;
            } else {
              throw new HttpError(400, 'malformed trailer field name');
            }
          } else if (this.#trailer === T.NAME) {
            if (c === 0x3a) this.#trailer = T.VALUE;
            else if (!TCHAR[c]) throw new HttpError(400, 'trailer field name followed by something other than ":"');
          } else if (c === CR) {
            this.#s = S.TRAILER_LF;
          } else if (!FIELD_VALUE[c]) {
            throw new HttpError(400, 'invalid byte in trailer');
          }
          p++;
          break;
        case S.TRAILER_LF:
          if (++this.#trailerBytes > this.limits.maxHeaderBytes) throw new HttpError(431, 'trailer section too large');
          if (c !== 10) throw new HttpError(400, 'trailer line not ended by CRLF');
          p++;
          if (this.#trailer === T.LINE_START) {
            this.#s = S.DONE;
          } else {
            if (++this.#trailerCount > this.limits.maxHeaderCount) throw new HttpError(431, 'too many trailer fields');
            this.#s = S.TRAILER;
            this.#trailer = T.LINE_START;
          }
          break;
      }
    }
    return p;
  }

  /**
   * One byte of `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
   * chunk-ext-val ] )`, the value a token or a quoted-string. BWS is only
   * allowed where the grammar puts it: not at the end of the line.
   */
  #extByte(c: number): void {
    const ws = c === SP || c === HTAB;
    switch (this.#ext) {
      case E.BEFORE_SEMI:
        if (c === SEMI) this.#ext = E.BEFORE_NAME;
        else if (!ws) throw new HttpError(400, 'malformed chunk extension');
        return;
      case E.BEFORE_NAME:
        if (TCHAR[c]) this.#ext = E.NAME;
        else if (!ws) throw new HttpError(400, 'malformed chunk extension name');
        return;
      case E.NAME:
        if (TCHAR[c]) return;
        if (ws) this.#ext = E.AFTER_NAME;
        else this.#afterItem(c, true);
        return;
      case E.AFTER_NAME:
        if (c === EQ) this.#ext = E.BEFORE_VALUE;
        else if (c === SEMI) this.#ext = E.BEFORE_NAME;
        else if (!ws) throw new HttpError(400, 'malformed chunk extension');
        return;
      case E.BEFORE_VALUE:
        if (c === DQUOTE) this.#ext = E.QUOTED;
        else if (TCHAR[c]) this.#ext = E.TOKEN_VALUE;
        else if (!ws) throw new HttpError(400, 'malformed chunk extension value');
        return;
      case E.TOKEN_VALUE:
        if (TCHAR[c]) return;
        if (ws) this.#ext = E.BEFORE_SEMI;
        else this.#afterItem(c, false);
        return;
      case E.QUOTED:
        // qdtext = HTAB / SP / VCHAR except DQUOTE and "\" / obs-text
        if (c === DQUOTE) this.#ext = E.AFTER_QUOTED;
        else if (c === BSLASH) this.#ext = E.QUOTED_PAIR;
        else if (!FIELD_VALUE[c]) throw new HttpError(400, 'invalid byte in chunk extension');
        return;
      case E.QUOTED_PAIR:
        if (!FIELD_VALUE[c]) throw new HttpError(400, 'invalid byte in chunk extension');
        this.#ext = E.QUOTED;
        return;
      case E.AFTER_QUOTED:
        if (ws) this.#ext = E.BEFORE_SEMI;
        else this.#afterItem(c, false);
        return;
    }
  }

  /** Right after a name (`=` may follow) or a value: `;`, or CR ending the line. */
  #afterItem(c: number, mayAssign: boolean): void {
    if (c === SEMI) this.#ext = E.BEFORE_NAME;
    else if (c === EQ && mayAssign) this.#ext = E.BEFORE_VALUE;
    else if (c === CR) this.#s = S.SIZE_LF;
    else throw new HttpError(400, 'malformed chunk extension');
  }
}
