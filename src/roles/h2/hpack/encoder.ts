/**
 * The HPACK encoder (RFC 7541 2, 6): one per connection, for the header
 * blocks we send, in the order the peer will decode them.
 *
 * Strategy, field by field:
 * - Sensitive fields (the caller says so, or the name is authorization,
 *   proxy-authorization or set-cookie, or a cookie shorter than 20 octets,
 *   which could be guessed, RFC 7541 7.1.3) go out as never-indexed
 *   literals, never by a table match, and are never added to the table.
 * - A field that the static or dynamic table holds exactly goes out as its
 *   index: one octet for most.
 * - Otherwise a literal, its name by index when either table has the name
 *   (static first: its index fits the prefix). The literal is added to the
 *   table (incremental indexing) when the field is likely to come again on
 *   this connection: content-type, cache-control, server, vary,
 *   accept-ranges, custom headers ... and is small enough, at most a
 *   quarter of the table, so one large field cannot sweep it. Fields whose
 *   value changes from message to message (content-length, date, etag,
 *   last-modified, location, :path ... and every :status but the seven the
 *   static table has) go out without indexing: adding them would only
 *   evict fields that do repeat.
 * - Each string is Huffman-coded when that is shorter than its octets.
 *
 * The table never grows past 4096 octets, whatever the peer allows (as
 * nghttp2's encoder does): a larger one buys little for response headers
 * and costs memory on every connection.
 */
import { BlockWriter } from './writer.js';
import { EncoderTable } from './encoder-table.js';
import { entrySize } from './dynamic-table.js';
import { staticLookup } from './static-table.js';
import { checkTableSize } from './table-size.js';

/** HTTP/2's initial SETTINGS_HEADER_TABLE_SIZE: both sides start here without a signal. */
const INITIAL_TABLE_SIZE = 4096;
/** The largest table this encoder uses. */
const TABLE_CAP = 4096;

/** Fields whose values change per message: never worth a table entry. */
const NOT_INDEXED: ReadonlySet<string> = new Set([
  ':path', ':status', 'age', 'content-length', 'content-md5', 'content-range', 'date', 'digest', 'etag', 'expires',
  'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'range',
  'referer', 'retry-after', 'x-request-id',
]);

/** Whether a field must go out never-indexed whatever the caller said. */
function alwaysSensitive(name: string, value: string): boolean {
  switch (name) {
    case 'authorization':
    case 'proxy-authorization':
    case 'set-cookie':
      return true;
    case 'cookie':
      return value.length < 20;
    default:
      return false;
  }
}

/** Encodes the header blocks of one connection, in the order they are sent. */
export class HpackEncoder {
  readonly #table = new EncoderTable(INITIAL_TABLE_SIZE);
  readonly #out = new BlockWriter();
  // Size changes since the last block, to signal at the start of the next:
  // the smallest and the last (-1: none).
  #lowest = -1;
  #last = -1;

  /** An encoder for a peer whose SETTINGS_HEADER_TABLE_SIZE is `maxTableSize` (default 4096, HTTP/2's initial value). */
  constructor(maxTableSize: number = INITIAL_TABLE_SIZE) {
    if (maxTableSize !== INITIAL_TABLE_SIZE) this.setMaxTableSize(maxTableSize);
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE: the encoder uses at most this,
   * and signals any change with a dynamic table size update at the start of
   * the next block (RFC 7541 4.2, 6.3); if it went down and then up between
   * blocks, the minimum is signalled first.
   */
  setMaxTableSize(n: number): void {
    const size = Math.min(checkTableSize(n), TABLE_CAP);
    this.#lowest = this.#last < 0 ? size : Math.min(this.#lowest, size);
    this.#last = size;
  }

  /**
   * Encode one header block. `sensitive` fields (and any field named
   * authorization, proxy-authorization, cookie shorter than 20 bytes, or
   * set-cookie) go out never-indexed (RFC 7541 7.1.3). Names are sent as
   * given: HTTP/2 wants them lower-case, which is the caller's to ensure.
   */
  encode(fields: ReadonlyArray<readonly [name: string, value: string, sensitive?: boolean]>): Buffer {
    const out = this.#out;
    const table = this.#table;
    if (this.#last >= 0) this.#signalSize();
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k];
      const name = f[0];
      const value = f[1];
      const never = f[2] === true || alwaysSensitive(name, value);
      const inStatic = staticLookup(name, value);
      if (!never) {
        const exact = inStatic > 0 ? inStatic : table.exact(name, value);
        if (exact > 0) {
          out.int(exact, 7, 0x80);
          continue;
        }
      }
      const nameIndex = inStatic !== 0 ? Math.abs(inStatic) : table.nameIndex(name);
      let index = false;
      if (never) out.int(nameIndex, 4, 0x10);
      else if (!NOT_INDEXED.has(name) && entrySize(name, value) <= table.maxSize >>> 2) {
        out.int(nameIndex, 6, 0x40);
        index = true;
      } else out.int(nameIndex, 4, 0);
      if (nameIndex === 0) out.string(name);
      out.string(value);
      if (index) table.add(name, value);
    }
    return out.take();
  }

  /** The dynamic table's entries, newest first: for tests and debugging. */
  dynamicEntries(): Array<[name: string, value: string]> {
    const out: Array<[string, string]> = [];
    for (let i = 1; i <= this.#table.length; i++) out.push([this.#table.name(i), this.#table.value(i)]);
    return out;
  }

  #signalSize(): void {
    const table = this.#table;
    if (this.#lowest < table.maxSize && this.#lowest < this.#last) {
      this.#out.int(this.#lowest, 5, 0x20);
      table.setMaxSize(this.#lowest);
    }
    if (this.#last !== table.maxSize) {
      this.#out.int(this.#last, 5, 0x20);
      table.setMaxSize(this.#last);
    }
    this.#lowest = this.#last = -1;
  }
}
