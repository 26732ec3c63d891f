import { log } from './log.js';

/** Milliseconds on a clock that never goes back (the wall clock may). */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * A newly earlier deadline re-arms the process timer only when it is at
 * least this much earlier than the one armed: a burst of slightly earlier
 * deadlines (every request re-arming its keep-alive wait) costs nothing,
 * and no wait fires later than this past its time.
 */
const REARM_SLACK_MS = 20;

/**
 * One context's scheduled work, after lws's single sorted list of
 * scheduled callbacks: pending timeouts, ping intervals, CGI and proxy
 * silence, lingering closes, kept client connections. One process timer
 * is armed for the earliest deadline, however many are waiting.
 *
 * Moving a deadline later costs nothing (the entry keeps its place and is
 * put back when its old deadline comes), which is the common case: every
 * message received pushes its connection's ping check back. A stopped
 * timer leaves the list at once.
 */
export class TimerList {
  #heap: Timer[] = [];
  #armedAt = Infinity;
  #node: NodeJS.Timeout | null = null;
  #closed = false;

  /**
   * A timer of this list calling `fn(owner)` when it expires; not started.
   * Handing the owner in spares a closure per timer (there is one per
   * connection).
   */
  timer<O>(fn: (owner: O) => void, owner: O): Timer {
    return new Timer(this, fn as (owner: unknown) => void, owner);
  }

  /** Timers waiting, including stopped ones not yet reclaimed. */
  get size(): number {
    return this.#heap.length;
  }

  /** Stop everything: nothing fires after this, and timers cannot be started again. */
  close(): void {
    this.#closed = true;
    for (const t of this.#heap) t.idx = -1;
    this.#heap = [];
    if (this.#node) clearTimeout(this.#node);
    this.#node = null;
    this.#armedAt = Infinity;
  }

  /**
   * @internal A stopped timer leaves the list at once, so it keeps nothing
   * alive (its owner, a closed connection) until its old deadline.
   */
  remove(t: Timer): void {
    const i = t.idx;
    if (i < 0) return;
    const h = this.#heap;
    const last = h.pop() as Timer;
    t.idx = -1;
    if (last === t) return;
    h[i] = last;
    last.idx = i;
    this.#down(i);
    if (last.idx === i) this.#up(i);
  }

  /** @internal */
  place(t: Timer): void {
    if (this.#closed) return;
    if (t.idx < 0) {
      t.heapAt = t.at;
      t.idx = this.#heap.length;
      this.#heap.push(t);
      this.#up(t.idx);
    } else if (t.at < t.heapAt) {
      t.heapAt = t.at;
      this.#up(t.idx);
    } else {
      return; // later than its place: found and put back when the place comes
    }
    const top = this.#heap[0];
    if (top.heapAt < this.#armedAt - REARM_SLACK_MS || this.#armedAt === Infinity) this.#arm(top.heapAt);
  }

  #arm(at: number): void {
    if (this.#node) clearTimeout(this.#node);
    this.#armedAt = at;
    this.#node = setTimeout(this.#fire, Math.max(0, Math.ceil(at - monotonicMs())));
    this.#node.unref();
  }

  #fire = (): void => {
    this.#node = null;
    this.#armedAt = Infinity;
    const h = this.#heap;
    let now = monotonicMs();
    while (h.length && h[0].heapAt <= now) {
      const t = h[0];
      if (t.at === 0) {
        // Suspended and not started since: its place ends here.
        this.#removeTop();
        continue;
      }
      if (t.at > now) {
        // Moved later since it took its place: take the new one.
        t.heapAt = t.at;
        this.#down(0);
        continue;
      }
      this.#removeTop();
      t.at = 0;
      try {
        t.fn(t.owner);
      } catch (e) {
        log.err('timer callback threw: %s', e instanceof Error ? e.stack ?? e.message : String(e));
      }
      if (this.#closed) return;
      now = monotonicMs();
    }
    if (h.length) this.#arm(h[0].heapAt);
  };

  #removeTop(): void {
    const h = this.#heap;
    const top = h[0];
    top.idx = -1;
    const last = h.pop() as Timer;
    if (last !== top) {
      h[0] = last;
      last.idx = 0;
      this.#down(0);
    }
  }

  #up(i: number): void {
    const h = this.#heap;
    const t = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].heapAt <= t.heapAt) break;
      h[i] = h[p];
      h[i].idx = i;
      i = p;
    }
    h[i] = t;
    t.idx = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const t = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].heapAt < h[c].heapAt) c++;
      if (h[c].heapAt >= t.heapAt) break;
      h[i] = h[c];
      h[i].idx = i;
      i = c;
    }
    h[i] = t;
    t.idx = i;
  }
}

/**
 * One scheduled callback of a `TimerList`: start, restart (later or
 * earlier), stop. A stopped timer costs nothing until it is started again.
 */
export class Timer {
  /** When it fires (monotonic ms), 0 when it is not running. @internal */
  at = 0;
  /** The deadline its place in the list is ordered by (never after `at`). @internal */
  heapAt = 0;
  /** Its index in the list, -1 when not in it. @internal */
  idx = -1;

  /** @internal Use `TimerList.timer()`. */
  constructor(readonly list: TimerList, readonly fn: (owner: unknown) => void, readonly owner: unknown) {}

  /** Fire in `ms` milliseconds (0: as soon as the event loop comes round), replacing any earlier start. */
  start(ms: number): void {
    this.at = Math.max(monotonicMs() + ms, 1e-3);
    this.list.place(this);
  }

  /** Do not fire (until started again). */
  stop(): void {
    this.at = 0;
    this.list.remove(this);
  }

  /**
   * Do not fire (until started again), but keep the place in the list
   * until the old deadline: a timer started again before then costs
   * nothing more than moving a deadline later, where `stop()` and `start()`
   * take it out of the list and put it back (a connection's timeout
   * between the requests it serves). Its owner is kept until that old
   * deadline at most: when the owner is done, `stop()`.
   */
  suspend(): void {
    this.at = 0;
  }

  /** True while it is due to fire. */
  get running(): boolean {
    return this.at !== 0;
  }

  /** Milliseconds left before it fires, or -1 when it is not running. */
  get remainingMs(): number {
    return this.at === 0 ? -1 : Math.max(0, this.at - monotonicMs());
  }
}
