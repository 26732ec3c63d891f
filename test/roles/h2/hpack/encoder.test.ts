/**
 * The encoder's strategy, representation by representation: exact matches
 * indexed, which fields are added to the table and which are not, sensitive
 * fields never indexed, names by index, Huffman only when shorter, and the
 * dynamic table size updates it signals when the peer's setting changes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../../src/roles/h2/hpack/index.js';
import { huffmanLength } from '../../../../src/roles/h2/hpack/huffman.js';

type In = ReadonlyArray<readonly [string, string, boolean?]>;

/** Encode on `e`, decode on `d`, check the fields and that both tables agree; returns the block. */
function roundTrip(e: HpackEncoder, d: HpackDecoder, fields: In, expect?: HeaderField[]): Buffer {
  const block = e.encode(fields);
  assert.deepEqual(d.decode(block).fields, expect ?? fields.map(([n, v]) => [n, v]));
  assert.deepEqual(d.dynamicEntries(), e.dynamicEntries());
  return block;
}

describe(':status', () => {
  test('the seven static statuses are one octet each', () => {
    const e = new HpackEncoder();
    const got = ['200', '204', '206', '304', '400', '404', '500'].map((s) => e.encode([[':status', s]]).toString('hex'));
    assert.deepEqual(got, ['88', '89', '8a', '8b', '8c', '8d', '8e']);
  });

  test('any other goes by the name index, without indexing', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    for (const s of ['101', '301', '302', '403', '503']) {
      const b = roundTrip(e, d, [[':status', s]]);
      assert.equal(b[0], 0x08, s);
    }
    assert.deepEqual(e.dynamicEntries(), []);
  });
});

describe('what goes into the table', () => {
  test('fields likely to repeat are indexed, then sent as one octet', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields: In = [
      ['content-type', 'text/html'], ['cache-control', 'no-store'], ['server', 'lwsws'], ['vary', 'accept-encoding'],
      ['accept-ranges', 'bytes'], ['x-custom', 'some value'],
    ];
    const first = roundTrip(e, d, fields);
    assert.equal(first[0] & 0xc0, 0x40, 'literal with incremental indexing');
    assert.equal(e.dynamicEntries().length, 6);
    const second = roundTrip(e, d, fields);
    // Newest first: x-custom is 62, content-type 67.
    assert.equal(second.toString('hex'), 'c3c2c1c0bfbe');
  });

  test('fields whose value changes per message go without indexing and leave the table alone', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields: In = [
      ['content-length', '1234'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['etag', '"abc"'],
      ['last-modified', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['content-range', 'bytes 0-1/2'], ['location', '/x'],
      ['expires', '0'], ['age', '1'], [':path', '/a?b'], ['if-none-match', '"abc"'], ['retry-after', '3'],
    ];
    const block = roundTrip(e, d, fields);
    assert.equal(block[0] & 0xf0, 0x00);
    assert.deepEqual(e.dynamicEntries(), []);
  });

  test('a field over a quarter of the table is not indexed; one at the bound is', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    roundTrip(e, d, [['x-big', 'a'.repeat(1024 - 32 - 5 + 1)]]);
    assert.deepEqual(e.dynamicEntries(), []);
    roundTrip(e, d, [['x-big', 'a'.repeat(1024 - 32 - 5)]]);
    assert.equal(e.dynamicEntries().length, 1);
    assert.equal(d.tableSize, 1024);
  });

  test('names come by index: static first, else dynamic', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    // content-type is static 31: 0x40 | 31.
    assert.equal(roundTrip(e, d, [['content-type', 'a/b']])[0], 0x5f);
    // x-a is new: literal name.
    assert.equal(roundTrip(e, d, [['x-a', '1']])[0], 0x40);
    // x-a again with another value: name from the dynamic table (62).
    assert.equal(roundTrip(e, d, [['x-a', '2']])[0], 0x7e);
    // Unindexed with a dynamic name (x-a is now 62): 4-bit prefix, 0x0f then 47.
    const b = roundTrip(e, d, [['x-a', '3', true]], [['x-a', '3', true]]);
    assert.deepEqual([...b.subarray(0, 2)], [0x1f, 62 - 15]);
  });

  test('an exact static match with a value wins over the dynamic table; empty values match too', () => {
    const e = new HpackEncoder();
    assert.equal(e.encode([['accept-encoding', 'gzip, deflate']]).toString('hex'), '90');
    assert.equal(e.encode([[':authority', '']]).toString('hex'), '81');
    assert.equal(e.encode([['accept', '']]).toString('hex'), '93');
  });

  test('eviction keeps the encoder’s lookups right', () => {
    const e = new HpackEncoder(200); // 50 octets may be indexed
    const d = new HpackDecoder({ maxTableSize: 200 });
    // Each entry 32 + 3 + 10 = 45: four fit (180), the fifth evicts the first.
    const f = (i: number): [string, string] => [`x-${i % 10}`, `value-${String(i).padStart(4, '0')}`];
    for (let i = 0; i < 40; i++) {
      roundTrip(e, d, [f(i)]);
      assert.ok(e.dynamicEntries().length <= 4);
      // The last four are one octet each; older ones are literals again.
      const recent = e.encode([f(i), f(i - 1 < 0 ? 0 : i - 1)]);
      assert.equal(recent.length, 2);
      d.decode(recent);
    }
    // x-9 with a new value: the name comes from the newest entry, f(39).
    const b = roundTrip(e, d, [['x-9', 'fresh']]);
    assert.equal(b[0], 0x40 | (61 + 1), 'name index of the newest x-9');
  });
});

