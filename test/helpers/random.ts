/**
 * Seeded randomness for the parsers' randomized tests: a small PRNG
 * (mulberry32), random split points, random mutations, and a runner that
 * names the seed of a failing case.
 *
 * Every run uses the same seeds, so a failure reproduces; set
 * TSLWS_TEST_SEED=<number> to explore other seeds. A failure message reads
 * `<name>: iteration 17, seed 0x1a2b3c4d (base seed 0x5eed)`, and
 * `TSLWS_TEST_SEED=0x5eed` with the same iteration count replays it.
 */

export interface Rng {
  /** The seed this generator started from. */
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi], both included. */
  range(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** n random bytes. */
  bytes(n: number): Buffer;
  /** n bytes drawn from `alphabet` (a string of latin1 characters). */
  chars(n: number, alphabet: string): string;
}

/** mulberry32: 32 bits of state, good enough spread for test inputs. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    seed: seed >>> 0,
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    chance: (p) => next() < p,
    pick: (items) => items[int(items.length)],
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
    chars(n, alphabet) {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)];
      return s;
    },
  };
}

/** The base seed: TSLWS_TEST_SEED when set, else a fixed one. */
export const BASE_SEED: number = (() => {
  const env = process.env.TSLWS_TEST_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isFinite(n)) return n >>> 0;
  }
  return 0x5eed;
})();

/** FNV-1a of a string, to give each test its own seed sequence. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The seed of iteration `i` of the randomized test `name`. */
export function iterationSeed(name: string, i: number): number {
  return (Math.imul(hashName(name) ^ BASE_SEED, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) >>> 0;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/**
 * Run `body` `iterations` times, each with its own seeded Rng. A failure
 * (any throw, assertion or not) is rethrown with the test name, the
 * iteration and its seed in the message, the original error as `cause`.
 */
export function seeded(name: string, iterations: number, body: (rng: Rng, i: number) => void): void {
  for (let i = 0; i < iterations; i++) {
    const seed = iterationSeed(name, i);
    try {
      body(mulberry32(seed), i);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const err = new Error(`${name}: iteration ${i}, seed ${hex(seed)} (base seed ${hex(BASE_SEED)}): ${msg}`, { cause: e });
      throw err;
    }
  }
}

/**
 * Sorted cut points strictly inside [0, len] (0 and len excluded): how an
 * input of `len` bytes is split into pieces. The shapes vary: every byte
 * alone, a few random cuts, a fixed step, or cuts bunched in one place.
 */
export function randomCuts(rng: Rng, len: number): number[] {
  if (len <= 1) return [];
  const cuts = new Set<number>();
  switch (rng.int(5)) {
    case 0: // 1-byte pieces
      for (let i = 1; i < len; i++) cuts.add(i);
      break;
    case 1: { // a few random cuts
      const n = rng.range(1, Math.min(8, len - 1));
      for (let k = 0; k < n; k++) cuts.add(rng.range(1, len - 1));
      break;
    }
    case 2: { // a fixed step
      const step = rng.range(1, Math.max(1, Math.min(len - 1, 17)));
      for (let i = step; i < len; i += step) cuts.add(i);
      break;
    }
    case 3: { // 1-byte pieces around one random spot, the rest whole
      const at = rng.range(1, len - 1);
      for (let i = Math.max(1, at - 6); i <= Math.min(len - 1, at + 6); i++) cuts.add(i);
      break;
    }
    default: // many random cuts
      for (let k = 0; k < Math.min(len, 40); k++) cuts.add(rng.range(1, len - 1));
  }
  return [...cuts].sort((a, b) => a - b);
}

/** `buf` cut at `cuts` into views (no copies). */
export function piecesAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(p, c));
    p = c;
  }
  return out;
}

/** `buf` split at random points into views. */
export function randomPieces(rng: Rng, buf: Buffer): Buffer[] {
  return piecesAt(buf, randomCuts(rng, buf.length));
}

