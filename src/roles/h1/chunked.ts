import type { HttpLimits } from '../../core/limits.js';
import { HEX, FIELD_VALUE } from './chars.js';
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

/**
 * Decoder for a chunked request body (RFC 9112 7.1): sizes in hex, chunk
 * extensions checked and ignored, trailer fields checked and ignored.
 * Resumable across any split of the input.
 */
export class ChunkedDecoder {
  #s = S.SIZE;
  #size = 0;
  #digits = 0;
  #lineLen = 0;
  #remaining = 0;
  #total = 0;
  #trailerBytes = 0;
  #trailerCount = 0;
  #trailerLineStart = true;
  #trailerLineEmpty = true;

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
            if (++this.#digits > 15) throw new HttpError(413, 'chunk size too large');
            this.#size = this.#size * 16 + h;
            p++;
            break;
          }
          if (this.#digits === 0) throw new HttpError(400, 'malformed chunk size');
          if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
            this.#s = S.EXT;
          } else if (c === 13) {
            this.#s = S.SIZE_LF;
            p++;
          } else {
            throw new HttpError(400, 'malformed chunk size');
          }
          break;
        }
        case S.EXT:
          // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): checked
          // only for bytes that could confuse framing, then ignored.
          if (c === 13) {
            this.#s = S.SIZE_LF;
          } else if (c !== 0x09 && (c < 0x20 || c === 0x7f)) {
            throw new HttpError(400, 'invalid byte in chunk extension');
          }
          p++;
          if (++this.#lineLen > this.limits.maxChunkLine) throw new HttpError(400, 'chunk extension too long');
          break;
        case S.SIZE_LF:
          if (c !== 10) throw new HttpError(400, 'chunk size line not ended by CRLF');
          p++;
          this.#lineLen = 0;
          this.#digits = 0;
          if (this.#size === 0) {
            this.#s = S.TRAILER;
            this.#trailerLineStart = true;
            this.#trailerLineEmpty = true;
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
          // trailer-section = *( field-line CRLF ) CRLF, checked like headers
          if (++this.#trailerBytes > this.limits.maxHeaderBytes) throw new HttpError(431, 'trailer section too large');
          if (c === 13) {
            this.#s = S.TRAILER_LF;
          } else if (this.#trailerLineStart && (c === 0x20 || c === 0x09)) {
            throw new HttpError(400, 'obsolete line folding in trailer');
          } else if (!FIELD_VALUE[c]) {
            throw new HttpError(400, 'invalid byte in trailer');
          } else {
            this.#trailerLineEmpty = false;
            this.#trailerLineStart = false;
          }
          p++;
          break;
        case S.TRAILER_LF:
          if (c !== 10) throw new HttpError(400, 'trailer line not ended by CRLF');
          p++;
          if (this.#trailerLineEmpty) {
            this.#s = S.DONE;
          } else {
            if (++this.#trailerCount > this.limits.maxHeaderCount) throw new HttpError(431, 'too many trailer fields');
            this.#s = S.TRAILER;
            this.#trailerLineStart = true;
            this.#trailerLineEmpty = true;
          }
          break;
      }
    }
    return p;
  }
}
