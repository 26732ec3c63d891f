/**
 * Helpers for the lwsws tests: config directories in temporary space, free
 * ports, and `lwsws` started as a child process. Every wait is bounded.
 */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnBin, waitFor, killChild, type Child } from './plugin-ws-client.js';

export { killChild, waitFor, type Child };

/** A fresh config dir: `files` maps `conf` / `conf.d/NAME` to their text. */
export function confDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-lwsws-'));
  writeConf(dir, files);
  return dir;
}

/** (Re)write files of a config dir. */
export function writeConf(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export { freePort } from './lws-c-apps.js';

/** Start lwsws and wait until it serves; rejects with its stderr if it exits first. */
export async function startLwsws(args: string[], timeoutMs = 8000): Promise<Child> {
  const child = spawnBin('lwsws', args);
  try {
    await waitFor(() => child.stdout().includes('lwsws: serving') || child.proc.exitCode !== null,
      'lwsws to start', timeoutMs);
  } catch (e) {
    killChild(child);
    throw e;
  }
  if (child.proc.exitCode !== null) throw new Error(`lwsws exited ${child.proc.exitCode}: ${child.stderr()}`);
  return child;
}

/** Run lwsws expecting it to refuse to start; resolves with its exit code and stderr. */
export async function failLwsws(args: string[], timeoutMs = 8000): Promise<{ code: number | null; stderr: string }> {
  const child = spawnBin('lwsws', args);
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => {
      killChild(child);
      rej(new Error(`lwsws did not exit within ${timeoutMs} ms; stdout: ${child.stdout()}`));
    }, timeoutMs);
  });
  const r = await Promise.race([child.exited, timeout]).finally(() => clearTimeout(t));
  return { code: r.code, stderr: child.stderr() };
}

/** Stop lwsws with SIGTERM, bounded; SIGKILL if it lingers. */
export async function stopLwsws(child: Child, timeoutMs = 8000): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  if (child.proc.exitCode !== null) return { code: child.proc.exitCode, ms: 0 };
  child.proc.kill('SIGTERM');
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    child.exited,
    new Promise<{ code: null }>((res) => (t = setTimeout(() => {
      killChild(child);
      res({ code: null });
    }, timeoutMs))),
  ]).finally(() => clearTimeout(t));
  return { code: r.code, ms: Date.now() - t0 };
}

/** `{"vhosts": [...]}` with one vhost object, as JSON text. */
export function vhostFile(...vhosts: object[]): string {
  return JSON.stringify({ vhosts }, null, 2);
}

/** A plain HTTP/1.1 GET with `Connection: close`; resolves with status, headers and body. */
export async function httpGet(port: number, path = '/', headers: Record<string, string> = {}, timeoutMs = 3000,
  socketPath?: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = socketPath ? connect(socketPath) : connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`httpGet ${path}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => {
      const h = { host: 'localhost', connection: 'close', ...headers };
      s.write(`GET ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(t);
      const text = Buffer.concat(chunks).toString('latin1');
      const i = text.indexOf('\r\n\r\n');
      if (i < 0) return reject(new Error(`httpGet ${path}: no header block in ${JSON.stringify(text.slice(0, 200))}`));
      const lines = text.slice(0, i).split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const hs: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        hs[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      resolve({ status, headers: hs, body: text.slice(i + 4) });
    });
  });
}
