import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimerList } from '../../src/core/timers.js';

test('timers fire once each, in deadline order, whatever order they were started in', async () => {
  const list = new TimerList();
  const fired: string[] = [];
  const names = ['c', 'a', 'd', 'b'];
  const delays: Record<string, number> = { a: 10, b: 30, c: 50, d: 70 };
  for (const n of names) list.timer((x: string) => fired.push(x), n).start(delays[n]);
  await sleep(150);
  assert.deepEqual(fired, ['a', 'b', 'c', 'd']);
  list.close();
});

test('a restarted timer fires at its new time, later or earlier, and only once', async () => {
  const list = new TimerList();
  const t0 = performance.now();
  const at: Record<string, number> = {};
  const later = list.timer((n: string) => (at[n] = performance.now() - t0), 'later');
  const earlier = list.timer((n: string) => (at[n] = performance.now() - t0), 'earlier');
  later.start(20);
  earlier.start(300);
  await sleep(5);
  later.start(120); // pushed back: must not fire at 20
  earlier.start(40); // brought forward
  await sleep(250);
  assert.ok(at.earlier >= 40 && at.earlier < 110, `earlier fired at ${at.earlier} ms`);
  assert.ok(at.later >= 120, `later fired at ${at.later} ms, not before its new time`);
  assert.equal(Object.keys(at).length, 2);
  assert.equal(later.running, false);
  list.close();
});

test('a stopped timer does not fire, and can be started again', async () => {
  const list = new TimerList();
  let n = 0;
  const t = list.timer(() => n++, null);
  t.start(20);
  assert.equal(t.running, true);
  assert.ok(t.remainingMs > 0 && t.remainingMs <= 20);
  t.stop();
  assert.equal(t.remainingMs, -1);
  await sleep(60);
  assert.equal(n, 0);
  t.start(10);
  await sleep(60);
  assert.equal(n, 1);
  list.close();
});

test('a callback that throws is logged and the others still fire', async () => {
  const list = new TimerList();
  const fired: number[] = [];
  list.timer(() => {
    throw new Error('boom');
  }, null).start(5);
  list.timer(() => fired.push(2), null).start(10);
  await sleep(60);
  assert.deepEqual(fired, [2]);
  list.close();
});

test('close stops everything: nothing fires after it and starting again does nothing', async () => {
  const list = new TimerList();
  let n = 0;
  const t = list.timer(() => n++, null);
  t.start(10);
  list.close();
  t.start(5);
  await sleep(50);
  assert.equal(n, 0);
  assert.equal(list.size, 0);
});

test('many timers on one list keep one process timer and fire on time', async () => {
  const list = new TimerList();
  let fired = 0;
  const ts = [];
  for (let i = 0; i < 2000; i++) {
    const t = list.timer(() => fired++, null);
    t.start(20 + (i % 50));
    ts.push(t);
  }
  // Pushing half of them back (as each message does to its connection's ping check) is free.
  for (let i = 0; i < 1000; i++) ts[i].start(500);
  await sleep(150);
  assert.equal(fired, 1000);
  list.close();
});

test('a stopped timer leaves the list at once (nothing of its owner is kept until its old deadline)', () => {
  const list = new TimerList();
  const ts = [10_000, 20_000, 30_000, 40_000].map((ms) => {
    const t = list.timer(() => {}, { owner: ms });
    t.start(ms);
    return t;
  });
  assert.equal(list.size, 4);
  ts[1].stop();
  ts[0].stop();
  assert.equal(list.size, 2);
  ts[0].start(5_000);
  assert.equal(list.size, 3);
  for (const t of ts) t.stop();
  assert.equal(list.size, 0);
  list.close();
});

test('a suspended timer does not fire, keeps its place until its old deadline, and starts again in place', async () => {
  const list = new TimerList();
  const fired: string[] = [];
  const a = list.timer((x: string) => fired.push(x), 'a');
  const b = list.timer((x: string) => fired.push(x), 'b');
  a.start(30);
  b.start(30);
  a.suspend();
  b.suspend();
  assert.equal(a.running, false);
  assert.equal(a.remainingMs, -1);
  assert.equal(list.size, 2, 'still in the list');
  b.start(80); // started again before the old deadline: in place, fires at the new time
  await sleep(55);
  assert.deepEqual(fired, [], 'neither fires at the old deadline');
  assert.equal(list.size, 1, 'the suspended one left the list at its old deadline');
  await sleep(80);
  assert.deepEqual(fired, ['b']);
  assert.equal(list.size, 0);
  a.start(10); // out of the list: started as new
  await sleep(50);
  assert.deepEqual(fired, ['b', 'a']);
  list.close();
});
