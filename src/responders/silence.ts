/**
 * A bound on a program's or upstream's silence that counts only while we
 * wait on it: `touch()` restarts the count when it shows life (or we start
 * waiting on it), and a count that runs out while we wait on the client
 * instead does nothing until the next `touch()` starts it again.
 */
export class SilenceTimer {
  #t: NodeJS.Timeout | null;

  constructor(readonly ms: number, readonly waiting: () => boolean, onSilent: () => void) {
    this.#t = setTimeout(() => {
      if (this.waiting()) onSilent();
    }, ms);
  }

  touch(): void {
    // refresh() also starts again a timer that has already run out.
    if (this.#t && this.waiting()) this.#t.refresh();
  }

  disarm(): void {
    if (this.#t) clearTimeout(this.#t);
    this.#t = null;
  }
}