/** Bytes that parsers treat specially: line ends, separators, extremes. */
export const INTERESTING = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2d, 0x3a, 0x3b, 0x3d, 0x5c, 0x7f, 0x80, 0xff];

export interface MutateOptions {
  /** Most mutations applied (at least one). Default 3. */
  readonly maxOps?: number;
  /** Extra byte strings that are worth inserting (tokens of the format). */
  readonly dictionary?: readonly (string | Buffer)[];
  /** Bytes worth writing over others. Default INTERESTING. */
  readonly interesting?: readonly number[];
  /** Longest random insertion. Default 16. */
  readonly maxInsert?: number;
  /** Only change bytes in place (flips and sets): the length and every offset stay. */
  readonly inPlace?: boolean;
}

/**
 * A copy of `buf` with 1..maxOps random mutations: bit flips, bytes set to
 * random or interesting values, insertions (random bytes, dictionary
 * tokens, a repeated run), deletions, duplicated ranges and truncation
 * (only the first three with `inPlace`). `ops` describes what was done, for
 * failure messages.
 */
export function mutate(rng: Rng, buf: Buffer, opts: MutateOptions = {}): { out: Buffer; ops: string[] } {
  let b = Buffer.from(buf);
  const ops: string[] = [];
  const n = rng.range(1, opts.maxOps ?? 3);
  const interesting = opts.interesting ?? INTERESTING;
  const dict = (opts.dictionary ?? []).map((d) => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
  const maxInsert = opts.maxInsert ?? 16;
  for (let k = 0; k < n; k++) {
    const at = rng.int(b.length + 1);
    switch (opts.inPlace ? rng.int(3) : rng.int(dict.length ? 9 : 8)) {
      case 0:
        if (at < b.length) {
          const bit = 1 << rng.int(8);
          b[at] ^= bit;
          ops.push(`flip bit ${bit} at ${at}`);
        }
        break;
      case 1:
        if (at < b.length) {
          b[at] = rng.int(256);
          ops.push(`set ${at} to ${b[at]}`);
        }
        break;
      case 2:
        if (at < b.length) {
          b[at] = rng.pick(interesting);
          ops.push(`set ${at} to ${b[at]}`);
        }
        break;
      case 3: {
        const ins = rng.bytes(rng.range(1, maxInsert));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        ops.push(`insert ${ins.length} random bytes at ${at}`);
        break;
      }
      case 4: {
        const len = rng.range(1, Math.max(1, Math.min(maxInsert, b.length - at)));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        ops.push(`delete ${len} at ${at}`);
        break;
      }
      case 5: {
        const len = rng.range(1, Math.max(1, Math.min(maxInsert, b.length - at)));
        const run = b.subarray(at, at + len);
        const times = rng.range(1, 4);
        b = Buffer.concat([b.subarray(0, at + run.length), ...Array<Buffer>(times).fill(Buffer.from(run)), b.subarray(at + run.length)]);
        ops.push(`repeat ${run.length} bytes at ${at} ${times} more times`);
        break;
      }
      case 6: {
        const keep = rng.int(b.length + 1);
        b = b.subarray(0, keep);
        ops.push(`truncate to ${keep}`);
        break;
      }
      case 7: {
        const byte = rng.pick(interesting);
        const times = rng.range(1, maxInsert);
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(times, byte), b.subarray(at)]);
        ops.push(`insert ${times} x ${byte} at ${at}`);
        break;
      }
      default: {
        const tok = rng.pick(dict);
        b = Buffer.concat([b.subarray(0, at), tok, b.subarray(at)]);
        ops.push(`insert ${JSON.stringify(tok.toString('latin1'))} at ${at}`);
      }
    }
  }
  return { out: Buffer.from(b), ops };
}

/** A short printable rendering of bytes for failure messages. */
export function show(buf: Uint8Array, max = 200): string {
  const s = JSON.stringify(Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.byteLength, max)).toString('latin1'));
  return buf.byteLength > max ? `${s}… (${buf.byteLength} bytes)` : s;
}
