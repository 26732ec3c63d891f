/**
 * One mirror instance of `lws-mirror-protocol`: a bounded ring of messages
 * shared by its members, each member reading it through its own tail.
 * Positions are absolute message numbers, so "how far behind" is a plain
 * subtraction and the ring slot is `position % slots`.
 */
import type { Wsi } from '../core/wsi.js';
import { Write } from '../core/write.js';
import { log } from '../core/log.js';

/** Ring slots per instance; one is kept empty, as lws's ring does. */
export const MIRROR_RING_SLOTS = 32;
/** Below this many free slots, reading stops on every member. */
export const MIRROR_RXFLOW_MIN = 4;
/** Reading resumes once this many slots are free again (lws 4.x: 2/3 of the ring). */
export const MIRROR_RXFLOW_RESUME = Math.floor((2 * MIRROR_RING_SLOTS) / 3);

const USABLE = MIRROR_RING_SLOTS - 1;

/**
 * Messages held beyond the ring. Local members stop being read long
 * before it fills; only messages from other processes (a topic bus) can
 * reach it, and past it they are dropped.
 */
export const MIRROR_OVERFLOW_MAX = 1024;

export interface MirrorMember {
  readonly wsi: Wsi;
  readonly instance: MirrorInstance;
  /** Position of the next message this member has to send. */
  tail: number;
}

export class MirrorInstance {
  readonly members = new Set<MirrorMember>();
  #ring: Array<Buffer | undefined> = new Array<Buffer | undefined>(MIRROR_RING_SLOTS);
  /** Position the next message will take. */
  #head = 0;
  /** Position of the oldest message some member still has to send. */
  #oldest = 0;
  /**
   * Messages received while the ring had no slot at all. Reading stops
   * well before that, so this stays empty unless rx arrives after rx flow
   * control was asked for; it is kept rather than dropped.
   */
  #overflow: Buffer[] = [];
  #rxEnabled = true;
  /** Messages dropped because the ring and its overflow were full. */
  dropped = 0;
  #oldestSince = Date.now();
  #cullTimer: NodeJS.Timeout | null = null;

  /**
   * @param name the `?mirror=` name
   * @param cullMs how long the member holding the oldest tail may make no
   *   progress while messages wait before it is closed; 0 never closes
   */
  constructor(readonly name: string, readonly cullMs: number) {}

