/** The number of pings remembered for matching replies, as in the C test-ping. */
export const PING_RING_SIZE = 256;

/** What became of one reply. */
export interface PingReply {
  index: number;
  /** Round-trip time in ms, or undefined when the index was not (or no longer) known. */
  rttMs?: number;
  duplicate: boolean;
}

/**
 * Ping bookkeeping like ping(8): a ring of the last 256 sent indexes and
 * their send times, plus totals for the summary.
 *
 * ```ts
 * const ring = new PingRing();
 * const idx = ring.noteSent(performance.now());
 * const reply = ring.noteReply(idx, performance.now()); // { index: 1, rttMs: …, duplicate: false }
 * ring.summary(); // { transmitted: 1, received: 1, lossPercent: 0, min, avg, max }
 * ```
 */
export class PingRing {
  #slots: Array<{ index: number; at: number; seen: boolean } | undefined> = new Array(PING_RING_SIZE);
  #next = 1;
  transmitted = 0;
  received = 0;
  #rtts: number[] = [];

  /** Record a ping sent at `now` (ms); returns its index, counting from 1. */
  noteSent(now: number): number {
    const index = this.#next++;
    this.#slots[index % PING_RING_SIZE] = { index, at: now, seen: false };
    this.transmitted++;
    return index;
  }

  /** Record a reply carrying `index`, arriving at `now` (ms). */
  noteReply(index: number, now: number): PingReply {
    const slot = this.#slots[index % PING_RING_SIZE];
    if (!slot || slot.index !== index) return { index, duplicate: false };
    const rttMs = now - slot.at;
    if (slot.seen) return { index, rttMs, duplicate: true };
    slot.seen = true;
    this.received++;
    this.#rtts.push(rttMs);
    return { index, rttMs, duplicate: false };
  }

  /** Totals for the closing statistics lines. */
  summary(): { transmitted: number; received: number; lossPercent: number; min: number; avg: number; max: number } {
    const r = this.#rtts;
    const lossPercent = this.transmitted ? Math.round(((this.transmitted - this.received) * 100) / this.transmitted) : 0;
    return {
      transmitted: this.transmitted,
      received: this.received,
      lossPercent,
      min: r.length ? Math.min(...r) : 0,
      avg: r.length ? r.reduce((a, b) => a + b, 0) / r.length : 0,
      max: r.length ? Math.max(...r) : 0,
    };
  }
}

/** The payload of ping `index`: 8-byte big-endian index, zero-padded to `size` (at least 8). */
export function pingPayload(index: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(8, size));
  b.writeBigUInt64BE(BigInt(index));
  return b;
}
