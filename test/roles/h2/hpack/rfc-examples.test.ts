/**
 * RFC 7541 Appendix C, every example: the RFC's bytes decode to its fields
 * and leave its dynamic table (entries and size) after each block; our
 * encoder, given the same fields, writes bytes that decode back to them,
 * byte for byte the RFC's where our strategy makes the RFC's choices (the
 * Huffman requests of C.4), and where it does not (dates, locations and
 * other :status values go unindexed, set-cookie never indexed), bytes
 * assembled from the RFC's own pieces.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../../src/roles/h2/hpack/index.js';
import { BlockReader } from '../../../../src/roles/h2/hpack/reader.js';
import { BlockWriter } from '../../../../src/roles/h2/hpack/writer.js';

/** "8286 8441" → bytes. */
function hx(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

type Fields = Array<[string, string]>;
/** A dynamic table as the RFC prints it: entries newest first, and its size. */
interface Table {
  entries: Fields;
  size: number;
}

function checkDecode(d: HpackDecoder, block: Buffer, fields: HeaderField[], table: Table, what: string): void {
  const r = d.decode(block);
  assert.equal(r.tooLarge, false, what);
  assert.deepEqual(r.fields, fields, `${what}: fields`);
  assert.deepEqual(d.dynamicEntries(), table.entries, `${what}: table`);
  assert.equal(d.tableSize, table.size, `${what}: table size`);
  // The RFC's per-entry sizes add up to its total, as ours must.
  assert.equal(table.entries.reduce((n, [a, b]) => n + a.length + b.length + 32, 0), table.size, `${what}: RFC sizes`);
}

describe('C.1 integer representation', () => {
  const cases: Array<[string, number, number, string]> = [
    ['C.1.1 10 with a 5-bit prefix', 10, 5, '0a'],
    ['C.1.2 1337 with a 5-bit prefix', 1337, 5, '1f9a0a'],
    ['C.1.3 42 at an octet boundary', 42, 8, '2a'],
  ];
  for (const [what, value, prefix, bytes] of cases) {
    test(what, () => {
      const w = new BlockWriter();
      w.int(value, prefix, 0);
      assert.equal(w.take().toString('hex'), bytes);
      // The bits above the prefix belong to the representation, not the integer.
      const r = new BlockReader();
      const flagged = hx(bytes);
      if (prefix < 8) flagged[0] |= 0xff << prefix;
      r.reset(flagged);
      assert.equal(r.int(prefix), value);
      assert.equal(r.done, true);
      const w2 = new BlockWriter();
      w2.int(value, prefix, prefix < 8 ? (0xff << prefix) & 0xff : 0);
      assert.deepEqual(w2.take(), flagged);
    });
  }
});

describe('C.2 header field representations', () => {
  test('C.2.1 literal with indexing', () => {
    checkDecode(new HpackDecoder(), hx('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'),
      [['custom-key', 'custom-header']], { entries: [['custom-key', 'custom-header']], size: 55 }, 'C.2.1');
  });
  test('C.2.2 literal without indexing', () => {
    checkDecode(new HpackDecoder(), hx('040c 2f73 616d 706c 652f 7061 7468'), [[':path', '/sample/path']], { entries: [], size: 0 }, 'C.2.2');
  });
  test('C.2.3 literal never indexed', () => {
    checkDecode(new HpackDecoder(), hx('1008 7061 7373 776f 7264 0673 6563 7265 74'),
      [['password', 'secret', true]], { entries: [], size: 0 }, 'C.2.3');
  });
  test('C.2.4 indexed', () => {
    checkDecode(new HpackDecoder(), hx('82'), [[':method', 'GET']], { entries: [], size: 0 }, 'C.2.4');
  });

  test('our encoder on the same fields', () => {
    // C.2.4's choice is ours: an exact static match is one octet.
    assert.equal(new HpackEncoder().encode([[':method', 'GET']]).toString('hex'), '82');
    // custom-key is indexed as the RFC does, with Huffman strings (shorter).
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const b1 = e.encode([['custom-key', 'custom-header']]);
    assert.equal(b1[0], 0x40);
    checkDecode(d, b1, [['custom-key', 'custom-header']], { entries: [['custom-key', 'custom-header']], size: 55 }, 'C.2.1 ours');
    // :path changes per request: not indexed, name by static index as in C.2.2.
    const b2 = e.encode([[':path', '/sample/path']]);
    assert.equal(b2[0], 0x04);
    checkDecode(d, b2, [[':path', '/sample/path']], { entries: [['custom-key', 'custom-header']], size: 55 }, 'C.2.2 ours');
    // A field marked sensitive goes out never indexed, as in C.2.3.
    const b3 = e.encode([['password', 'secret', true]]);
    assert.equal(b3[0], 0x10);
    checkDecode(d, b3, [['password', 'secret', true]], { entries: [['custom-key', 'custom-header']], size: 55 }, 'C.2.3 ours');
  });
});

// The request lists of C.3 and C.4, and the tables after each.
const REQUESTS: Array<{ fields: Fields; table: Table }> = [
  {
    fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
    table: { entries: [[':authority', 'www.example.com']], size: 57 },
  },
  {
    fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
    table: { entries: [['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 110 },
  },
  {
    fields: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
    table: { entries: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 164 },
  },
];

const C3 = [
  '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '8286 84be 5808 6e6f 2d63 6163 6865',
  '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
];
const C4 = [
  '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
  '8286 84be 5886 a8eb 1064 9cbf',
  '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
];

describe('C.3 and C.4 requests', () => {
  test('C.3 requests without Huffman: three blocks on one decoder', () => {
    const d = new HpackDecoder();
    C3.forEach((h, i) => checkDecode(d, hx(h), REQUESTS[i].fields, REQUESTS[i].table, `C.3.${i + 1}`));
  });
  test('C.4 requests with Huffman: three blocks on one decoder', () => {
    const d = new HpackDecoder();
    C4.forEach((h, i) => checkDecode(d, hx(h), REQUESTS[i].fields, REQUESTS[i].table, `C.4.${i + 1}`));
  });
  test('our encoder makes the RFC choices here: exactly the bytes of C.4, and the same tables', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    REQUESTS.forEach(({ fields, table }, i) => {
      const block = e.encode(fields);
      assert.equal(block.toString('hex'), C4[i].replace(/\s+/g, ''), `C.4.${i + 1} bytes`);
      assert.deepEqual(e.dynamicEntries(), table.entries, `C.4.${i + 1} encoder table`);
      checkDecode(d, block, fields, table, `C.4.${i + 1} ours`);
    });
  });
});

// The response lists of C.5 and C.6 (a 256-octet table), and the tables after each.
const SET_COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const RESPONSES: Array<{ fields: Fields; table: Table }> = [
  {
    fields: [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
    table: { entries: [['location', LOCATION], ['date', DATE1], ['cache-control', 'private'], [':status', '302']], size: 222 },
  },
  {
    fields: [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
    table: { entries: [[':status', '307'], ['location', LOCATION], ['date', DATE1], ['cache-control', 'private']], size: 222 },
  },
  {
    fields: [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', LOCATION], ['content-encoding', 'gzip'], ['set-cookie', SET_COOKIE]],
    table: { entries: [['set-cookie', SET_COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]], size: 215 },
  },
];

const C5 = [
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
  '4803 3330 37c1 c0bf',
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
];
const C6 = [
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  '4883 640e ffc1 c0bf',
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
];

// The strings of C.6, to assemble what our strategy writes: Huffman-coded
// as there, except "307", whose code is no shorter than its octets (17 bits
// pad to 3 octets), so we send it as it is, as C.5 does.
const H = {
  s302: '82 6402',
  s307: '03 333037',
  private: '85 aec3771a4b',
  date1: '96 d07abe941054d444a8200595040b8166e082a62d1bff',
  date2: '96 d07abe941054d444a8200595040b8166e084a62d1bff',
  location: '91 9d29ad171863c78f0b97c8e9ae82ae43d3',
  gzip: '83 9bd9ab',
  setCookie: 'ad 94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
};

describe('C.5 and C.6 responses (256-octet table, evictions)', () => {
  test('C.5 responses without Huffman: three blocks on one decoder', () => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    C5.forEach((h, i) => checkDecode(d, hx(h), RESPONSES[i].fields, RESPONSES[i].table, `C.5.${i + 1}`));
  });
  test('C.6 responses with Huffman: three blocks on one decoder', () => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    C6.forEach((h, i) => checkDecode(d, hx(h), RESPONSES[i].fields, RESPONSES[i].table, `C.6.${i + 1}`));
  });
  test('our encoder: the strategy’s own bytes, built from the RFC’s Huffman strings, and they round-trip', () => {
    // A peer with a 256-octet table: the first block announces it (3f e1 01).
    // Only cache-control and content-encoding are worth a table entry;
    // :status 302/307, date and location go without indexing (0x08, 0x0f12,
    // 0x0f1f), set-cookie never indexed (0x1f28); the index bound is
    // 256 / 4 = 64 octets, which cache-control: private (52) fits.
    const ours: Array<{ hex: string; table: Table }> = [
      {
        hex: `3fe101 08 ${H.s302} 58 ${H.private} 0f12 ${H.date1} 0f1f ${H.location}`,
        table: { entries: [['cache-control', 'private']], size: 52 },
      },
      {
        hex: `08 ${H.s307} be 0f12 ${H.date1} 0f1f ${H.location}`,
        table: { entries: [['cache-control', 'private']], size: 52 },
      },
      {
        hex: `88 be 0f12 ${H.date2} 0f1f ${H.location} 5a ${H.gzip} 1f28 ${H.setCookie}`,
        table: { entries: [['content-encoding', 'gzip'], ['cache-control', 'private']], size: 104 },
      },
    ];
    const e = new HpackEncoder(256);
    const d = new HpackDecoder({ maxTableSize: 256 });
    RESPONSES.forEach(({ fields }, i) => {
      const block = e.encode(fields);
      assert.equal(block.toString('hex'), ours[i].hex.replace(/\s+/g, ''), `C.6.${i + 1} ours`);
      assert.deepEqual(e.dynamicEntries(), ours[i].table.entries);
      const expect: HeaderField[] = fields.map(([n, v]) => (n === 'set-cookie' ? [n, v, true] : [n, v]));
      checkDecode(d, block, expect, ours[i].table, `C.6.${i + 1} ours`);
    });
  });
});
