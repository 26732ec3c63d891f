/**
 * WebSocket test plumbing shared by the ws-*.test.ts files: a raw client
 * that writes literal frames (as Autobahn's fuzzer does) and reads the
 * server's frames, and an echo protocol written the way a user would.
 * Every wait here is bounded.
 */
import { connect } from 'node:net';
import { connect as h2connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Reason, Write, type Protocol, type Wsi, type CallbackInput } from '../../src/index.js';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** The RFC 6455 1.3 sample key and its accept value. */
export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export interface FrameOpts {
  fin?: boolean;
  /** RSV bits as 0..7 (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  rsv?: number;
  /** false sends the frame unmasked (a protocol error from a client). */
  mask?: boolean;
}

/** Encode one frame as a client would (masked unless told otherwise). */
export function encodeFrame(opcode: number, payload: Uint8Array | string, o: FrameOpts = {}): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const fin = o.fin ?? true;
  const mask = o.mask ?? true;
  const len = p.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const hl = 2 + ext + (mask ? 4 : 0);
  const out = Buffer.alloc(hl + len);
  out[0] = (fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode;
  out[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  else if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  if (mask) {
    const key = randomBytes(4);
    key.copy(out, hl - 4);
    for (let i = 0; i < len; i++) out[hl + i] = p[i] ^ key[i & 3];
  } else {
    p.copy(out, hl);
  }
  return out;
}

/** A Close frame payload: 2-byte code then reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

export interface HandshakeOpts {
  path?: string;
  key?: string;
  protocol?: string;
  /** Extra header lines, each without CRLF. */
  headers?: string[];
  /** Bytes sent in the same write as the request. */
  extra?: Buffer;
}

export function handshakeRequest(o: HandshakeOpts = {}): Buffer {
  const lines = [
    `GET ${o.path ?? '/'} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${o.key ?? randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
  ];
  if (o.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${o.protocol}`);
  lines.push(...(o.headers ?? []));
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return o.extra ? Buffer.concat([head, o.extra]) : head;
}

/** What a close frame said. */
export interface CloseInfo {
  /** The status code, or 1005 when the Close had no payload. */
  code: number;
  reason: string;
  payload: Buffer;
}

export function parseClose(f: Frame): CloseInfo {
  const p = f.payload;
  return {
    code: p.length >= 2 ? p.readUInt16BE(0) : 1005,
    reason: p.length > 2 ? p.subarray(2).toString() : '',
    payload: p,
  };
}

/** How long an HTTP/2 client waits for the server's SETTINGS. */
const H2_SETTINGS_MS = 3000;