describe('sensitive fields', () => {
  test('authorization, proxy-authorization, set-cookie and short cookies are never indexed', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields: In = [
      ['authorization', 'Basic dXNlcjpwYXNz'], ['proxy-authorization', 'Basic eA=='], ['set-cookie', 'a=b; Path=/'],
      ['cookie', 'sid=0123456789abcde'], // 19 octets
    ];
    for (let round = 0; round < 2; round++) {
      const block = roundTrip(e, d, fields, fields.map(([n, v]) => [n, v, true]));
      assert.equal(block[0] & 0xf0, 0x10);
    }
    assert.deepEqual(e.dynamicEntries(), []);
  });

  test('a cookie of 20 octets or more is indexed like any field', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    roundTrip(e, d, [['cookie', 'sid=0123456789abcdef']]);
    assert.deepEqual(e.dynamicEntries(), [['cookie', 'sid=0123456789abcdef']]);
  });

  test('the caller’s sensitive flag wins over any match, static or dynamic', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    roundTrip(e, d, [['x-token', 'abc']]);
    const b = roundTrip(e, d, [[':method', 'GET', true], ['x-token', 'abc', true]], [[':method', 'GET', true], ['x-token', 'abc', true]]);
    assert.equal(b[0], 0x12, 'never indexed, name :method (2)');
    assert.equal(e.dynamicEntries().length, 1);
  });
});

describe('strings', () => {
  test('Huffman only when it is shorter', () => {
    const e = new HpackEncoder();
    // "aaaa": 20 bits = 3 octets < 4 → Huffman (0x83).
    assert.deepEqual([...e.encode([['x-a', 'aaaa', true]]).subarray(-4)], [0x83, 0x18, 0xc6, 0x3f]);
    // Rare octets code long: "\x00\x00" is 26 bits = 4 octets > 2 → as is.
    assert.deepEqual([...e.encode([['x-a', '\x00\x00', true]]).subarray(-3)], [0x02, 0, 0]);
    // Equal length → as is: "307" is 17 bits = 3 octets.
    assert.equal(huffmanLength('307'), 3);
    assert.deepEqual([...e.encode([[':status', '307']])], [0x08, 0x03, 0x33, 0x30, 0x37]);
  });

  test('long strings and lengths over a one-octet prefix', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
    for (const n of [126, 127, 128, 255, 16383, 16384, 100000]) {
      roundTrip(e, d, [['x-long', 'q'.repeat(n)], ['\x01'.repeat(n), 'v']]);
    }
  });

  test('the block handed out is not reused by the next encode', () => {
    const e = new HpackEncoder();
    const a = e.encode([['x-a', 'first value']]);
    const copy = Buffer.from(a);
    e.encode([['x-b', 'second value that is longer']]);
    e.encode([['x-c', 'z'.repeat(40000)]]);
    assert.deepEqual(a, copy);
  });
});

describe('table size updates (the peer’s SETTINGS_HEADER_TABLE_SIZE)', () => {
  test('a change is signalled once, at the start of the next block', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    e.setMaxTableSize(1000);
    d.setMaxTableSize(1000);
    const b = e.encode([[':method', 'GET']]);
    assert.equal(b.toString('hex'), '3fc90782'); // 1000 = 31 + 969
    d.decode(b);
    assert.equal(e.encode([[':method', 'GET']]).toString('hex'), '82');
  });

  test('down then up between blocks: the minimum first, then the final size', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    roundTrip(e, d, [['x-a', 'b']]);
    e.setMaxTableSize(0);
    e.setMaxTableSize(4096);
    const b = e.encode([['x-a', 'b']]);
    assert.equal(b.subarray(0, 4).toString('hex'), '203fe11f');
    d.decode(b);
    assert.deepEqual(d.dynamicEntries(), [['x-a', 'b']], 'the old entry was flushed, the field added again');
    assert.deepEqual(e.dynamicEntries(), d.dynamicEntries());
  });

  test('down twice, then up: the lowest first', () => {
    const e = new HpackEncoder();
    e.setMaxTableSize(300);
    e.setMaxTableSize(100);
    e.setMaxTableSize(200);
    assert.equal(e.encode([]).toString('hex'), '3f45' + '3f a9 01'.replace(/\s/g, ''));
  });

  test('no change, or a change that ends where it started without going lower, signals nothing', () => {
    const e = new HpackEncoder();
    e.setMaxTableSize(4096);
    assert.equal(e.encode([]).length, 0);
    e.setMaxTableSize(8192);
    e.setMaxTableSize(4096);
    assert.equal(e.encode([]).length, 0);
  });

  test('the encoder never uses more than 4096, whatever the peer allows', () => {
    const e = new HpackEncoder(65536);
    assert.equal(e.encode([]).length, 0, 'still 4096: nothing to signal');
    e.setMaxTableSize(1 << 20);
    assert.equal(e.encode([]).length, 0);
    // The peer's decoder: its table starts at 4096 and may grow only when told.
    const d = new HpackDecoder();
    d.setMaxTableSize(1 << 20);
    for (let i = 0; i < 200; i++) roundTrip(e, d, [[`x-${i}`, 'v'.repeat(100)]]);
    assert.ok(d.tableSize <= 4096);
  });

  test('a peer setting below 4096 from the start is signalled in the first block', () => {
    const e = new HpackEncoder(256);
    assert.equal(e.encode([]).toString('hex'), '3fe101');
    assert.equal(e.encode([]).toString('hex'), '');
    const z = new HpackEncoder(0);
    const d = new HpackDecoder({ maxTableSize: 0 });
    roundTrip(z, d, [['x-a', 'b'], ['x-a', 'b']]);
    assert.deepEqual(z.dynamicEntries(), []);
  });
});
