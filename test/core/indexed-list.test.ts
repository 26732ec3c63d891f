import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexedList } from '../../src/core/indexed-list.js';

const item = (name: string) => ({ name, listIdx: -1 });

test('IndexedList: add, delete from anywhere, size, and each item knows its place', () => {
  const l = new IndexedList<ReturnType<typeof item>>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item);
  for (const x of [a, b, c, d]) l.add(x);
  l.add(b); // already in: nothing
  assert.equal(l.size, 4);
  assert.equal(l.delete(b), true);
  assert.equal(l.delete(b), false, 'not twice');
  assert.equal(b.listIdx, -1);
  assert.equal(l.size, 3);
  assert.deepEqual([...l].map((x) => x.name).sort(), ['a', 'c', 'd']);
  for (let i = 0; i < l.size; i++) assert.equal(l.at(i).listIdx, i, 'every index points at its item');
  assert.equal(l.delete(d), true);
  assert.equal(l.delete(a), true);
  assert.deepEqual([...l].map((x) => x.name), ['c']);
  l.add(b);
  assert.deepEqual([...l].map((x) => x.name).sort(), ['b', 'c']);
});

test('IndexedList: an item of another list is not removed by this one; iteration is of a snapshot', () => {
  const one = new IndexedList<ReturnType<typeof item>>();
  const two = new IndexedList<ReturnType<typeof item>>();
  const a = item('a');
  const b = item('b');
  one.add(a);
  two.add(b);
  assert.equal(two.delete(a), false, 'a is at index 0 of the other list');
  assert.equal(two.size, 1);
  one.add(b); // b is already in a list: ignored
  assert.equal(one.size, 1);
  const seen: string[] = [];
  one.add(item('c'));
  for (const x of one) {
    seen.push(x.name);
    one.delete(x); // removing while iterating skips nothing
  }
  assert.deepEqual(seen, ['a', 'c']);
  assert.equal(one.size, 0);
  two.clear();
  assert.equal(two.size, 0);
  assert.equal(b.listIdx, -1);
});
