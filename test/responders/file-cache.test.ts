/**
 * The file cache: small files from their first request, larger ones once
 * hot (the same version asked for twice), every use revalidated by stat,
 * the total bounded, least recently used first out.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, Mount, type TslwsError } from '../../src/index.js';
import { FileCache } from '../../src/responders/file/file-cache.js';
import { start } from '../helpers/common.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-fcache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;

function file(name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

test('a small file is kept from its first request; a larger one only once it is hot', () => {
  const c = new FileCache(1024 * KiB, 64 * KiB, 512 * KiB);
  const small = randomBytes(10 * KiB);
  const ps = file('small.bin', small);
  const first = c.get(ps, statSync(ps));
  assert.ok(first?.equals(small));
  assert.equal(c.get(ps, statSync(ps)), first, 'the same Buffer again: not read again');

  const big = randomBytes(300 * KiB);
  const pb = file('big.bin', big);
  assert.equal(c.get(pb, statSync(pb)), undefined, 'asked for once: not read whole');
  assert.equal(c.bytes, 10 * KiB);
  const hot = c.get(pb, statSync(pb));
  assert.ok(hot?.equals(big), 'asked for again: kept');
  assert.equal(c.bytes, 310 * KiB);
  assert.equal(c.get(pb, statSync(pb)), hot);

  const huge = file('huge.bin', randomBytes(600 * KiB));
  for (let i = 0; i < 3; i++) assert.equal(c.get(huge, statSync(huge)), undefined, 'past the hot limit: never kept');
  assert.equal(c.bytes, 310 * KiB);
});

test('a changed file is read again, and a changed larger file must be hot again', () => {
  const c = new FileCache(1024 * KiB, 64 * KiB, 512 * KiB);
  const pb = file('change.bin', randomBytes(200 * KiB));
  c.get(pb, statSync(pb));
  assert.ok(c.get(pb, statSync(pb)));
  const next = randomBytes(200 * KiB);
  writeFileSync(pb, next);
  const later = new Date(Date.now() + 5000);
  utimesSync(pb, later, later);
  assert.equal(c.get(pb, statSync(pb)), undefined, 'the new version was asked for once');
  assert.equal(c.bytes, 0, 'the old version is gone');
  assert.ok(c.get(pb, statSync(pb))?.equals(next));
});

test('the total stays within its bound: least recently used out first', () => {
  const c = new FileCache(500 * KiB, 64 * KiB, 400 * KiB);
  const a = file('a.bin', randomBytes(200 * KiB));
  const b = file('b.bin', randomBytes(200 * KiB));
  const d = file('d.bin', randomBytes(200 * KiB));
  for (const p of [a, a, b, b]) c.get(p, statSync(p));
  assert.equal(c.bytes, 400 * KiB);
  c.get(a, statSync(a)); // a is now the most recently used
  c.get(d, statSync(d));
  c.get(d, statSync(d));
  assert.equal(c.bytes, 400 * KiB, 'b went to make room for d');
  const beforeA = c.get(a, statSync(a));
  assert.ok(beforeA, 'a was kept');
  assert.equal(c.get(b, statSync(b)), undefined, 'b must be hot again');
});

test('eviction follows use exactly: head, middle and tail entries used again move to the back', () => {
  const c = new FileCache(500 * KiB, 128 * KiB, 128 * KiB);
  const paths = Array.from({ length: 7 }, (_, i) => file(`lru${i}.bin`, randomBytes(100 * KiB)));
  const held = new Map<number, Buffer>();
  const use = (i: number) => c.get(paths[i], statSync(paths[i])) as Buffer;
  for (let i = 0; i < 5; i++) held.set(i, use(i));
  assert.equal(c.bytes, 500 * KiB);
  // Order of use now: 0 1 2 3 4. Use the middle, the oldest and the newest again.
  for (const i of [2, 0, 4]) assert.equal(use(i), held.get(i), `entry ${i} served from memory`);
  // Order: 1 3 2 0 4. Two more files push out 1, then 3.
  held.set(5, use(5));
  held.set(6, use(6));
  assert.equal(c.bytes, 500 * KiB);
  for (const i of [2, 0, 4, 5, 6]) assert.equal(use(i), held.get(i), `entry ${i} kept`);
  for (const i of [1, 3]) assert.notEqual(use(i), held.get(i), `entry ${i} was evicted and is read again`);
});

test('a FILE mount serves a hot large file from memory, and serves it changed after a rewrite', async (t) => {
  const www = mkdtempSync(join(dir, 'www-'));
  const v1 = randomBytes(700 * KiB);
  writeFileSync(join(www, 'f.bin'), v1);
  const srv = await start({ mounts: [{ mountpoint: '/', origin: www, originProtocol: Mount.FILE }] });
  t.after(() => srv.ctx.destroy());
  const get = async (): Promise<Buffer> => {
    const r = await fetch(`${srv.url}/f.bin`);
    assert.equal(r.status, 200);
    return Buffer.from(await r.arrayBuffer());
  };
  for (let i = 0; i < 3; i++) assert.ok((await get()).equals(v1), `request ${i + 1}`);
  const v2 = randomBytes(700 * KiB);
  writeFileSync(join(www, 'f.bin'), v2);
  const later = new Date(Date.now() + 5000);
  utimesSync(join(www, 'f.bin'), later, later);
  // Changed on disk: the next turn's stat sees it.
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 3; i++) assert.ok((await get()).equals(v2), `after the rewrite, request ${i + 1}`);
  const r = await fetch(`${srv.url}/f.bin`, { headers: { range: 'bytes=100-199' } });
  assert.equal(r.status, 206);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(v2.subarray(100, 200)));
});

test('cache sizes must be whole numbers of bytes', () => {
  for (const [k, v] of [['fileCacheBytes', -1], ['fileCacheMaxFile', 1.5], ['fileCacheHotFile', Number.NaN]] as const) {
    assert.throws(() => createContext({ [k]: v }), (e: TslwsError) => e.code === 'TSLWS_INVALID_OPTION' && e.message.includes(k), k);
  }
});
