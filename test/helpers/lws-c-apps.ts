/**
 * Helpers for running the Debian C libwebsockets test apps next to ours:
 * find the binaries (failing loudly, naming the package, when they are
 * missing), pick free ports, wait for a port to accept, and run a child
 * with gathered output. Every wait is bounded.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createServer, connect } from 'node:net';
import { spawnExe } from './plugin-ws-client.js';

export const C_APPS_PACKAGE = 'libwebsockets-test-server';

/** The absolute path of a C test app; throws naming the Debian package if absent. */
export function cApp(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found on PATH: install the Debian package ${C_APPS_PACKAGE} ` +
    `(apt-get install -y ${C_APPS_PACKAGE}); these interop tests need it and do not skip`);
}

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolve once 127.0.0.1:port accepts a TCP connection; reject after `timeoutMs`. */
export async function waitForListen(port: number, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { spawnExe };
