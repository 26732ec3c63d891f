#!/usr/bin/env node
// Build the test server's zip book (served at /ziptest/) from the compiled
// sources: `npm run build` first. Usage: make-zipbook.mjs [OUT.zip]
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? resolve(root, 'dist/generated/book.zip'));
const { writeBook } = await import(resolve(root, 'dist/src/bin/zipbook/book.js'));
writeBook(out);
process.stdout.write(`wrote ${out}\n`);
