#!/usr/bin/env node
/**
 * lws-test-echo: a WebSocket echo server for conformance runs, after lws's
 * test-echo. Every message comes back with its type and fragmentation.
 * Upgrades with or without a subprotocol reach the echo protocol.
 *
 *   lws-test-echo -p 9001
 *   wstest -m fuzzingclient   # pointed at ws://127.0.0.1:9001
 */
import { parseArgs } from 'node:util';
// Only what an echo server uses: a small heap keeps V8 from marking the
// old generation over and over under large messages (bench/README.md).
import '../setup-server.js';
import { createContext } from '../core/context.js';
import { callbackHttpDummy } from '../http/dummy.js';
import { createEchoProtocol } from '../plugins/echo.js';
import { MAX_SMP } from '../smp/max.js';
import { serveUntilSignalled } from './serve.js';
import { portArg, applyDebugArg } from './args.js';

const USAGE = `Usage: lws-test-echo [options]
  -p, --port N            listen port (default 7681)
      --protocol NAME     echo protocol name (default lws-echo); upgrades
                          without Sec-WebSocket-Protocol reach it too
  -i, --interface ADDR    address to listen on (default: all)
      --rx-buffer-size N  largest RECEIVE piece, and so largest echoed frame,
                          in bytes (default 4096; 65536 echoes 64 KiB
                          messages as single frames when they arrive whole)
  -j, --count-threads N   serve from N service processes (SMP, 1 to 32;
                          default 1: this process serves)
  -d, --debug MASK        log level bit mask (default 7: err, warn, notice)
  -h, --help              this text
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        protocol: { type: 'string' },
        interface: { type: 'string', short: 'i' },
        'rx-buffer-size': { type: 'string' },
        'count-threads': { type: 'string', short: 'j' },
        debug: { type: 'string', short: 'd' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`lws-test-echo: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = portArg('lws-test-echo', args.port, 7681);
  if (port === null) return 1;
  if (!applyDebugArg('lws-test-echo', args.debug)) return 1;
  let rxBufferSize: number | undefined;
  if (args['rx-buffer-size'] !== undefined) {
    rxBufferSize = Number(args['rx-buffer-size']);
    if (!/^\d+$/.test(args['rx-buffer-size']) || rxBufferSize < 1 || rxBufferSize > 16 * 1024 * 1024) {
      process.stderr.write(`lws-test-echo: bad --rx-buffer-size ${args['rx-buffer-size']} (1 to 16777216)\n`);
      return 1;
    }
  }
  let countThreads = 1;
  if (args['count-threads'] !== undefined) {
    countThreads = Number(args['count-threads']);
    if (!/^\d+$/.test(args['count-threads']) || countThreads < 1 || countThreads > MAX_SMP) {
      process.stderr.write(`lws-test-echo: bad --count-threads ${args['count-threads']} (1 to ${MAX_SMP})\n`);
      return 1;
    }
  }
  const name = args.protocol ?? 'lws-echo';
  // SMP is loaded only when asked for (its services run this program again, with the same -j).
  if (countThreads > 1) await import('../smp/smp.js');
  const context = createContext({
    port,
    iface: args.interface,
    ...(countThreads > 1 ? { countThreads } : {}),
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, createEchoProtocol(name, { rxBufferSize })],
    pvo: { [name]: { default: '1' } },
    ws: { perMessageDeflate: true },
    logListenErrors: false, // serveUntilSignalled reports it
  });
  serveUntilSignalled(context, 'lws-test-echo', args.interface, (url) => `echoing protocol "${name}" on ${url}`, 'ws');
  return 0;
}

const rc = await main();
if (rc) process.exitCode = rc;
