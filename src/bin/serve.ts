import type { Context } from '../core/context.js';
import { log } from '../core/log.js';

/**
 * What every server bin does once its context exists: say where it serves
 * once listening (or exit 1 if it cannot), and shut down cleanly on SIGINT
 * or SIGTERM so every connection's close callbacks run.
 *
 * ```ts
 * serveUntilSignalled(context, 'lws-test-echo', iface, (url) => `echoing on ${url}`, 'ws');
 * ```
 */
export function serveUntilSignalled(context: Context, prog: string, iface: string | undefined,
  what: (url: string) => string, scheme = 'http'): void {
  const host = iface ?? 'localhost';
  const shown = host.includes(':') ? `[${host}]` : host;
  context.listening.then(
    () => {
      const line = what(`${scheme}://${shown}:${context.vhosts[0].port}/`);
      log.notice('%s (Ctrl-C to stop)', line);
      process.stdout.write(`${prog}: ${line}\n`);
    },
    (e: Error) => {
      process.stderr.write(`${prog}: cannot listen: ${e.message}\n`);
      process.exitCode = 1;
      void context.destroy();
    },
  );
  const stop = (sig: string) => {
    log.notice('%s: shutting down', sig);
    void context.destroy().then(() => {
      process.stdout.write(`${prog}: exited cleanly\n`);
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
