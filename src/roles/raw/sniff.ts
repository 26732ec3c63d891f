/**
 * Whether the first bytes of a connection can begin an HTTP request this
 * server knows, decided on as few bytes as possible: a request line starts
 * with a known method and a space (RFC 9112 3), or is HTTP/2's preface
 * (`PRI * HTTP/2.0`). Empty lines before it are allowed (RFC 9112 2.2).
 */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI'].map((m) => Buffer.from(m + ' ', 'latin1'));

/** `http`: it is (or can only be) a request; `raw`: it cannot be one; `more`: too few bytes to tell. */
export type FirstBytesVerdict = 'http' | 'raw' | 'more';

export function judgeFirstBytes(buf: Buffer): FirstBytesVerdict {
  let at = 0;
  while (at < buf.length && (buf[at] === 0x0d || buf[at] === 0x0a)) at++;
  const n = buf.length - at;
  if (n === 0) return 'more';
  let possible = false;
  for (const m of METHODS) {
    const k = Math.min(n, m.length);
    if (buf.compare(m, 0, k, at, at + k) !== 0) continue;
    if (k === m.length) return 'http';
    possible = true;
  }
  return possible ? 'more' : 'raw';
}
