#!/usr/bin/env node
/** lwsws: the generic server configured by JSON (see README "lwsws"). */
import '../setup.js';
import { main } from './lwsws-cli.js';

main(process.argv.slice(2)).then(
  (rc) => {
    if (rc) process.exitCode = rc;
  },
  (e: Error) => {
    process.stderr.write(`lwsws: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  },
);
