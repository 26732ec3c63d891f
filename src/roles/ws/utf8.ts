import { isUtf8 } from 'node:buffer';

/** Length of the sequence a lead byte starts, 0 when it cannot lead. */
function seqLen(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Could `bytes` (shorter than its sequence) still become a valid character? */
function validPrefix(bytes: Uint8Array, n: number): boolean {
  const b0 = bytes[0];
  if (seqLen(b0) <= n) return false;
  if (n >= 2) {
    const b1 = bytes[1];
    // RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF.
    if (b0 === 0xe0 ? b1 < 0xa0 || b1 > 0xbf
      : b0 === 0xed ? b1 < 0x80 || b1 > 0x9f
        : b0 === 0xf0 ? b1 < 0x90 || b1 > 0xbf
          : b0 === 0xf4 ? b1 < 0x80 || b1 > 0x8f
            : b1 < 0x80 || b1 > 0xbf) return false;
  }
  for (let i = 2; i < n; i++) if (bytes[i] < 0x80 || bytes[i] > 0xbf) return false;
  return true;
}

/**
 * UTF-8 checked across arbitrary splits (frames, fragments, reads), failing
 * as soon as the bytes seen so far cannot be valid: the complete part of
 * each piece goes to the native `isUtf8`, an unfinished character at the end
 * is carried (at most 3 bytes) and checked as a prefix.
 */
export class Utf8Validator {
  // Only a character split between pieces needs it.
  #tail: Uint8Array | null = null;
  #tailLen = 0;

  reset(): void {
    this.#tailLen = 0;
  }

  /** False as soon as the text so far cannot be valid UTF-8. */
  push(buf: Uint8Array): boolean {
    let start = 0;
    const len = buf.length;
    if (this.#tailLen) {
      const tail = this.#tail as Uint8Array;
      const need = seqLen(tail[0]);
      while (this.#tailLen < need && start < len) tail[this.#tailLen++] = buf[start++];
      if (this.#tailLen < need) return validPrefix(tail, this.#tailLen);
      if (!isUtf8(tail.subarray(0, need))) return false;
      this.#tailLen = 0;
    }
    if (start >= len) return true;
    // Find where an unfinished sequence begins at the end, if any.
    let cut = len;
    for (let i = len - 1; i >= start && i >= len - 3; i--) {
      const b = buf[i];
      if (b < 0x80) break;
      if (b >= 0xc0) {
        const l = seqLen(b);
        if (l === 0) return false;
        if (i + l > len) cut = i;
        break;
      }
    }
    if (cut > start && !isUtf8(buf.subarray(start, cut))) return false;
    if (cut < len) {
      const tail = (this.#tail ??= new Uint8Array(4));
      this.#tailLen = len - cut;
      tail.set(buf.subarray(cut), 0);
      return validPrefix(tail, this.#tailLen);
    }
    return true;
  }

  /** True when the text ended on a character boundary. */
  end(): boolean {
    const ok = this.#tailLen === 0;
    this.#tailLen = 0;
    return ok;
  }
}
