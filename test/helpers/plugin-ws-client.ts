/**
 * WebSocket test clients for the plugin tests: `ws` wrapped in bounded
 * promises, a raw-socket client that can stop reading and shows frames as
 * they were on the wire, and child-process helpers for the bins. Every wait
 * here has a timeout.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { distSrc } from './paths.js';

/** A received message: its text (latin1 for binary) and whether it was binary. */
export interface Msg {
  data: Buffer;
  binary: boolean;
}

/** A `ws` client that records every message from the moment it connects. */
export interface Client {
  ws: WebSocket;
  messages: Msg[];
  texts(): string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Open a `ws` client (`opts`: `ws`'s, e.g. `rejectUnauthorized`); rejects on error, refusal or after `timeoutMs`. */
export function openWs(url: string, protocol?: string | string[], timeoutMs = 3000, opts: WebSocket.ClientOptions = {}): Promise<Client> {
  return new Promise((resolveOpen, reject) => {
    const ws = new WebSocket(url, protocol ?? [], opts);
    const messages: Msg[] = [];
    let closeResolve: (v: { code: number; reason: string }) => void = () => {};
    const closed = new Promise<{ code: number; reason: string }>((r) => (closeResolve = r));
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      messages.push({ data: b, binary: isBinary });
    });
    ws.on('close', (code: number, reason: Buffer) => closeResolve({ code, reason: reason.toString() }));
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`openWs ${url}: no open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolveOpen({ ws, messages, closed, texts: () => messages.map((m) => m.data.toString()) });
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Resolve when `cond()` holds, polling; reject with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolve with a promise's value, or reject after `timeoutMs`. */
export function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** One frame as the server sent it. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket client on a bare socket: it can stop reading (`pause()`) so
 * the server sees a stalled peer, and it records frames exactly as sent.
 */
export class RawWsClient {
  readonly frames: Frame[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #upgraded = false;
  status = 0;
  ended = false;

  private constructor(readonly socket: Socket) {}

  /** Connect, send the upgrade, and (unless `paused`) wait for the 101. */
  static async connect(port: number, path: string, protocol: string | undefined, opts: { paused?: boolean; timeoutMs?: number } = {}): Promise<RawWsClient> {
    const socket = await new Promise<Socket>((res, rej) => {
      const s = connect({ port, host: '127.0.0.1' }, () => res(s));
      s.once('error', rej);
    });
    const c = new RawWsClient(socket);
    const key = randomBytes(16).toString('base64');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (protocol !== undefined ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + '\r\n');
    socket.on('data', (d: Buffer) => c.#rx(d));
    socket.on('end', () => (c.ended = true));
    socket.on('error', () => (c.ended = true));
    if (opts.paused) socket.pause();
    else await waitFor(() => c.#upgraded || c.ended, 'the 101 answer', opts.timeoutMs ?? 3000);
    return c;
  }

  /** Has the 101 arrived? */
  get upgraded(): boolean {
    return this.#upgraded;
  }

  /** Data frames' payloads (TEXT, BINARY, CONTINUATION), in order. */
  dataPayloads(): Buffer[] {
    return this.frames.filter((f) => f.opcode < 8).map((f) => f.payload);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Send one masked frame. */
  sendFrame(opcode: number, payload: Buffer | string, fin = true): void {
    const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const len = p.length;
    const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
    const h = Buffer.alloc(2 + ext + 4);
    h[0] = (fin ? 0x80 : 0) | opcode;
    if (ext === 0) h[1] = 0x80 | len;
    else if (ext === 2) {
      h[1] = 0x80 | 126;
      h.writeUInt16BE(len, 2);
    } else {
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    mask.copy(h, 2 + ext);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = p[i] ^ mask[i & 3];
    // In slices, so `socket.writableLength` shows how much the peer has not taken yet.
    this.socket.write(h);
    for (let off = 0; off < len; off += 65536) this.socket.write(body.subarray(off, off + 65536));
  }

  destroy(): void {
    this.socket.destroy();
  }

  #rx(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    if (!this.#upgraded) {
      const e = this.#buf.indexOf('\r\n\r\n');
      if (e < 0) return;
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.#buf.toString('latin1', 0, e))?.[1] ?? 0);
      this.#upgraded = this.status === 101;
      this.#buf = this.#buf.subarray(e + 4);
      if (!this.#upgraded) return;
    }
    let p = 0;
    const b = this.#buf;
    while (b.length - p >= 2) {
      const l7 = b[p + 1] & 0x7f;
      const hl = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
      if (b.length - p < hl) break;
      const len = l7 < 126 ? l7 : l7 === 126 ? b.readUInt16BE(p + 2) : Number(b.readBigUInt64BE(p + 2));
      if (b.length - p < hl + len) break;
      this.frames.push({ fin: (b[p] & 0x80) !== 0, opcode: b[p] & 0x0f, payload: Buffer.from(b.subarray(p + hl, p + hl + len)) });
      p += hl + len;
    }
    this.#buf = b.subarray(p);
  }
}

/** A bin of this package started with `node`, its output gathered. */
export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start an executable with `args`, gathering its output. */
export function spawnExe(path: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

let cacheHome: string | undefined;

/**
 * The XDG_CACHE_HOME of the bins this test process starts: a temporary
 * directory, removed when the process exits, so what they make at run time
 * (the test server's zip book and certificate) stays out of the user's cache.
 */
export function testCacheHome(): string {
  if (!cacheHome) {
    const dir = mkdtempSync(join(tmpdir(), 'tslws-test-cache-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    cacheHome = dir;
  }
  return cacheHome;
}

/** Start `dist/src/bin/<name>.js` with `args` (and `testCacheHome()` as its cache). */
export function spawnBin(name: string, args: string[]): Child {
  return spawnExe(process.execPath, [distSrc('bin', `${name}.js`), ...args], {
    env: { ...process.env, XDG_CACHE_HOME: testCacheHome() },
  });
}

/** Wait until the bin prints the URL it serves on, and return the port. */
export async function portOf(child: Child, timeoutMs = 5000): Promise<number> {
  let port = 0;
  await waitFor(() => {
    const m = /:(\d+)\/\s/.exec(child.stdout());
    if (m) port = Number(m[1]);
    return port > 0 || child.proc.exitCode !== null;
  }, 'the bin to report its port', timeoutMs);
  if (!port) throw new Error(`bin exited early: ${child.stderr()}`);
  return port;
}

/** Stop a child we started, if it is still running (test cleanup). */
export function killChild(child: Child): void {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
}
