#!/usr/bin/env node
// Builds what the package ships (run by `prepare`, so by `npm pack`,
// `npm publish`, `npm ci` here and installs from git): dist/src from src/
// alone with tsconfig.build.json, then its declarations with their doc
// comments (tsconfig.types.json; the JS has none). dist/src is emptied first, so nothing of
// an earlier build (the development build's source maps, the output of a
// removed source file) ends up in the tarball.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  console.error('build-package: typescript is not installed; run `npm install` (with the dev dependencies) first');
  process.exit(1);
}
rmSync(join(root, 'dist', 'src'), { recursive: true, force: true });
for (const config of ['tsconfig.build.json', 'tsconfig.types.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, config)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
