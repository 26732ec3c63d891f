#!/usr/bin/env node
/**
 * lws-test-client: the counterpart of lws-test-server, after the C
 * libwebsockets-test-client. ws:// opens a dumb-increment and a mirror
 * connection (or with -m three dumb-increment ones, with -e an echo test);
 * http:// fetches (or with -o posts to) one URL; raw://host:port joins
 * stdin/stdout to a socket.
 *
 *   lws-test-client -O ws://localhost:7681/     # one mirror lifetime, exit 0 on success
 *   lws-test-client http://localhost:7681/test.html
 *   lws-test-client raw://localhost:9000 < request.bin
 */
import { parseArgs } from 'node:util';
import type { Context } from '../index.js';
import { portArg, applyDebugArg } from './args.js';
import { parseTarget, type Target } from './test-client/target.js';
import { readTlsFiles, sslFor, type TlsMaterial } from './test-client/tls-files.js';
import { runWsMode, ONCE_MIRROR_MESSAGES, LONG_LIVED_EXTRA } from './test-client/ws-mode.js';
import { runMultiMode, MULTI_CONNECTIONS } from './test-client/multi-mode.js';
import { runEchoMode, ECHO_BLOCKS, ECHO_BLOCK_SIZE } from './test-client/echo-mode.js';
import { runHttpMode, POST_BODY } from './test-client/http-mode.js';
import { runRawMode } from './test-client/raw-mode.js';

const USAGE = `Usage: lws-test-client [options] URL
  URL                   ws://host[:port][/path] (also a bare host), wss://,
                        http://, https:// or raw://host:port
  -s, --ssl             use TLS, accept self-signed certificates and any name
  -S, --strict-ssl      use TLS and verify the server fully (system CAs, or -A)
  -C, --cert FILE       client certificate (PEM), with -K
  -K, --key FILE        client certificate's private key (PEM)
  -A, --ca FILE         trusted CA certificates (PEM) instead of the system's
  -R, --crl FILE        certificate revocation list (PEM) of the CA
  -p, --port N          port when the URL has none (default 7681)
      --h2              HTTP/2 only: by prior knowledge in clear text, by ALPN
                        on TLS (anything else fails); a ws:// connection goes
                        over HTTP/2 (RFC 8441). Without it, https:// uses HTTP/2
                        when the server's ALPN chooses it
      --protocol NAME   subprotocol of the mirror connection (default lws-mirror-protocol)
  -n, --nomirror        connect the mirror but send nothing
  -j, --justmirror      only the mirror connection; it sends one circle
  -l, --longlived       mirror lifetime ${LONG_LIVED_EXTRA} messages longer
  -m, --multi-test      ${MULTI_CONNECTIONS} dumb-increment connections, each reopened at most every
                        2 s, and a WRITEABLE asked for all of them every 10 loops
  -e, --echo            the mirror connection as an echo test: ${ECHO_BLOCKS} TEXT messages of
                        ${ECHO_BLOCK_SIZE} pseudo-random bytes, checked byte by byte as they
                        come back; prints "Everything received: errs N" and exits
                        (the server must not check text is UTF-8)
  -o, --post            http(s):// URL: POST "${POST_BODY}" as a form
  -O, --once            exit after one mirror lifetime (${ONCE_MIRROR_MESSAGES} circles sent and
                        mirrored back): 0 on success, 1 on any connection error
  -v, --version N       WebSocket version: ignored, only 13 is spoken
  -d, --debug MASK      log level bit mask (default 7)
  -h, --help            this text
`;

function fail(msg: string): number {
  process.stderr.write(`lws-test-client: ${msg}\n`);
  return 1;
}

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        ssl: { type: 'boolean', short: 's' },
        'strict-ssl': { type: 'boolean', short: 'S' },
        cert: { type: 'string', short: 'C' },
        key: { type: 'string', short: 'K' },
        ca: { type: 'string', short: 'A' },
        crl: { type: 'string', short: 'R' },
        port: { type: 'string', short: 'p' },
        h2: { type: 'boolean' },
        protocol: { type: 'string' },
        nomirror: { type: 'boolean', short: 'n' },
        justmirror: { type: 'boolean', short: 'j' },
        longlived: { type: 'boolean', short: 'l' },
        'multi-test': { type: 'boolean', short: 'm' },
        echo: { type: 'boolean', short: 'e' },
        post: { type: 'boolean', short: 'o' },
        once: { type: 'boolean', short: 'O' },
        version: { type: 'string', short: 'v' },
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
  if (args.version !== undefined) process.stderr.write(`lws-test-client: -v ${args.version} ignored: only WebSocket version 13 is spoken\n`);
  if (args.ssl && args['strict-ssl']) return fail('-s and -S exclude each other');
  if ([args['multi-test'], args.echo, args.justmirror].filter(Boolean).length > 1) return fail('-m, -e and -j exclude each other');
  // undefined when absent: the URL's own port, else 7681, applies then
  const port = args.port === undefined ? undefined : portArg('lws-test-client', args.port, 0, 1);
  if (port === null) return 1;
  let target: Target;
  let material: TlsMaterial;
  try {
    target = parseTarget(parsed.positionals[0], port, args['strict-ssl'] ? 'strict' : args.ssl ?? false);
    material = readTlsFiles({ cert: args.cert, key: args.key, ca: args.ca, crl: args.crl });
  } catch (e) {
    return fail((e as Error).message);
  }
  if (args.post && target.mode !== 'http') return fail('-o needs an http:// or https:// URL');
  if (args.h2 && (target.mode === 'raw' || args['multi-test'] || args.echo)) return fail('--h2 is for http(s):// and the ws(s):// mirror mode');
  const http2 = args.h2 ? 'require' as const : undefined;
  if ((args['multi-test'] || args.echo) && target.mode !== 'ws') return fail('-m and -e need a ws:// or wss:// URL');
  if (!target.tls && Object.keys(material).length) return fail('-C, -K, -A and -R need TLS (-s, -S, wss:// or https://)');
  const ssl = sslFor(target, material);

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
  const mirrorProtocol = args.protocol ?? 'lws-mirror-protocol';
  if (target.mode === 'ws' && args['multi-test']) {
    context = runMultiMode(target, { ssl, print });
  } else if (target.mode === 'ws' && args.echo) {
    context = runEchoMode(target, { protocol: mirrorProtocol, ssl, done: exit, print });
  } else if (target.mode === 'ws') {
    context = runWsMode(target, {
      mirrorProtocol,
      noMirrorSend: args.nomirror ?? false,
      justMirror: args.justmirror ?? false,
      once: args.once ?? false,
      longLived: args.longlived ?? false,
      ssl,
      http2,
      done: exit,
      print,
    });
  } else if (target.mode === 'http') {
    context = runHttpMode(target, (b) => void process.stdout.write(b), exit, { post: args.post ?? false, ssl, http2 });
  } else {
    context = runRawMode(target, process.stdin, (b) => void process.stdout.write(b), exit, ssl);
  }
  process.once('SIGINT', () => {
    print('lws-test-client: exited cleanly');
    exit(0);
  });
  return 0;
}

const rc = main();
if (rc) process.exitCode = rc;
