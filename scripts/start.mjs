#!/usr/bin/env node
// `npm start`: compile src/ only (the tests are not needed to run the
// server), then run lws-test-server in this process with the arguments
// given after `npm start --`. One process, so every line is printed once
// and Ctrl-C reaches the server directly.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.stdout.write('building tslws (src only)...\n');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  process.stderr.write(`build failed${r.error ? `: ${r.error.message}` : ''}\n`);
  process.exit(r.status ?? 1);
}
const server = join(root, 'dist/src/bin/lws-test-server.js');
// The server is the program from here on: -D relaunches it by this path.
process.argv[1] = server;
await import(pathToFileURL(server).href);
