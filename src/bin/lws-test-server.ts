#!/usr/bin/env node
/**
 * lws-test-server: serves the test page (and the protocols tslws has) on
 * http://localhost:7681, with the C test server's command line.
 */
import { runTestServer } from './test-server/run.js';

runTestServer('lws-test-server').then((rc) => {
  if (rc !== false) process.exitCode = rc;
}, (e: Error) => {
  process.stderr.write(`lws-test-server: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
