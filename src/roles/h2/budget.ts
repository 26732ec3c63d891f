import { monotonicMs } from '../../core/timers.js';

/**
 * A token bucket: `burst` at once, refilled at `perSec`. Frames that are
 * cheap to send and cost us work (PING, SETTINGS, resets, empty DATA …)
 * each spend from their own; a peer that runs one dry is flooding.
 */
export class Budget {
  #tokens: number;
  #at = monotonicMs();

  constructor(readonly burst: number, readonly perSec: number) {
    this.#tokens = burst;
  }

  /** Spend one; false when none is left. */
  take(): boolean {
    const now = monotonicMs();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.perSec) / 1000);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
