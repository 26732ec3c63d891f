import { LWS_PRE } from './write.js';
import { ErrorCode, rangeError } from './errors.js';

/**
 * Reused buffers for payloads sent with `wsi.writeLent()`, lws's `LWS_PRE`
 * way: each has `LWS_PRE` bytes of room for the frame header, then room for
 * a payload of up to `smallSize` bytes or up to `largeSize` bytes. Take
 * one, copy the payload in at `LWS_PRE`, lend it, and give it back from
 * the `release` callback; as many idle ones of each size are kept as fit
 * in `keepBytes`.
 *
 * A new buffer per message costs more than the copy into it: a large one
 * its allocation, a small one the ArrayBuffer Node's 8 KiB slab makes
 * every few messages, which each young-generation collection must sweep.
 *
 * ```ts
 * const spares = new SpareBuffers(2048, 65536, 8 * 1024 * 1024);
 * const b = spares.take(data.length);
 * b.set(data, LWS_PRE);
 * wsi.writeLent(b.subarray(LWS_PRE, LWS_PRE + data.length), Write.BINARY, () => spares.give(b));
 * ```
 */
export class SpareBuffers {
  readonly #small: Buffer[] = [];
  readonly #large: Buffer[] = [];

  constructor(readonly smallSize: number, readonly largeSize: number, readonly keepBytes: number) {
    for (const [k, v] of [['smallSize', smallSize], ['largeSize', largeSize]] as const)
      if (!Number.isInteger(v) || v < 1) throw rangeError(ErrorCode.INVALID_ARGUMENT, `SpareBuffers: ${k} must be a positive integer, got ${v}`);
    if (smallSize > largeSize) throw rangeError(ErrorCode.INVALID_ARGUMENT, `SpareBuffers: smallSize (${smallSize}) is larger than largeSize (${largeSize})`);
    if (!Number.isInteger(keepBytes) || keepBytes < 0) throw rangeError(ErrorCode.INVALID_ARGUMENT, `SpareBuffers: keepBytes must be an integer >= 0, got ${keepBytes}`);
  }

  /** A buffer with room for `size` payload bytes after `LWS_PRE`: an idle one, or a new one. */
  take(size: number): Buffer {
    if (!(size >= 0 && size <= this.largeSize))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `SpareBuffers.take: size must be 0 to ${this.largeSize}, got ${size}`);
    if (size <= this.smallSize && this.smallSize < this.largeSize)
      return this.#small.pop() ?? Buffer.allocUnsafeSlow(LWS_PRE + this.smallSize);
    return this.#large.pop() ?? Buffer.allocUnsafeSlow(LWS_PRE + this.largeSize);
  }

  /** Give back a buffer `take` made, once nothing refers to it; kept while its size's idle ones fit in `keepBytes`. */
  give(b: Buffer): void {
    const list = b.length === LWS_PRE + this.largeSize ? this.#large : b.length === LWS_PRE + this.smallSize ? this.#small : null;
    if (list !== null && (list.length + 1) * b.length <= this.keepBytes) list.push(b);
  }

  /** Idle buffers kept now. */
  get idle(): number {
    return this.#small.length + this.#large.length;
  }
}
