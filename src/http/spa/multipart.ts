import { SpaError } from './errors.js';
import { TCHAR, FIELD_VALUE } from '../chars.js';

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
 * by `maxHeader`, and the first bytes of the CRLFCRLF ending it.
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
            // The start of the CRLFCRLF is not part of the block: a block that
            // fits must fit however its end is split.
            if (buf.length - partialEnd(buf) > this.limits.maxHeader) throw new SpaError(400, `multipart part headers longer than ${this.limits.maxHeader} bytes`);
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

/** How many bytes at the end of `buf` may be the start of a CRLFCRLF (0 to 3). */
function partialEnd(buf: Buffer): number {
  for (let n = Math.min(3, buf.length); n > 0; n--) {
    if (buf.subarray(buf.length - n).equals(CRLFCRLF.subarray(0, n))) return n;
  }
  return 0;
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
  const params = dispositionParams(disposition, 'form-data'.length);
  const name = params.get('name');
  if (name === undefined) throw new SpaError(400, 'multipart part without a name');
  // RFC 7578 4.2: senders must not use `filename*` (RFC 5987); it is
  // checked as a parameter like any other, and its value ignored.
  const fn = params.get('filename');
  // Only the last path component: a name like ../../x must never name a place,
  // nor may the component itself be "." or "..".
  let filename = fn === undefined ? undefined : fn.split(/[/\\]/).pop() ?? '';
  if (filename === '.' || filename === '..') filename = '';
  return { name, filename, contentType };
}

/**
 * The parameters after a Content-Disposition's type, read in one pass
 * (RFC 6266 4.1: `*( OWS ";" OWS name OWS "=" OWS ( token / quoted-string ) )`)
 * so a `;name=` inside a quoted value is never taken for a parameter.
 * Names are lower-cased; quoted values lose their quotes and escapes.
 */
function dispositionParams(value: string, from: number): Map<string, string> {
  const malformed = () => new SpaError(400, 'malformed multipart Content-Disposition parameters');
  const params = new Map<string, string>();
  const n = value.length;
  // The header is decoded as UTF-8: anything past latin1 is obs-text.
  const code = (i: number) => Math.min(value.charCodeAt(i), 0xff);
  const ows = (i: number) => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
    return i;
  };
  const token = (i: number) => {
    while (i < n && TCHAR[code(i)]) i++;
    return i;
  };
  let p = ows(from);
  while (p < n) {
    if (value[p] !== ';') throw malformed();
    p = ows(p + 1);
    const ne = token(p);
    if (ne === p) throw malformed();
    const key = value.slice(p, ne).toLowerCase();
    p = ows(ne);
    if (value[p] !== '=') throw malformed();
    p = ows(p + 1);
    let v = '';
    if (value[p] === '"') {
      // qdtext and quoted-pair take HTAB, SP, VCHAR, obs-text: no other control.
      for (p++; ; p++) {
        if (p >= n) throw malformed();
        if (value[p] === '"') break;
        if (value[p] === '\\') p++;
        if (p >= n || !FIELD_VALUE[code(p)]) throw malformed();
        v += value[p];
      }
      p++;
    } else {
      const ve = token(p);
      if (ve === p) throw malformed();
      v = value.slice(p, ve);
      p = ve;
    }
    // RFC 6266 4.1: a parameter given twice makes the header invalid; which
    // one counts is where two parsers of the same form start to disagree.
    if (params.has(key)) throw new SpaError(400, `multipart Content-Disposition with "${key}" twice`);
    params.set(key, v);
    p = ows(p);
  }
  return params;
}
