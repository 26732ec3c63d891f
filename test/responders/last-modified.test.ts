/**
 * Last-Modified is each file's own modification time, whole seconds, also
 * when files of different times are asked for in turn (small files, whose
 * head is kept, and large ones, whose head is made per request).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, Mount } from '../../src/index.js';

test('Last-Modified follows each file, whichever was asked for last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-lastmod-'));
  // Times with milliseconds: the header carries whole seconds.
  const files = [
    { name: 'a.bin', size: 3 * 1024 * 1024, sec: 1_600_000_000 },
    { name: 'b.bin', size: 3 * 1024 * 1024, sec: 1_700_000_123 },
    { name: 'c.txt', size: 100, sec: 1_650_000_456 },
  ];
  for (const f of files) {
    const p = join(dir, f.name);
    writeFileSync(p, Buffer.alloc(f.size, 7));
    utimesSync(p, f.sec + 0.75, f.sec + 0.75);
  }
  const ctx = createContext({ port: 0, iface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }] });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port as number;
    for (let round = 0; round < 3; round++) {
      for (const f of files) {
        const r = await fetch(`http://127.0.0.1:${port}/${f.name}`);
        assert.equal(r.status, 200);
        assert.equal((await r.arrayBuffer()).byteLength, f.size);
        assert.equal(r.headers.get('last-modified'), new Date(f.sec * 1000).toUTCString(), `${f.name}, round ${round}`);
      }
    }
  } finally {
    await ctx.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
