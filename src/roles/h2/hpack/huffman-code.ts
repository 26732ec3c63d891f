/**
 * The HPACK Huffman code (RFC 7541 Appendix B): 256 octets and EOS.
 *
 * The code is canonical: codes of one length are consecutive in symbol
 * order, and each length starts just past the shorter ones, shifted left.
 * The lengths alone therefore fix every code, so only the lengths are
 * written down here (one table to check against the RFC, not two) and the
 * codes are derived from them.
 */

/** The end-of-string symbol: never part of a string, its prefix is the padding. */
export const EOS = 256;

/** Code length in bits of symbols 0..255, then EOS. */
export const HUFFMAN_LENGTHS: Uint8Array = Uint8Array.of(
  // 0x00 .. 0x0f
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  // 0x10 .. 0x1f
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 0x20 .. 0x2f   ' ' ! " # $ % & ' ( ) * + , - . /
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  // 0x30 .. 0x3f   0-9 : ; < = > ?
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 0x40 .. 0x4f   @ A-O
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  // 0x50 .. 0x5f   P-Z [ \ ] ^ _
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 0x60 .. 0x6f   ` a-o
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  // 0x70 .. 0x7f   p-z { | } ~ DEL
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 0x80 .. 0x8f
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  // 0x90 .. 0x9f
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  // 0xa0 .. 0xaf
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  // 0xb0 .. 0xbf
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  // 0xc0 .. 0xcf
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  // 0xd0 .. 0xdf
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  // 0xe0 .. 0xef
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  // 0xf0 .. 0xff
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // EOS
  30,
);

/** The code of each symbol, right-aligned (its low HUFFMAN_LENGTHS[s] bits). */
export const HUFFMAN_CODES: Uint32Array = (() => {
  const order = Array.from({ length: HUFFMAN_LENGTHS.length }, (_, s) => s);
  order.sort((a, b) => HUFFMAN_LENGTHS[a] - HUFFMAN_LENGTHS[b] || a - b);
  const codes = new Uint32Array(HUFFMAN_LENGTHS.length);
  let code = 0;
  let len = HUFFMAN_LENGTHS[order[0]];
  for (const s of order) {
    code *= 2 ** (HUFFMAN_LENGTHS[s] - len); // 30-bit codes: no 32-bit shift surprises
    len = HUFFMAN_LENGTHS[s];
    codes[s] = code++;
  }
  return codes;
})();
