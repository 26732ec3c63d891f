/**
 * HTTP/2 client test plumbing: run requests through clientConnect and
 * collect what a user sees, count the TCP connections a server accepts,
 * and a node:http2 server (TLS or clear) to test against. Every wait
 * here is bounded.
 */
import { createHash } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import { createSecureServer, createServer, type Http2Server, type Http2SecureServer, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { Reason, Write, type Context, type Wsi, type ClientConnectInfo } from '../../src/index.js';
import { after } from 'node:test';
import { makePki, type Issued, type Pki } from './pki.js';

export interface Outcome {
  wsi: Wsi;
  status: number;
  body: Buffer;
  /** CLIENT_CONNECTION_ERROR's reason, if any. */
  error: string | null;
  completed: boolean;
  closed: boolean;
  headers: Record<string, string | undefined>;
  /** `wsi.getPeerWriteAllowance()` at the first CLIENT_HTTP_WRITEABLE. */
  allowance: number | null;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface RequestOptions extends Omit<ClientConnectInfo, 'address' | 'port'> {
  /** Upload this as the request body (bodyLength is set from it), in pieces of `chunk`. */
  upload?: Buffer;
  chunk?: number;
  /** Read the body only when this says so (a stalled reader). */
  readWhen?: () => boolean;
  /** Header names to copy at ESTABLISHED_CLIENT_HTTP. */
  want?: string[];
  /** Headers to add at CLIENT_APPEND_HANDSHAKE_HEADER. */
  append?: Array<[string, string]>;
}

/**
 * One request through the context's first protocol, whose callback is
 * `hub` (see `requestHub`): resolves when the request is over.
 */
export function request(ctx: Context, port: number, o: RequestOptions, ms = 20000): Promise<Outcome> {
  const { upload, chunk, readWhen, want, append, ...info } = o;
  return new Promise((resolve, reject) => {
    const out: Outcome = { wsi: null as unknown as Wsi, status: 0, body: Buffer.alloc(0), error: null, completed: false, closed: false, headers: {}, allowance: null };
    const parts: Buffer[] = [];
    let sent = 0;
    const timer = setTimeout(() => reject(new Error(`request ${o.path ?? '/'} not over after ${ms} ms (status ${out.status}, ${parts.length} parts)`)), ms);
    const poll = setInterval(() => {
      if (readWhen && readWhen() && !out.wsi.closed && out.status) drain();
    }, 10);
    const drain = () => {
      const b = out.wsi.httpClientRead();
      if (b.length) parts.push(Buffer.from(b));
    };
    const finish = () => {
      clearTimeout(timer);
      clearInterval(poll);
      out.body = Buffer.concat(parts);
      resolve(out);
    };
    const handler = (wsi: Wsi, reason: Reason, input: unknown): number | void => {
      switch (reason) {
        case Reason.CLIENT_APPEND_HANDSHAKE_HEADER:
          for (const [k, v] of append ?? []) (input as { add(k: string, v: string): void }).add(k, v);
          return;
        case Reason.CLIENT_CONNECTION_ERROR:
          out.error = String(input);
          finish();
          return;
        case Reason.ESTABLISHED_CLIENT_HTTP:
          out.status = wsi.httpClientStatus();
          for (const h of want ?? []) out.headers[h] = wsi.hdrCopy(h);
          return;
        case Reason.RECEIVE_CLIENT_HTTP:
          if (!readWhen || readWhen()) drain();
          return;
        case Reason.COMPLETED_CLIENT_HTTP:
          out.completed = true;
          return;
        case Reason.CLOSED_CLIENT_HTTP:
          out.closed = true;
          finish();
          return;
        case Reason.CLIENT_HTTP_WRITEABLE: {
          if (!upload) return;
          out.allowance ??= wsi.getPeerWriteAllowance();
          const n = Math.min(chunk ?? 16384, upload.length - sent);
          const last = sent + n >= upload.length;
          wsi.write(upload.subarray(sent, sent + n), last ? Write.HTTP_FINAL : Write.HTTP);
          sent += n;
          if (!last) wsi.callbackOnWritable();
          return;
        }
      }
    };
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port, ...info, userdata: handler, bodyLength: upload ? upload.length : info.bodyLength });
    out.wsi = wsi;
  });
}

