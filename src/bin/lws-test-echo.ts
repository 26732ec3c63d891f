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
import { createContext, createEchoProtocol, callbackHttpDummy, setLogLevel, log } from '../index.js';

const USAGE = `Usage: lws-test-echo [options]
  -p, --port N            listen port (default 7681)
      --protocol NAME     echo protocol name (default lws-echo); upgrades
                          without Sec-WebSocket-Protocol reach it too
  -i, --interface ADDR    address to listen on (default: all)
      --rx-buffer-size N  largest RECEIVE piece, and so largest echoed frame,
                          in bytes (default 4096; 65536 echoes 64 KiB
                          messages as single frames when they arrive whole)
  -d, --debug MASK        log level bit mask (default 7: err, warn, notice)
  -h, --help              this text
`;

function main(): number {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        protocol: { type: 'string' },
        interface: { type: 'string', short: 'i' },
        'rx-buffer-size': { type: 'string' },
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
  const port = args.port === undefined ? 7681 : Number(args.port);
  if (!/^\d+$/.test(args.port ?? '7681') || port > 65535) {
    process.stderr.write(`lws-test-echo: bad port ${args.port}\n`);
    return 1;
  }
  if (args.debug !== undefined) {
    const mask = Number(args.debug);
    if (!Number.isInteger(mask) || mask < 0) {
      process.stderr.write(`lws-test-echo: bad debug mask ${args.debug}\n`);
      return 1;
    }
    setLogLevel(mask);
  }
  let rxBufferSize: number | undefined;
  if (args['rx-buffer-size'] !== undefined) {
    rxBufferSize = Number(args['rx-buffer-size']);
    if (!/^\d+$/.test(args['rx-buffer-size']) || rxBufferSize < 1 || rxBufferSize > 16 * 1024 * 1024) {
      process.stderr.write(`lws-test-echo: bad --rx-buffer-size ${args['rx-buffer-size']} (1 to 16777216)\n`);
      return 1;
    }
  }
  const name = args.protocol ?? 'lws-echo';
  const context = createContext({
    port,
    iface: args.interface,
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, createEchoProtocol(name, { rxBufferSize })],
    pvo: { [name]: { default: '1' } },
  });
  const host = args.interface ?? 'localhost';
  const shown = host.includes(':') ? `[${host}]` : host;
  context.listening.then(
    () => {
      const p = context.vhosts[0].port;
      log.notice('echoing protocol "%s" on ws://%s:%d/', name, shown, p);
      process.stdout.write(`lws-test-echo: echoing protocol "${name}" on ws://${shown}:${p}/\n`);
    },
    (e: Error) => {
      process.stderr.write(`lws-test-echo: cannot listen: ${e.message}\n`);
      process.exitCode = 1;
      void context.destroy();
    },
  );
  const stop = (sig: string) => {
    log.notice('%s: shutting down', sig);
    void context.destroy().then(() => {
      process.stdout.write('lws-test-echo: exited cleanly\n');
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return 0;
}

const rc = main();
if (rc) process.exitCode = rc;
