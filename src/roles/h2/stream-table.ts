/**
 * An HTTP/2 connection's open streams, by id.
 *
 * Why not a `Map<number, stream>`: a connection lives long and its
 * streams come and go by the thousand; a Map rebuilds its table every few
 * dozen removals, and an old table that reached the old generation keeps
 * every stream it held alive through each young-generation collection,
 * and with it the stream's request, exchange and buffers, until the next
 * full collection. Here the Map holds only positions (numbers), and the
 * streams sit in an array whose removals swap with the last entry.
 */
import type { H2StreamBase } from './stream-base.js';

export class StreamTable<S extends H2StreamBase> {
  /** Stream id to its position in #items: numbers only. */
  #at = new Map<number, number>();
  #items: S[] = [];

  get size(): number {
    return this.#items.length;
  }

  get(id: number): S | undefined {
    const i = this.#at.get(id);
    return i === undefined ? undefined : this.#items[i];
  }

  has(id: number): boolean {
    return this.#at.has(id);
  }

  /** Add stream `s` (under its own id, replacing one of the same id). */
  add(s: S): void {
    const i = this.#at.get(s.id);
    if (i !== undefined) {
      this.#items[i] = s;
      return;
    }
    this.#at.set(s.id, this.#items.length);
    this.#items.push(s);
  }

  /** Remove the stream of `id`; false when there was none. */
  delete(id: number): boolean {
    const i = this.#at.get(id);
    if (i === undefined) return false;
    this.#at.delete(id);
    const items = this.#items;
    const last = items.pop() as S;
    if (i < items.length) {
      items[i] = last;
      this.#at.set(last.id, i);
    }
    return true;
  }

  /** The streams open now (a copy: streams closed while it is read are still in it). */
  values(): S[] {
    return this.#items.slice();
  }

  clear(): void {
    this.#at.clear();
    this.#items = [];
  }
}
