/**
 * A real redis-server (Debian's /usr/bin/redis-server) for the tests: on a
 * free loopback port, no persistence unless asked, stopped by its pid.
 * A missing server fails the test with a clear message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './lws-c-apps.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
  port: number;
  url: string;
  proc: ChildProcess;
  /** Data directory (for `appendonly`). */
  dir: string;
  persistent: boolean;
}

/** Fail at once, saying what to install, when the server is not there. */
export function requireRedisServer(): void {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: install Debian's redis-server (apt-get install redis-server) to run the Redis bus tests`);
}

/** One command over a raw connection (inline protocol); the first reply line. */
export function redisCommand(port: number, line: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`redis ${port}: no answer to ${line} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(line + '\r\n'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (/\r\n$/.test(got) && !/^\*/.test(got)) {
        clearTimeout(t);
        s.destroy();
        resolve(got.trimEnd());
      } else if (/^\*/.test(got)) {
        // An array: wait a little for the rest of it.
        setTimeout(() => {
          clearTimeout(t);
          s.destroy();
          resolve(got);
        }, 50);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function waitUp(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await redisCommand(port, 'PING', 500)) === '+PONG') return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function spawnServer(port: number, dir: string, persistent: boolean): ChildProcess {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  args.push('--appendonly', persistent ? 'yes' : 'no');
  if (persistent) args.push('--appendfsync', 'always');
  return spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Start a server on a free port; `persistent` keeps its data across `restart` (append-only file). */
export async function startRedis(o: { persistent?: boolean; port?: number } = {}): Promise<RedisServer> {
  requireRedisServer();
  const port = o.port ?? await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tslws-redis-'));
  const persistent = o.persistent ?? false;
  const proc = spawnServer(port, dir, persistent);
  await waitUp(port, 5000);
  return { port, url: `redis://127.0.0.1:${port}`, proc, dir, persistent };
}

/** Kill the server (SIGKILL: as a crash) and wait until it is gone. */
export async function killRedis(r: RedisServer): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return;
  const gone = new Promise<void>((res) => r.proc.once('exit', () => res()));
  r.proc.kill('SIGKILL');
  await Promise.race([gone, new Promise((res) => setTimeout(res, 5000))]);
}

/** Start it again on the same port and directory (same data when persistent). */
export async function restartRedis(r: RedisServer): Promise<void> {
  await killRedis(r);
  r.proc = spawnServer(r.port, r.dir, r.persistent);
  await waitUp(r.port, 5000);
}

/** Stop it and remove its directory. */
export async function stopRedis(r: RedisServer): Promise<void> {
  await killRedis(r);
  rmSync(r.dir, { recursive: true, force: true });
}
