#!/usr/bin/env node
// Runs every compiled test file under dist/test (in any folder) with
// node's test runner, which prints the summary. Arguments are passed to
// `node --test` before the files (e.g. --test-name-pattern).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function find(dir, out = []) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = find('dist/test');
if (!files.length) {
  console.error('no compiled tests under dist/test: run `npm run build` first');
  process.exit(1);
}
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
