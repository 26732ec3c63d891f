/**
 * The `lwsws` command: options, startup, signals. SIGHUP reloads the
 * config (and reopens access logs); SIGTERM and SIGINT stop within a bound.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyDebugArg } from './args.js';
import { announce, listenUrl } from './serve.js';
import { log } from '../core/log.js';
import { LwswsServer } from '../lwsws/server.js';
import { ConfigError } from '../lwsws/errors.js';
import { isSmpService } from '../smp/smp.js';
import { daemonize, reportToStarter, reopenDaemonLog, type DaemonOptions } from '../lwsws/daemon.js';

export const USAGE = `Usage: lwsws [-c CONFIG_DIR] [-d LOGLEVEL] [-D] [-h]
  -c, --configdir DIR   config directory holding conf and conf.d/
                        (default /etc/lwsws if it has a conf, else the package's lwsws/)
  -d, --debug MASK      log level bit mask (default 7: err, warn, notice)
  -D, --daemonize       run in the background: detached, stdio to /dev/null,
                        a lock file holding the pid, logging to syslog
      --lock-file PATH  the daemon's lock file (default /tmp/.lwsws-lock)
      --log-file PATH   with -D, log to this file instead of syslog
      --data-dir DIR    what _lws_ddir_ stands for (default: the package directory)
      --stop-timeout-ms N  longest wait for connections to close on SIGTERM (default 5000)
  -h, --help            this text
`;

const here = dirname(fileURLToPath(import.meta.url));
/** The package directory (dist/src/lwsws → ../../..). */
export const PACKAGE_DIR = resolve(here, '../../..');

function defaultConfigDir(): string {
  return existsSync('/etc/lwsws/conf') ? '/etc/lwsws' : resolve(PACKAGE_DIR, 'lwsws');
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        configdir: { type: 'string', short: 'c' },
        debug: { type: 'string', short: 'd' },
        daemonize: { type: 'boolean', short: 'D' },
        'lock-file': { type: 'string' },
        'log-file': { type: 'string' },
        'data-dir': { type: 'string' },
        'stop-timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`lwsws: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    process.stderr.write(USAGE);
    return 1; // as lwsws
  }
  if (!applyDebugArg('lwsws', args.debug)) return 1;
  const stopMs = Number(args['stop-timeout-ms'] ?? 5000);
  if (!Number.isInteger(stopMs) || stopMs < 0) {
    process.stderr.write(`lwsws: bad --stop-timeout-ms ${args['stop-timeout-ms']}\n`);
    return 1;
  }
  const configDir = resolve(args.configdir ?? defaultConfigDir());
  const dataDir = resolve(args['data-dir'] ?? PACKAGE_DIR);

  let daemon = false;
  if (args.daemonize) {
    // A service process (count-threads) of the daemon logs as the daemon does; the daemon itself holds the lock and reports.
    const d: DaemonOptions = { lockFile: args['lock-file'] ?? '/tmp/.lwsws-lock', logFile: args['log-file'], argv,
      serviceOfDaemon: isSmpService() };
    const r = await daemonize(d);
    if (r !== 'child') return r;
    daemon = !isSmpService();
  }

  // A SIGHUP during startup must not end the process (Node's default);
  // it is remembered and applied once serving.
  let hupEarly = false;
  const early = () => (hupEarly = true);
  process.on('SIGHUP', early);
  let server: LwswsServer;
  try {
    server = await LwswsServer.start({ configDir, dataDir });
  } catch (e) {
    const msg = e instanceof ConfigError ? e.message : `${configDir}: ${(e as Error).message}`;
    announce('lwsws', msg, true);
    announce('lwsws', 'not starting', true);
    if (daemon) reportToStarter(false, msg);
    return 1;
  }
  if (daemon) reportToStarter(true, `serving (config ${configDir})`);
  if (server.context.tsi >= 0 && server.context.countThreads > 1) {
    // The primary announces the vhosts; each service only says it is there.
    log.notice('service %d of %d serving', server.context.tsi, server.context.countThreads);
  } else {
    for (const v of server.vhosts) announce('lwsws', `vhost ${v.name} on ${listenUrl(v.vhost)}`);
    announce('lwsws', `serving (config ${configDir})`);
  }

  let queue: Promise<unknown> = Promise.resolve();
  // Once stopping, a SIGHUP is ignored: the server is being destroyed.
  let stopping = false;
  const reload = () => {
    if (stopping) return;
    if (server.context.countThreads > 1) {
      // The services built their vhosts from the config they read at start; a reload here would part them from the primary's.
      announce('lwsws', 'SIGHUP: reload is not available with count-threads above 1; restart lwsws to apply a new config', true);
      return;
    }
    queue = queue.then(async () => {
      if (stopping) return;
      reopenDaemonLog();
      log.notice('SIGHUP: reloading %s', configDir);
      try {
        const r = await server.reload();
        const failed = r.failed.length ? `, failed ${r.failed.length} (${r.failed.join(', ')}; see the log)` : '';
        announce('lwsws', `reloaded: kept ${r.kept.length}, destroyed ${r.destroyed.length}, created ${r.created.length}${failed}`);
      } catch (e) {
        announce('lwsws', `reload failed, keeping the running config: ${(e as Error).message}`, true);
      }
    });
  };
  process.off('SIGHUP', early);
  process.on('SIGHUP', reload);
  if (hupEarly) reload();
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.notice('%s: stopping', sig);
    void queue.then(() => server.stop(stopMs)).then(() => {
      announce('lwsws', 'exited cleanly');
      process.exit(0);
    });
    // However the close goes, the process ends within the bound.
    setTimeout(() => process.exit(0), stopMs + 1000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return 0;
}
