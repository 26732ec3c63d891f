/**
 * Reused buffers for large outgoing frames.
 *
 * `wsi.write()` leaves the caller's buffer free when it returns, so a frame
 * is a copy of the payload behind its header. Allocating that copy afresh
 * for every large frame costs more than the copy itself, and each new
 * buffer is external memory V8 counts against the old generation until a
 * collection frees it: at tens of MB/s of 64 KiB frames this drove the
 * heap into back-to-back mark-compacts (see bench/README.md, "Where the
 * GC came from"). A frame written to a connection's own socket is instead
 * built in a buffer lent from a pool, and given back by the write's
 * callback, once the socket is done with it.
 */

import type { Vhost } from '../../core/vhost.js';

/** Payloads up to this many bytes are framed in pooled buffers. */
export const FRAME_PAYLOAD_MAX = 65536;
/** A pooled buffer: the largest payload and the longest header (64-bit length, mask). */
export const FRAME_SLOT = FRAME_PAYLOAD_MAX + 14;
/** Payloads smaller than this are framed in fresh buffers (Node's own slab makes those cheap). */
export const POOL_FROM = 4096;

/** A bounded stack of FRAME_SLOT buffers. */
export class FramePool {
  #free: Buffer[] = [];
  #made = 0;
  /** `keep`: most idle buffers held. */
  constructor(readonly keep: number) {}

  /** A buffer to build a frame in: a kept one, or a new one. */
  take(): Buffer {
    const b = this.#free.pop();
    if (b !== undefined) return b;
    this.#made++;
    return Buffer.allocUnsafeSlow(FRAME_SLOT);
  }

  /** A buffer nothing refers to any more. */
  give(b: Buffer): void {
    if (this.#free.length < this.keep) this.#free.push(b);
  }

  /** Buffers made so far (each one not found idle). */
  get made(): number {
    return this.#made;
  }

  /** Idle buffers held now. */
  get idle(): number {
    return this.#free.length;
  }
}

const pools = new WeakMap<Vhost, FramePool>();

/** The frame pool of a vhost's connections (`ws.framePool` idle buffers at most). */
export function framePoolOf(vh: Vhost): FramePool {
  let p = pools.get(vh);
  if (!p) pools.set(vh, (p = new FramePool(vh.wsOptions.framePool)));
  return p;
}
