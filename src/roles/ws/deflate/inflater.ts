import { createInflateRaw, constants, type InflateRaw } from 'node:zlib';
import { CloseStatus } from '../frame.js';
import type { ZlibLimiter } from './limiter.js';

// RFC 7692 7.2.2: the receiver puts back the 4 bytes the sender removed.
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);

/** Where inflated data goes. */
export interface InflateSink {
  /** May inflated data be delivered now (rx flow control on, nothing held back)? */
  accepting(): boolean;
  /**
   * Inflated bytes of the message; `last` on the final piece, otherwise
   * `more` is how many bytes are already known to follow. Returns false
   * when delivery stopped (flow control, close): call `resume()` later.
   */
  inflated(buf: Buffer, last: boolean, more: number): boolean;
  /** The compressed piece given to `push()` is fully used: parsing may go on. */
  drained(): void;
  /** Bad compressed data (1007) or a message inflating past the limit (1009). */
  fail(code: number, why: string): void;
}

export interface InflaterSettings {
  windowBits: number;
  /** The peer resets its compressor per message: drop ours between messages. */
  noContextTakeover: boolean;
  maxSize: number;
  /** zlib's output chunk, and so the largest piece read at once. */
  chunkSize: number;
}

/**
 * Decompresses one connection's messages, a frame piece at a time, in
 * bounded steps: the zlib stream is read in paused mode, so it stops
 * producing output (backpressure) while the receiver is not taking it,
 * and a small input that inflates hugely never grows memory past a few
 * chunks: the size limit is checked as the output appears.
 *
 * The stream is made when the first compressed message arrives and, with
 * no context takeover, closed after each message.
 */
export class PmdInflater {
  #z: InflateRaw | null = null;
  #busy = false;
  #input: Buffer | null = null;
  #inputDone = false;
  #msgEnd = false;
  // Output read but not yet delivered: the last piece of a message is only
  // known to be last once the input is used up, so one piece waits.
  #ahead: Buffer | null = null;
  #total = 0;
  #slot = false;
  #queued = false;
  #dead = false;
  #ended = false;
  // Bound once: a stream borrowed from the spares gets them and gives them back.
  #onReadable = (): void => this.#pump();
  #onEnd = (): void => {
    // The peer ended its deflate stream (a final block): what follows must start a new one.
    this.#ended = true;
  };
  #onError = (e: Error): void => {
    if (this.#dead) return;
    this.#detach();
    this.#fail(CloseStatus.INVALID_PAYLOAD, `bad compressed data: ${e.message}`);
  };

  constructor(readonly sink: InflateSink, readonly limiter: ZlibLimiter, readonly settings: InflaterSettings) {}

  /** A compressed piece is being worked on. */
  get busy(): boolean {
    return this.#busy;
  }

  /** True while a zlib stream exists (for tests and stats). */
  get hasStream(): boolean {
    return this.#z !== null;
  }

  /** Decompress `piece`, the last of its message when `msgEnd`. */
  push(piece: Buffer, msgEnd: boolean): void {
    if (this.#dead) return;
    this.#busy = true;
    this.#inputDone = false;
    this.#msgEnd = msgEnd;
    this.#input = piece;
    this.#run();
  }

  /** The receiver takes data again: go on where delivery stopped. */
  resume(): void {
    if (this.#busy && !this.#slot) this.#run();
  }

  /** Drop everything (the connection is closing). */
  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#busy = false;
    this.#ahead = null;
    this.#input = null;
    this.#closeStream();
    if (this.#slot) {
      this.#slot = false;
      this.limiter.release();
    }
  }

  #run(): void {
    if (this.#queued || this.#dead) return;
    this.#queued = true;
    this.limiter.acquire(() => {
      this.#queued = false;
      if (this.#dead || !this.#busy) {
        this.limiter.release();
        return;
      }
      this.#slot = true;
      const input = this.#input;
      if (input) {
        this.#input = null;
        this.#write(input);
      }
      this.#pump();
    });
  }

  #stream(): InflateRaw {
    if (this.#z) return this.#z;
    // A larger window than the peer's is always safe to inflate with: 9 is
    // the least used, as for compressing (zlib's raw deflate has no 8).
    const windowBits = Math.max(9, this.settings.windowBits);
    const z = this.limiter.takeInflater(this.#spareKey())
      ?? createInflateRaw({ windowBits, chunkSize: this.settings.chunkSize, flush: constants.Z_SYNC_FLUSH });
    z.on('readable', this.#onReadable);
    z.on('end', this.#onEnd);
    z.on('error', this.#onError);
    this.#z = z;
    this.#ended = false;
    return z;
  }

  #spareKey(): string {
    return `${Math.max(9, this.settings.windowBits)}/${this.settings.chunkSize}`;
  }

  /** Stop listening to the stream held and let go of it; returns it. */
  #detach(): InflateRaw | null {
    const z = this.#z;
    this.#z = null;
    if (z) {
      z.off('readable', this.#onReadable);
      z.off('end', this.#onEnd);
      z.off('error', this.#onError);
    }
    return z;
  }

  #write(piece: Buffer): void {
    const z = this.#stream();
    const done = (e?: Error | null) => {
      if (e || z !== this.#z) return;
      this.#inputDone = true;
      this.#pump();
    };
    if (this.#msgEnd) {
      if (piece.length) z.write(piece);
      z.write(TRAILER, done);
    } else z.write(piece, done);
  }

  #pump(): void {
    if (!this.#slot || this.#dead) return;
    const z = this.#z;
    for (;;) {
      // A delivery may have closed the connection, which released the slot.
      if (this.#dead) return;
      if (!this.sink.accepting()) {
        // Stop pulling: zlib stops at its buffer bound, and the slot is free
        // for others until the receiver wants more.
        this.#slot = false;
        this.limiter.release();
        return;
      }
      const chunk = z ? (z.read() as Buffer | null) : null;
      if (chunk) {
        this.#total += chunk.length;
        if (this.#total > this.settings.maxSize) {
          this.#fail(CloseStatus.MESSAGE_TOO_LARGE, `message inflates past ${this.settings.maxSize} bytes`);
          return;
        }
        const prev = this.#ahead;
        this.#ahead = chunk;
        if (prev) this.sink.inflated(prev, false, chunk.length);
        continue;
      }
      if (!this.#inputDone) return; // 'readable' or the write callback comes next
      // This piece is used up.
      if (this.#msgEnd) {
        const last = this.#ahead ?? EMPTY;
        this.#ahead = null;
        this.#endMessage();
        this.#finishPiece();
        this.sink.inflated(last, true, 0);
        if (this.#dead) return;
      } else this.#finishPiece();
      this.sink.drained();
      return;
    }
  }

  #finishPiece(): void {
    this.#busy = false;
    this.#slot = false;
    this.limiter.release();
  }

  #endMessage(): void {
    this.#total = 0;
    if (this.#ended) this.#closeStream();
    else if (this.settings.noContextTakeover) {
      // Every message starts afresh: the stream goes back, reset, for the
      // next message of any connection to borrow.
      const z = this.#detach();
      if (!z) return;
      z.reset();
      this.limiter.putInflater(this.#spareKey(), z);
    }
  }

  #closeStream(): void {
    const z = this.#detach();
    if (z) {
      z.on('error', () => {});
      z.close();
    }
  }

  #fail(code: number, why: string): void {
    this.destroy();
    this.sink.fail(code, why);
  }
}