/** The protocol for `request`: each wsi's userdata is its handler. */
export const requestHub = {
  name: 'h2-test-client',
  callback(wsi: Wsi, reason: Reason, user: unknown, input: unknown): number {
    if (typeof user === 'function') return (user as (w: Wsi, r: Reason, i: unknown) => number | void)(wsi, reason, input) ?? 0;
    return 0;
  },
};

/** Count the TCP connections a server accepts. */
export function countConnections(server: Server | Http2Server | Http2SecureServer): { n: number } {
  const c = { n: 0 };
  server.on('connection', () => c.n++);
  return c;
}

export interface NodeH2 {
  server: Http2Server | Http2SecureServer;
  port: number;
  conns: { n: number };
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A node:http2 server on 127.0.0.1 (TLS with `cert`, else clear text), answering with `onStream`. */
export async function nodeH2(onStream: (s: ServerHttp2Stream, h: IncomingHttpHeaders) => void, opts: { cert?: Issued; settings?: Record<string, unknown>; allowHTTP1?: boolean } = {}): Promise<NodeH2> {
  const server = opts.cert
    // Room for a whole 16 MiB body queued at once (node's default is 10 MB).
    ? createSecureServer({ cert: opts.cert.cert, key: opts.cert.key, settings: opts.settings, allowHTTP1: opts.allowHTTP1 ?? false, maxSessionMemory: 256 })
    : createServer({ settings: opts.settings, maxSessionMemory: 256 });
  server.on('stream', (s, h) => {
    s.on('error', () => {});
    onStream(s, h);
  });
  server.on('sessionError', () => {});
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const conns = countConnections(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server, conns, sockets,
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** TLS settings a client needs to trust `pki`'s certificates. */
export function trust(pki: Pki): { ca: Buffer } {
  return { ca: pki.ca.cert };
}

/** A test file's CA and localhost certificate, and the contexts and servers it makes: destroyed, closed and removed after the file. */
export interface H2Fixtures {
  pki: Pki;
  leaf: Issued;
  /** Client TLS settings trusting `pki`. */
  ssl: { ca: Buffer };
  contexts: Context[];
  closers: Array<() => Promise<void>>;
}

/** Make a file's fixtures (call at the top of a test file). */
export function h2Fixtures(): H2Fixtures {
  const pki = makePki();
  const f: H2Fixtures = { pki, leaf: pki.issue('localhost'), ssl: trust(pki), contexts: [], closers: [] };
  after(async () => {
    await Promise.all(f.contexts.map((c) => c.destroy()));
    await Promise.all(f.closers.map((c) => c()));
    pki.cleanup();
  });
  return f;
}

// ---- a minimal WebSocket echo over any duplex (an h2 stream or a socket) ----

/** An unmasked server frame of any size. */
export function wsFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n])
    : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
      : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}

export interface WsEcho {
  /** Messages received (text as strings), and whether each frame was masked. */
  got: Array<string | Buffer>;
  masked: boolean[];
  /** The close code the client sent, if any. */
  closeCode: number | null;
}

/**
 * Echo WebSocket frames read from `d` (client frames, masked) back to it
 * unmasked; a Close is answered with the same code and ends `d`.
 */
export function wsEcho(d: NodeJS.ReadableStream & NodeJS.WritableStream & { end(): unknown }, state: WsEcho): void {
  let buf = Buffer.alloc(0);
  d.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      const mask = masked ? buf.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (buf.length < at + len) return;
      const p = Buffer.from(buf.subarray(at, at + len));
      if (mask) for (let i = 0; i < p.length; i++) p[i] ^= mask[i & 3];
      buf = buf.subarray(at + len);
      state.masked.push(masked);
      if (op === 0x8) {
        state.closeCode = p.length >= 2 ? p.readUInt16BE(0) : 1005;
        d.write(wsFrame(0x8, p.subarray(0, 2)));
        d.end();
        return;
      }
      if (op === 0x1 || op === 0x2) {
        state.got.push(op === 0x1 ? p.toString() : p);
        d.write(wsFrame(op, p));
      }
      if (op === 0x9) d.write(wsFrame(0xa, p));
    }
  });
}
