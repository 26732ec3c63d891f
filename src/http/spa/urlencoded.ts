import { SpaError } from './errors.js';

const PLUS = 0x2b;
const PCT = 0x25;
const AMP = 0x26;
const SEMI = 0x3b;
const EQ = 0x3d;

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Receives decoded name/value pieces; `end` closes one pair. */
export interface PairSink {
  /** A whole (decoded) name; the value pieces that follow belong to it. */
  name(name: string): void;
  value(piece: Buffer): void;
  end(): void;
}

/**
 * Streaming `application/x-www-form-urlencoded` decoder: `+` is a space,
 * `%XX` a byte, `&` (or `;`) ends a pair. Names are held whole (bounded by
 * `maxName`); values are handed on decoded, piece by piece, so no value is
 * ever held here. A `%` not followed by two hex digits is malformed.
 */
export class UrlencodedParser {
  #inName = true;
  #name: number[] = [];
  #pct = 0;
  #pctVal = 0;
  #out = Buffer.allocUnsafe(4096);
  #outLen = 0;
  #started = false;

  constructor(private readonly sink: PairSink, private readonly maxName: number) {}

  feed(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i++) {
      let c = buf[i];
      if (this.#pct) {
        const h = hex(c);
        if (h < 0) throw new SpaError(400, 'malformed %-escape in form data');
        this.#pctVal = this.#pctVal * 16 + h;
        if (++this.#pct < 3) continue;
        this.#pct = 0;
        this.#byte(this.#pctVal);
        continue;
      }
      if (c === AMP || c === SEMI) {
        this.#endPair();
        continue;
      }
      this.#started = true;
      if (c === PCT) {
        this.#pct = 1;
        this.#pctVal = 0;
        continue;
      }
      if (c === EQ && this.#inName) {
        this.#inName = false;
        this.sink.name(Buffer.from(this.#name).toString('utf8'));
        this.#name = [];
        continue;
      }
      if (c === PLUS) c = 0x20;
      this.#byte(c);
    }
    this.#flush();
  }

  /** The body has ended: close the last pair. */
  end(): void {
    if (this.#pct) throw new SpaError(400, 'form data ends inside a %-escape');
    this.#endPair();
  }

  #byte(c: number): void {
    this.#started = true;
    if (this.#inName) {
      if (this.#name.length >= this.maxName) throw new SpaError(413, `form field name longer than ${this.maxName} bytes`);
      this.#name.push(c);
      return;
    }
    if (this.#outLen === this.#out.length) this.#flush();
    this.#out[this.#outLen++] = c;
  }

  #flush(): void {
    if (this.#outLen === 0) return;
    this.sink.value(Buffer.from(this.#out.subarray(0, this.#outLen)));
    this.#outLen = 0;
  }

  #endPair(): void {
    if (this.#pct) throw new SpaError(400, 'malformed %-escape in form data');
    if (!this.#started) return; // empty pairs ("a=1&&b=2") carry nothing
    if (this.#inName) this.sink.name(Buffer.from(this.#name).toString('utf8'));
    this.#flush();
    this.sink.end();
    this.#inName = true;
    this.#name = [];
    this.#started = false;
  }
}
