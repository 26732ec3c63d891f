/**
 * Seeded randomized tests (test/helpers/random.ts: a failure names its
 * seed). Random field lists go through one encoder and one decoder for many
 * blocks, with the peer's table size changing between blocks as HTTP/2
 * orders it, and must come back exactly, with both tables equal after
 * every block. Random mutations of valid blocks, and plain garbage, must
 * only ever give a result or an HpackError, quickly, with the list limit
 * kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder, HpackError, type HeaderField } from '../../../../src/roles/h2/hpack/index.js';
import { seeded, mutate, show, type Rng } from '../../../helpers/random.js';

const NAMES = [
  ':status', ':method', ':path', ':scheme', ':authority', 'content-type', 'content-length', 'cache-control', 'date',
  'etag', 'server', 'vary', 'accept-ranges', 'location', 'set-cookie', 'cookie', 'authorization', 'accept-encoding',
  'user-agent', 'x-custom', 'x-trace', 'accept', 'www-authenticate', 'if-none-match',
];
const VALUES = ['', '200', '404', '302', 'GET', 'POST', '/', '/index.html', 'https', 'gzip, deflate', 'text/html', 'no-cache', 'bytes'];
const PRINTABLE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,;:/=?&%"\'()[]{}<>@!*+~`^|\\#$';

function randomString(rng: Rng, max: number): string {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(VALUES);
    case 1:
      return rng.bytes(rng.range(0, max)).toString('latin1');
    default:
      return rng.chars(rng.range(0, max), PRINTABLE);
  }
}

type In = Array<[string, string, boolean?]>;

/** A header list: common names and values (so tables hit), random ones, sometimes a large one. */
function randomFields(rng: Rng, pool: In): In {
  const out: In = [];
  const n = rng.range(0, 14);
  for (let i = 0; i < n; i++) {
    if (pool.length && rng.chance(0.4)) {
      out.push(rng.pick(pool));
      continue;
    }
    const name = rng.chance(0.7) ? rng.pick(NAMES) : randomString(rng, 20);
    const value = rng.chance(0.03) ? rng.chars(rng.range(200, 3000), PRINTABLE) : randomString(rng, 40);
    const f: [string, string, boolean?] = rng.chance(0.1) ? [name, value, true] : [name, value];
    out.push(f);
    if (rng.chance(0.3)) pool.push(f);
  }
  return out;
}

/** What the decoder must report: the never-indexed flag where the encoder had to set it. */
function expected(fields: In): HeaderField[] {
  return fields.map(([n, v, s]) => {
    const never = s === true || n === 'authorization' || n === 'proxy-authorization' || n === 'set-cookie' || (n === 'cookie' && v.length < 20);
    return never ? [n, v, true] : [n, v];
  });
}

/** A new peer setting: often the usual ones, sometimes anything. */
function randomSize(rng: Rng): number {
  return rng.pick([0, 1, 64, 100, 256, 1000, 4096, 4096, 8192, 65536, rng.range(0, 5000)]);
}

test('random header lists round-trip over many blocks, with table size changes', () => {
  seeded('hpack round trip', 60, (rng) => {
    const e = new HpackEncoder();
    const d = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
    const pool: In = [];
    for (let block = 0; block < 40; block++) {
      if (rng.chance(0.15)) {
        // The decoder's side advertises new settings (once or twice); the
        // encoder's side takes each; the decoder applies them as acked, all
        // before the encoder's next block arrives.
        const changes = rng.chance(0.3) ? [randomSize(rng), randomSize(rng)] : [randomSize(rng)];
        for (const s of changes) {
          e.setMaxTableSize(s);
          d.setMaxTableSize(s);
        }
      }
      const fields = randomFields(rng, pool);
      const bytes = e.encode(fields);
      const r = d.decode(bytes);
      assert.equal(r.tooLarge, false);
      assert.deepEqual(r.fields, expected(fields), `block ${block}: ${show(bytes)}`);
      assert.deepEqual(d.dynamicEntries(), e.dynamicEntries(), `block ${block}: tables`);
      assert.ok(d.tableSize <= 4096, 'the encoder keeps to 4096');
    }
  });
});

test('mutated blocks give a result or an HpackError, nothing else, and keep the list limit', { timeout: 20_000 }, () => {
  const t0 = Date.now();
  const dictionary = [Buffer.from([0x80]), Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x3f, 0xe1, 0x1f]), Buffer.from([0x20]),
    Buffer.from([0x40, 0x7f]), Buffer.from([0x10, 0x85]), Buffer.from([0xbe]), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x7f])];
  let refused = 0;
  let decoded = 0;
  seeded('hpack mutations', 1500, (rng) => {
    const e = new HpackEncoder();
    const limit = rng.pick([200, 4096, 65536]);
    const d = new HpackDecoder({ maxHeaderListSize: limit });
    const pool: In = [];
    // Warm both tables with a few blocks, then mutate the next one.
    const warm = rng.range(0, 3);
    for (let i = 0; i < warm; i++) d.decode(e.encode(randomFields(rng, pool)));
    const block = e.encode(randomFields(rng, pool));
    const { out, ops } = mutate(rng, block, { dictionary, maxOps: 4, maxInsert: 24 });
    try {
      const r = d.decode(out);
      decoded++;
      const size = r.fields.reduce((n, [a, b]) => n + a.length + b.length + 32, 0);
      assert.ok(size <= limit, 'list within the limit');
      if (r.tooLarge) assert.equal(r.fields.length, 0);
      assert.ok(d.tableSize <= 4096);
    } catch (err) {
      if (!(err instanceof HpackError)) throw new Error(`${ops.join(', ')} on ${show(block)}: ${String(err)}`, { cause: err });
      refused++;
    }
  });
  assert.ok(refused > 100 && decoded > 100, `both outcomes seen (${refused} refused, ${decoded} decoded)`);
  assert.ok(Date.now() - t0 < 10_000, 'quick');
});

test('random bytes give a result or an HpackError', () => {
  seeded('hpack garbage', 3000, (rng) => {
    const d = new HpackDecoder({ maxHeaderListSize: 4096 });
    for (let k = 0; k < 3; k++) {
      const bytes = rng.bytes(rng.range(0, 64));
      try {
        d.decode(bytes);
      } catch (err) {
        if (!(err instanceof HpackError)) throw err;
        return;
      }
    }
  });
});
