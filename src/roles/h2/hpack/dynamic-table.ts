/**
 * The dynamic table (RFC 7541 2.3.2, 4): a FIFO of fields, newest first,
 * bounded by its size in RFC octets (name + value + 32 per entry), oldest
 * evicted first. Strings are latin1, so a string's length is its octets.
 */

/** The RFC size of an entry: 32 octets of overhead over name and value (RFC 7541 4.1). */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/** One side's dynamic table: entry 1 is the newest. */
export class DynamicTable {
  // A ring: the oldest entry at #tail, the newest at #tail + #count - 1.
  #names: string[] = new Array<string>(16).fill('');
  #values: string[] = new Array<string>(16).fill('');
  #mask = 15;
  #tail = 0;
  #count = 0;
  #size = 0;
  #maxSize: number;
  #inserted = 0;

  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** Entries in the table. */
  get length(): number {
    return this.#count;
  }

  /** Current size in RFC octets. */
  get size(): number {
    return this.#size;
  }

  /** The most the table may hold, in RFC octets. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** Entries added since the table was made: the sequence number of the newest. */
  get inserted(): number {
    return this.#inserted;
  }

  /** Name of entry `i`, 1 the newest (the caller checks 1 <= i <= length). */
  name(i: number): string {
    return this.#names[(this.#tail + this.#count - i) & this.#mask];
  }

  /** Value of entry `i`, 1 the newest (the caller checks 1 <= i <= length). */
  value(i: number): string {
    return this.#values[(this.#tail + this.#count - i) & this.#mask];
  }

  /** Change the bound, evicting what no longer fits (RFC 7541 4.3). */
  setMaxSize(n: number): void {
    this.#maxSize = n;
    this.#evictTo(n);
  }

  /**
   * Add a field as the newest entry, evicting the oldest until it fits.
   * A field larger than the whole table empties it and is not added
   * (RFC 7541 4.4); returns whether it was added.
   */
  add(name: string, value: string): boolean {
    const size = entrySize(name, value);
    if (size > this.#maxSize) {
      this.#evictTo(0);
      return false;
    }
    this.#evictTo(this.#maxSize - size);
    if (this.#count > this.#mask) this.#grow();
    const slot = (this.#tail + this.#count) & this.#mask;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#count++;
    this.#size += size;
    this.#inserted++;
    return true;
  }

  /**
   * Called for each entry evicted, oldest first, with its sequence number
   * (see `inserted`); the encoder's table overrides it to forget the entry.
   */
  protected evicted(_name: string, _value: string, _seq: number): void {}

  #evictTo(limit: number): void {
    while (this.#size > limit) {
      const slot = this.#tail;
      const name = this.#names[slot];
      const value = this.#values[slot];
      // Drop the strings now: an evicted entry must not keep a large value alive.
      this.#names[slot] = this.#values[slot] = '';
      this.#tail = (slot + 1) & this.#mask;
      this.#count--;
      this.#size -= entrySize(name, value);
      this.evicted(name, value, this.#inserted - this.#count);
    }
  }

  #grow(): void {
    const cap = (this.#mask + 1) * 2;
    const names = new Array<string>(cap).fill('');
    const values = new Array<string>(cap).fill('');
    for (let i = 0; i < this.#count; i++) {
      const slot = (this.#tail + i) & this.#mask;
      names[i] = this.#names[slot];
      values[i] = this.#values[slot];
    }
    this.#names = names;
    this.#values = values;
    this.#mask = cap - 1;
    this.#tail = 0;
  }
}
