import type { Transport } from '../../core/role.js';

/** What the round needs of a stream with DATA to send. */
export interface QueuedStream {
  out: Buffer[];
  outBytes: number;
  sendWindow: number;
  endQueued: boolean;
  /** On the round now. */
  ready: boolean;
  reset: boolean;
  localClosed: boolean;
}

/** What the connection does for its round. */
export interface RoundHooks<S> {
  /** The most one frame may carry now, whatever the stream: the connection's window, the peer's frame size. */
  limit(): number;
  /** Send one DATA frame of `n` queued bytes of `s` (END_STREAM when they are its last and its end is queued). */
  frame(s: S, n: number): void;
  /** `s` sent all it had queued and may produce more. */
  drained(s: S): void;
}

/**
 * The streams of a connection with DATA to send, served a frame each in
 * turn (round robin, so one large body cannot starve the others) while
 * the socket takes it and the windows allow.
 */
export class SendRound<S extends QueuedStream> {
  #list: S[] = [];
  #pumping = false;

  constructor(private readonly hooks: RoundHooks<S>) {}

  /** Inside `pump` (a frame's sending called back into the connection). */
  get busy(): boolean {
    return this.#pumping;
  }

  schedule(s: S): void {
    if (s.ready || (!s.outBytes && !s.endQueued)) return;
    s.ready = true;
    this.#list.push(s);
  }

  pump(t: Transport | null): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      // Passes over the ready streams, one frame each per pass. A pass
      // starts a fresh list: streams scheduled meanwhile (a producer woken
      // by `drained`) join it behind the ones still waiting.
      while (this.#list.length && t && !t.destroyed && !t.writableNeedDrain) {
        const list = this.#list;
        this.#list = [];
        const kept: S[] = [];
        let sent = false;
        let k = 0;
        for (; k < list.length && !t.writableNeedDrain && !t.destroyed; k++) {
          const s = list[k];
          if (s.reset || s.localClosed) {
            s.ready = false;
            continue;
          }
          const n = Math.max(0, Math.min(s.outBytes, s.sendWindow, this.hooks.limit()));
          if (n <= 0 && s.outBytes > 0) {
            kept.push(s); // waits for credit: the next stream's turn
            continue;
          }
          sent = true;
          this.hooks.frame(s, n);
          if (!s.reset && (s.outBytes > 0 || s.endQueued)) kept.push(s);
          else s.ready = false;
          if (s.outBytes === 0 && !s.localClosed && !s.reset) this.hooks.drained(s);
        }
        // Unvisited streams first (their turn was cut short), then those served, then newcomers.
        const next = k < list.length ? list.slice(k) : [];
        for (const s of kept) next.push(s);
        for (const s of this.#list) next.push(s);
        this.#list = next;
        if (!sent) break;
      }
    } finally {
      this.#pumping = false;
    }
  }

  clear(): void {
    this.#list = [];
  }
}
