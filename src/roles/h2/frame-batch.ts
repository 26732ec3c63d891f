import type { Wsi } from '../../core/wsi.js';
import { writeFrames } from './frame-io.js';

/**
 * The frames a connection makes, gathered until the code that made them
 * has returned (a microtask): the answers to every request of one read
 * leave in one write, and a body written just before its end goes out
 * with END_STREAM in one frame. Past `flushAt` bytes they go at once.
 */
export class FrameBatch {
  #out: Uint8Array[] = [];
  #bytes = 0;
  #queued = false;

  /** `beforeFlush` runs at the end of the turn, before the write (queued DATA joins the batch). */
  constructor(private readonly wsi: Wsi, private readonly flushAt: number, private readonly beforeFlush: () => void) {}

  /** Queue a frame: it leaves with the others made in this turn, in order. */
  send(b: Uint8Array): void {
    this.#out.push(b);
    this.#bytes += b.length;
    if (this.#bytes >= this.flushAt) this.flush();
    else this.soon();
  }

  /** Flush at the end of this turn. */
  soon(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (this.wsi.closed) return;
      this.beforeFlush();
      this.flush();
    });
  }

  /** Write what is gathered now. */
  flush(): void {
    const out = this.#out;
    const n = this.#bytes;
    if (!out.length) return;
    this.#out = [];
    this.#bytes = 0;
    writeFrames(this.wsi.transport, out, n);
  }
}
