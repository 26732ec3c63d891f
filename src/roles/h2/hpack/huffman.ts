/**
 * Huffman coding of string literals (RFC 7541 5.2, Appendix B).
 *
 * Decoding runs a byte-at-a-time state machine: a state is an inner node
 * of the code tree (the bits read since the last whole symbol; there are
 * exactly 256), and one table lookup per input octet gives the next state
 * and the symbols (at most two, the shortest code being 5 bits) completed
 * on the way. The table (256 states x 256 octets) is built on first use,
 * so a process that never speaks HTTP/2 never pays for it.
 */
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-code.js';
import { HpackError } from './errors.js';

// A table entry: next state in bits 0-7, symbols completed (0-2) in bits
// 8-9, EOS seen in bit 10, first symbol in bits 11-18, second in 19-26.
const COUNT_SHIFT = 8;
const FAILED = 1 << 10;
const SYM1_SHIFT = 11;
const SYM2_SHIFT = 19;

interface Machine {
  readonly next: Uint32Array;
  /** States a string may end in: the root, or up to 7 bits of EOS's prefix (all ones). */
  readonly accepting: Uint8Array;
}

let machine: Machine | null = null;

function build(): Machine {
  // The tree: kids[2n + bit] is an inner node (> 0; the root, 0, is no one's
  // child) or a leaf, stored as -(symbol + 1).
  const kids = new Int16Array(2 * 256);
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    const code = HUFFMAN_CODES[s];
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[s] - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (kids[slot] === 0) kids[slot] = nodes++;
      node = kids[slot];
    }
    kids[2 * node + (code & 1)] = -(s + 1);
  }

  const next = new Uint32Array(256 * 256);
  for (let state = 0; state < 256; state++) {
    for (let octet = 0; octet < 256; octet++) {
      let node = state;
      let entry = 0;
      let count = 0;
      for (let bit = 7; bit >= 0; bit--) {
        const kid = kids[2 * node + ((octet >>> bit) & 1)];
        if (kid > 0) {
          node = kid;
          continue;
        }
        const sym = -kid - 1;
        if (sym === EOS) {
          entry |= FAILED;
          break;
        }
        entry |= sym << (count === 0 ? SYM1_SHIFT : SYM2_SHIFT);
        count++;
        node = 0;
      }
      next[(state << 8) | octet] = entry | (count << COUNT_SHIFT) | node;
    }
  }

  const accepting = new Uint8Array(256);
  accepting[0] = 1;
  for (let node = 0, depth = 1; depth <= 7; depth++) {
    node = kids[2 * node + 1];
    accepting[node] = 1;
  }
  return { next, accepting };
}

// Decoded octets land here before becoming a string. It grows to the
// longest string seen, up to SCRATCH_KEEP; longer ones get their own buffer
// so one huge header does not pin memory for the life of the process.
const SCRATCH_KEEP = 16 * 1024;
let scratch = Buffer.allocUnsafe(256);

/**
 * The string Huffman-coded in `src[start..end)`. Throws HpackError for the
 * EOS symbol inside the string, and for padding that is longer than 7 bits
 * or not a prefix of EOS (not all ones).
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  const m = (machine ??= build());
  const next = m.next;
  const most = Math.ceil(((end - start) * 8) / 5);
  let out = scratch;
  if (most > out.length) {
    out = Buffer.allocUnsafe(most);
    if (most <= SCRATCH_KEEP) scratch = out;
  }
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const e = next[(state << 8) | src[i]];
    if (e & FAILED) throw new HpackError('Huffman string contains EOS');
    switch ((e >>> COUNT_SHIFT) & 3) {
      case 2:
        out[n++] = e >>> SYM1_SHIFT;
        out[n++] = e >>> SYM2_SHIFT;
        break;
      case 1:
        out[n++] = e >>> SYM1_SHIFT;
    }
    state = e & 0xff;
  }
  if (!m.accepting[state]) throw new HpackError('Huffman string has bad padding');
  return out.toString('latin1', 0, n);
}

/** How many octets `s` takes Huffman-coded. */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff];
  return (bits + 7) >>> 3;
}

/**
 * Write `s` Huffman-coded into `out` at `off` (room for huffmanLength(s)
 * octets is the caller's), padded with ones; returns the offset past it.
 */
export function huffmanEncode(s: string, out: Uint8Array, off: number): number {
  // acc holds fewer than 8 pending bits between symbols; a code of up to 24
  // bits goes in whole (7 + 24 < 32), a longer one in two parts.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let code = HUFFMAN_CODES[sym];
    let len = HUFFMAN_LENGTHS[sym];
    if (len > 24) {
      const hi = len - 16;
      acc = (acc << hi) | (code >>> 16);
      bits += hi;
      while (bits >= 8) out[off++] = acc >>> (bits -= 8);
      acc &= (1 << bits) - 1;
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    bits += len;
    while (bits >= 8) out[off++] = acc >>> (bits -= 8);
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out[off++] = (acc << (8 - bits)) | (0xff >>> bits);
  return off;
}
