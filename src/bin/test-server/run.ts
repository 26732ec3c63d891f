/**
 * The test server both bins run: lws-test-server, and
 * lws-test-server-extpoll, which also prints the poll table as lws's
 * external-poll test server keeps one.
 */
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serveUntilSignalled } from '../serve.js';
import {
  createContext, Mount, Option, callbackHttpDummy, dumbIncrementProtocol, mirrorProtocol, postDemoProtocol, serverStatusProtocol,
  rawTestProtocol, RAW_TEST_DEFAULT_FIFO, MAX_SMP, isSmpService, metricsProtocol, METRICS_PROTOCOL_NAME, type Protocol,
} from '../../index.js';
import { portArg, applyDebugArg } from '../args.js';
import { cachedBook } from '../zipbook/book.js';
import { userCacheDir } from '../cache-dir.js';
import { tlsVhostInfo } from './tls-args.js';
import { demoFops } from './demo-fops.js';
import { pollTablePrinter } from './poll-table.js';
import { daemonize, reportToStarter } from '../../lwsws/daemon.js';
import { attachRedisTopicBus, createRedisTopicBus } from '../../redis/create.js';
import type { RedisTopicBus } from '../../redis/bus.js';

const usage = (prog: string) => `Usage: ${prog} [options]
  -p, --port N              listen port (default 7681)
  -i, --interface ADDR|IF   address or interface name to listen on (default: all)
  -k                        keep traffic on that interface (binds to its address)
  -U, --unix-socket PATH    listen on a UNIX domain socket instead of a TCP port
  -r, --resource-path DIR   directory served at / (default: the package's www/)
  -s, --ssl                 TLS; clear text on the port is redirected to https.
                            Without -C/-K a self-signed certificate is made on the
                            first run and kept in ~/.cache/tslws/test-server/
  -a, --allow-non-ssl       with -s: serve clear text on the same port too
  -C, --ssl-cert FILE       certificate (PEM, with its chain)
  -K, --ssl-key FILE        its private key
  -A, --ssl-ca FILE         CA that client certificates are checked against
  -R, --ssl-crl FILE        revoked client certificates (CRL, PEM)
  -v, --ssl-verify-client   require a client certificate (implies -s; needs -A)
  -P, --pingpong-secs N     ping idle WebSocket connections every N seconds
  -d, --debug MASK          log level bit mask (default 7: err, warn, notice)
  -c, --closetest           dumb-increment closes each connection after 50 numbers
  -n, --nosend              dumb-increment sends nothing (for tests)
  -D, --daemonize           run in the background (lock file /tmp/.lwsts-lock)
  -j, --threads N           serve from N service processes (1..32, default 1), as
                            lws's test-server-pthreads serves from N threads
      --raw-fifo PATH       the raw-test plugin's FIFO (default /tmp/lws-test-raw);
                            bytes that are not HTTP are echoed by it (RAW fallback)
      --redis URL           join the Redis topic bus at URL (redis://host:port):
                            mirror instances span every server on it (needs the
                            optional redis package); with -j, each service joins
      --redis-node NAME     this server's label on the bus (default host-pid)
  -h, --help                this text
`;

/**
 * Run the test server with the C test server's command line; false once it
 * serves, else the exit code. With `extpoll`, protocols[0] also keeps and
 * prints the poll table (ADD/DEL/CHANGE_MODE_POLL_FD).
 */
