#!/usr/bin/env node
/**
 * `npm run bench` entry: runs every benchmark in turn, each as its own
 * process, passing the command line through (`npm run bench -- --duration 10`).
 * Stops at the first benchmark that fails and exits with its status.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BENCHES = ['http-files.mjs'];
const args = process.argv.slice(2);

let current = null;
let signalled = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    signalled = sig;
    // The child cleans up its own servers; a terminal's Ctrl-C reaches it
    // anyway (same process group), a kill aimed at us only is passed on.
    if (current && current.exitCode === null && current.signalCode === null) current.kill(sig);
  });
}

for (const name of BENCHES) {
  if (signalled) break;
  process.stderr.write(`== bench/${name} ${args.join(' ')}\n`);
  current = spawn(process.execPath, [join(here, name), ...args], { stdio: 'inherit' });
  const rc = await new Promise((res) => {
    current.once('error', (e) => {
      process.stderr.write(`bench: cannot run ${name}: ${e.message}\n`);
      res(1);
    });
    current.once('exit', (code, sig) => res(code ?? (sig ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0) : 1)));
  });
  current = null;
  if (rc !== 0) {
    process.stderr.write(`bench: ${name} failed (exit ${rc})\n`);
    process.exit(rc);
  }
}
if (signalled) process.exit(130);
