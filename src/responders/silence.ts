import type { Timer, TimerList } from '../core/timers.js';

/**
 * A bound on a program's or upstream's silence that counts only while we
 * wait on it: `touch()` restarts the count when it shows life (or we start
 * waiting on it), and a count that runs out while we wait on the client
 * instead does nothing until the next `touch()` starts it again.
 */
export class SilenceTimer {
  #t: Timer | null;

  constructor(timers: TimerList, readonly ms: number, readonly waiting: () => boolean, onSilent: () => void) {
    this.#t = timers.timer((self: SilenceTimer) => {
      if (self.waiting()) onSilent();
    }, this);
    this.#t.start(ms);
  }

  touch(): void {
    if (this.#t && this.waiting()) this.#t.start(this.ms);
  }

  disarm(): void {
    this.#t?.stop();
    this.#t = null;
  }
}
