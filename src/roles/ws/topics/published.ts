import { buildFrame } from '../frame.js';
import { PmdDeflater } from '../deflate/deflater.js';
import type { PmdConn } from '../deflate/pmd-conn.js';
import type { TopicPosition } from './bus.js';

/** What a vhost counts of its publishes (see `vhost.topicStats()`). */
export interface TopicStats {
  /** `publish` calls that found at least one subscriber. */
  publishes: number;
  /** Plain (uncompressed) frames built: at most one per publish, whatever the number of subscribers. */
  framesBuilt: number;
  /**
   * Compressed frames made once per publish and shared by every subscriber
   * that negotiated `server_no_context_takeover` (one per window size in use).
   */
  sharedCompressions: number;
  /** Messages compressed by one subscriber's own compressor (context takeover: its copy is its own). */
  ownCompressions: number;
  /** Published messages put in a connection's queue. */
  queued: number;
  /** Published messages dropped by an overflow policy (each one was reported). */
  dropped: number;
  /** Connections closed by an overflow policy (`close-1008`, `close-1013`). */
  closed: number;
}

/** A fresh set of counters. */
export function newTopicStats(): TopicStats {
  return { publishes: 0, framesBuilt: 0, sharedCompressions: 0, ownCompressions: 0, queued: 0, dropped: 0, closed: 0 };
}

/**
 * One message compressed once for many connections. zlib runs off the
 * main thread, so the frame is ready later; connections whose turn comes
 * first wait for it in their send queue, in order.
 */
export class SharedCompressed {
  frame: Buffer | null = null;
  error: Error | null = null;
  #waiters: (() => void)[] = [];

  /** Run `fn` once the frame is made (or failed); at once if it already is. */
  whenDone(fn: () => void): void {
    if (this.frame || this.error) fn();
    else this.#waiters.push(fn);
  }

  /** @internal */
  done(frame: Buffer | null, error: Error | null): void {
    this.frame = frame;
    this.error = error;
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }
}

/**
 * One publish: its payload framed once (unmasked, FIN set: a server frame),
 * shared by every plain subscriber's connection as the same Buffer, and
 * compressed at most once per window size for subscribers without
 * context takeover.
 */
export class PublishedMessage {
  /** The whole frame, header and payload. */
  readonly frame: Buffer;
  /** The payload, a view into `frame` (no second copy). */
  readonly payload: Buffer;
  #compressed: Map<number, SharedCompressed> | null = null;

  /**
   * @param position the message's place in the topic's history, when the
   *   bus keeps one (`wsi.topicPosition` reports it once the message is written)
   */
  constructor(readonly topic: string, readonly op: number, data: Uint8Array, readonly stats: TopicStats, readonly position: TopicPosition | null = null) {
    this.frame = buildFrame(op, true, false, data);
    this.payload = this.frame.subarray(this.frame.length - data.length);
    stats.framesBuilt++;
  }

  /** Bytes this message holds in a connection's queue. */
  get size(): number {
    return this.payload.length;
  }

  /**
   * The compressed frame for a connection that resets its compressor after
   * every message (`server_no_context_takeover`), made on the first call
   * for its window size. Any decompressor can read a message compressed
   * afresh, so one compression serves all of them.
   */
  compressedFor(pmd: PmdConn): SharedCompressed {
    const bits = pmd.agreement.txWindowBits;
    const map = (this.#compressed ??= new Map());
    let s = map.get(bits);
    if (s) return s;
    s = new SharedCompressed();
    map.set(bits, s);
    this.stats.sharedCompressions++;
    const shared = s;
    const d = new PmdDeflater(pmd.limiter, {
      windowBits: bits, noContextTakeover: true, level: pmd.cfg.level, memLevel: pmd.cfg.memLevel, idleReleaseMs: 0,
    });
    const op = this.op;
    d.compress(this.payload, true, (err, out) => {
      // The stream went back to the vhost's spares; this deflater is done.
      d.destroy();
      shared.done(err ? null : buildFrame(op, true, true, out), err);
    });
    return s;
  }
}
