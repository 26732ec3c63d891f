/**
 * Shared test plumbing: start a context on a free port, talk raw TCP to it,
 * and parse what comes back. Every wait here is bounded.
 */
import { connect, type Socket } from 'node:net';
import { createContext, type Context, type ContextCreationInfo } from '../../src/index.js';

export interface Started {
  ctx: Context;
  port: number;
  url: string;
}

/** A context listening on 127.0.0.1 on a free port. */
export async function start(info: ContextCreationInfo = {}): Promise<Started> {
  const ctx = createContext({ port: 0, iface: '127.0.0.1', ...info });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  return { ctx, port, url: `http://127.0.0.1:${port}` };
}

export interface RawResult {
  /** Everything the server sent, as latin1. */
  text: string;
  data: Buffer;
  /** True if the server closed the connection before the timeout. */
  closed: boolean;
}

/**
 * Send `chunks` (each written separately, `gapMs` apart) and collect what
 * comes back until the server closes, `until(text)` is true, or `timeoutMs`.
 */
export function raw(port: number, chunks: Array<string | Buffer> | string | Buffer, opts: {
  timeoutMs?: number; gapMs?: number; until?: (text: string) => boolean; end?: boolean;
} = {}): Promise<RawResult> {
  const list = Array.isArray(chunks) ? chunks : [chunks];
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    const got: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const data = Buffer.concat(got);
      s.destroy();
      resolve({ data, text: data.toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    s.on('data', (d) => {
      got.push(d);
      if (opts.until && opts.until(Buffer.concat(got).toString('latin1'))) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') finish(true);
      else if (!done) { done = true; clearTimeout(timer); reject(e); }
    });
    s.on('connect', async () => {
      for (let i = 0; i < list.length; i++) {
        if (i && opts.gapMs) await sleep(opts.gapMs);
        if (s.destroyed) return;
        s.write(list[i]);
      }
      if (opts.end) s.end();
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ParsedResponse {
  status: number;
  version: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Split a byte stream into HTTP/1.1 responses (content-length, chunked, or
 * to the end). `headOnly` marks responses to HEAD requests, in order.
 */
export function parseResponses(data: Buffer, headOnly: boolean[] = []): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let p = 0;
  while (p < data.length) {
    const he = data.indexOf('\r\n\r\n', p);
    if (he < 0) break;
    const lines = data.toString('latin1', p, he).split('\r\n');
    const m = /^(HTTP\/1\.[01]) (\d{3})/.exec(lines[0]);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const k = l.slice(0, c).toLowerCase();
      headers[k] = headers[k] !== undefined ? headers[k] + ', ' + l.slice(c + 1).trim() : l.slice(c + 1).trim();
    }
    const status = Number(m[2]);
    p = he + 4;
    let body: Buffer = Buffer.alloc(0);
    const noBody = headOnly[out.length] || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) {
      /* nothing */
    } else if (headers['transfer-encoding']?.includes('chunked')) {
      const parts: Buffer[] = [];
      while (true) {
        const le = data.indexOf('\r\n', p);
        if (le < 0) throw new Error('truncated chunked body');
        const size = parseInt(data.toString('latin1', p, le), 16);
        p = le + 2;
        if (size === 0) {
          const te = data.indexOf('\r\n\r\n', p - 2);
          p = te + 4;
          break;
        }
        parts.push(data.subarray(p, p + size));
        p += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = data.subarray(p, p + n);
      p += n;
    } else {
      body = data.subarray(p);
      p = data.length;
    }
    out.push({ status, version: m[1], headers, body });
  }
  return out;
}

/** Open a socket and resolve once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * The responses in `data` if every one is complete (whole head, whole body
 * by content-length), else null: `parseResponses` alone stops quietly at an
 * unfinished response.
 */
export function completeResponses(data: Buffer, headOnly: boolean[] = []): ParsedResponse[] | null {
  try {
    const res = parseResponses(data, headOnly);
    for (const [i, r] of res.entries()) {
      const cl = r.headers['content-length'];
      if (!headOnly[i] && cl !== undefined && r.body.length !== Number(cl)) return null;
    }
    const last = data.lastIndexOf('HTTP/1.');
    if (res.length === 0 || (last >= 0 && data.indexOf('\r\n\r\n', last) < 0)) return null;
    return res;
  } catch {
    return null;
  }
}

/**
 * A raw connection kept open across requests: what the server sent so far,
 * whether (and when) it closed, `until(pred)` with a bounded wait, and
 * `ask(req)` for one request and its complete answer.
 */
export async function livePeer(port: number) {
  const s = await openSocket(port);
  let data = Buffer.alloc(0);
  let closed = false;
  let closedAt = 0;
  let lastDataAt = 0;
  const wake = new Set<() => void>();
  s.on('data', (d: Buffer) => {
    data = Buffer.concat([data, d]);
    lastDataAt = Date.now();
    for (const w of wake) w();
  });
  s.on('close', () => {
    closed = true;
    closedAt = Date.now();
    for (const w of wake) w();
  });
  s.on('error', () => {});
  const self = {
    s,
    get text() { return data.toString('latin1'); },
    get data() { return data; },
    get closed() { return closed; },
    get closedAt() { return closedAt; },
    get lastDataAt() { return lastDataAt; },
    until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred()) {
            wake.delete(check);
            clearTimeout(t);
            resolve();
          }
        };
        const t = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(data.toString('latin1').slice(-300))}`));
        }, ms);
        wake.add(check);
        check();
      });
    },
    /** Send a request and wait for its complete answer. */
    async ask(req: string, head = false): Promise<ParsedResponse> {
      const from = data.length;
      s.write(req);
      await self.until(() => (completeResponses(data.subarray(from), [head])?.length ?? 0) >= 1, `answer to ${JSON.stringify(req.slice(0, 40))}`);
      return parseResponses(data.subarray(from), [head])[0];
    },
  };
  return self;
}