  /** Free ring slots. */
  get free(): number {
    return USABLE - (this.#head - this.#oldest);
  }

  /** Messages received but not yet sent to every member (ring and overflow). */
  get waiting(): number {
    return this.#head - this.#oldest + this.#overflow.length;
  }

  /** Is reading enabled on the members? */
  get rxEnabled(): boolean {
    return this.#rxEnabled;
  }

  /** Add a member; it sees only messages that arrive from now on. */
  join(wsi: Wsi): MirrorMember {
    const m: MirrorMember = { wsi, instance: this, tail: this.#head };
    if (this.members.size === 0) this.#oldest = this.#head;
    this.members.add(m);
    // Keep the promise that no member reads while the ring is nearly full.
    if (!this.#rxEnabled) wsi.rxFlowControl(false);
    return m;
  }

  /** Remove a member; its unsent messages no longer hold the ring. */
  leave(m: MirrorMember): void {
    if (!this.members.delete(m)) return;
    this.#advanceOldest();
  }

  /** A received piece: copy it into the ring and wake every member. */
  receive(data: Uint8Array): void {
    const copy = Buffer.from(data);
    // The slow-reader clock starts when something starts waiting.
    if (this.waiting === 0) this.#oldestSince = Date.now();
    if (this.free > 0 && this.#overflow.length === 0) this.#put(copy);
    else if (this.#overflow.length >= MIRROR_OVERFLOW_MAX) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) log.warn('mirror "%s": ring and overflow full: %d messages dropped', this.name, this.dropped);
    } else {
      log.warn('mirror "%s": ring full, holding a message until the slowest reader catches up', this.name);
      this.#overflow.push(copy);
    }
    if (this.free < MIRROR_RXFLOW_MIN && this.#rxEnabled) this.#setRx(false);
    this.#updateCull();
    for (const m of this.members) m.wsi.callbackOnWritable();
  }

  /**
   * Send `m` what it has not sent yet, one TEXT message per write, while its
   * socket is not choked. Returns -1 if a write failed.
   */
  writable(m: MirrorMember): number {
    const wsi = m.wsi;
    while (m.tail < this.#head && !wsi.sendPipeChoked()) {
      const msg = this.#ring[m.tail % MIRROR_RING_SLOTS] as Buffer;
      if (wsi.write(msg, Write.TEXT) < 0) return -1;
      m.tail++;
    }
    if (m.tail < this.#head) wsi.callbackOnWritable();
    this.#advanceOldest();
    return 0;
  }

  /** Stop timers and drop the ring (PROTOCOL_DESTROY, or the last member left). */
  destroy(): void {
    if (this.#cullTimer) clearTimeout(this.#cullTimer);
    this.#cullTimer = null;
    this.#ring.fill(undefined);
    this.#overflow = [];
    this.members.clear();
  }

  #put(msg: Buffer): void {
    this.#ring[this.#head % MIRROR_RING_SLOTS] = msg;
    this.#head++;
  }

  /** Recompute the oldest tail; free slots, refill from overflow, resume rx. */
  #advanceOldest(): void {
    let oldest = this.#head;
    for (const m of this.members) if (m.tail < oldest) oldest = m.tail;
    if (oldest === this.#oldest) {
      this.#updateCull();
      return;
    }
    for (let p = this.#oldest; p < oldest; p++) this.#ring[p % MIRROR_RING_SLOTS] = undefined;
    this.#oldest = oldest;
    this.#oldestSince = Date.now();
    let moved = false;
    while (this.#overflow.length && this.free > 0) {
      this.#put(this.#overflow.shift() as Buffer);
      moved = true;
    }
    if (moved) for (const m of this.members) m.wsi.callbackOnWritable();
    if (!this.#rxEnabled && this.#overflow.length === 0 && this.free >= MIRROR_RXFLOW_RESUME) this.#setRx(true);
    this.#updateCull();
  }

  #setRx(enable: boolean): void {
    this.#rxEnabled = enable;
    log.debug('mirror "%s": rx %s on %d members (%d free)', this.name, enable ? 'resumed' : 'paused', this.members.size, this.free);
    for (const m of this.members) m.wsi.rxFlowControl(enable);
  }

  /**
   * lws's slow-reader policy: whoever holds the oldest tail while messages
   * wait has `cullMs` to make progress, else it is closed so the others can
   * go on. One timer per instance, checked against the time the oldest
   * tail last moved.
   */
  #updateCull(): void {
    if (this.cullMs <= 0) return;
    if (this.#head === this.#oldest || this.members.size === 0) {
      if (this.#cullTimer) clearTimeout(this.#cullTimer);
      this.#cullTimer = null;
      return;
    }
    if (this.#cullTimer) return;
    const due = Math.max(0, this.#oldestSince + this.cullMs - Date.now());
    this.#cullTimer = setTimeout(() => this.#cullCheck(), due);
    this.#cullTimer.unref();
  }

  #cullCheck(): void {
    this.#cullTimer = null;
    if (this.#head === this.#oldest) return;
    const idle = Date.now() - this.#oldestSince;
    if (idle >= this.cullMs) {
      const stuck = this.#oldest;
      for (const m of [...this.members]) {
        if (m.tail !== stuck || m.wsi.closed) continue;
        log.notice('mirror "%s": closing wsi %d, %d messages behind for %d ms', this.name, m.wsi.id, this.#head - m.tail, idle);
        m.wsi.closeReason(1008, 'too slow reading the mirror');
        m.wsi.close();
      }
    }
    this.#updateCull();
  }
}
