import type { Context } from '../core/context.js';
import { log } from '../core/log.js';

/**
 * What every server bin does once its context exists: say where it serves
 * once listening (or exit 1 if it cannot), and shut down cleanly on SIGINT
 * or SIGTERM so every connection's close callbacks run. `scheme` is the
 * clear-text one (`http`, `ws`); a TLS vhost shows its secure form, a UNIX
 * socket its path. `onReady` learns how startup went (a daemon reports it).
 *
 * ```ts
 * serveUntilSignalled(context, 'lws-test-echo', iface, (url) => `echoing on ${url}`, 'ws');
 * ```
 */
export function serveUntilSignalled(context: Context, prog: string, iface: string | undefined,
  what: (url: string) => string, scheme = 'http', onReady?: (ok: boolean, message: string) => void): void {
  const host = iface ?? 'localhost';
  const shown = host.includes(':') ? `[${host}]` : host;
  context.listening.then(
    () => {
      const vh = context.vhosts[0];
      const at = vh.listenAt;
      const url = 'path' in at ? `unix:${at.path}` : `${vh.tls ? scheme + 's' : scheme}://${shown}:${vh.port}/`;
      const line = what(url);
      log.notice('%s (Ctrl-C to stop)', line);
      process.stdout.write(`${prog}: ${line} (Ctrl-C to stop)\n`);
      onReady?.(true, line);
    },
    (e: Error) => {
      process.stderr.write(`${prog}: cannot listen: ${e.message}\n`);
      onReady?.(false, `cannot listen: ${e.message}`);
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
