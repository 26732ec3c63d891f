#!/usr/bin/env node
/**
 * `npm run bench` entry: runs every benchmark in turn, each as its own
 * process, passing the command line through (`npm run bench -- --duration 10`).
 * Leading names select benchmarks: `npm run bench -- ws` runs only the
 * WebSocket one, `npm run bench -- http ws --rounds 1` both (names: http-files
 * or http, ws-echo or ws, ws-deflate or deflate, https or tls, h2 or http2, messages or msg, h2-client, topics or pubsub, ws-h2 or wsh2; h2's own case names
 * go after an option, or as `--only`: `npm run bench -- h2 --only h2c,1k`). `--quick` is translated for
 * benchmarks that have no such option (http-files, https: --duration 1 --rounds 1).
 * Stops at the first benchmark that fails and exits with its status.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BENCHES = [
  { name: 'http-files', alias: 'http', file: 'http-files.mjs', quick: ['--duration', '1', '--rounds', '1'] },
  { name: 'ws-echo', alias: 'ws', file: 'ws-echo.mjs', quick: ['--quick'] },
  { name: 'ws-deflate', alias: 'deflate', file: 'ws-deflate.mjs', quick: ['--quick'] },
  { name: 'https', alias: 'tls', file: 'https.mjs', quick: ['--duration', '1', '--rounds', '1'] },
  { name: 'h2', alias: 'http2', file: 'h2.mjs', quick: ['--quick'] },
  { name: 'messages', alias: 'msg', file: 'messages.mjs', quick: ['--quick'] },
  { name: 'h2-client', alias: 'h2c-client', file: 'h2-client.mjs', quick: ['--quick'] },
  { name: 'topics', alias: 'pubsub', file: 'topics.mjs', quick: ['--quick'] },
  { name: 'ws-h2', alias: 'wsh2', file: 'ws-h2.mjs', quick: ['--quick'] },
];

const argv = process.argv.slice(2);
const chosen = [];
while (argv.length && !argv[0].startsWith('-')) {
  const word = argv.shift();
  const b = BENCHES.find((x) => x.name === word || x.alias === word || x.file === word);
  if (!b) {
    process.stderr.write(`bench: no benchmark named ${word} (${BENCHES.map((x) => `${x.name} or ${x.alias}`).join(', ')})\n`);
    process.exit(2);
  }
  if (!chosen.includes(b)) chosen.push(b);
}
const selected = chosen.length ? chosen : BENCHES;
const args = argv;

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

for (const b of selected) {
  if (signalled) break;
  const a = args.flatMap((x) => (x === '--quick' ? b.quick : [x]));
  process.stderr.write(`== bench/${b.file} ${a.join(' ')}\n`);
  current = spawn(process.execPath, [join(here, b.file), ...a], { stdio: 'inherit' });
  const rc = await new Promise((res) => {
    current.once('error', (e) => {
      process.stderr.write(`bench: cannot run ${b.file}: ${e.message}\n`);
      res(1);
    });
    current.once('exit', (code, sig) => res(code ?? (sig ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0) : 1)));
  });
  current = null;
  if (rc !== 0) {
    process.stderr.write(`bench: ${b.file} failed (exit ${rc})\n`);
    process.exit(rc);
  }
}
if (signalled) process.exit(130);
