import { Token, tokenToName } from '../http/tokens.js';
import { TCHAR, FIELD_VALUE } from '../http/chars.js';

const SP = 0x20;
const HTAB = 0x09;

/** The server's status line and headers, as a client connection saw them. */
export class ClientResponse {
  constructor(
    readonly version: string,
    readonly status: number,
    readonly reasonPhrase: string,
    /** `[lower-case name, value]` in arrival order. */
    readonly headers: ReadonlyArray<readonly [string, string]>,
  ) {}

  /** Every value of a header, by token or (case-insensitive) name. */
  fragments(header: Token | string): string[] {
    const name = typeof header === 'number' ? tokenToName(header) : header.toLowerCase().replace(/:$/, '');
    if (name === undefined) return [];
    const out: string[] = [];
    for (const h of this.headers) if (h[0] === name) out.push(h[1]);
    return out;
  }

  /** A header's value, repeats joined with `, `. */
  header(header: Token | string): string | undefined {
    const f = this.fragments(header);
    return f.length === 0 ? undefined : f.join(', ');
  }
}

/** What `findResponseHead` found: the response and where its body starts. */
export type HeadResult =
  | { kind: 'more' }
  | { kind: 'error'; why: string }
  | { kind: 'done'; response: ClientResponse; bodyStart: number };

/**
 * Look for a complete response head in `buf` (everything read so far) and
 * parse it strictly: CRLF line ends, a 3-digit status, token header names.
 * A server that sends more than `maxBytes` of head is refused rather than
 * buffered without end.
 */
export function findResponseHead(buf: Buffer, maxBytes: number): HeadResult {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length > maxBytes) return { kind: 'error', why: `response head larger than ${maxBytes} bytes` };
    return { kind: 'more' };
  }
  if (end + 4 > maxBytes) return { kind: 'error', why: `response head larger than ${maxBytes} bytes` };
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) return { kind: 'error', why: `malformed status line "${lines[0].slice(0, 60)}"` };
  // reason-phrase = *( HTAB / SP / VCHAR / obs-text ): the bytes of a field value.
  const reason = m[3] ?? '';
  for (let k = 0; k < reason.length; k++) {
    const ch = reason.charCodeAt(k);
    if (!FIELD_VALUE[ch]) return { kind: 'error', why: `invalid byte 0x${ch.toString(16)} in the reason phrase` };
  }
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.includes('\n')) return { kind: 'error', why: 'bare LF in the response head' };
    const c = l.indexOf(':');
    if (c <= 0) return { kind: 'error', why: `malformed header line "${l.slice(0, 60)}"` };
    for (let k = 0; k < c; k++) if (!TCHAR[l.charCodeAt(k)]) return { kind: 'error', why: `malformed header name "${l.slice(0, c)}"` };
    // Only OWS (SP, HTAB) is trimmed: String.trim() would also take away a
    // CR, VT or FF (which must be refused) and NBSP (obs-text, to be kept).
    let vs = c + 1;
    let ve = l.length;
    while (vs < ve && (l.charCodeAt(vs) === SP || l.charCodeAt(vs) === HTAB)) vs++;
    while (ve > vs && (l.charCodeAt(ve - 1) === SP || l.charCodeAt(ve - 1) === HTAB)) ve--;
    for (let k = vs; k < ve; k++) if (!FIELD_VALUE[l.charCodeAt(k)]) return { kind: 'error', why: `invalid byte in header "${l.slice(0, c)}"` };
    headers.push([l.slice(0, c).toLowerCase(), l.slice(vs, ve)]);
  }
  return { kind: 'done', response: new ClientResponse(m[1], Number(m[2]), reason, headers), bodyStart: end + 4 };
}
