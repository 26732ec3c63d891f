/**
 * The Huffman code (RFC 7541 Appendix B) and its coder: the table is a
 * complete canonical prefix code with the RFC's codes at spot checks; every
 * one of the 256 symbols round-trips alone and in company; padding longer
 * than 7 bits, padding that is not all ones, and EOS inside a string are
 * refused, by the coder and through the decoder.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, EOS } from '../../../../src/roles/h2/hpack/huffman-code.js';
import { huffmanDecode, huffmanEncode, huffmanLength } from '../../../../src/roles/h2/hpack/huffman.js';
import { HpackDecoder, HpackError } from '../../../../src/roles/h2/hpack/index.js';
import { seeded } from '../../../helpers/random.js';

function encode(s: string): Buffer {
  const out = Buffer.alloc(huffmanLength(s));
  assert.equal(huffmanEncode(s, out, 0), out.length, 'huffmanLength is what huffmanEncode writes');
  return out;
}

function decode(b: Uint8Array): string {
  return huffmanDecode(b, 0, b.length);
}

function bits(s: string): Buffer {
  // "00011 111" → bytes, spaces ignored, whole octets.
  const t = s.replace(/\s+/g, '');
  assert.equal(t.length % 8, 0);
  const out = Buffer.alloc(t.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(8 * i, 8 * i + 8), 2);
  return out;
}

describe('the code table', () => {
  test('257 symbols, a complete prefix code (Kraft sum exactly 1), codes fit their lengths', () => {
    assert.equal(HUFFMAN_LENGTHS.length, 257);
    let kraft = 0;
    for (let s = 0; s <= EOS; s++) {
      kraft += 2 ** -HUFFMAN_LENGTHS[s];
      assert.ok(HUFFMAN_CODES[s] < 2 ** HUFFMAN_LENGTHS[s], `symbol ${s}`);
    }
    assert.equal(kraft, 1);
  });

  test('no code is a prefix of another', () => {
    const seen = new Set<string>();
    const strs = Array.from({ length: 257 }, (_, s) => HUFFMAN_CODES[s].toString(2).padStart(HUFFMAN_LENGTHS[s], '0'));
    for (const c of strs) seen.add(c);
    assert.equal(seen.size, 257);
    for (const c of strs) for (let l = 1; l < c.length; l++) assert.ok(!seen.has(c.slice(0, l)), `${c} has a prefix that is a code`);
  });

  test('spot checks against Appendix B', () => {
    const rfc: Array<[number, number, number]> = [
      [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [13, 0x3ffffffd, 30], [22, 0x3ffffffe, 30],
      [32, 0x14, 6], [48, 0x0, 5], [58, 0x5c, 7], [92, 0x7fff0, 19], [97, 0x3, 5], [116, 0x9, 5], [126, 0x1ffd, 13],
      [127, 0xffffffc, 28], [128, 0xfffe6, 20], [195, 0x7fff1, 19], [220, 0xffffffd, 28], [249, 0xffffffe, 28],
      [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [EOS, 0x3fffffff, 30],
    ];
    for (const [s, code, len] of rfc) {
      assert.equal(HUFFMAN_LENGTHS[s], len, `length of ${s}`);
      assert.equal(HUFFMAN_CODES[s], code, `code of ${s}`);
    }
  });
});

describe('round trips', () => {
  test('every one of the 256 symbols, alone, doubled, and between others', () => {
    for (let s = 0; s < 256; s++) {
      const c = String.fromCharCode(s);
      for (const str of [c, c + c, 'a' + c + 'z', c.repeat(9)]) {
        const enc = encode(str);
        assert.equal(decode(enc), str, `symbol ${s} in ${JSON.stringify(str)}`);
      }
    }
  });

  test('all 256 octets in one string, forwards and backwards', () => {
    let all = '';
    for (let s = 0; s < 256; s++) all += String.fromCharCode(s);
    const rev = [...all].reverse().join('');
    assert.equal(decode(encode(all)), all);
    assert.equal(decode(encode(rev)), rev);
  });

  test('the empty string is zero octets', () => {
    assert.equal(encode('').length, 0);
    assert.equal(decode(Buffer.alloc(0)), '');
  });

  test('random strings: printable, any octet, long', () => {
    const printable = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
    seeded('huffman random round trip', 400, (rng) => {
      const len = rng.chance(0.05) ? rng.range(1000, 20000) : rng.range(0, 64);
      const s = rng.chance(0.5) ? rng.chars(len, printable) : rng.bytes(len).toString('latin1');
      const enc = encode(s);
      assert.equal(decode(enc), s);
      // Encoding mid-buffer works too (the writer appends).
      const out = Buffer.alloc(enc.length + 5, 0xaa);
      assert.equal(huffmanEncode(s, out, 3), 3 + enc.length);
      assert.deepEqual(out.subarray(3, 3 + enc.length), enc);
      assert.equal(out[3 + enc.length], 0xaa);
    });
  });

  test('decoding from the middle of a buffer', () => {
    const enc = encode('www.example.com');
    const framed = Buffer.concat([Buffer.from([1, 2, 3]), enc, Buffer.from([4, 5])]);
    assert.equal(huffmanDecode(framed, 3, 3 + enc.length), 'www.example.com');
  });
});

describe('padding and EOS', () => {
  test('padding up to 7 one bits is accepted', () => {
    assert.equal(decode(bits('00011 111')), 'a'); // 3 bits
    assert.equal(decode(bits('1011100 1')), ':'); // 1 bit
    assert.equal(decode(bits('010100 010100 00011 1111111')), '  a'); // 7 bits
    assert.equal(decode(bits('00011 00011 00011 00011 00011 00011 00011 00011')), 'aaaaaaaa'); // no padding at all
  });

  test('a code cut short at the end is padding only if it is all ones', () => {
    // '0' (00000) then 3 zero bits: a prefix of '0'…, not of EOS.
    assert.throws(() => decode(bits('00000 000')), HpackError);
    assert.throws(() => decode(bits('00011 110')), HpackError);
    assert.throws(() => decode(bits('00011 011')), HpackError);
  });

  test('padding longer than 7 bits is refused', () => {
    assert.throws(() => decode(bits('00011 111 11111111')), /padding/);
    assert.throws(() => decode(bits('11111111')), /padding/);
  });

  test('EOS inside the string is refused', () => {
    // 30 ones is EOS, wherever it falls.
    assert.throws(() => decode(bits('11111111 11111111 11111111 11111100')), /EOS/);
    assert.throws(() => decode(bits('00011 111 11111111 11111111 11111111 111 00011')), /EOS/);
    assert.throws(() => decode(Buffer.alloc(64, 0xff)), /EOS/);
  });

  test('the same through the decoder: a literal whose Huffman value is bad', () => {
    // 0x04 = literal without indexing, name :path (4); 0x81 = Huffman, 1 octet.
    for (const bad of ['00', 'fe', 'ff']) {
      assert.throws(() => new HpackDecoder().decode(Buffer.from('0481' + bad, 'hex')), HpackError, bad);
    }
    assert.throws(() => new HpackDecoder().decode(Buffer.from('0484ffffffff', 'hex')), HpackError);
    assert.deepEqual(new HpackDecoder().decode(Buffer.from('04811f', 'hex')).fields, [[':path', 'a']]);
  });
});
