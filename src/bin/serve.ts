import type { Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import { log } from '../core/log.js';
import { runningAsDaemon } from '../lwsws/daemon.js';

/**
 * A status line of a server bin, said once. In the foreground the log
 * (stderr) and stdout share the terminal, so the line goes to stdout only,
 * prefixed with the program's name; a daemon's stdout goes nowhere, so
 * there it is a log notice (an error with `error`).
 */
export function announce(prog: string, line: string, error = false): void {
  if (runningAsDaemon()) (error ? log.err : log.notice)('%s', line);
  else if (error) process.stderr.write(`${prog}: ${line}\n`);
  else process.stdout.write(`${prog}: ${line}\n`);
}

/**
 * Where a listening vhost serves, as the bins print it: `unix:PATH` for a
 * UNIX socket, else `SCHEME://HOST:PORT/` with `scheme` (clear-text form,
 * `http` or `ws`) made secure on a TLS vhost, HOST `iface` (default the
 * vhost's own; `localhost` when unset) and an IPv6 address in brackets.
 *
 * ```ts
 * listenUrl(vhost);              // 'https://[::1]:7681/'
 * ```
 */
export function listenUrl(vh: Vhost, scheme = 'http', iface: string | undefined = vh.iface): string {
  const at = vh.listenAt;
  if ('path' in at) return `unix:${at.path}`;
  const host = iface ?? 'localhost';
  const shown = host.includes(':') ? `[${host}]` : host;
  return `${vh.tls ? scheme + 's' : scheme}://${shown}:${vh.port}/`;
}

/** How long SIGTERM lets connections finish what they are doing. */
const DRAIN_SECS = 10;

/**
 * What every server bin does once its context exists: say where it serves
 * once listening (or exit 1 if it cannot: make the context with
 * `logListenErrors: false`, this says why), and shut down cleanly on SIGINT
 * (at once) or SIGTERM (draining: what is in flight finishes, within
 * DRAIN_SECS) so every connection's close callbacks run. `scheme` is the
 * clear-text one (`http`, `ws`); a TLS vhost shows its secure form, a UNIX
 * socket its path. `onReady` learns how startup went (a daemon reports it).
 *
 * ```ts
 * serveUntilSignalled(context, 'lws-test-echo', iface, (url) => `echoing on ${url}`, 'ws');
 * ```
 */
export function serveUntilSignalled(context: Context, prog: string, iface: string | undefined,
  what: (url: string) => string, scheme = 'http', onReady?: (ok: boolean, message: string) => void): void {
  context.listening.then(
    () => {
      if (context.tsi >= 0 && context.countThreads > 1) {
        // A service process: the primary announces where it serves.
        log.notice('service %d of %d serving', context.tsi, context.countThreads);
        return;
      }
      const line = what(listenUrl(context.vhosts[0], scheme, iface));
      announce(prog, runningAsDaemon() ? line : `${line} (Ctrl-C to stop)`);
      onReady?.(true, line);
    },
    (e: Error) => {
      // The context was made with logListenErrors: false; this is the one report.
      announce(prog, e.message, true);
      onReady?.(false, e.message);
      process.exitCode = 1;
      void context.destroy();
    },
  );
  // SIGTERM (a service manager stopping us) finishes what is in flight within
  // DRAIN_SECS; SIGINT (Ctrl-C) closes everything at once.
  const stop = (sig: string, graceful: boolean) => {
    log.notice('%s: %s', sig, graceful ? `draining (at most ${DRAIN_SECS} s)` : 'shutting down');
    void (graceful ? context.drain({ timeoutSecs: DRAIN_SECS }) : context.destroy()).then(() => {
      announce(prog, 'exited cleanly');
    });
  };
  process.once('SIGINT', () => stop('SIGINT', false));
  process.once('SIGTERM', () => stop('SIGTERM', true));
}
