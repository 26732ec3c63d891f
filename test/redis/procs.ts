/** Child servers on a Redis bus and WebSocket clients of them, for the Redis bus tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { startRedis, stopRedis, type RedisServer } from '../helpers/redis.js';

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'bus-server.js');

export interface BusServer {
  proc: ChildProcess;
  port: number;
  node: string;
  output(): string;
}

export async function startBusServer(url: string, node: string, history = 0, extra: string[] = []): Promise<BusServer> {
  const proc = spawn(process.execPath, [SERVER, url, node, String(history), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 10_000;
  for (;;) {
    const m = /ready (\d+)/.exec(out);
    if (m) return { proc, port: Number(m[1]), node, output: () => out };
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`bus server ${node} did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function stopBusServer(s: BusServer): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => s.proc.once('exit', () => r()));
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(t);
}

export type Reply = Record<string, unknown>;

/** A client of a bus server: published messages in `messages`, JSON replies in `replies`. */
export class BusClient {
  readonly messages: string[] = [];
  readonly replies: Reply[] = [];
  #wake: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const s = d.toString();
      if (s.startsWith('{')) this.replies.push(JSON.parse(s) as Reply);
      else this.messages.push(s);
      for (const f of this.#wake.splice(0)) f();
    });
    ws.on('close', () => {
      for (const f of this.#wake.splice(0)) f();
    });
  }

  static async open(port: number): Promise<BusClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 't');
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return new BusClient(ws);
  }

  /** Wait until `cond` holds; false after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 100));
        this.#wake.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** Send a command and wait for the next reply that has `key`. */
  async ask(cmd: string, key: string, timeoutMs = 5000): Promise<Reply> {
    const before = this.replies.length;
    this.ws.send(cmd);
    const found = (): Reply | undefined => this.replies.slice(before).find((r) => key in r);
    if (!(await this.until(() => found() !== undefined, timeoutMs))) throw new Error(`no "${key}" reply to ${cmd} within ${timeoutMs} ms: ${JSON.stringify(this.replies.slice(before))}`);
    return found() as Reply;
  }

  gaps(): Reply[] {
    return this.replies.filter((r) => 'gap' in r);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** `PREFIX0 … PREFIX(n-1)`. */
export function seq(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`${prefix}${i}`);
  return out;
}

/** A redis-server and the bus servers and clients of one test, all stopped when it ends. */
export interface BusRig {
  redis: RedisServer;
  servers: BusServer[];
  clients: BusClient[];
}

export async function busRig(t: TestContext, o: { persistent?: boolean } = {}): Promise<BusRig> {
  const rig: BusRig = { redis: await startRedis(o), servers: [], clients: [] };
  t.after(async () => {
    for (const c of rig.clients) c.close();
    for (const s of rig.servers) await stopBusServer(s);
    await stopRedis(rig.redis);
  });
  return rig;
}
