/**
 * The decoder's refusals and limits: every malformed block named by RFC
 * 7541 (index 0 or past the tables, an integer too large or too long, a
 * string or representation cut off by the block's end, a size update after
 * a field or over the setting, or missing after the setting went down) is
 * an HpackError; maxHeaderListSize drops the fields but keeps the table in
 * step; table size updates and settings behave as 4.2 and 6.3 say.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder, HpackError, type HeaderField } from '../../../../src/roles/h2/hpack/index.js';
import { BlockReader, MAX_INT } from '../../../../src/roles/h2/hpack/reader.js';
import { BlockWriter } from '../../../../src/roles/h2/hpack/writer.js';

function hx(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** An integer as hex. */
function intHex(v: number, prefixBits: number, flags: number): string {
  const w = new BlockWriter();
  w.int(v, prefixBits, flags);
  return w.take().toString('hex');
}

/** A literal with incremental indexing, literal name, strings not Huffman-coded, as hex. */
function indexedLiteral(name: string, value: string): string {
  const str = (s: string) => intHex(s.length, 7, 0) + Buffer.from(s, 'latin1').toString('hex');
  return '40' + str(name) + str(value);
}

function throwsHpack(block: Buffer | string, message: RegExp, d = new HpackDecoder()): void {
  assert.throws(() => d.decode(typeof block === 'string' ? hx(block) : block), (e: unknown) => {
    assert.ok(e instanceof HpackError, `expected an HpackError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

describe('indexes', () => {
  test('index 0 is refused', () => {
    throwsHpack('80', /index 0/);
  });

  test('an index past the static and dynamic tables is refused, for fields and for names', () => {
    throwsHpack('be', /index 62 past the end/); // empty dynamic table
    throwsHpack('7f00 00', /index 63 past the end/); // literal with indexing, name index 63
    throwsHpack('0f30 00', /index 63 past the end/); // literal without indexing, name index 63
    throwsHpack('1f30 00', /index 63 past the end/); // never indexed, name index 63
    throwsHpack('ff80ffffff07', /past the end/); // a large index
    // With one dynamic entry, 62 is fine and 63 is not.
    const d = new HpackDecoder();
    d.decode(hx(indexedLiteral('a', 'b')));
    assert.deepEqual(d.decode(hx('be')).fields, [['a', 'b']]);
    assert.deepEqual(d.decode(hx('0f2f 01 63')).fields, [['a', 'c']]); // name 62, not indexed
    throwsHpack('bf', /index 63 past the end/, d);
  });

  test('the last static entry and every static index decode', () => {
    const d = new HpackDecoder();
    for (let i = 1; i <= 61; i++) assert.equal(d.decode(Buffer.from([0x80 | i])).fields.length, 1);
    assert.deepEqual(d.decode(hx('bd')).fields, [['www-authenticate', '']]);
  });
});

describe('integers', () => {
  test('2^31 - 1 is the largest integer read; one more is refused', () => {
    const w = new BlockWriter();
    w.int(MAX_INT, 7, 0);
    const r = new BlockReader();
    r.reset(w.take());
    assert.equal(r.int(7), MAX_INT);
    assert.equal(r.done, true);
    w.int(MAX_INT + 1, 7, 0);
    r.reset(w.take());
    assert.throws(() => r.int(7), /too large/);
  });

  test('overflow in a representation is refused', () => {
    throwsHpack('ff ffffffff 0f', /too large/); // indexed
    throwsHpack('3f ffffffff 0f', /too large/); // size update
    throwsHpack('40 7f ffffffff 0f', /too large/); // string length
  });

  test('more than five continuation octets are refused, even with zero bits', () => {
    throwsHpack('ff 8080808080 00', /too many octets/);
    const r = new BlockReader();
    r.reset(hx('ff 80808080 00'));
    assert.equal(r.int(7), 127); // five is fine (overlong, but bounded)
  });

  test('an endless run of 0xff stops at once', () => {
    const run = Buffer.alloc(1 << 20, 0xff);
    const t = process.hrtime.bigint();
    for (const first of [0xff, 0x3f, 0x7f, 0x1f, 0x0f]) {
      run[0] = first;
      assert.throws(() => new HpackDecoder().decode(run), HpackError);
    }
    assert.ok(process.hrtime.bigint() - t < 200_000_000n, 'refused without reading the run');
  });
});

describe('truncation', () => {
  test('a block that ends inside a representation is refused', () => {
    throwsHpack('ff', /ends inside an integer/); // indexed, continuation missing
    throwsHpack('3f', /ends inside an integer/); // size update, continuation missing
    throwsHpack('40', /ends before a string/); // literal, no name
    throwsHpack('40 01 61', /ends before a string/); // literal, no value
    throwsHpack('44', /ends before a string/); // literal with name index, no value
    throwsHpack('00 7f', /ends inside an integer/); // name length cut
    throwsHpack('10 01', /runs past the end/); // name string cut
  });

  test('a string length past the block is refused', () => {
    throwsHpack('40 05 6162', /runs past the end/);
    throwsHpack('44 85 6162', /runs past the end/); // Huffman-coded
    throwsHpack('04 7f 00', /runs past the end/); // 127 octets promised
  });

  test('every prefix of a valid block either decodes (cut between representations) or is refused', () => {
    const block = hx('3f e1 1f 82 87 85 be 4088 25a849e95ba97d7f 8925a849e95bb8e8b4bf 0f2b 03 313233 1008 70617373776f7264 0673 65637265 74');
    // be needs an entry: give the decoder one first each time.
    let ok = 0;
    let refused = 0;
    for (let cut = 0; cut <= block.length; cut++) {
      const d = new HpackDecoder();
      d.decode(hx('41 0f 7777772e6578616d706c652e636f6d'));
      try {
        d.decode(block.subarray(0, cut));
        ok++;
      } catch (e) {
        assert.ok(e instanceof HpackError, String(e));
        refused++;
      }
    }
    assert.equal(ok, 9); // 0, 3 (after the size update), after each of the 7 representations
    assert.equal(refused, block.length + 1 - ok);
  });
});

describe('dynamic table size updates', () => {
  test('only at the start of a block', () => {
    throwsHpack('82 20', /size update after a field/);
    throwsHpack('20 82 3fe11f', /size update after a field/);
  });

  test('never above the setting', () => {
    throwsHpack('3f e2 1f', /4097, over the setting 4096/);
    throwsHpack('3f e1 07', /over the setting 1000/, new HpackDecoder({ maxTableSize: 1000 }));
    assert.deepEqual(new HpackDecoder().decode(hx('3f e1 1f 82')).fields, [[':method', 'GET']]);
  });

  test('several at the start: each applied, the last wins', () => {
    const d = new HpackDecoder();
    d.decode(hx(indexedLiteral('a', 'b') + indexedLiteral('c', 'd')));
    assert.equal(d.tableSize, 68);
    // 0 empties the table; then 4096 again; then a field.
    const r = d.decode(hx('20 3fe11f 82'));
    assert.deepEqual(r.fields, [[':method', 'GET']]);
    assert.equal(d.tableSize, 0);
    assert.deepEqual(d.dynamicEntries(), []);
    // 34 octets keeps one entry of 34: the older goes.
    d.decode(hx(indexedLiteral('a', 'b') + indexedLiteral('c', 'd')));
    d.decode(hx('3f 1f 3f 03'));
    assert.deepEqual(d.dynamicEntries(), [['c', 'd']]);
    // The table is now 34 octets: a 35-octet entry empties it and is not added (RFC 7541 4.4).
    d.decode(hx(indexedLiteral('ab', 'c')));
    assert.deepEqual(d.dynamicEntries(), []);
    throwsHpack('be', /past the end/, d);
  });

  test('a block of only size updates is fine', () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hx('20')), { fields: [], tooLarge: false });
    assert.deepEqual(d.decode(hx('')), { fields: [], tooLarge: false });
  });
});

describe('our setting changes (setMaxTableSize)', () => {
  test('lowered below the table: the next block must start with an update within it', () => {
    const d = new HpackDecoder();
    d.decode(hx(indexedLiteral('a', 'b')));
    d.setMaxTableSize(100);
    throwsHpack('82', /expected a dynamic table size update/, d);
    const d2 = new HpackDecoder();
    d2.setMaxTableSize(100);
    throwsHpack('', /expected a dynamic table size update/, d2);
    throwsHpack('3f 46', /over the setting 100/, d2); // 101
    assert.deepEqual(d2.decode(hx('3f 45 82')).fields, [[':method', 'GET']]); // 100
    // Satisfied once: later blocks need none.
    assert.deepEqual(d2.decode(hx('82')).fields, [[':method', 'GET']]);
  });

  test('raised: updates may now go up to it, and none is required', () => {
    const d = new HpackDecoder();
    throwsHpack('3f e1 3f', /over the setting 4096/, d); // 8192
    const d2 = new HpackDecoder();
    d2.setMaxTableSize(8192);
    assert.deepEqual(d2.decode(hx('82')).fields, [[':method', 'GET']]);
    assert.deepEqual(d2.decode(hx('3f e1 3f 82')).fields, [[':method', 'GET']]);
    // The table really holds 8192 octets now.
    const big = 'x'.repeat(5000);
    d2.decode(hx(indexedLiteral('big', big)));
    assert.equal(d2.tableSize, 5035);
  });

  test('bad setting values are a programming error, not an HpackError', () => {
    for (const bad of [-1, 1.5, NaN, 2 ** 32]) {
      assert.throws(() => new HpackDecoder().setMaxTableSize(bad), RangeError);
      assert.throws(() => new HpackEncoder().setMaxTableSize(bad), RangeError);
    }
  });
});

describe('maxHeaderListSize', () => {
  // Each field: name + value + 32.
  const fields: Array<[string, string]> = [['x-a', 'v'.repeat(20)], ['x-b', 'w'.repeat(20)], ['x-c', 'y'.repeat(20)]];
  const size = 3 * (3 + 20 + 32);

  test('a block over the limit: tooLarge, no fields, and the table kept in step', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder({ maxHeaderListSize: size - 1 });
    const r = d.decode(e.encode(fields));
    assert.deepEqual(r, { fields: [], tooLarge: true });
    assert.deepEqual(d.dynamicEntries(), e.dynamicEntries());
    assert.equal(d.dynamicEntries().length, 3);
    // The next block refers to those entries and decodes right.
    const next: HeaderField[] = [['x-c', 'y'.repeat(20)], [':method', 'GET'], ['x-a', 'v'.repeat(20)]];
    const block = e.encode(next);
    assert.equal(block.length, 3, 'all indexed');
    assert.deepEqual(d.decode(block), { fields: next, tooLarge: false });
  });

  test('exactly at the limit is fine', () => {
    const d = new HpackDecoder({ maxHeaderListSize: size });
    assert.deepEqual(d.decode(new HpackEncoder().encode(fields)).fields, fields);
  });

  test('fields past the limit are not kept while the rest of the block decodes', () => {
    // A block of many large never-indexed literals: the result holds none of them.
    const e = new HpackEncoder();
    const many = Array.from({ length: 200 }, (_, i): [string, string, boolean] => [`x-${i}`, 'z'.repeat(1000), true]);
    const d = new HpackDecoder({ maxHeaderListSize: 4096 });
    const r = d.decode(e.encode(many));
    assert.equal(r.tooLarge, true);
    assert.equal(r.fields.length, 0);
    // Malformed after the limit is still malformed.
    const bad = Buffer.concat([e.encode(many), hx('80')]);
    throwsHpack(bad, /index 0/, d);
  });

  test('the default is 64 KiB', () => {
    const d = new HpackDecoder();
    const e = new HpackEncoder();
    const f = (n: number): Array<[string, string]> => [['x', 'a'.repeat(n)]];
    assert.equal(d.decode(e.encode(f(65536 - 33))).tooLarge, false);
    assert.equal(d.decode(e.encode(f(65536 - 32))).tooLarge, true);
  });
});

test('the decoder does not judge names or values: any octet round-trips', () => {
  let all = '';
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const fields: HeaderField[] = [['', ''], ['UPPER Case\r\n', all], [all, 'x']];
  assert.deepEqual(d.decode(e.encode(fields)).fields, fields);
  assert.deepEqual(d.decode(e.encode(fields)).fields, fields);
});

test('a Uint8Array that is not a Buffer, and a view into a larger buffer, decode the same', () => {
  const block = new HpackEncoder().encode([[':method', 'GET'], ['x-y', 'z']]);
  const u8 = new Uint8Array(block);
  assert.deepEqual(new HpackDecoder().decode(u8).fields, [[':method', 'GET'], ['x-y', 'z']]);
  const big = new Uint8Array(block.length + 10);
  big.set(block, 5);
  assert.deepEqual(new HpackDecoder().decode(big.subarray(5, 5 + block.length)).fields, [[':method', 'GET'], ['x-y', 'z']]);
});
