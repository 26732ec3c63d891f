/**
 * The encoder's dynamic table: the same FIFO as the decoder's, plus maps
 * from name and from name + value to the newest entry holding them, kept
 * right as entries come and go, so finding a match costs two map lookups.
 */
import { DynamicTable } from './dynamic-table.js';
import { STATIC_COUNT } from './static-table.js';

interface ByName {
  /** Sequence number of the newest entry with this name. */
  newest: number;
  /** Sequence number of the newest entry with this name, by value. */
  readonly values: Map<string, number>;
}

export class EncoderTable extends DynamicTable {
  readonly #byName = new Map<string, ByName>();

  override add(name: string, value: string): boolean {
    if (!super.add(name, value)) return false;
    const seq = this.inserted;
    const e = this.#byName.get(name);
    if (e === undefined) this.#byName.set(name, { newest: seq, values: new Map([[value, seq]]) });
    else {
      e.newest = seq;
      e.values.set(value, seq);
    }
    return true;
  }

  /** The HPACK index of an entry holding exactly this field, or 0. */
  exact(name: string, value: string): number {
    const seq = this.#byName.get(name)?.values.get(value);
    return seq === undefined ? 0 : this.#index(seq);
  }

  /** The HPACK index of an entry with this name, or 0. */
  nameIndex(name: string): number {
    const e = this.#byName.get(name);
    return e === undefined ? 0 : this.#index(e.newest);
  }

  // Eviction is oldest first, so when the evicted entry is the newest with
  // its name (or name and value), no other entry has it either; when it is
  // not, the maps already point at a newer one and stay as they are.
  protected override evicted(name: string, value: string, seq: number): void {
    const e = this.#byName.get(name);
    if (e === undefined) return;
    if (e.newest === seq) this.#byName.delete(name);
    else if (e.values.get(value) === seq) e.values.delete(value);
  }

  #index(seq: number): number {
    return STATIC_COUNT + this.inserted - seq + 1;
  }
}
