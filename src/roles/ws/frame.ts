/** WebSocket opcodes (RFC 6455 5.2). */
export const enum Op {
  CONTINUATION = 0x0,
  TEXT = 0x1,
  BINARY = 0x2,
  CLOSE = 0x8,
  PING = 0x9,
  PONG = 0xa,
}

/** Close status codes tslws sends (RFC 6455 7.4.1). */
export const CloseStatus = {
  NORMAL: 1000,
  GOINGAWAY: 1001,
  PROTOCOL_ERR: 1002,
  UNACCEPTABLE_OPCODE: 1003,
  NO_STATUS: 1005,
  ABNORMAL_CLOSE: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_LARGE: 1009,
  EXTENSION_REQUIRED: 1010,
  UNEXPECTED_CONDITION: 1011,
} as const;

/** May this code appear in a Close frame on the wire? */
export function closeCodeIsValid(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  // 1012-1014 are registered with IANA (restart, try again, bad gateway).
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/** Header length of a frame with `len` bytes of payload, masked or not. */
export function frameHeaderLength(len: number, masked: boolean): number {
  return 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + (masked ? 4 : 0);
}

/**
 * One frame, header and payload in a single buffer (one copy of the
 * payload, one write). A `mask` key (client side) masks while copying.
 */
export function buildFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, mask?: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderLength(payload.length, mask !== undefined) + payload.length);
  writeFrame(out, 0, opcode, fin, rsv1, payload, mask);
  return out;
}

/**
 * Write a frame into `out` at `at`; `out` must hold its header and
 * payload there. Returns the frame's length.
 */
export function writeFrame(out: Buffer, at: number, opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, mask?: Uint8Array): number {
  const len = payload.length;
  const hlen = writeFrameHeader(out, at, opcode, fin, rsv1, len, mask);
  out.set(payload, at + hlen);
  // XOR is its own inverse: the word-at-a-time unmask masks too (a byte
  // loop here made a client's large frames eight times slower).
  if (mask) unmask(out.subarray(at + hlen, at + hlen + len), mask, 0);
  return hlen + len;
}

/**
 * Write the header of a frame of `len` payload bytes into `out` at `at`
 * (the mask key last, when given); returns its length.
 */
export function writeFrameHeader(out: Uint8Array, at: number, opcode: number, fin: boolean, rsv1: boolean, len: number, mask?: Uint8Array): number {
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const hlen = 2 + extra + (mask ? 4 : 0);
  out[at] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const m = mask ? 0x80 : 0;
  if (extra === 0) out[at + 1] = m | len;
  else if (extra === 2) {
    out[at + 1] = m | 126;
    out[at + 2] = len >>> 8;
    out[at + 3] = len & 0xff;
  } else {
    out[at + 1] = m | 127;
    const hi = Math.floor(len / 0x100000000);
    const lo = len >>> 0;
    out[at + 2] = hi >>> 24;
    out[at + 3] = (hi >>> 16) & 0xff;
    out[at + 4] = (hi >>> 8) & 0xff;
    out[at + 5] = hi & 0xff;
    out[at + 6] = lo >>> 24;
    out[at + 7] = (lo >>> 16) & 0xff;
    out[at + 8] = (lo >>> 8) & 0xff;
    out[at + 9] = lo & 0xff;
  }
  if (mask) out.set(mask, at + hlen - 4);
  return hlen;
}

// The mask rotated to a phase and repeated, read back as one platform-endian
// word of 32 or 64 bits.
const maskBytes = new Uint8Array(8);
// Signed: the XORs then stay in 32-bit integers (an unsigned word past 2^31 is not one).
const maskWord = new Int32Array(maskBytes.buffer, 0, 1);
const maskWord64 = new BigInt64Array(maskBytes.buffer);

/** Payloads from this size are unmasked 64 bits at a time; below it, 32. */
const WIDE_FROM = 512;

/**
 * Unmask `buf` in place, `offset` being the position within the frame's
 * payload. Past a few bytes the work is done a word at a time from the
 * first aligned address, with the mask rotated to the phase found there:
 * payloads rarely start aligned (a 64 KiB frame's header is 14 bytes),
 * and a byte loop is eight times slower. From WIDE_FROM bytes the words
 * are 64-bit: V8's optimising compiler keeps a BigInt64Array's XOR in a
 * register, without allocating, and it is then about 1.7 times as fast
 * as 32-bit words (64 KiB: 4.0 against 7.0 us); below that size the
 * BigInt set-up costs more than it saves.
 */
export function unmask(buf: Uint8Array, mask: Uint8Array, offset: number): void {
  const len = buf.length;
  let i = 0;
  if (len >= WIDE_FROM) i = unmaskWide(buf, mask, offset);
  else if (len >= 32) i = unmaskWords(buf, mask, offset);
  for (; i < len; i++) buf[i] ^= mask[(offset + i) & 3];
}

/** Rotate the mask to phase `p` into maskBytes, repeated over `n` bytes. */
function phaseMask(mask: Uint8Array, p: number, n: number): void {
  for (let k = 0; k < n; k++) maskBytes[k] = mask[(p + k) & 3];
}

/** Unmask from the start up to the last whole 32-bit word; returns where it stopped. */
function unmaskWords(buf: Uint8Array, mask: Uint8Array, offset: number): number {
  let i = 0;
  const lead = (4 - (buf.byteOffset & 3)) & 3;
  for (; i < lead; i++) buf[i] ^= mask[(offset + i) & 3];
  phaseMask(mask, (offset + i) & 3, 4);
  const m = maskWord[0];
  const words = (buf.length - i) >>> 2;
  const a = new Int32Array(buf.buffer, buf.byteOffset + i, words);
  let w = 0;
  for (const end = words - 7; w < end; w += 8) {
    a[w] ^= m;
    a[w + 1] ^= m;
    a[w + 2] ^= m;
    a[w + 3] ^= m;
    a[w + 4] ^= m;
    a[w + 5] ^= m;
    a[w + 6] ^= m;
    a[w + 7] ^= m;
  }
  for (; w < words; w++) a[w] ^= m;
  return i + words * 4;
}

/**
 * Unmask from the start up to the last whole 64-bit word; returns where it
 * stopped. The twin of unmaskWords, not one function for both: each keeps
 * to one kind of typed array and of number, which is what lets V8 compile
 * either loop to plain machine words.
 */
function unmaskWide(buf: Uint8Array, mask: Uint8Array, offset: number): number {
  let i = 0;
  const lead = (8 - (buf.byteOffset & 7)) & 7;
  for (; i < lead; i++) buf[i] ^= mask[(offset + i) & 3];
  phaseMask(mask, (offset + i) & 3, 8);
  const m = maskWord64[0];
  const words = (buf.length - i) >>> 3;
  const a = new BigInt64Array(buf.buffer, buf.byteOffset + i, words);
  let w = 0;
  for (const end = words - 3; w < end; w += 4) {
    a[w] ^= m;
    a[w + 1] ^= m;
    a[w + 2] ^= m;
    a[w + 3] ^= m;
  }
  for (; w < words; w++) a[w] ^= m;
  return i + words * 8;
}