/** Open an HTTP/2 connection and wait until the server's SETTINGS say whether it takes extended CONNECT. */
export async function h2Session(port: number, timeoutMs = H2_SETTINGS_MS): Promise<ClientHttp2Session> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no SETTINGS from the server in ${timeoutMs} ms`)), timeoutMs);
    session.once('remoteSettings', () => {
      clearTimeout(t);
      resolve();
    });
    session.once('close', () => {
      clearTimeout(t);
      reject(new Error('the HTTP/2 connection closed before the server\'s SETTINGS'));
    });
  });
  return session;
}

/** An RFC 8441 extended CONNECT's header fields, from the same options an HTTP/1.1 handshake takes. */
export function h2ConnectHeaders(port: number, o: HandshakeOpts = {}): Record<string, string> {
  const h: Record<string, string> = {
    ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': o.path ?? '/', ':authority': `127.0.0.1:${port}`,
    'sec-websocket-version': '13',
  };
  if (o.protocol !== undefined) h['sec-websocket-protocol'] = o.protocol;
  for (const line of o.headers ?? []) {
    const c = line.indexOf(':');
    h[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return h;
}

/**
 * A WebSocket client on a raw socket, or on an HTTP/2 stream (RFC 8441).
 * It sends exactly the bytes the test asks for and records every frame
 * the server sends.
 */
export class RawWs {
  readonly frames: Frame[] = [];
  status = 0;
  head = '';
  /** The server sent FIN (or the socket closed). */
  ended = false;
  #cursor = 0;
  #chunks: Buffer[] = [];
  #have = 0;
  #wake: Array<() => void> = [];
  #headDone = false;
  /** A frame the client could not parse (the server sent garbage). */
  parseError: string | null = null;

  /** On HTTP/2: the connection, closed with the client when the client opened it. */
  session: ClientHttp2Session | null = null;
  #ownSession = false;
  /** On HTTP/2: the response's header fields. */
  h2Headers: IncomingHttpHeaders = {};

  private constructor(readonly socket: Duplex, headDone = false) {
    this.#headDone = headDone;
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('end', () => this.#end());
    socket.on('close', () => this.#end());
    socket.on('error', () => this.#end());
  }

  /** Connect and upgrade; rejects unless the answer is a 101 (or `expect101` is false). */
  static async open(port: number, o: HandshakeOpts & { expect101?: boolean; timeoutMs?: number } = {}): Promise<RawWs> {
    const s = connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    const c = new RawWs(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    s.write(handshakeRequest(o));
    await c.#waitUntil(() => c.#headDone || c.ended, o.timeoutMs ?? 3000, 'the handshake answer');
    if ((o.expect101 ?? true) && c.status !== 101) {
      s.destroy();
      throw new Error(`expected 101, got ${c.status}: ${c.head}`);
    }
    return c;
  }

  /**
   * Open a WebSocket on an HTTP/2 stream (an extended CONNECT), on
   * `session` or on a connection of its own; rejects unless the answer is
   * a 200 (or `expect200` is false: `status` then says what came).
   */
  static async openH2(port: number, o: HandshakeOpts & { expect200?: boolean; timeoutMs?: number; session?: ClientHttp2Session } = {}): Promise<RawWs> {
    const session = o.session ?? await h2Session(port, o.timeoutMs);
    if (!session.remoteSettings.enableConnectProtocol) {
      if (!o.session) session.destroy();
      throw new Error('the server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL');
    }
    const stream: ClientHttp2Stream = session.request(h2ConnectHeaders(port, o), { endStream: false });
    const c = new RawWs(stream, true);
    c.session = session;
    c.#ownSession = !o.session;
    stream.on('response', (h) => {
      c.h2Headers = h;
      c.status = Number(h[':status'] ?? 0);
      c.#notify();
    });
    await c.#waitUntil(() => c.status !== 0 || c.ended, o.timeoutMs ?? 3000, 'the extended CONNECT\'s answer');
    if ((o.expect200 ?? true) && c.status !== 200) {
      c.destroy();
      throw new Error(`expected 200, got ${c.status || 'no response'} (rst code ${stream.rstCode ?? '-'})`);
    }
    if (o.extra) stream.write(o.extra);
    return c;
  }

  #end(): void {
    this.ended = true;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = [];
    for (const f of w) f();
  }

  #onData(d: Buffer): void {
    this.#chunks.push(d);
    this.#have += d.length;
    if (!this.#headDone) {
      const all = Buffer.concat(this.#chunks);
      const e = all.indexOf('\r\n\r\n');
      if (e < 0) return;
      this.head = all.toString('latin1', 0, e + 4);
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1] ?? 0);
      this.#headDone = true;
      const rest = all.subarray(e + 4);
      this.#chunks = rest.length ? [rest] : [];
      this.#have = rest.length;
    }
    this.#parse();
    this.#notify();
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0].length >= n) return this.#chunks[0];
    const b = Buffer.concat(this.#chunks);
    this.#chunks = [b];
    return b;
  }

  #take(n: number): Buffer {
    const b = this.#peek(n);
    const out = b.subarray(0, n);
    const rest = b.subarray(n);
    this.#chunks[0] = rest;
    if (!rest.length) this.#chunks.shift();
    this.#have -= n;
    return out;
  }

  #parse(): void {
    while (this.#have >= 2) {
      const h = this.#peek(Math.min(this.#have, 14));
      const b1 = h[1];
      const l7 = b1 & 0x7f;
      const masked = (b1 & 0x80) !== 0;
      let hl = 2;
      let len = l7;
      if (l7 === 126) {
        if (this.#have < 4) return;
        len = h.readUInt16BE(2);
        hl = 4;
      } else if (l7 === 127) {
        if (this.#have < 10) return;
        len = Number(h.readBigUInt64BE(2));
        hl = 10;
      }
      if (masked) hl += 4;
      if (this.#have < hl + len) return;
      const f = this.#take(hl + len);
      let payload = Buffer.from(f.subarray(hl));
      if (masked) {
        this.parseError = 'the server sent a masked frame';
        const key = f.subarray(hl - 4, hl);
        payload = Buffer.from(payload.map((x, i) => x ^ key[i & 3]));
      }
      this.frames.push({ fin: (f[0] & 0x80) !== 0, rsv: (f[0] >> 4) & 7, opcode: f[0] & 0x0f, masked, payload });
    }
  }

  #waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (cond()) {
          clearTimeout(t);
          resolve();
          return true;
        }
        return false;
      };
      const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const loop = () => {
        if (!check()) this.#wake.push(loop);
      };
      loop();
    });
  }

  /** Write raw bytes; returns what socket.write returned. */
  sendRaw(b: Buffer): boolean {
    return this.socket.write(b);
  }

  send(opcode: number, payload: Uint8Array | string, o: FrameOpts = {}): boolean {
    return this.socket.write(encodeFrame(opcode, payload, o));
  }

  /** Write `b` one byte per write, with a pause so each travels alone. */
  async sendBytewise(b: Buffer, gapMs = 1): Promise<void> {
    for (let i = 0; i < b.length; i++) {
      this.socket.write(b.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  /** The next frame not yet returned by next()/message()/close(). */
  async next(timeoutMs = 3000): Promise<Frame> {
    await this.#waitUntil(() => this.frames.length > this.#cursor || this.ended, timeoutMs, 'a frame');
    if (this.frames.length > this.#cursor) return this.frames[this.#cursor++];
    throw new Error('the connection ended with no further frame');
  }

  /**
   * The next whole data message (continuation frames joined). Pings and
   * pongs on the way are skipped (they stay in `frames`); a Close throws.
   */
  async message(timeoutMs = 3000): Promise<{ opcode: number; data: Buffer; frames: number }> {
    const parts: Buffer[] = [];
    let opcode = -1;
    let n = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()));
      if (f.opcode === OP.PING || f.opcode === OP.PONG) continue;
      if (f.opcode === OP.CLOSE) {
        const c = parseClose(f);
        throw new Error(`expected a message, got Close ${c.code} "${c.reason}"`);
      }
      if (opcode < 0) {
        if (f.opcode === OP.CONT) throw new Error('a message started with a continuation frame');
        opcode = f.opcode;
      } else if (f.opcode !== OP.CONT) {
        throw new Error(`a new message (opcode ${f.opcode}) started inside a fragmented one`);
      }
      n++;
      parts.push(f.payload);
      if (f.fin) return { opcode, data: Buffer.concat(parts), frames: n };
    }
  }

  /** The next Close frame (skipping anything else). */
  async close(timeoutMs = 3000): Promise<CloseInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()));
      if (f.opcode === OP.CLOSE) return parseClose(f);
    }
  }

  /** Resolves true once the server has closed TCP, false after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    try {
      await this.#waitUntil(() => this.ended, timeoutMs, 'TCP close');
      return true;
    } catch {
      return false;
    }
  }

  /** Frames received so far, from the start. */
  get all(): readonly Frame[] {
    return this.frames;
  }

  destroy(): void {
    this.socket.destroy();
    if (this.#ownSession) this.session?.destroy();
  }
}

/** How a raw client reaches the server: an HTTP/1.1 upgrade, or an extended CONNECT on HTTP/2. */
export interface WsWire {
  readonly name: string;
  open(port: number, o?: HandshakeOpts & { timeoutMs?: number }): Promise<RawWs>;
}

export const H1_WIRE: WsWire = { name: 'HTTP/1.1', open: (port, o) => RawWs.open(port, o) };
export const H2_WIRE: WsWire = { name: 'HTTP/2', open: (port, o) => RawWs.openH2(port, o) };

/** Open a raw client, send `frames`, and return the Close the server sent. */
export async function expectClose(port: number, frames: Buffer | Buffer[], code: number, what: string, wire: WsWire = H1_WIRE): Promise<void> {
  const c = await wire.open(port);
  try {
    for (const f of Array.isArray(frames) ? frames : [frames]) c.sendRaw(f);
    let info: CloseInfo;
    try {
      info = await c.close(3000);
    } catch (e) {
      throw new Error(`${what}: no Close frame from the server (${(e as Error).message})`);
    }
    if (info.code !== code) throw new Error(`${what}: expected Close ${code}, got ${info.code} "${info.reason}"`);
    if (!(await c.closedWithin(3000))) throw new Error(`${what}: the server sent Close ${code} but kept TCP open`);
  } finally {
    c.destroy();
  }
}

export interface EchoMessage {
  binary: boolean;
  data: Buffer;
}

export interface EchoLog {
  /** Every reason seen, by name, in order, for every connection. */
  reasons: string[];
  /** Whole messages gathered with the seed's fragment-gathering pattern. */
  messages: EchoMessage[];
  /** Size of every RECEIVE piece. */
  pieces: number[];
  /** Payloads of WS_PEER_INITIATED_CLOSE. */
  peerCloses: Buffer[];
  /** Payloads of RECEIVE_PONG. */
  pongs: Buffer[];
  closed: number;
  established: Wsi[];
}

interface EchoSession {
  queue: Array<{ buf: Buffer; flags: number }>;
  frags: Buffer[];
  hasFragments: boolean;
}

export type EchoHook = (wsi: Wsi, reason: Reason, input: CallbackInput, log: EchoLog) => number | void;

/**
 * An echo protocol as a user writes it. "message" mode gathers each message
 * as the seed's "Fragmented messages" section shows and sends it back whole
 * from SERVER_WRITEABLE with the same type; "pieces" mode sends every
 * RECEIVE piece back at once, keeping fragmentation with
 * Write.CONTINUATION / Write.NO_FIN, as lws's test-echo does.
 */
export function echoProtocol(o: { name?: string; mode?: 'message' | 'pieces'; rxBufferSize?: number; hook?: EchoHook } = {}): { proto: Protocol<EchoSession>; log: EchoLog } {
  const log: EchoLog = { reasons: [], messages: [], pieces: [], peerCloses: [], pongs: [], closed: 0, established: [] };
  const mode = o.mode ?? 'message';
  const proto: Protocol<EchoSession> = {
    name: o.name ?? 'echo',
    rxBufferSize: o.rxBufferSize,
    createSessionData: () => ({ queue: [], frags: [], hasFragments: false }),
    callback(wsi, reason, pss, input) {
      log.reasons.push(Reason[reason] ?? String(reason));
      if (o.hook) {
        const r = o.hook(wsi, reason, input, log);
        if (typeof r === 'number') return r;
      }
      switch (reason) {
        case Reason.ESTABLISHED:
          log.established.push(wsi);
          return 0;
        case Reason.RECEIVE: {
          const piece = Buffer.from(input);
          log.pieces.push(piece.length);
          if (mode === 'pieces') {
            let flags = wsi.isFirstFragment() ? (wsi.frameIsBinary() ? Write.BINARY : Write.TEXT) : Write.CONTINUATION;
            if (!wsi.isFinalFragment()) flags |= Write.NO_FIN;
            pss.queue.push({ buf: piece, flags });
            wsi.callbackOnWritable();
            return 0;
          }
          // The seed's example, as written.
          const remaining = wsi.remainingPacketPayload();
          if (!remaining && wsi.isFinalFragment()) {
            let msg = piece;
            if (pss.hasFragments) {
              pss.frags.push(piece);
              msg = Buffer.concat(pss.frags);
            }
            const binary = wsi.frameIsBinary();
            log.messages.push({ binary, data: msg });
            pss.queue.push({ buf: msg, flags: binary ? Write.BINARY : Write.TEXT });
            pss.frags = [];
            pss.hasFragments = false;
            wsi.callbackOnWritable();
          } else {
            pss.frags.push(piece);
            pss.hasFragments = true;
          }
          return 0;
        }
        case Reason.SERVER_WRITEABLE:
          while (pss.queue.length && !wsi.sendPipeChoked()) {
            const m = pss.queue.shift() as { buf: Buffer; flags: number };
            if (wsi.write(m.buf, m.flags) < 0) return -1;
          }
          if (pss.queue.length) wsi.callbackOnWritable();
          return 0;
        case Reason.WS_PEER_INITIATED_CLOSE:
          log.peerCloses.push(Buffer.from(input));
          return 0;
        case Reason.RECEIVE_PONG:
          log.pongs.push(Buffer.from(input));
          return 0;
        case Reason.CLOSED:
          log.closed++;
          return 0;
      }
      return 0;
    },
  };
  return { proto, log };
}

/** Poll `cond` every 10 ms until true or `timeoutMs`; returns the last value. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
