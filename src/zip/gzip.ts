/**
 * The gzip wrapper (RFC 1952) around a raw deflate stream: a member's bytes
 * from a zip go out between these unchanged, so a client that accepts gzip
 * gets them without recompression.
 */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

export function gzipTrailer(crc: number, size: number): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(crc >>> 0, 0);
  t.writeUInt32LE(size % 0x100000000, 4);
  return t;
}

/** Does an Accept-Encoding value accept gzip (RFC 9110 12.5.3)? */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star: boolean | undefined;
  for (const item of header.split(',')) {
    const [coding, ...params] = item.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([\d.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (coding === 'gzip' || coding === 'x-gzip') return q > 0;
    if (coding === '*') star = q > 0;
  }
  return star ?? false;
}
