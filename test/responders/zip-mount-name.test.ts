import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isZipMount } from '../../src/responders/file/serve.js';
import { Mount, type ResolvedMount } from '../../src/http/mount.js';

const mount = (origin: string, originProtocol = Mount.FILE): ResolvedMount => ({ mountpoint: '/z', origin, originProtocol, mpLen: 2 });

test('a FILE mount serves from a zip archive when its origin ends in .zip, in any case', () => {
  for (const o of ['/srv/book.zip', '/srv/BOOK.ZIP', '/srv/b.Zip', '.zip']) assert.equal(isZipMount(mount(o)), true, o);
  for (const o of ['/srv/book.zipx', '/srv/bookzip', 'zip', '/srv/book.gz', '/srv/book.zi', '/srv/.zip/dir'])
    assert.equal(isZipMount(mount(o)), false, o);
  assert.equal(isZipMount(mount('/srv/book.zip', Mount.CALLBACK)), false, 'only FILE mounts');
});