export async function runTestServer(prog: string, variant: { extpoll?: boolean } = {}): Promise<number | false> {
  const USAGE = usage(prog);
  const argv = process.argv.slice(2);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        interface: { type: 'string', short: 'i' },
        k: { type: 'boolean', short: 'k' },
        'unix-socket': { type: 'string', short: 'U' },
        'resource-path': { type: 'string', short: 'r' },
        resource_path: { type: 'string' },
        ssl: { type: 'boolean', short: 's' },
        'allow-non-ssl': { type: 'boolean', short: 'a' },
        'ssl-cert': { type: 'string', short: 'C' },
        'ssl-key': { type: 'string', short: 'K' },
        'ssl-ca': { type: 'string', short: 'A' },
        'ssl-crl': { type: 'string', short: 'R' },
        'ssl-verify-client': { type: 'boolean', short: 'v' },
        'pingpong-secs': { type: 'string', short: 'P' },
        debug: { type: 'string', short: 'd' },
        closetest: { type: 'boolean', short: 'c' },
        nosend: { type: 'boolean', short: 'n' },
        daemonize: { type: 'boolean', short: 'D' },
        threads: { type: 'string', short: 'j' },
        'raw-fifo': { type: 'string' },
        redis: { type: 'string' },
        'redis-node': { type: 'string' },
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
  const port = portArg(prog, args.port, 7681);
  if (port === null) return 1;
  if (!applyDebugArg(prog, args.debug)) return 1;
  const pingpong = args['pingpong-secs'] === undefined ? 0 : Number(args['pingpong-secs']);
  if (!Number.isInteger(pingpong) || pingpong < 0) {
    process.stderr.write(`${prog}: -P needs a whole number of seconds, got ${args['pingpong-secs']}\n`);
    return 1;
  }
  if (args.k && !args.interface) {
    process.stderr.write('lws-test-server: -k needs -i INTERFACE\n');
    return 1;
  }
  if (args['unix-socket'] && args.interface) {
    process.stderr.write('lws-test-server: -U and -i do not go together\n');
    return 1;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const resource = resolve(args['resource-path'] ?? args.resource_path ?? resolve(here, '../../../../www'));
  if (!existsSync(resource)) {
    process.stderr.write(`${prog}: resource path ${resource} does not exist\n`);
    return 1;
  }
  const tls = tlsVhostInfo({
    ssl: args.ssl, allowNonSsl: args['allow-non-ssl'], cert: args['ssl-cert'], key: args['ssl-key'], ca: args['ssl-ca'],
    crl: args['ssl-crl'], verifyClient: args['ssl-verify-client'],
  }, (line) => process.stdout.write(`${prog}: ${line}\n`));
  if (typeof tls === 'string') {
    process.stderr.write(`${prog}: ${tls}\n`);
    return 1;
  }
  const threads = args.threads === undefined ? 1 : Number(args.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_SMP) {
    process.stderr.write(`${prog}: -j needs a whole number of service processes from 1 to ${MAX_SMP}, got ${args.threads}\n`);
    return 1;
  }
  let daemon = false;
  if (args.daemonize) {
    // A service process (-j) of the daemon logs as the daemon does; the daemon itself holds the lock and reports.
    const r = await daemonize({ lockFile: variant.extpoll ? '/tmp/.lwsts-extpoll-lock' : '/tmp/.lwsts-lock', argv, prog,
      serviceOfDaemon: isSmpService() });
    if (r !== 'child') return r;
    daemon = !isSmpService();
  }
  if (args['redis-node'] !== undefined && args.redis === undefined) {
    process.stderr.write(`${prog}: --redis-node needs --redis URL\n`);
    return 1;
  }
  // The zip book is generated, never shipped, and kept in the user's cache:
  // the installed package may be read-only or shared.
  let book: string | undefined;
  try {
    book = cachedBook(userCacheDir('test-server'));
  } catch (e) {
    process.stderr.write(`${prog}: cannot write the zip book, /ziptest/ is not served: ${(e as Error).message}\n`);
  }
  const httpOnly: Protocol = variant.extpoll
    ? { name: 'http-only', callback: pollTablePrinter(callbackHttpDummy, (line) => process.stdout.write(`${prog}: ${line}\n`)) }
    : { name: 'http-only', callback: callbackHttpDummy };
  let context;
  try {
    context = createContext({
      pollEvents: variant.extpoll === true,
      countThreads: threads,
      port,
      iface: args['unix-socket'] ?? args.interface,
      bindIface: args.k,
      ...tls,
      // Not HTTP from the first bytes: RAW, echoed by protocol-lws-raw-test (as lws's test-server-v2.0).
      options: Option.VALIDATE_UTF8 | Option.FALLBACK_TO_RAW | (tls.options ?? 0) | (args['unix-socket'] ? Option.UNIX_SOCK : 0),
      // permessage-deflate is in the C test server's extension table; the mirror protocol vetoes it.
      ws: { pingPongSecs: pingpong, perMessageDeflate: true },
      logListenErrors: false, // serveUntilSignalled reports it
      // Index 0 answers HTTP (and upgrades naming no subprotocol), as in lws.
      protocols: [httpOnly, dumbIncrementProtocol, mirrorProtocol, postDemoProtocol,
        serverStatusProtocol, rawTestProtocol, metricsProtocol],
      pvo: {
        'protocol-lws-raw-test': { raw: '1', 'fifo-path': args['raw-fifo'] ?? RAW_TEST_DEFAULT_FIFO },
        'dumb-increment-protocol': {
          ...(args.closetest ? { closetest: '1' } : {}),
          ...(args.nosend ? { 'no-send': '1' } : {}),
        },
      },
      mounts: [
        { mountpoint: '/', origin: resource, def: 'test.html', originProtocol: Mount.FILE },
        // The test page's forms post here, as in lws's test server.
        { mountpoint: '/formtest', origin: 'protocol-post-demo', originProtocol: Mount.CALLBACK },
        // Prometheus (or OpenMetrics) metrics of the server, from the tslws:* diagnostics channels.
        { mountpoint: '/metrics', origin: METRICS_PROTOCOL_NAME, originProtocol: Mount.CALLBACK },
        // A FILE mount whose origin is a zip serves the members (lws's /ziptest/candide.html).
        ...(book ? [{ mountpoint: '/ziptest', origin: book, def: 'book.html', originProtocol: Mount.FILE }] : []),
      ],
    });
  } catch (e) {
    process.stderr.write(`${prog}: ${(e as Error).message}\n`);
    if (daemon) reportToStarter(false, (e as Error).message);
    return 1;
  }
  // The processes that serve connections join the bus (with -j the services, not the primary), in
  // place of the services' IPC bus: every server on Redis reaches the others through it.
  if (args.redis !== undefined && context.tsi >= 0) {
    try {
      const node = args['redis-node'];
      const bus: RedisTopicBus = await createRedisTopicBus({
        url: args.redis, ...(node !== undefined ? { node: context.countThreads > 1 ? `${node}.${context.tsi}` : node } : {}),
      });
      attachRedisTopicBus(context, bus);
    } catch (e) {
      process.stderr.write(`${prog}: --redis: ${(e as Error).message}\n`);
      if (daemon) reportToStarter(false, (e as Error).message);
      await context.destroy();
      return 1;
    }
  }
  // The file-ops example: logged opens and one file that exists only in memory.
  context.fops = demoFops(context.fops, resource);
  serveUntilSignalled(context, prog, args.interface, (url) => `serving ${resource} on ${url}`, 'http',
    daemon ? (ok, message) => reportToStarter(ok, message) : undefined);
  return false;
}
