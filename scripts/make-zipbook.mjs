#!/usr/bin/env node
// Build the test server's zip book (served at /ziptest/) from the compiled
// sources: `npm run build` first. Usage: make-zipbook.mjs [OUT.zip]
// Without OUT it makes the copy lws-test-server serves, in the user's cache
// ($XDG_CACHE_HOME/tslws/test-server/, else ~/.cache/…), as the server
// itself does on start.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { writeBook, cachedBook } = await import(resolve(root, 'dist/src/bin/zipbook/book.js'));
let out;
if (process.argv[2]) {
  out = resolve(process.argv[2]);
  writeBook(out);
} else {
  const { userCacheDir } = await import(resolve(root, 'dist/src/bin/cache-dir.js'));
  out = cachedBook(userCacheDir('test-server'));
}
process.stdout.write(`wrote ${out}\n`);
