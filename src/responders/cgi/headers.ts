/** What a CGI program's header block says about the response. */
export interface CgiHead {
  status: number;
  /** Other headers, lower-cased, in order. */
  headers: Array<[string, string]>;
  contentLength: number;
  chunked: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Find the end of a CGI header block in `buf` (a blank line, CRLF or bare
 * LF as RFC 3875 6.3 allows). Returns [headEnd, bodyStart] or null.
 * `from` skips bytes already searched: a search of a shorter prefix of
 * `buf` that found nothing makes any start up to its length minus 2 safe.
 */
export function findHeadEnd(buf: Buffer, from = 0): [number, number] | null {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 10) continue;
    if (i === 0) return [0, 1];
    if (i === 1 && buf[0] === 13) return [0, 2];
    if (buf[i + 1] === 10) return [i, i + 2];
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return [i, i + 3];
  }
  return null;
}

/**
 * Parse a CGI header block (RFC 3875 6.3): `Status:` sets the status,
 * `Location:` without it means 302, and the program's own framing headers
 * are noted for the library, which frames the answer itself. Throws on a
 * line that is not a header. These errors stay inside tslws, uncoded: the
 * CGI responder catches them, logs them and answers 500.
 */
export function parseCgiHead(text: string): CgiHead {
  let status = 0;
  let location = false;
  let contentLength = -1;
  let chunked = false;
  const headers: Array<[string, string]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const c = line.indexOf(':');
    const name = c > 0 ? line.slice(0, c).trim() : '';
    if (!TOKEN.test(name)) throw new Error(`CGI header line is malformed: ${JSON.stringify(line.slice(0, 80))}`);
    const value = line.slice(c + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const m = /^(\d{3})\b/.exec(value);
      // 1xx is interim and not the program's to send; the final answer is 200..599.
      if (!m || Number(m[1]) < 200 || Number(m[1]) > 599) throw new Error(`CGI Status is malformed: ${JSON.stringify(value)}`);
      status = Number(m[1]);
    } else if (lower === 'content-length') {
      if (!/^\d+$/.test(value)) throw new Error(`CGI Content-Length is malformed: ${JSON.stringify(value)}`);
      contentLength = Number(value);
    } else if (lower === 'transfer-encoding') {
      chunked = /(^|,)\s*chunked\s*$/i.test(value);
    } else if (lower === 'connection' || lower === 'keep-alive') {
      // Hop-by-hop: the connection is ours, not the program's.
    } else {
      if (lower === 'location') location = true;
      headers.push([lower, value]);
    }
  }
  if (!status) status = location ? 302 : 200;
  return { status, headers, contentLength, chunked };
}
