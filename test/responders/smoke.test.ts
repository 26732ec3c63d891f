import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mount } from '../../src/index.js';
import { start, raw, parseResponses } from '../helpers/common.js';

test('a FILE mount serves a file and keeps the connection alive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-'));
  writeFileSync(join(dir, 'index.html'), '<p>hi</p>');
  const { ctx, port } = await start({ mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }] });
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\n\r\n', {
      until: (t) => (t.match(/<p>hi<\/p>/g) ?? []).length === 2,
    });
    const res = parseResponses(r.data);
    assert.equal(res.length, 2);
    for (const x of res) {
      assert.equal(x.status, 200);
      assert.equal(x.headers['content-type'], 'text/html');
      assert.equal(x.body.toString(), '<p>hi</p>');
    }
    assert.equal(r.closed, false);
  } finally {
    await ctx.destroy();
  }
});
