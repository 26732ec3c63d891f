/**
 * Reading the primitives of a header block: integers (RFC 7541 5.1) and
 * string literals (5.2). Every read checks the block's end, so a truncated
 * block or a length past it is an HpackError, never a read past the end.
 */
import { HpackError } from './errors.js';
import { huffmanDecode } from './huffman.js';

/**
 * Continuation octets an integer may take after its prefix. Five carry 35
 * bits, enough for any value up to MAX_INT with any prefix; a longer run
 * (an attacker's endless 0xff) is refused after five.
 */
const MAX_CONTINUATIONS = 5;

/** The largest integer accepted (2^31 - 1): every legitimate one is far below. */
export const MAX_INT = 0x7fffffff;

const EMPTY = Buffer.alloc(0);

/** A cursor over one header block, reused from block to block. */
export class BlockReader {
  #src: Buffer = EMPTY;
  #pos = 0;

  /** Start reading `block` (not copied: it must not change until `release`). */
  reset(block: Uint8Array): void {
    this.#src = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.#pos = 0;
  }

  /** Forget the block, so the decoder does not keep it alive between blocks. */
  release(): void {
    this.#src = EMPTY;
    this.#pos = 0;
  }

  /** Whether the whole block has been read. */
  get done(): boolean {
    return this.#pos >= this.#src.length;
  }

  /** The next octet, unread (the caller checks `done` first). */
  peek(): number {
    return this.#src[this.#pos];
  }

  /** An integer with an N-bit prefix (RFC 7541 5.1); the octet's other bits are the caller's. */
  int(prefixBits: number): number {
    const src = this.#src;
    let pos = this.#pos;
    if (pos >= src.length) throw new HpackError('header block ends inside an integer');
    const max = (1 << prefixBits) - 1;
    let v = src[pos++] & max;
    if (v === max) {
      for (let k = 0, mul = 1; ; k++, mul *= 128) {
        if (k === MAX_CONTINUATIONS) throw new HpackError('integer takes too many octets');
        if (pos >= src.length) throw new HpackError('header block ends inside an integer');
        const b = src[pos++];
        v += (b & 0x7f) * mul;
        if (v > MAX_INT) throw new HpackError('integer too large');
        if (b < 0x80) break;
      }
    }
    this.#pos = pos;
    return v;
  }

  /** A string literal (RFC 7541 5.2), Huffman-coded or not, as latin1. */
  string(): string {
    if (this.#pos >= this.#src.length) throw new HpackError('header block ends before a string');
    const huffman = this.#src[this.#pos] & 0x80;
    const len = this.int(7);
    const start = this.#pos;
    const end = start + len;
    if (end > this.#src.length) throw new HpackError('string runs past the end of the header block');
    this.#pos = end;
    return huffman ? huffmanDecode(this.#src, start, end) : this.#src.toString('latin1', start, end);
  }
}
