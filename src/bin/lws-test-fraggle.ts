#!/usr/bin/env node
/**
 * lws-test-fraggle: lws's fragmentation test. The server sends endless
 * randomly fragmented messages, each followed by a checksum; the client
 * (`-c HOST`) checks every one.
 *
 *   lws-test-fraggle -p 7681 &
 *   lws-test-fraggle -c localhost -p 7681 -n 20   # exit 0 if 20 messages arrive correctly
 *   lws-test-fraggle -s -C cert.pem -K key.pem &  # over TLS
 *   lws-test-fraggle -s -c localhost -n 20
 *
 * Divergence from the C app: the server keeps serving when a client leaves,
 * and the client can stop after `-n` messages.
 */
import { parseArgs } from 'node:util';
import { createContext, callbackHttpDummy, type Context, type Wsi } from '../index.js';
import { portArg, applyDebugArg } from './args.js';
import { serveUntilSignalled } from './serve.js';
import { createFraggleProtocol, FRAGGLE_PROTOCOL, type FraggleReport } from './fraggle/protocol.js';

const USAGE = `Usage: lws-test-fraggle [options]
  -c, --client HOST       client mode: connect to HOST and check messages
  -p, --port N            port to listen on / connect to (default 7681)
  -i, --interface ADDR    server: address to listen on (default: all)
  -n, --count N           client: exit after N messages (0 on all correct)
  -s, --ssl               TLS. Server: needs -C and -K (no test certificate is built
                          in). Client: accepts self-signed certificates and any name
  -C, --cert FILE         server: certificate (PEM)
  -K, --key FILE          server: private key (PEM)
  -d, --debug MASK        log level bit mask (default 7)
  -h, --help              this text
`;

const print = (line: string): void => void process.stdout.write(`${line}\n`);

/** Server TLS: the PEM files of -C and -K, or none. */
interface ServerTls {
  cert: string;
  key: string;
}

function runServer(port: number, iface: string | undefined, tls: ServerTls | undefined): void {
  const report = (r: FraggleReport): void =>
    print(`Spamming session over, len = ${r.length}. sum = 0x${r.sum.toString(16).padStart(8, '0')}`);
  const context = createContext({
    port,
    iface,
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, createFraggleProtocol(report, () => {})],
    // The C client names the protocol; upgrades without one are given it anyway.
    pvo: { [FRAGGLE_PROTOCOL]: { default: '1' } },
    ws: { perMessageDeflate: true },
    logListenErrors: false, // serveUntilSignalled reports it
    ...(tls ? { sslCertFilepath: tls.cert, sslPrivateKeyFilepath: tls.key } : {}),
  });
  serveUntilSignalled(context, 'lws-test-fraggle', iface, (url) => `fragmenting on ${url.replace(/^http/, 'ws')}`);
}

function runClient(host: string, port: number, count: number, tls: boolean): void {
  let done = 0;
  let errors = 0;
  let context: Context | undefined;
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    const bye = (): never => process.exit(code);
    void context?.destroy().then(bye, bye);
  };
  let conn: Wsi | undefined;
  const report = (r: FraggleReport): void => {
    if (r.correct) print(`EOM received ${r.length} correctly from ${r.fragments} fragments`);
    else {
      errors++;
      print(`**** ERROR at EOM: length ${r.length}, rx sum = 0x${r.sum.toString(16)}, server says it sent 0x${(r.serverSum ?? 0).toString(16)}`);
    }
    if (count > 0 && ++done >= count) {
      print(`${done} messages, ${errors} errors`);
      exit(errors ? 1 : 0);
      conn?.close();
    }
  };
  const closed = (): void => {
    // Closing before the count (or any close without one) ends the run as the C app does.
    if (count > 0 && done < count) process.stderr.write(`lws-test-fraggle: connection ended after ${done} of ${count} messages\n`);
    exit(count > 0 && (done < count || errors) ? 1 : 0);
  };
  context = createContext({ protocols: [createFraggleProtocol(report, closed, (wsi) => (conn = wsi))] });
  const shown = host.includes(':') ? `[${host}]` : host;
  context.clientConnect({
    address: host, port, path: '/', host: `${shown}:${port}`, origin: `${shown}:${port}`, protocol: FRAGGLE_PROTOCOL,
    // The C app's offer: permessage-deflate; client_no_context_takeover; client_max_window_bits.
    perMessageDeflate: { clientNoContextTakeover: true },
    // As the C app's -s: a test server's self-made certificate is fine.
    ssl: tls ? { allowSelfSigned: true, skipHostnameCheck: true } : false,
  });
  process.once('SIGINT', () => exit(errors ? 1 : 0));
}

function main(): number {
  let args;
  try {
    args = parseArgs({
      options: {
        client: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        interface: { type: 'string', short: 'i' },
        count: { type: 'string', short: 'n' },
        ssl: { type: 'boolean', short: 's' },
        cert: { type: 'string', short: 'C' },
        key: { type: 'string', short: 'K' },
        debug: { type: 'string', short: 'd' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`lws-test-fraggle: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = portArg('lws-test-fraggle', args.port, 7681);
  if (port === null) return 1;
  const count = Number(args.count ?? '0');
  if (!/^\d+$/.test(args.count ?? '0')) {
    process.stderr.write(`lws-test-fraggle: bad count ${args.count}\n`);
    return 1;
  }
  if (!applyDebugArg('lws-test-fraggle', args.debug)) return 1;
  const say = (msg: string): number => {
    process.stderr.write(`lws-test-fraggle: ${msg}\n`);
    return 1;
  };
  if (args.client !== undefined) {
    if (args.cert !== undefined || args.key !== undefined) return say('-C and -K are for the server (a client sends no certificate)');
    runClient(args.client, port, count, args.ssl ?? false);
    return 0;
  }
  if (args.ssl && (args.cert === undefined || args.key === undefined))
    return say('-s needs -C CERT.pem and -K KEY.pem: the server has no built-in certificate');
  if (!args.ssl && (args.cert !== undefined || args.key !== undefined)) return say('-C and -K need -s');
  try {
    runServer(port, args.interface, args.ssl ? { cert: args.cert as string, key: args.key as string } : undefined);
  } catch (e) {
    // An unreadable or mismatched -C / -K is refused when the vhost is made.
    return say((e as Error).message);
  }
  return 0;
}

const rc = main();
if (rc) process.exitCode = rc;
