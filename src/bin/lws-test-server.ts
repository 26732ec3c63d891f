#!/usr/bin/env node
/**
 * lws-test-server: serves the test page (and the protocols tslws has) on
 * http://localhost:7681, with the C test server's command line.
 */
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serveUntilSignalled } from './serve.js';
import {
  createContext, Mount, Option, callbackHttpDummy, dumbIncrementProtocol, mirrorProtocol, postDemoProtocol, serverStatusProtocol,
} from '../index.js';
import { portArg, applyDebugArg } from './args.js';
import { writeBook } from './zipbook/book.js';

const USAGE = `Usage: lws-test-server [options]
  -p, --port N            listen port (default 7681)
  -i, --interface ADDR    address to listen on (default: all)
  -r, --resource-path DIR directory served at / (default: the package's www/)
  -d, --debug MASK        log level bit mask (default 7: err, warn, notice)
  -c, --closetest         dumb-increment closes each connection after 50 numbers
  -n, --nosend            dumb-increment sends nothing (for tests)
  -h, --help              this text
`;

function main(): number {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        interface: { type: 'string', short: 'i' },
        'resource-path': { type: 'string', short: 'r' },
        resource_path: { type: 'string' },
        debug: { type: 'string', short: 'd' },
        closetest: { type: 'boolean', short: 'c' },
        nosend: { type: 'boolean', short: 'n' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = portArg('lws-test-server', args.port, 7681);
  if (port === null) return 1;
  if (!applyDebugArg('lws-test-server', args.debug)) return 1;
  const here = dirname(fileURLToPath(import.meta.url));
  const resource = resolve(args['resource-path'] ?? args.resource_path ?? resolve(here, '../../../www'));
  if (!existsSync(resource)) {
    process.stderr.write(`lws-test-server: resource path ${resource} does not exist\n`);
    return 1;
  }
  // The zip book is generated, never shipped: made on first start.
  const book = resolve(here, '../../generated/book.zip');
  if (!existsSync(book)) {
    try {
      writeBook(book);
    } catch (e) {
      process.stderr.write(`lws-test-server: cannot write ${book}: ${(e as Error).message}\n`);
    }
  }
  const context = createContext({
    port,
    iface: args.interface,
    options: Option.VALIDATE_UTF8,
    // Index 0 answers HTTP (and upgrades naming no subprotocol), as in lws.
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, dumbIncrementProtocol, mirrorProtocol, postDemoProtocol,
      serverStatusProtocol],
    pvo: {
      'dumb-increment-protocol': {
        ...(args.closetest ? { closetest: '1' } : {}),
        ...(args.nosend ? { 'no-send': '1' } : {}),
      },
    },
    mounts: [
      { mountpoint: '/', origin: resource, def: 'test.html', originProtocol: Mount.FILE },
      // The test page's forms post here, as in lws's test server.
      { mountpoint: '/formtest', origin: 'protocol-post-demo', originProtocol: Mount.CALLBACK },
      // A FILE mount whose origin is a zip serves the members (lws's /ziptest/candide.html).
      { mountpoint: '/ziptest', origin: book, def: 'book.html', originProtocol: Mount.FILE },
    ],
  });
  serveUntilSignalled(context, 'lws-test-server', args.interface, (url) => `serving ${resource} on ${url}`);
  return 0;
}

const rc = main();
if (rc) process.exitCode = rc;
