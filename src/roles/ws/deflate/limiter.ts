import type { DeflateRaw, InflateRaw } from 'node:zlib';
import type { TimerList } from '../../../core/timers.js';

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
  // Compressors and decompressors between messages, reset, by settings: a
  // connection that starts every message afresh borrows one instead of
  // making its own (making one costs far more than resetting it).
  #spare = new Map<string, Array<DeflateRaw | InflateRaw>>();
  #kept = 0;

  /**
   * `limit`: operations at once; `keepLimit`: connections that may keep a
   * compressor between messages for context takeover.
   */
  constructor(
    readonly limit: number,
    readonly keepLimit: number,
    /** The context's timers, for the compressors' idle release. */
    readonly timers: TimerList,
  ) {}

  /**
   * May one more connection keep its compressor between messages? A yes
   * holds a place until `unkeep()`. A no costs that connection ratio, not
   * correctness: a compressor may always start afresh.
   */
  tryKeep(): boolean {
    if (this.#kept >= this.keepLimit) return false;
    this.#kept++;
    return true;
  }

  /** Give back a place taken by `tryKeep()`. */
  unkeep(): void {
    this.#kept--;
  }

  /** Connections keeping a compressor between messages now. */
  get keptDeflaters(): number {
    return this.#kept;
  }

  /** A reset compressor made with `key`'s settings, if one is spare. */
  takeDeflater(key: string): DeflateRaw | undefined {
    return this.#spare.get(`d/${key}`)?.pop() as DeflateRaw | undefined;
  }

  /** Keep a reset compressor for the next message (at most `limit` per settings; others are closed). */
  putDeflater(key: string, z: DeflateRaw): void {
    this.#put(`d/${key}`, z);
  }

  /** A reset decompressor made with `key`'s settings, if one is spare. */
  takeInflater(key: string): InflateRaw | undefined {
    return this.#spare.get(`i/${key}`)?.pop() as InflateRaw | undefined;
  }

  /** Keep a reset decompressor for the next message (as putDeflater). */
  putInflater(key: string, z: InflateRaw): void {
    this.#put(`i/${key}`, z);
  }

  /** Close every spare stream (the vhost is going away). */
  closeSpares(): void {
    for (const list of this.#spare.values()) for (const z of list) z.close();
    this.#spare.clear();
  }

  #put(key: string, z: DeflateRaw | InflateRaw): void {
    // Unowned, an 'error' without a listener would throw.
    if (z.listenerCount('error') === 0) z.on('error', ignore);
    let list = this.#spare.get(key);
    if (!list) this.#spare.set(key, (list = []));
    if (list.length >= this.limit) {
      z.close();
      return;
    }
    list.push(z);
  }

  /** Compressors kept spare (tests, memory accounting). */
  get spareDeflaters(): number {
    return this.#count('d/');
  }

  /** Decompressors kept spare (tests, memory accounting). */
  get spareInflaters(): number {
    return this.#count('i/');
  }

  #count(prefix: string): number {
    let n = 0;
    for (const [k, l] of this.#spare) if (k.startsWith(prefix)) n += l.length;
    return n;
  }

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

const ignore = (): void => {};

const limiters = new WeakMap<object, ZlibLimiter>();

/** The limiter of `owner`, if one was made (tests and memory accounting). */
export function limiterOf(owner: object): ZlibLimiter | undefined {
  return limiters.get(owner);
}

/**
 * The limiter shared by everything keyed by `owner` (a vhost); the first
 * caller's bounds make it.
 */
export function limiterFor(owner: object, limit: number, keepLimit: number, timers: TimerList): ZlibLimiter {
  let l = limiters.get(owner);
  if (!l) limiters.set(owner, (l = new ZlibLimiter(limit, keepLimit, timers)));
  return l;
}
