/**
 * The zip central directory reader at unit level: literal archives (a
 * hand-written one byte for byte, and ones built here with every field
 * under control) in, the table of contents or the exact ZipFormatError
 * out, members left out with their reason; then seeded random archives,
 * which must read back as written, and randomly mutated ones, which must
 * give a ZipFormatError or entries that all keep the reader's promises.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ZipArchive, ZipFormatError, DEFAULT_ZIP_LIMITS, type ZipLimits, type ZipEntry } from '../../src/zip/reader.js';
import { writeZip, type ZipInput } from '../../src/zip/writer.js';
import { crc32 } from '../../src/zip/crc32.js';
import { toDosTime } from '../../src/zip/format.js';
import { seeded, mutate, type Rng } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-zip-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;

type Opened = { ok: true; archive: ZipArchive } | { ok: false; error: string };

/** Write `bytes` to a temp file, open it, remove it. Only ZipFormatError is an answer. */
function open(bytes: Buffer, limits: Partial<ZipLimits> = {}): Opened {
  const path = join(dir, `a${fileNo++}.zip`);
  writeFileSync(path, bytes);
  try {
    return { ok: true, archive: ZipArchive.open(path, limits) };
  } catch (e) {
    if (!(e instanceof ZipFormatError)) throw e;
    assert.equal(e.name, 'ZipFormatError');
    return { ok: false, error: e.message };
  } finally {
    unlinkSync(path);
  }
}

function opened(bytes: Buffer, limits: Partial<ZipLimits> = {}): ZipArchive {
  const r = open(bytes, limits);
  if (!r.ok) assert.fail(`refused: ${r.error}`);
  return r.archive;
}

function refused(bytes: Buffer, message: string, limits: Partial<ZipLimits> = {}): void {
  const r = open(bytes, limits);
  assert.deepEqual(r, { ok: false, error: message });
}

