import { SpaError } from './errors.js';

/** One part's headers, as the parser understood them. */
export interface PartInfo {
  /** The form field's name (Content-Disposition `name`). */
  name: string;
  /** The file name the client gave, without any directory; undefined for plain fields. */
  filename?: string;
  /** The part's Content-Type; `text/plain` when absent. */
  contentType: string;
}

export interface PartSink {
  begin(part: PartInfo): void;
  data(piece: Buffer): void;
  end(): void;
}

const enum S {
  PREAMBLE,
  AFTER_DELIM,
  HEADERS,
  BODY,
  EPILOGUE,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** The boundary from a multipart Content-Type, checked as RFC 2046 5.1.1 says. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  const b = m ? (m[1] ?? m[2]) : '';
  if (!b || b.length > 70 || !/^[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]$/.test(b))
    throw new SpaError(400, 'multipart/form-data without a valid boundary');
  return b;
}

/**
 * Streaming `multipart/form-data` parser (RFC 7578). Part bodies are handed
 * on as they arrive; only a boundary's length of bytes is held back (it
 * may be the start of a delimiter) plus one part's header block, bounded
 * by `maxHeader`.
 */
export class MultipartParser {
  #s = S.PREAMBLE;
  /** CRLF "--" boundary: the body starts as if after a CRLF, so the first delimiter matches too. */
  readonly #delim: Buffer;
  #held: Buffer = Buffer.from('\r\n');

  constructor(boundary: string, private readonly sink: PartSink,
    private readonly limits: { maxHeader: number }) {
    this.#delim = Buffer.from('\r\n--' + boundary, 'latin1');
  }

  get done(): boolean {
    return this.#s === S.EPILOGUE;
  }

  feed(chunk: Uint8Array): void {
    if (this.#s === S.EPILOGUE) return;
    let buf = this.#held.length ? Buffer.concat([this.#held, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#held = Buffer.alloc(0);
    while (buf.length) {
      switch (this.#s) {
        case S.PREAMBLE:
        case S.BODY: {
          const at = buf.indexOf(this.#delim);
          if (at < 0) {
            // Keep what could be the start of a delimiter split across reads.
            const keep = Math.min(buf.length, this.#delim.length - 1);
            if (this.#s === S.BODY && buf.length > keep) this.sink.data(buf.subarray(0, buf.length - keep));
            this.#held = Buffer.from(buf.subarray(buf.length - keep));
            return;
          }
          if (this.#s === S.BODY) {
            if (at) this.sink.data(buf.subarray(0, at));
            this.sink.end();
          }
          buf = buf.subarray(at + this.#delim.length);
          this.#s = S.AFTER_DELIM;
          break;
        }
        case S.AFTER_DELIM: {
          // "--" ends the body; else optional blanks then CRLF start a part.
          if (buf.length < 2) {
            this.#held = Buffer.from(buf);
            return;
          }
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            this.#s = S.EPILOGUE;
            return;
          }
          let p = 0;
          while (p < buf.length && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
          if (p > 64) throw new SpaError(400, 'malformed multipart delimiter line');
          if (buf.length - p < 2) {
            this.#held = Buffer.from(buf);
            return;
          }
          if (buf[p] !== 13 || buf[p + 1] !== 10) throw new SpaError(400, 'malformed multipart delimiter line');
          buf = buf.subarray(p + 2);
          this.#s = S.HEADERS;
          break;
        }
        case S.HEADERS: {
          // An empty header block is legal: the part starts with CRLF.
          const end = buf[0] === 13 && buf[1] === 10 ? -2 : buf.indexOf(CRLFCRLF);
          if (end === -1) {
            if (buf.length > this.limits.maxHeader) throw new SpaError(400, `multipart part headers longer than ${this.limits.maxHeader} bytes`);
            this.#held = Buffer.from(buf);
            return;
          }
          if (end > this.limits.maxHeader) throw new SpaError(400, `multipart part headers longer than ${this.limits.maxHeader} bytes`);
          const block = end === -2 ? '' : buf.toString('utf8', 0, end);
          this.sink.begin(parsePartHeaders(block));
          buf = buf.subarray(end === -2 ? 2 : end + 4);
          // The delimiter search needs its CRLF, which belongs to it, not the data.
          this.#s = S.BODY;
          break;
        }
        default:
          return;
      }
    }
  }

  /** The body has ended: it must have closed with the final delimiter. */
  end(): void {
    if (this.#s !== S.EPILOGUE) throw new SpaError(400, 'multipart body ends before its closing boundary');
  }
}

function parsePartHeaders(block: string): PartInfo {
  let disposition: string | undefined;
  let contentType = 'text/plain';
  for (const line of block.split('\r\n')) {
    const c = line.indexOf(':');
    if (c <= 0) throw new SpaError(400, 'malformed multipart part header');
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) throw new SpaError(400, 'multipart part without Content-Disposition: form-data');
  const name = param(disposition, 'name');
  if (name === undefined) throw new SpaError(400, 'multipart part without a name');
  const fn = param(disposition, 'filename');
  // Only the last path component: a name like ../../x must never name a place,
  // nor may the component itself be "." or "..".
  let filename = fn === undefined ? undefined : fn.split(/[/\\]/).pop() ?? '';
  if (filename === '.' || filename === '..') filename = '';
  return { name, filename, contentType };
}

function param(header: string, key: string): string | undefined {
  const re = new RegExp(`;\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}
