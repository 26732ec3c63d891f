import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamTable } from '../../../src/roles/h2/stream-table.js';
import type { H2StreamBase } from '../../../src/roles/h2/stream-base.js';

const stream = (id: number) => ({ id }) as unknown as H2StreamBase;

test('StreamTable: streams by id through adds and removals in any order', () => {
  const t = new StreamTable<H2StreamBase>();
  const ids = [1, 3, 5, 7, 9, 11];
  const all = new Map(ids.map((id) => [id, stream(id)]));
  for (const s of all.values()) t.add(s);
  assert.equal(t.size, 6);
  for (const id of [3, 11, 1]) assert.equal(t.delete(id), true);
  assert.equal(t.delete(3), false);
  assert.equal(t.size, 3);
  for (const id of ids) assert.equal(t.get(id), [5, 7, 9].includes(id) ? all.get(id) : undefined, `stream ${id}`);
  assert.equal(t.has(7), true);
  assert.equal(t.has(1), false);
  const again = stream(7);
  t.add(again); // same id: replaces
  assert.equal(t.size, 3);
  assert.equal(t.get(7), again);
  const seen: number[] = [];
  for (const s of t.values()) {
    seen.push(s.id);
    t.delete(s.id); // closing while iterating skips nothing
  }
  assert.deepEqual(seen.sort((a, b) => a - b), [5, 7, 9]);
  assert.equal(t.size, 0);
  t.add(stream(13));
  t.clear();
  assert.equal(t.get(13), undefined);
  assert.equal(t.size, 0);
});
