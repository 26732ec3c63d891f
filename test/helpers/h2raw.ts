/**
 * A raw HTTP/2 client for tests that must send what no well-behaved client
 * would (floods, oversized frames, resets): frames are written as given,
 * frames received are parsed and kept, and every wait is bounded.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { HpackEncoder, HpackDecoder } from '../../src/roles/h2/hpack/index.js';
import {
  CLIENT_PREFACE, FrameType, Flag, frame, settingsFrame, windowUpdateFrame, rstStreamFrame, pingFrame, frameHeader,
} from '../../src/roles/h2/frames.js';

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export class RawH2 {
  readonly frames: Frame[] = [];
  readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder();
  closed = false;
  #buf = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        this.frames.push({ type: this.#buf[3], flags: this.#buf[4], stream: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.#buf.subarray(9, 9 + len)) });
        this.#buf = this.#buf.subarray(9 + len);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /** Connect, send the preface and `settings` (default none), and acknowledge the server's SETTINGS. */
  static async connect(port: number, opts: { tls?: boolean; settings?: Array<[number, number]>; noAck?: boolean } = {}): Promise<RawH2> {
    const s = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false })
      : netConnect({ host: '127.0.0.1', port });
    await once(s, opts.tls ? 'secureConnect' : 'connect');
    const c = new RawH2(s);
    s.write(Buffer.concat([CLIENT_PREFACE, settingsFrame(opts.settings ?? [])]));
    await c.waitFor((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), 'the server\'s SETTINGS');
    if (!opts.noAck) s.write(settingsFrame(null));
    return c;
  }

  send(b: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /** A request's HEADERS (GET by default). */
  request(stream: number, path = '/', opts: { method?: string; endStream?: boolean; extra?: Array<[string, string]> } = {}): void {
    const fields: Array<[string, string]> = [[':method', opts.method ?? 'GET'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ...(opts.extra ?? [])];
    const block = this.encoder.encode(fields);
    this.send(frame(FrameType.HEADERS, Flag.END_HEADERS | (opts.endStream === false ? 0 : Flag.END_STREAM), stream, block));
  }

  /** A HEADERS frame carrying exactly `fields`, in order (malformed requests included). */
  headers(stream: number, fields: Array<[string, string]>, endStream = false): void {
    this.send(frame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), stream, this.encoder.encode(fields)));
  }

  data(stream: number, payload: Uint8Array, end = false): void {
    this.send(frame(FrameType.DATA, end ? Flag.END_STREAM : 0, stream, payload));
  }

  settings(values: Array<[number, number]>): void {
    this.send(settingsFrame(values));
  }

  ping(): void {
    this.send(pingFrame(Buffer.alloc(8), false));
  }

  windowUpdate(stream: number, inc: number): void {
    this.send(windowUpdateFrame(stream, inc));
  }

  rst(stream: number, code: number): void {
    this.send(rstStreamFrame(stream, code));
  }

  priority(stream: number, dependsOn: number): void {
    const p = Buffer.alloc(5);
    p.writeUInt32BE(dependsOn, 0);
    p[4] = 15;
    this.send(frame(FrameType.PRIORITY, 0, stream, p));
  }

  /** A frame header announcing `len` bytes, without them (for size checks). */
  rawHeader(len: number, type: number, flags: number, stream: number): void {
    this.send(frameHeader(len, type, flags, stream));
  }

  /** The first frame (received so far or later) that `pred` accepts; rejects after `ms` or when the connection closes first. */
  async waitFor(pred: (f: Frame) => boolean, what: string, ms = 5000): Promise<Frame> {
    const end = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; frames: ${this.frames.map((x) => `${x.type}/${x.flags}/${x.stream}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The GOAWAY's error code, once it has come and the connection has closed. */
  async goaway(ms = 5000): Promise<number> {
    const g = await this.waitFor((f) => f.type === FrameType.GOAWAY, 'GOAWAY', ms);
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    if (!this.closed) throw new Error('GOAWAY came but the connection stayed open');
    return g.payload.readUInt32BE(4);
  }

  /** The RST_STREAM code of `stream`. */
  async reset(stream: number, ms = 5000): Promise<number> {
    const f = await this.waitFor((x) => x.type === FrameType.RST_STREAM && x.stream === stream, `RST_STREAM on stream ${stream}`, ms);
    return f.payload.readUInt32BE(0);
  }

  /** The response head of `stream` (decoded; heads must be read in order, as HPACK requires). */
  async head(stream: number, ms = 5000): Promise<Map<string, string>> {
    const f = await this.waitFor((x) => x.type === FrameType.HEADERS && x.stream === stream, `the response on stream ${stream}`, ms);
    const out = new Map<string, string>();
    for (const [n, v] of this.decoder.decode(f.payload).fields) out.set(n, v);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}
