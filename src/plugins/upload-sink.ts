import { open, write, close } from 'node:fs';

/**
 * Writes an upload to a file as it arrives, without ever holding it whole:
 * pieces queue while the disk catches up, and `onPressure(true)` says when
 * more than `highWater` bytes wait (stop reading the socket), `false` when
 * the queue has drained. `finish(cb)` calls back once everything is on disk
 * (or with the first error).
 */
export class UploadSink {
  #fd = -1;
  #opening = true;
  #queue: Buffer[] = [];
  #queued = 0;
  #busy = false;
  #error: Error | null = null;
  #finishing: ((err: Error | null) => void) | null = null;
  #pressured = false;
  #closed = false;

  constructor(path: string, private readonly highWater: number, private readonly onPressure: (on: boolean) => void) {
    // 0600 and truncated, as lws's post-demo creates its file.
    open(path, 'w', 0o600, (err, fd) => {
      this.#opening = false;
      if (err) this.#error = err;
      else if (this.#closed) close(fd, () => {});
      else this.#fd = fd;
      this.#next();
    });
  }

  /** Queue a piece; it is copied only if the caller's buffer may change (it may not here: socket reads are fresh). */
  push(piece: Uint8Array): void {
    if (this.#closed || this.#error || piece.length === 0) return;
    this.#queue.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    this.#queued += piece.length;
    if (!this.#pressured && this.#queued > this.highWater) {
      this.#pressured = true;
      this.onPressure(true);
    }
    this.#next();
  }

  /** Everything pushed is written (or failed): call back, and close the file. */
  finish(cb: (err: Error | null) => void): void {
    this.#finishing = cb;
    this.#next();
  }

  /** Stop now: drop what waits, lift any back-pressure and close the file. */
  abort(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    if (this.#pressured) {
      this.#pressured = false;
      this.onPressure(false);
    }
    if (this.#fd >= 0 && !this.#busy) {
      close(this.#fd, () => {});
      this.#fd = -1;
    }
  }

  #next(): void {
    if (this.#busy || this.#opening) return;
    if (this.#closed) {
      if (this.#fd >= 0) close(this.#fd, () => {});
      this.#fd = -1;
      return;
    }
    const piece = this.#error ? undefined : this.#queue.shift();
    if (!piece) {
      if (this.#pressured) {
        this.#pressured = false;
        this.onPressure(false);
      }
      const cb = this.#finishing;
      if (cb) {
        this.#finishing = null;
        this.#closed = true;
        const fd = this.#fd;
        this.#fd = -1;
        if (fd >= 0) close(fd, (e) => cb(this.#error ?? e ?? null));
        else cb(this.#error);
      }
      return;
    }
    this.#busy = true;
    write(this.#fd, piece, 0, piece.length, null, (err, n) => {
      this.#busy = false;
      this.#queued -= err ? piece.length : n;
      if (err) this.#error = err;
      if (!err && n < piece.length) this.#queue.unshift(piece.subarray(n));
      if (this.#closed && this.#fd >= 0) {
        close(this.#fd, () => {});
        this.#fd = -1;
        return;
      }
      this.#next();
    });
  }
}
