/**
 * SpareBuffers: LWS_PRE-fronted buffers of two sizes, reused once given
 * back, as many idle ones of each size kept as fit in keepBytes; misuse is
 * refused with INVALID_ARGUMENT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LWS_PRE, SpareBuffers, type TslwsError } from '../../src/index.js';

test('a payload up to smallSize gets a small buffer, up to largeSize a large one, both with LWS_PRE in front', () => {
  const s = new SpareBuffers(100, 1000, 10_000);
  for (const n of [0, 1, 100]) assert.equal(s.take(n).length, LWS_PRE + 100, `size ${n}`);
  for (const n of [101, 1000]) assert.equal(s.take(n).length, LWS_PRE + 1000, `size ${n}`);
  // One size only when both are the same.
  assert.equal(new SpareBuffers(64, 64, 0).take(1).length, LWS_PRE + 64);
});

test('a buffer given back is the next one taken of its size; each size keeps what fits in keepBytes', () => {
  const s = new SpareBuffers(100, 1000, 3 * (LWS_PRE + 1000));
  const large = [s.take(500), s.take(500), s.take(500), s.take(500)];
  for (const b of large) s.give(b);
  assert.equal(s.idle, 3, 'three large ones fit in keepBytes, the fourth is left to the GC');
  const again = s.take(1000);
  assert.ok(large.includes(again), 'an idle one is reused');
  // Small ones: as many as fit in the same bytes.
  const small = Array.from({ length: 40 }, () => s.take(10));
  for (const b of small) s.give(b);
  assert.equal(s.idle, 2 + Math.floor((3 * (LWS_PRE + 1000)) / (LWS_PRE + 100)));
  assert.ok(small.includes(s.take(100)));
  // A buffer of another size is not kept; keepBytes 0 keeps nothing.
  s.give(Buffer.alloc(LWS_PRE + 500));
  const none = new SpareBuffers(100, 1000, 0);
  none.give(none.take(5));
  assert.equal(none.idle, 0);
});

test('sizes and bounds that make no sense are refused with INVALID_ARGUMENT', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
  bad(() => new SpareBuffers(0, 10, 0));
  bad(() => new SpareBuffers(10, 2.5, 0));
  bad(() => new SpareBuffers(20, 10, 0));
  bad(() => new SpareBuffers(10, 20, -1));
  const s = new SpareBuffers(10, 20, 100);
  bad(() => s.take(21));
  bad(() => s.take(-1));
  bad(() => s.take(Number.NaN));
});