function hx(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

// ---- an archive builder with every field under the test's control ----

interface Member {
  name: string | Buffer;
  /** The bytes stored in the archive (already deflated for method 8). */
  stored: Buffer;
  /** Uncompressed size claimed; default stored.length. */
  size?: number;
  crc?: number;
  method?: number;
  /** General purpose flags; default 0x0800 (UTF-8 name). */
  flags?: number;
  localExtra?: Buffer;
  centralExtra?: Buffer;
  comment?: Buffer;
  /** Override the central record's local header offset. */
  localOffset?: number;
  /** Override the central record's compressed size. */
  csize?: number;
  date?: number;
  time?: number;
}

interface EocdOver {
  disk?: number;
  cdDisk?: number;
  onDisk?: number;
  count?: number;
  cdSize?: number;
  cdOffset?: number;
  comment?: Buffer;
  /** Comment length field, when it should lie. */
  commentLength?: number;
}

function build(members: readonly Member[], eo: EocdOver = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = typeof m.name === 'string' ? Buffer.from(m.name, 'utf8') : m.name;
    const lx = m.localExtra ?? Buffer.alloc(0);
    const cx = m.centralExtra ?? Buffer.alloc(0);
    const cc = m.comment ?? Buffer.alloc(0);
    const method = m.method ?? 0;
    const flags = m.flags ?? 0x0800;
    const crc = m.crc ?? 0;
    const size = m.size ?? m.stored.length;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(m.time ?? 0, 10);
    lh.writeUInt16LE(m.date ?? 0x5821, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(m.stored.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(lx.length, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(0x031e, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(flags, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt16LE(m.time ?? 0, 12);
    ch.writeUInt16LE(m.date ?? 0x5821, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(m.csize ?? m.stored.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(cx.length, 30);
    ch.writeUInt16LE(cc.length, 32);
    ch.writeUInt32LE(m.localOffset ?? offset, 42);
    locals.push(lh, name, lx, m.stored);
    centrals.push(ch, name, cx, cc);
    offset += 30 + name.length + lx.length + m.stored.length;
  }
  const cd = Buffer.concat(centrals);
  const comment = eo.comment ?? Buffer.alloc(0);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(eo.disk ?? 0, 4);
  e.writeUInt16LE(eo.cdDisk ?? 0, 6);
  e.writeUInt16LE(eo.onDisk ?? eo.count ?? members.length, 8);
  e.writeUInt16LE(eo.count ?? members.length, 10);
  e.writeUInt32LE(eo.cdSize ?? cd.length, 12);
  e.writeUInt32LE(eo.cdOffset ?? offset, 16);
  e.writeUInt16LE(eo.commentLength ?? comment.length, 20);
  return Buffer.concat([...locals, cd, e, comment]);
}

const stored = (name: string | Buffer, data: string | Buffer, extra: Partial<Member> = {}): Member => {
  const d = typeof data === 'string' ? Buffer.from(data) : data;
  return { name, stored: d, crc: crc32(d), ...extra };
};

const deflated = (name: string, data: Buffer, extra: Partial<Member> = {}): Member =>
  ({ name, stored: deflateRawSync(data), size: data.length, crc: crc32(data), method: 8, ...extra });

/** The member's bytes, inflated when deflated. */
function contents(bytes: Buffer, e: ZipEntry): Buffer {
  const raw = bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
  return e.method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
}

const HI_ZIP = hx(`
  504b0304 1400 0000 0000 0000 2158 ac2a93d8 02000000 02000000 0500 0000 612e747874 6869
  504b0102 1e03 1400 0000 0000 0000 2158 ac2a93d8 02000000 02000000 0500 0000 0000 0000 0000 0000a481 00000000 612e747874
  504b0506 0000 0000 0100 0100 33000000 25000000 0000
`);

// ---- literal archives ----

describe('archives that read', () => {
  test('a hand-written one-member stored archive, byte for byte', () => {
    assert.equal(HI_ZIP.length, 110);
    const z = opened(HI_ZIP);
    assert.equal(z.fileSize, 110);
    assert.deepEqual([...z.entries.values()], [{
      name: 'a.txt', method: 0, crc: 0xd8932aac, compressedSize: 2, size: 2, dataOffset: 35, mtime: new Date('2024-01-01T00:00:00Z'),
    }]);
    assert.equal(contents(HI_ZIP, z.entries.get('a.txt') as ZipEntry).toString(), 'hi');
    assert.deepEqual(z.skipped, []);
  });

  test('the empty archive: an end record alone', () => {
    const z = opened(hx('504b0506 0000 0000 0000 0000 00000000 00000000 0000'));
    assert.equal(z.entries.size, 0);
    assert.equal(z.hasDir(''), false);
  });

  test('stored and deflated members, directories and nested paths, as writeZip makes them', () => {
    const text = Buffer.from('hello, zip! '.repeat(200));
    const bin = Buffer.alloc(777);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 37) & 255;
    const inputs: ZipInput[] = [
      { name: 'index.html', data: Buffer.from('<h1>x</h1>') },
      { name: 'img/', data: Buffer.alloc(0), store: true },
      { name: 'img/pic.bin', data: bin, store: true },
      { name: 'docs/deep/book.txt', data: text },
      { name: 'empty/', data: Buffer.alloc(0), store: true },
      { name: 'zero.txt', data: Buffer.alloc(0) },
    ];
    const bytes = writeZip(inputs);
    const z = opened(bytes);
    assert.deepEqual([...z.entries.keys()], ['index.html', 'img/pic.bin', 'docs/deep/book.txt', 'zero.txt'], 'directories are not members');
    const book = z.entries.get('docs/deep/book.txt') as ZipEntry;
    assert.equal(book.method, 8);
    assert.equal(book.size, text.length);
    assert.ok(book.compressedSize < text.length / 10, `compressed to ${book.compressedSize}`);
    assert.equal(book.crc, crc32(text));
    assert.deepEqual(contents(bytes, book), text);
    const pic = z.entries.get('img/pic.bin') as ZipEntry;
    assert.deepEqual({ method: pic.method, size: pic.size, compressedSize: pic.compressedSize }, { method: 0, size: 777, compressedSize: 777 });
    assert.deepEqual(contents(bytes, pic), bin);
    assert.deepEqual(contents(bytes, z.entries.get('zero.txt') as ZipEntry), Buffer.alloc(0));
    assert.equal(z.hasDir('img/'), true);
    assert.equal(z.hasDir('docs/'), true);
    assert.equal(z.hasDir('docs/deep/'), true);
    assert.equal(z.hasDir('empty/'), false, 'a directory entry with nothing under it');
    assert.equal(z.hasDir('nope/'), false);
    assert.deepEqual(z.skipped, []);
  });

  test('a deflated member built here: method 8, sizes and CRC as written', () => {
    const data = Buffer.from('abcabcabcabcabcabc-xyz');
    const bytes = build([deflated('d.txt', data)]);
    const e = opened(bytes).entries.get('d.txt') as ZipEntry;
    assert.equal(e.method, 8);
    assert.equal(e.size, data.length);
    assert.equal(e.compressedSize, deflateRawSync(data).length);
    assert.equal(e.crc, crc32(data));
    assert.deepEqual(contents(bytes, e), data);
  });

  test('an archive comment, up to the 65535 bytes the field allows', () => {
    for (const n of [1, 100, 65535]) {
      const z = opened(build([stored('a', 'x')], { comment: Buffer.alloc(n, 0x41) }));
      assert.deepEqual([...z.entries.keys()], ['a'], `comment of ${n}`);
    }
    // A comment holding something that looks like an end record is not taken for one.
    const fake = hx('504b0506 0000 0000 0900 0900 ffff0000 ffff0000 0500');
    const z = opened(build([stored('a', 'x')], { comment: Buffer.concat([fake, Buffer.from('tail!!!')]) }));
    assert.deepEqual([...z.entries.keys()], ['a']);
  });

  test('a local header\'s own extra field moves the data, whatever the central one says', () => {
    const bytes = build([stored('a.txt', 'DATA', { localExtra: Buffer.alloc(9, 0xee), centralExtra: Buffer.alloc(4, 0xdd), comment: Buffer.from('c') }), stored('b', 'B')]);
    const z = opened(bytes);
    const a = z.entries.get('a.txt') as ZipEntry;
    assert.equal(a.dataOffset, 30 + 5 + 9);
    assert.equal(contents(bytes, a).toString(), 'DATA');
    assert.equal(contents(bytes, z.entries.get('b') as ZipEntry).toString(), 'B');
  });

  test('names: UTF-8 with flag 11, latin1 (CP437 stand-in) without it', () => {
    const z = opened(build([
      stored(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9]), '1', { flags: 0x0800 }),
      stored(Buffer.from([0x6e, 0x61, 0xef, 0x76, 0x65]), '2', { flags: 0 }),
    ]));
    assert.deepEqual([...z.entries.keys()], ['caf\u00e9', 'na\u00efve']);
  });

  test('modification times from the DOS fields, 2 s resolution', () => {
    const t = new Date('2023-07-15T13:45:59Z');
    const bytes = writeZip([{ name: 'a', data: Buffer.from('x'), mtime: t }]);
    assert.deepEqual(opened(bytes).entries.get('a')?.mtime, new Date('2023-07-15T13:45:58Z'));
    const { date, time } = toDosTime(new Date('1980-01-01T00:00:00Z'));
    assert.deepEqual(opened(build([stored('a', 'x', { date, time })])).entries.get('a')?.mtime, new Date('1980-01-01T00:00:00Z'));
  });
});

describe('members left out, with the reason', () => {
  test('unsafe names', () => {
    const names = ['../evil', '/abs', 'a\\b', 'a//b', './a', 'a/./b', 'x/../../y', '..', 'nul\0.txt'];
    const z = opened(build([...names.map((n) => stored(n, 'e')), stored('ok/fine.txt', 'f')]));
    assert.deepEqual([...z.entries.keys()], ['ok/fine.txt']);
    assert.deepEqual(z.skipped, names.map((name) => ({ name, why: 'unsafe name' })));
    // Dots inside a part are fine.
    assert.deepEqual([...opened(build([stored('..a/b..', 'x'), stored('.hidden', 'y')])).entries.keys()], ['..a/b..', '.hidden']);
  });

  test('encrypted, an unknown method, stored sizes that differ, a duplicate name', () => {
    const z = opened(build([
      stored('enc', 'x', { flags: 0x0801 }),
      stored('m12', 'x', { method: 12 }),
      stored('m99', 'x', { method: 99 }),
      stored('sizes', 'abc', { size: 4 }),
      stored('dup', 'first'),
      stored('dup', 'second'),
    ]));
    assert.deepEqual(z.skipped, [
      { name: 'enc', why: 'encrypted' },
      { name: 'm12', why: 'compression method 12' },
      { name: 'm99', why: 'compression method 99' },
      { name: 'sizes', why: 'stored sizes differ' },
      { name: 'dup', why: 'duplicate name' },
    ]);
    assert.deepEqual([...z.entries.keys()], ['dup']);
    assert.equal(z.entries.get('dup')?.size, 5, 'the first of two names is kept');
  });

  test('maxEntrySize: a member of exactly the limit is kept, one byte more is left out', () => {
    const z = opened(build([stored('at', Buffer.alloc(100)), stored('over', Buffer.alloc(101))]), { maxEntrySize: 100 });
    assert.deepEqual([...z.entries.keys()], ['at']);
    assert.deepEqual(z.skipped, [{ name: 'over', why: 'larger than 100 bytes' }]);
  });

  test('maxRatio: a deflated member claiming more than the ratio allows is left out; small ones are not judged', () => {
    // 10 stored bytes claiming 2000 (ratio 200), 2 bytes claiming 1024 (not judged), 20 claiming 2000 (ratio 100).
    const z = opened(build([
      { name: 'bomb', stored: Buffer.alloc(10), size: 2000, method: 8 },
      { name: 'small', stored: Buffer.alloc(2), size: 1024, method: 8 },
      { name: 'edge', stored: Buffer.alloc(20), size: 2000, method: 8 },
      { name: 'zero', stored: Buffer.alloc(0), size: 1025, method: 8 },
    ]), { maxRatio: 100 });
    assert.deepEqual([...z.entries.keys()], ['small', 'edge']);
    assert.deepEqual(z.skipped, [{ name: 'bomb', why: 'compression ratio too high' }, { name: 'zero', why: 'compression ratio too high' }]);
    // Real deflate output of zeros passes the default limit (deflate cannot pass ~1032).
    const zeros = Buffer.alloc(1 << 20);
    assert.deepEqual([...opened(build([deflated('z', zeros)])).entries.keys()], ['z']);
  });

  test('maxEntries: exactly the limit reads, one more is refused outright', () => {
    const five = Array.from({ length: 5 }, (_, i) => stored(`f${i}`, 'x'));
    assert.equal(opened(build(five), { maxEntries: 5 }).entries.size, 5);
    refused(build([...five, stored('f5', 'x')]), 'more than 5 entries', { maxEntries: 5 });
    assert.equal(DEFAULT_ZIP_LIMITS.maxEntries, 10000);
  });
});

describe('archives refused, with the reason', () => {
  const one = () => [stored('a.txt', 'hello')];
  /** Offset of the central directory in build(one()). */
  const CD = 30 + 5 + 5;

  test('too small, no end record, a lying comment length, bytes after the end record', () => {
    refused(Buffer.alloc(21), 'too small to be a zip archive');
    refused(Buffer.alloc(0), 'too small to be a zip archive');
    refused(Buffer.from('this is not a zip archive, just text!!'), 'no end of central directory record');
    refused(build(one(), { comment: Buffer.from('abc'), commentLength: 4 }), 'no end of central directory record');
    refused(build(one(), { comment: Buffer.from('abc'), commentLength: 2 }), 'no end of central directory record');
    refused(Buffer.concat([build(one()), Buffer.from('x')]), 'no end of central directory record');
    refused(HI_ZIP.subarray(0, 109), 'no end of central directory record');
  });

  test('multi-disk and zip64 archives', () => {
    refused(build(one(), { disk: 1 }), 'multi-disk archives are not supported');
    refused(build(one(), { cdDisk: 1 }), 'multi-disk archives are not supported');
    refused(build(one(), { onDisk: 2 }), 'multi-disk archives are not supported');
    refused(build(one(), { count: 0xffff }), 'zip64 archives are not supported');
    refused(build(one(), { cdSize: 0xffffffff }), 'zip64 archives are not supported');
    refused(build(one(), { cdOffset: 0xffffffff }), 'zip64 archives are not supported');
    // A zip64 archive as zip tools write it: zip64 end record and locator, then the classic record saturated.
    const z64eocd = Buffer.alloc(56);
    z64eocd.writeUInt32LE(0x06064b50, 0);
    z64eocd.writeBigUInt64LE(44n, 4);
    z64eocd.writeBigUInt64LE(1n, 24);
    z64eocd.writeBigUInt64LE(1n, 32);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeUInt32LE(1, 16);
    const eocd = hx('504b0506 0000 0000 ffff ffff ffffffff ffffffff 0000');
    refused(Buffer.concat([z64eocd, loc, eocd]), 'zip64 archives are not supported');
    for (const field of ['csize', 'size', 'localOffset'] as const) {
      refused(build([stored('a.txt', 'hello', { [field]: 0xffffffff })]), 'zip64 entries are not supported');
    }
  });

  test('a central directory that does not fit where the end record says', () => {
    refused(build(one(), { cdSize: 52 }), 'central directory overlaps the end record or lies outside the file');
    refused(build(one(), { cdOffset: CD + 1 }), 'central directory overlaps the end record or lies outside the file');
    refused(build(one(), { count: 2 }), 'central directory too small for its entry count');
    refused(build(one(), { cdSize: 45, cdOffset: CD }), 'central directory too small for its entry count');
  });

  test('malformed central records', () => {
    const bad = build(one());
    bad.writeUInt32LE(0x02014b51, CD);
    refused(bad, 'central directory entry 0 is malformed');
    // Two entries claimed, room for two, but the second is not a central record.
    const two = build([stored('a', '1'), stored('b', '2')]);
    const cd2 = 2 * (30 + 1 + 1);
    two.writeUInt32LE(0, cd2 + 47);
    refused(two, 'central directory entry 1 is malformed');
    // A name length that runs past the directory.
    const long = build(one());
    long.writeUInt16LE(6, CD + 28);
    refused(long, 'central directory entry 0 runs past the directory');
    const ext = build(one());
    ext.writeUInt16LE(1, CD + 32);
    refused(ext, 'central directory entry 0 runs past the directory');
  });

  test('local headers and data that are not where they must be', () => {
    refused(build([stored('a.txt', 'hello', { localOffset: CD - 29 })]), 'entry "a.txt": local header outside the archive\'s data');
    refused(build([stored('a.txt', 'hello', { localOffset: 1 })]), 'entry "a.txt": bad local header signature');
    const sig = build(one());
    sig[0] = 0x51;
    refused(sig, 'entry "a.txt": bad local header signature');
    refused(build([stored('a.txt', 'hello', { csize: 6 })]), 'entry "a.txt": data runs past the archive\'s data');
    // A local extra length that pushes the data into the directory.
    const lx = build(one());
    lx.writeUInt16LE(1, 28);
    refused(lx, 'entry "a.txt": data runs past the archive\'s data');
    // Even a directory entry's data must lie inside the archive's data.
    refused(build([stored('d/', '', { csize: 1 })]), 'entry "d/": data runs past the archive\'s data');
  });
});

// ---- randomized ----

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-_.';

function randomName(rng: Rng, used: Set<string>): string {
  for (;;) {
    const parts = Array.from({ length: rng.range(1, 3) }, () => {
      let p = rng.chars(rng.range(1, 8), NAME_CHARS);
      if (/^\.+$/.test(p)) p += 'x';
      return p;
    });
    const n = parts.join('/') + (rng.chance(0.3) ? rng.pick(['.txt', '.html', '\u00e9t\u00e9', '']) : '');
    if (!used.has(n) && !used.has(n + '/')) {
      used.add(n);
      return n;
    }
  }
}

function randomData(rng: Rng, max: number): Buffer {
  switch (rng.int(4)) {
    case 0: return Buffer.alloc(rng.int(max + 1), rng.int(256));
    case 1: return Buffer.from(rng.chars(rng.int(max + 1), 'ab c\n'));
    default: return rng.bytes(rng.int(max + 1));
  }
}

interface RandomArchive {
  bytes: Buffer;
  inputs: ZipInput[];
}

function randomArchive(rng: Rng, maxEntries: number, maxData: number): RandomArchive {
  const used = new Set<string>();
  const inputs: ZipInput[] = [];
  for (let i = rng.int(maxEntries + 1); i > 0; i--) {
    if (rng.chance(0.1)) {
      inputs.push({ name: randomName(rng, used) + '/', data: Buffer.alloc(0), store: true });
      continue;
    }
    const ms = Date.UTC(rng.range(1980, 2100), rng.int(12), rng.range(1, 28), rng.int(24), rng.int(60), rng.int(30) * 2);
    inputs.push({ name: randomName(rng, used), data: randomData(rng, maxData), store: rng.chance(0.4), mtime: new Date(ms) });
  }
  let bytes = writeZip(inputs);
  if (rng.chance(0.3)) {
    // An archive comment.
    const c = Buffer.from(rng.chars(rng.int(300), 'comment PK\x05\x06'), 'latin1');
    bytes = Buffer.concat([bytes, c]);
    bytes.writeUInt16LE(c.length, bytes.length - c.length - 2);
  }
  return { bytes, inputs };
}

/** The reader's own rule, restated: no absolute, `..`, `.`, empty parts, backslash or NUL. */
function safeName(n: string): boolean {
  if (n === '' || n.startsWith('/') || n.includes('\\') || n.includes('\0')) return false;
  return n.replace(/\/$/, '').split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

describe('seeded random archives', () => {
  test('random archives read back as written: names in order, methods, sizes, CRCs, bytes, times', () => {
    seeded('zip valid', 150, (rng) => {
      const a = randomArchive(rng, 8, rng.chance(0.1) ? 5000 : 200);
      const z = opened(a.bytes);
      const files = a.inputs.filter((i) => !i.name.endsWith('/'));
      assert.deepEqual([...z.entries.keys()], files.map((i) => i.name));
      for (const i of files) {
        const e = z.entries.get(i.name) as ZipEntry;
        assert.equal(e.method, i.store ? 0 : 8, i.name);
        assert.equal(e.size, i.data.length);
        assert.equal(e.crc, crc32(i.data));
        assert.deepEqual(contents(a.bytes, e), Buffer.from(i.data));
        assert.equal(e.mtime.getTime(), (i.mtime as Date).getTime());
      }
      assert.deepEqual(z.skipped, []);
      // Every directory some member is under is a directory.
      for (const i of files) {
        const parts = i.name.split('/');
        for (let k = 1; k < parts.length; k++) assert.equal(z.hasDir(parts.slice(0, k).join('/') + '/'), true);
      }
    });
  });

  test('mutated archives: a ZipFormatError, or entries that keep every promise within the limits', () => {
    const limits: ZipLimits = { maxEntries: 5, maxEntrySize: 3000, maxRatio: 20 };
    const seen = { refused: 0, read: 0, skipped: 0, reasons: new Set<string>() };
    seeded('zip mutated', 400, (rng) => {
      const a = randomArchive(rng, 6, rng.chance(0.1) ? 4000 : 60);
      // Half the time bytes change in place, so offsets stay right and more archives get past the structure checks.
      const { out, ops } = mutate(rng, a.bytes, {
        inPlace: rng.chance(0.5),
        interesting: [0x00, 0x01, 0x08, 0x0c, 0x2e, 0x2f, 0x5c, 0x7f, 0x80, 0xff],
        dictionary: [hx('ffff'), hx('ffffffff'), hx('504b0304'), hx('504b0102'), hx('504b0506'), hx('0000'), '../', '/', '\\'],
      });
      const ctx = ops.join(', ');
      const r = open(out, limits);
      if (!r.ok) {
        seen.refused++;
        seen.reasons.add(r.error.replace(/"[^"]*"/, '"…"').replace(/\d+/g, 'N'));
        return;
      }
      seen.read++;
      const z = r.archive;
      assert.equal(z.fileSize, out.length);
      assert.ok(z.entries.size + z.skipped.length <= limits.maxEntries, `${z.entries.size} + ${z.skipped.length} members: ${ctx}`);
      if (z.skipped.length) seen.skipped++;
      for (const [name, e] of z.entries) {
        assert.equal(e.name, name);
        assert.ok(safeName(name), `unsafe name ${JSON.stringify(name)} kept: ${ctx}`);
        assert.ok(!name.endsWith('/'), 'a directory kept as a member');
        assert.ok(e.method === 0 || e.method === 8);
        if (e.method === 0) assert.equal(e.compressedSize, e.size, ctx);
        assert.ok(e.size <= limits.maxEntrySize, `member of ${e.size} bytes kept: ${ctx}`);
        if (e.method === 8 && e.size > 1024) assert.ok(e.size / Math.max(1, e.compressedSize) <= limits.maxRatio, `ratio kept: ${ctx}`);
        assert.ok(e.dataOffset >= 30 && e.dataOffset + e.compressedSize <= out.length - 22, `data outside the archive's data: ${ctx}`);
        assert.ok(!Number.isNaN(e.mtime.getTime()), 'a valid date');
      }
      // Read again: the same answer.
      const again = opened(out, limits);
      assert.deepEqual([...again.entries.values()], [...z.entries.values()]);
      assert.deepEqual(again.skipped, z.skipped);
    });
    assert.ok(seen.refused > 100 && seen.read > 50 && seen.skipped >= 5, JSON.stringify({ ...seen, reasons: [...seen.reasons] }));
    assert.ok(seen.reasons.size >= 8, `refusal reasons seen: ${[...seen.reasons].join('; ')}`);
  });
});
