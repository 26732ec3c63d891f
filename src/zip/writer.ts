import { deflateRawSync } from 'node:zlib';
import { crc32 } from './crc32.js';
import { SIG_LOCAL, SIG_CENTRAL, SIG_EOCD, LOCAL_SIZE, CENTRAL_SIZE, EOCD_SIZE, METHOD_STORED, METHOD_DEFLATED, toDosTime } from './format.js';

export interface ZipInput {
  /** Path inside the archive, `/`-separated, no leading `/`. */
  readonly name: string;
  readonly data: Uint8Array;
  /** Keep the bytes as they are (method 0) instead of deflating them. */
  readonly store?: boolean;
  readonly mtime?: Date;
}

/**
 * Build a zip archive in memory (no zip64, no encryption): enough for the
 * test server's book and for tests that need archives, good or broken.
 */
export function writeZip(entries: readonly ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    const method = e.store ? METHOD_STORED : METHOD_DEFLATED;
    const body = e.store ? data : deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const { date, time } = toDosTime(e.mtime ?? new Date(Date.UTC(2024, 0, 1)));
    const lh = Buffer.alloc(LOCAL_SIZE);
    lh.writeUInt32LE(SIG_LOCAL, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x0800, 6); // UTF-8 names
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(time, 10);
    lh.writeUInt16LE(date, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(CENTRAL_SIZE);
    ch.writeUInt32LE(SIG_CENTRAL, 0);
    ch.writeUInt16LE(0x031e, 4); // made by: unix, 3.0
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x0800, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt16LE(time, 12);
    ch.writeUInt16LE(date, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    centrals.push(ch, name);
    offset += LOCAL_SIZE + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(EOCD_SIZE);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
