/**
 * A set of objects that each keep their own index in it: adding and
 * removing cost a push and a swap with the last, and allocate nothing.
 *
 * Why not a `Set`: a Set (or Map) that lives long while its entries come
 * and go (one per connection) rebuilds its hash table every few dozen
 * removals, and the old table, once in the old generation, keeps every
 * young entry it ever held alive through each young-generation
 * collection until the next full one. At thousands of connections a
 * second that promoted each connection's whole object graph.
 */
export interface Indexed {
  /** Its index in the list it is in, -1 when in none. @internal */
  listIdx: number;
}

/**
 * Put `x` at the end of `items`, noting its index on it. For a list kept
 * as a bare array (one per topic, where an object around it would cost
 * memory per subscriber); `IndexedList` wraps the same two steps.
 */
export function pushIndexed<T extends Indexed>(items: T[], x: T): void {
  x.listIdx = items.length;
  items.push(x);
}

/** Take `x` out of `items` (the last item takes its place); false when it is not there. */
export function removeIndexed<T extends Indexed>(items: T[], x: T): boolean {
  const i = x.listIdx;
  if (i < 0 || items[i] !== x) return false;
  const last = items.pop() as T;
  if (last !== x) {
    items[i] = last;
    last.listIdx = i;
  }
  x.listIdx = -1;
  return true;
}

export class IndexedList<T extends Indexed> implements Iterable<T> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Add `x` (nothing when it is already in a list). */
  add(x: T): void {
    if (x.listIdx < 0) pushIndexed(this.#items, x);
  }

  /** Remove `x`; false when it was not in the list. */
  delete(x: T): boolean {
    return removeIndexed(this.#items, x);
  }

  /** Remove everything. */
  clear(): void {
    for (const x of this.#items) x.listIdx = -1;
    this.#items = [];
  }

  /** The item at `i` (0 <= i < size), for a loop that neither adds nor removes. */
  at(i: number): T {
    return this.#items[i];
  }

  /** The items as they are now, in an array of their own. */
  toArray(): T[] {
    return this.#items.slice();
  }

  /** The items as they are now: adding or removing while iterating changes nothing of the iteration. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.#items.slice()[Symbol.iterator]();
  }
}
