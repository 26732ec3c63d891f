#!/usr/bin/env node
/**
 * lws-test-client: the counterpart of lws-test-server, after the C
 * libwebsockets-test-client. ws:// opens a dumb-increment and a mirror
 * connection; http:// fetches one URL; raw://host:port joins stdin/stdout
 * to a socket.
 *
 *   lws-test-client -O ws://localhost:7681/     # one mirror lifetime, exit 0 on success
 *   lws-test-client http://localhost:7681/test.html
 *   lws-test-client raw://localhost:9000 < request.bin
 */
import { parseArgs } from 'node:util';
import type { Context } from '../index.js';
import { portArg, applyDebugArg } from './args.js';
import { parseTarget, type Target } from './test-client/target.js';
import { runWsMode, ONCE_MIRROR_MESSAGES } from './test-client/ws-mode.js';
import { runHttpMode } from './test-client/http-mode.js';
import { runRawMode } from './test-client/raw-mode.js';

const USAGE = `Usage: lws-test-client [options] URL
  URL                   ws://host[:port][/path] (also a bare host), wss://,
                        http://, https:// or raw://host:port
  -s, --ssl             use TLS, accept self-signed certificates
  -p, --port N          port when the URL has none (default 7681)
      --protocol NAME   subprotocol of the mirror connection (default lws-mirror-protocol)
  -n, --nomirror        connect the mirror but send nothing
  -j, --justmirror      only the mirror connection; it sends one circle
  -O, --once            exit after one mirror lifetime (${ONCE_MIRROR_MESSAGES} circles sent and
                        mirrored back): 0 on success, 1 on any connection error
  -d, --debug MASK      log level bit mask (default 7)
  -h, --help            this text
`;

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        ssl: { type: 'boolean', short: 's' },
        port: { type: 'string', short: 'p' },
        protocol: { type: 'string' },
        nomirror: { type: 'boolean', short: 'n' },
        justmirror: { type: 'boolean', short: 'j' },
        once: { type: 'boolean', short: 'O' },
        debug: { type: 'string', short: 'd' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`lws-test-client: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  const args = parsed.values;
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(USAGE);
    return 1;
  }
  if (!applyDebugArg('lws-test-client', args.debug)) return 1;
  // undefined when absent: the URL's own port, else 7681, applies then
  const port = args.port === undefined ? undefined : portArg('lws-test-client', args.port, 0, 1);
  if (port === null) return 1;
  let target: Target;
  try {
    target = parseTarget(parsed.positionals[0], port, args.ssl ?? false);
  } catch (e) {
    process.stderr.write(`lws-test-client: ${(e as Error).message}\n`);
    return 1;
  }

  let context: Context | undefined;
  let stopping = false;
  // Destroying the context runs every close callback before we go.
  const exit = (code: number): void => {
    if (stopping) return;
    stopping = true;
    const bye = (): never => process.exit(code);
    if (context) void context.destroy().then(bye, bye);
    else setImmediate(bye);
  };
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  if (target.mode === 'ws') {
    context = runWsMode(target, {
      mirrorProtocol: args.protocol ?? 'lws-mirror-protocol',
      noMirrorSend: args.nomirror ?? false,
      justMirror: args.justmirror ?? false,
      once: args.once ?? false,
      done: exit,
      print,
    });
  } else if (target.mode === 'http') {
    context = runHttpMode(target, (b) => void process.stdout.write(b), exit);
  } else {
    context = runRawMode(target, process.stdin, (b) => void process.stdout.write(b), exit);
  }
  process.once('SIGINT', () => {
    print('lws-test-client: exited cleanly');
    exit(0);
  });
  return 0;
}

const rc = main();
if (rc) process.exitCode = rc;
