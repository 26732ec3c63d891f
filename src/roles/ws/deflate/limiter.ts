/**
 * A bound on zlib operations in progress at once. Each one runs on the
 * libuv threadpool and holds its buffers while it runs: thousands of
 * connections compressing together would otherwise fragment memory and
 * starve file I/O of threads (ws keeps such a queue for the same reason).
 * The queue holds at most one waiter per stream, so it is bounded by the
 * number of connections.
 */
export class ZlibLimiter {
  #active = 0;
  #queue: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Operations running now. */
  get active(): number {
    return this.#active;
  }

  /** Operations waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Run `fn` once a slot is free; it must call `release()` exactly once. */
  acquire(fn: () => void): void {
    if (this.#active < this.limit) {
      this.#active++;
      fn();
    } else this.#queue.push(fn);
  }

  /** Give a slot back: the next waiter (if any) gets it. */
  release(): void {
    const next = this.#queue.shift();
    if (next) queueMicrotask(next);
    else this.#active--;
  }
}

const limiters = new WeakMap<object, ZlibLimiter>();

/** The limiter shared by everything keyed by `owner` (a vhost's settings). */
export function limiterFor(owner: object, limit: number): ZlibLimiter {
  let l = limiters.get(owner);
  if (!l) limiters.set(owner, (l = new ZlibLimiter(limit)));
  return l;
}
