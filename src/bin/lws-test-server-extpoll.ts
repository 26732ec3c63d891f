#!/usr/bin/env node
/**
 * lws-test-server-extpoll: the test server, printing the poll table as
 * Node's loop starts, changes and stops watching each connection (lws's
 * test server with its own poll() loop; Node keeps the loop, tslws reports it).
 */
import { runTestServer } from './test-server/run.js';

runTestServer('lws-test-server-extpoll', { extpoll: true }).then((rc) => {
  if (rc !== false) process.exitCode = rc;
}, (e: Error) => {
  process.stderr.write(`lws-test-server-extpoll: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
