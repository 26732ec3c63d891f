/**
 * One reused buffer that small outgoing frames are built in.
 *
 * A small frame is a copy of its payload behind a header; built with
 * `Buffer.allocUnsafe` it takes a slice of Node's 8 KiB slab, and every
 * new slab is an ArrayBuffer each young-generation collection must sweep
 * (at 100 connections x 1 KiB, most of the pause). Frames are carved from
 * this buffer instead, one after the other; once the socket they were
 * written to holds nothing (its writableLength is 0: the kernel took them,
 * corked or not), the space is taken back, so the same bytes serve frame
 * after frame. A frame a choked socket still holds keeps its bytes; when
 * the buffer is full a new one is made, and the old one goes once no
 * socket refers to it.
 */

/** Room for a few of the frames built here: those under frame-pool's POOL_FROM, plus their header. */
const SCRATCH_SIZE = 16 * 1024;

let scratch = Buffer.allocUnsafeSlow(SCRATCH_SIZE);
let used = 0;
/** Bumped with every new buffer, so a range of an old one is never taken back from the new. */
let generation = 0;

/** The buffer frames are carved from now. */
export function scratchBuffer(): Buffer {
  return scratch;
}

/** Where the next `n` bytes start (after a new buffer when they do not fit); call `carved(n)` once written. */
export function carveAt(n: number): number {
  if (used + n > SCRATCH_SIZE) {
    scratch = Buffer.allocUnsafeSlow(SCRATCH_SIZE);
    used = 0;
    generation++;
  }
  return used;
}

/** `n` bytes at `carveAt`'s offset are taken. */
export function carved(n: number): void {
  used += n;
}

/** The current buffer's generation, for a range's owner to remember. */
export function scratchGeneration(): number {
  return generation;
}

/** Take back `[start, end)` if it is the last range carved from the current buffer. */
export function takeBack(gen: number, start: number, end: number): void {
  if (gen === generation && end === used) used = start;
}
