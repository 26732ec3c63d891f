/**
 * Framing facts from a header block the user wrote by hand (not through
 * `finalizeHttpHeader`), so the body that follows is framed correctly.
 */
export function scanHeaderBlock(text: string): { code: number; contentLength: number; chunked: boolean; close: boolean } {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const code = m ? Number(m[1]) : 200;
  const cl = /\r\ncontent-length:\s*(\d+)\s*\r\n/i.exec(text);
  const te = /\r\ntransfer-encoding:[^\r\n]*chunked\s*\r\n/i.test(text);
  const close = /\r\nconnection:[^\r\n]*close/i.test(text);
  return { code, contentLength: cl ? Number(cl[1]) : -1, chunked: te, close };
}
