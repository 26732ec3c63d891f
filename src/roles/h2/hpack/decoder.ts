/**
 * The HPACK decoder (RFC 7541 3, 6): one per connection, fed each complete
 * header block in order. It keeps the dynamic table in step with the
 * peer's encoder; any block it cannot decode is an HpackError, after which
 * the tables may differ and the connection must end (COMPRESSION_ERROR).
 */
import { HpackError } from './errors.js';
import { BlockReader } from './reader.js';
import { DynamicTable } from './dynamic-table.js';
import { STATIC_COUNT, STATIC_TABLE } from './static-table.js';
import { checkTableSize } from './table-size.js';

/** One decoded field: name as received, value, and whether it was sent as never-indexed. */
export type HeaderField = [name: string, value: string, neverIndex?: true];

/** What one header block decoded to. */
export interface DecodeResult {
  fields: HeaderField[];
  /** True when the decoded list passed maxHeaderListSize: fields is then empty, but the dynamic table was still updated. */
  tooLarge: boolean;
}

/** HpackDecoder's settings. */
export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE, in effect from the start. Default 4096, HTTP/2's initial value. */
  maxTableSize?: number;
  /** Largest decoded list accepted, counted as RFC 9113 does: name + value + 32 per field. Default 64 KiB. */
  maxHeaderListSize?: number;
}

/** The protocol's initial table size (RFC 9113 6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
const DEFAULT_MAX_LIST = 64 * 1024;

/** Decodes the header blocks of one connection, in order; after an HpackError it must not be used again. */
export class HpackDecoder {
  readonly #table: DynamicTable;
  readonly #reader = new BlockReader();
  readonly #maxList: number;
  /** The most a size update may ask for: our setting. */
  #allowed: number;
  /** Our setting went below the table's size: the next block must start with a size update. */
  #updateDue = false;

  /**
   * A decoder whose table starts at `maxTableSize` (default 4096). HTTP/2
   * starts every connection at 4096; when we advertise another size, make
   * the decoder with 4096 and call setMaxTableSize once the peer acks it.
   */
  constructor(opts: HpackDecoderOptions = {}) {
    this.#allowed = checkTableSize(opts.maxTableSize ?? DEFAULT_TABLE_SIZE);
    this.#table = new DynamicTable(this.#allowed);
    this.#maxList = opts.maxHeaderListSize ?? DEFAULT_MAX_LIST;
  }

  /** Current size of the dynamic table in RFC octets. */
  get tableSize(): number {
    return this.#table.size;
  }

  /**
   * Our advertised SETTINGS_HEADER_TABLE_SIZE changed (after the peer acked
   * it): the peer's table size updates may go up to this. When it is below
   * the table's current maximum, the peer's next block must begin with a
   * size update that brings it down (RFC 7541 4.2); one that does not is an
   * HpackError.
   */
  setMaxTableSize(n: number): void {
    this.#allowed = checkTableSize(n);
    if (n < this.#table.maxSize) this.#updateDue = true;
  }

  /** Decode one complete header block (HEADERS + CONTINUATION payloads joined). Throws HpackError when malformed. */
  decode(block: Uint8Array): DecodeResult {
    const r = this.#reader;
    r.reset(block);
    try {
      return this.#decode(r);
    } finally {
      r.release();
    }
  }

  /** The dynamic table's entries, newest first: for tests and debugging. */
  dynamicEntries(): Array<[name: string, value: string]> {
    const out: Array<[string, string]> = [];
    for (let i = 1; i <= this.#table.length; i++) out.push([this.#table.name(i), this.#table.value(i)]);
    return out;
  }

  #decode(r: BlockReader): DecodeResult {
    const table = this.#table;
    const fields: HeaderField[] = [];
    let listSize = 0;
    let tooLarge = false;
    // Size updates may only come before the first field (RFC 7541 4.2).
    let atStart = true;
    while (!r.done) {
      const first = r.peek();
      if ((first & 0xe0) === 0x20) {
        // Dynamic table size update (6.3).
        if (!atStart) throw new HpackError('dynamic table size update after a field');
        const n = r.int(5);
        if (n > this.#allowed) throw new HpackError(`dynamic table size update to ${n}, over the setting ${this.#allowed}`);
        table.setMaxSize(n);
        this.#updateDue = false;
        continue;
      }
      if (atStart) {
        if (this.#updateDue) throw new HpackError('expected a dynamic table size update after the setting went down');
        atStart = false;
      }
      let name: string;
      let value: string;
      let never = false;
      if (first >= 0x80) {
        // Indexed field (6.1).
        const i = r.int(7);
        if (i <= STATIC_COUNT) {
          if (i === 0) throw new HpackError('index 0');
          const entry = STATIC_TABLE[i];
          name = entry[0];
          value = entry[1];
        } else {
          this.#checkDynamic(i);
          name = table.name(i - STATIC_COUNT);
          value = table.value(i - STATIC_COUNT);
        }
      } else if (first >= 0x40) {
        // Literal with incremental indexing (6.2.1). The name is read before
        // the add, which may evict the entry it came from (4.4).
        name = this.#name(r, 6);
        value = r.string();
        table.add(name, value);
      } else {
        // Literal without indexing (6.2.2) or never indexed (6.2.3).
        never = first >= 0x10;
        name = this.#name(r, 4);
        value = r.string();
      }
      if (tooLarge) continue;
      listSize += name.length + value.length + 32;
      if (listSize > this.#maxList) {
        // Keep decoding so the table stays in step, but hold nothing more.
        tooLarge = true;
        fields.length = 0;
      } else {
        fields.push(never ? [name, value, true] : [name, value]);
      }
    }
    if (atStart && this.#updateDue) throw new HpackError('expected a dynamic table size update after the setting went down');
    return { fields, tooLarge };
  }

  /** A literal's name: by index (N-bit prefix) or, for index 0, a string. */
  #name(r: BlockReader, prefixBits: number): string {
    const i = r.int(prefixBits);
    if (i === 0) return r.string();
    if (i <= STATIC_COUNT) return STATIC_TABLE[i][0];
    this.#checkDynamic(i);
    return this.#table.name(i - STATIC_COUNT);
  }

  #checkDynamic(i: number): void {
    if (i - STATIC_COUNT > this.#table.length) {
      throw new HpackError(`index ${i} past the end of the table (${STATIC_COUNT} static + ${this.#table.length} dynamic entries)`);
    }
  }
}
