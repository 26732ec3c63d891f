/**
 * Writing the primitives of a header block (RFC 7541 5.1, 5.2) into one
 * buffer that grows as needed and is reused from block to block: a block
 * costs one allocation, the copy handed out at the end.
 */
import { huffmanEncode, huffmanLength } from './huffman.js';

/** A work buffer grown past this is dropped after the block, not kept for the next. */
const KEEP = 16 * 1024;

/** The block being written; `take` hands it out. */
export class BlockWriter {
  #buf = Buffer.allocUnsafe(512);
  #len = 0;

  /** Octets written so far. */
  get length(): number {
    return this.#len;
  }

  /** An integer with an N-bit prefix; `flags` are the first octet's bits above the prefix. */
  int(value: number, prefixBits: number, flags: number): void {
    this.#room(6);
    const buf = this.#buf;
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      buf[this.#len++] = flags | value;
      return;
    }
    buf[this.#len++] = flags | max;
    value -= max;
    while (value >= 128) {
      buf[this.#len++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[this.#len++] = value;
  }

  /** A string literal: Huffman-coded when that is shorter than its octets. */
  string(s: string): void {
    const h = huffmanLength(s);
    if (h < s.length) {
      this.int(h, 7, 0x80);
      this.#room(h);
      this.#len = huffmanEncode(s, this.#buf, this.#len);
    } else {
      this.int(s.length, 7, 0);
      this.#room(s.length);
      this.#len += this.#buf.write(s, this.#len, 'latin1');
    }
  }

  /** The block written so far, copied out; the writer starts empty again. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.#len);
    this.#buf.copy(out, 0, 0, this.#len);
    this.#len = 0;
    if (this.#buf.length > KEEP) this.#buf = Buffer.allocUnsafe(512);
    return out;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(bigger, 0, 0, this.#len);
    this.#buf = bigger;
  }
}
