/**
 * One WebSocket connection seen as whole messages, ws-like, built only on
 * the public callback API: RECEIVE pieces are gathered into messages,
 * `send()` queues and writes from WRITEABLE in bounded fragments, and rx
 * flow control pushes back on the peer when the application falls behind.
 */
import { EventEmitter } from 'node:events';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { LWS_PRE, Write } from '../core/write.js';
import { PendingTimeout } from '../core/timeouts.js';
import { ErrorCode, rangeError, stateError, typeError } from '../core/errors.js';
import { SendQueue, type OutMessage, SPARE_SIZE, SMALL_SPARE_SIZE, spares } from './send-queue.js';
import type { PublishOptions, PublishResult, SubscribeOptions, TopicDropReport, TopicGapReport, TopicPosition } from '../index.js';

/** What a full send buffer does: see `MessageOptions.onBufferFull`. */
export type BufferFullPolicy = 'close' | 'drop' | 'pause-reading';

/** Settings shared by `createWebSocketServer` and `connect`. */
export interface MessageOptions {
  /**
   * Largest message accepted, after decompression; a larger one closes the
   * connection with 1009. Default 16 MiB.
   */
  maxMessageSize?: number;
  /**
   * Bytes `send()` may queue before `onBufferFull` acts. Default 64 MiB
   * (four largest messages). A single message larger than this is still
   * queued when the buffer is empty, so one send of any size can go out.
   */
  maxBufferedAmount?: number;
  /**
   * When a `send()` finds `bufferedAmount` past `maxBufferedAmount`:
   * `'close'` (default) drops what is queued and closes with 1008, since a
   * peer that does not read would otherwise hold memory without bound;
   * `'drop'` discards that message (`send()` returns false);
   * `'pause-reading'` queues it and stops reading from this connection until
   * the buffer is half drained (right for echo-like protocols, where the
   * sends are caused by this peer's own messages).
   */
  onBufferFull?: BufferFullPolicy;
  /** Largest frame `send()` writes; bigger messages go out in fragments. Default 64 KiB. */
  fragmentSize?: number;
  /**
   * Messages waiting for an async iterator (`for await`) before reading
   * stops; reading resumes when half of them are taken. Default 16.
   */
  maxQueuedMessages?: number;
  /** Milliseconds `close()` waits for queued data and the peer's Close before cutting the connection. Default 5000. */
  closeTimeout?: number;
}

/** @internal Options with every default applied. */
export interface ResolvedMessageOptions {
  maxMessageSize: number;
  maxBufferedAmount: number;
  onBufferFull: BufferFullPolicy;
  fragmentSize: number;
  maxQueuedMessages: number;
  closeTimeout: number;
}

/** A received message, as async iteration yields it. */
export interface Message {
  data: Buffer | string;
  isBinary: boolean;
}

/** Events of a `MessageSocket`. */
export interface MessageSocketEvents {
  /** A whole message: a Buffer when binary, a string when text. */
  message: [data: Buffer | string, isBinary: boolean];
  /** A pong from the peer, with its payload. */
  pong: [data: Buffer];
  /** The connection is closed; code 1005 when the peer's Close had none, 1006 when it was cut. */
  close: [code: number, reason: string];
  /** A write the connection could not take; only emitted when someone listens. */
  error: [err: Error];
  /** Messages published to topics this socket subscribes to were dropped: its queue of them was at its bound. */
  drop: [report: TopicDropReport];
  /** Messages of a subscribed topic may be missing and cannot be given (a resume the history cannot serve whole, a bus that lost its link). */
  gap: [report: TopicGapReport];
}

/** `readyState` values, as in the browser's WebSocket. */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

const MiB = 1024 * 1024;

function positiveInt(where: string, name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isSafeInteger(v) || v < 1)
    throw rangeError(ErrorCode.INVALID_OPTION, `${where}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** @internal Check and complete the message options. */
export function resolveMessageOptions(where: string, o: MessageOptions): ResolvedMessageOptions {
  const policy = o.onBufferFull ?? 'close';
  if (policy !== 'close' && policy !== 'drop' && policy !== 'pause-reading')
    throw rangeError(ErrorCode.INVALID_OPTION, `${where}: onBufferFull must be 'close', 'drop' or 'pause-reading', got ${String(policy)}`);
  return {
    maxMessageSize: positiveInt(where, 'maxMessageSize', o.maxMessageSize, 16 * MiB),
    maxBufferedAmount: positiveInt(where, 'maxBufferedAmount', o.maxBufferedAmount, 64 * MiB),
    onBufferFull: policy,
    fragmentSize: positiveInt(where, 'fragmentSize', o.fragmentSize, 64 * 1024),
    maxQueuedMessages: positiveInt(where, 'maxQueuedMessages', o.maxQueuedMessages, 16),
    closeTimeout: positiveInt(where, 'closeTimeout', o.closeTimeout, 5000),
  };
}

/** @internal The library's own limits for a layer with these options: ours act first, so close codes are known. */
export function libraryWsLimits(o: ResolvedMessageOptions): { maxMessageSize: number; maxFrameSize: number } {
  const n = Math.max(o.maxMessageSize + 1, 64 * MiB);
  return { maxMessageSize: n, maxFrameSize: n };
}

/** Why reading is stopped: the user (`pause()`), the iterator, a full send buffer, a client socket not yet handed over. */
type PauseReason = 'user' | 'iterator' | 'buffer' | 'open';

/** A copy of `src` that is ours (every byte is written: nothing to zero first). */
function copyOf(src: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(src.length);
  b.set(src);
  return b;
}

/** Close codes an application may send (RFC 6455 7.4, as ws allows them). */
function sendableCode(code: number): boolean {
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/**
 * A WebSocket connection as whole messages, from `createWebSocketServer`'s
 * 'connection' event or from `connect()`.
 *
 * ```ts
 * socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
 * for await (const { data, isBinary } of socket) socket.send(data, { binary: isBinary });
 * ```
 */
export class MessageSocket extends EventEmitter<MessageSocketEvents> {
  /** @internal Its place in its server's `clients` (-1: in none). */
  listIdx = -1;
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;

  readonly #o: ResolvedMessageOptions;
  #wsi: Wsi | null = null;
  #state: ReadyState = ReadyState.CONNECTING;
  /** The subprotocol agreed, '' when none. */
  #protocol = '';

  // receiving: the message so far is #parts (full chunks), then #rxLen - (their
  // length) bytes in #acc, a chunk sized for what the frame has announced
  #parts: Buffer[] = [];
  #acc: Buffer | null = null;
  #accLen = 0;
  #rxLen = 0;
  #rxBinary = false;
  #pausedBy = new Set<PauseReason>();

  // sending
  #queue = new SendQueue();
  #queued = 0;
  #pings: Buffer[] = [];
  // Set by the first subscribe: from then on sends and publishes keep their order.
  #topics = false;

  // closing
  #closeOut: { code: number; reason: string } | null = null;
  #peerClose: { code: number; reason: string } | null = null;

  // async iteration
  #iterQueue: Message[] | null = null;
  #iterWaiter: ((r: IteratorResult<Message>) => void) | null = null;

  /**
   * A socket not connected to anything (readyState CONNECTING): the server
   * and `connect()` make the ones that carry connections.
   */
  constructor(options: MessageOptions = {}) {
    super();
    this.#o = resolveMessageOptions('MessageSocket', options);
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): ReadyState {
    return this.#state;
  }

  /** Bytes queued by `send()` and not yet handed to the connection. */
  get bufferedAmount(): number {
    return this.#queued;
  }

  /** The subprotocol agreed in the handshake, '' when none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The underlying connection, for what this layer does not cover (headers are gone after the handshake). */
  get wsi(): Wsi | null {
    return this.#wsi;
  }

  /**
   * Queue a message; it is written from WRITEABLE, in frames of at most
   * `fragmentSize`. A string is sent as text; a Buffer (or any Uint8Array)
   * as binary unless `{ binary: false }`. Returns false when the message was
   * not queued (the socket is closing, or `onBufferFull: 'drop'` dropped it),
   * true otherwise. Throws before the connection is open.
   *
   * ```ts
   * socket.send('hello');                   // text
   * socket.send(Buffer.from([1, 2, 3]));    // binary
   * ```
   */
  send(data: string | Uint8Array, opts: { binary?: boolean } = {}): boolean {
    const text = typeof data === 'string';
    if (!text && !(data instanceof Uint8Array)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'send: data must be a string or a Uint8Array');
    const binary = opts.binary ?? !text;
    if (this.#state === ReadyState.CONNECTING) throw stateError(ErrorCode.NOT_OPEN, 'send: the WebSocket is not open yet');
    if (this.#state !== ReadyState.OPEN || !this.#wsi) return false;
    const size = text ? Buffer.byteLength(data) : data.length;
    if (this.#queued > 0 && this.#queued + size > this.#o.maxBufferedAmount) {
      switch (this.#o.onBufferFull) {
        case 'drop':
          return false;
        case 'close':
          this.#queue.clear();
          this.#queued = 0;
          this.#startClose(1008, 'send buffer full');
          return false;
        case 'pause-reading':
          this.#pause('buffer');
          break;
      }
    }
    // Publishes made after this send wait for it (the connection writes
    // published messages itself, ahead of this layer's WRITEABLE).
    const mark = this.#topics ? this.#wsi.topicQueue().published : 0;
    // The caller may reuse its buffer once send() returns: queue a copy
    // (of text, its UTF-8 bytes).
    const kind = binary ? Write.BINARY : Write.TEXT;
    if (size <= SPARE_SIZE) {
      const spare = spares.take(size);
      if (text) spare.write(data, LWS_PRE, size, 'utf8');
      else spare.set(data, LWS_PRE);
      this.#queue.push(spare, true, size, kind, mark);
    } else this.#queue.push(text ? Buffer.from(data, 'utf8') : copyOf(data), false, size, kind, mark);
    if (this.#topics && this.#queue.length === 1) this.#wsi.holdPublishedAfter(mark);
    this.#queued += size;
    this.#wsi.callbackOnWritable();
    return true;
  }

  /**
   * Receive what is published to `topic` on this server's vhost
   * (`server.publish`, `socket.publish`). Published messages and this
   * socket's `send()`s arrive in the order they were made. Returns false
   * when already subscribed or closed. Server sockets only
   * (TSLWS_NOT_WEBSOCKET on a client's); a close unsubscribes.
   *
   * ```ts
   * server.on('connection', (socket) => socket.subscribe('news'));
   * server.publish('news', 'hello, all');
   * ```
   *
   * `{ since }` resumes from a position (`socket.topicPosition(topic)`,
   * kept by the client) on a topic with history; a 'gap' event tells what
   * cannot be given (see `wsi.subscribe`).
   */
  subscribe(topic: string, opts?: SubscribeOptions): boolean {
    const wsi = this.#wsi;
    if (this.#state === ReadyState.CONNECTING || !wsi) throw stateError(ErrorCode.NOT_OPEN, 'subscribe: the WebSocket is not open yet');
    if (!this.#topics) {
      const ok = wsi.subscribe(topic, opts);
      // Sends already queued keep publishes made from now on behind them.
      this.#topics = true;
      const head = this.#queue.first();
      if (head) wsi.holdPublishedAfter(head.mark);
      return ok;
    }
    return wsi.subscribe(topic, opts);
  }

  /**
   * The position in `topic`'s history of the last message of it queued
   * for this socket (null before one, or when the topic keeps no
   * history). A `send()` made after reading it arrives after every one of
   * them, so the client learns exactly where it stands.
   *
   * ```ts
   * socket.send(JSON.stringify({ pos: socket.topicPosition('chat') }));
   * ```
   */
  topicPosition(topic: string): TopicPosition | null {
    return this.#wsi?.topicPosition(topic) ?? null;
  }

  /**
   * Stop receiving `topic`; what was published before still arrives.
   * Returns false when not subscribed.
   *
   * ```ts
   * socket.unsubscribe('news');
   * ```
   */
  unsubscribe(topic: string): boolean {
    const wsi = this.#wsi;
    if (!wsi) throw stateError(ErrorCode.NOT_OPEN, 'unsubscribe: the WebSocket is not open yet');
    return wsi.unsubscribe(topic);
  }

  /**
   * The topics this socket subscribes to.
   *
   * ```ts
   * socket.topics(); // ['news']
   * ```
   */
  topics(): string[] {
    return this.#wsi?.topics() ?? [];
  }

  /**
   * Publish to `topic` on this socket's vhost, to every subscriber but
   * this socket. See `server.publish` for the result.
   *
   * ```ts
   * socket.on('message', (data, isBinary) => socket.publish('chat', data, { binary: isBinary }));
   * ```
   */
  publish(topic: string, data: string | Uint8Array, opts: Omit<PublishOptions, 'exceptWsi'> = {}): PublishResult {
    const wsi = this.#wsi;
    if (!wsi) throw stateError(ErrorCode.NOT_OPEN, 'publish: the WebSocket is not open yet');
    return wsi.publish(topic, data, opts);
  }

  /**
   * Send a ping (at most 125 bytes); the answer comes as a 'pong' event.
   * Pings go out between the fragments of a large message.
   *
   * ```ts
   * socket.on('pong', (data) => console.log('pong', data.toString()));
   * socket.ping('hi');
   * ```
   */
  ping(data: string | Uint8Array = Buffer.alloc(0)): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    if (buf.length > 125) throw rangeError(ErrorCode.INVALID_ARGUMENT, 'ping: the payload is at most 125 bytes');
    if (this.#state === ReadyState.CONNECTING) throw stateError(ErrorCode.NOT_OPEN, 'ping: the WebSocket is not open yet');
    if (this.#state !== ReadyState.OPEN || !this.#wsi) return;
    this.#pings.push(buf);
    this.#wsi.callbackOnWritable();
  }

  /**
   * Close with `code` (1000, 1001…1014 but 1004…1006, or 3000…4999) and a
   * reason of at most 123 bytes, after what is already queued. If that and
   * the peer's answer take longer than `closeTimeout`, the connection is cut.
   *
   * ```ts
   * socket.close(1000, 'bye');
   * ```
   */
  close(code = 1000, reason = ''): void {
    if (!Number.isInteger(code) || !sendableCode(code))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `close: ${String(code)} cannot be sent in a Close frame`);
    if (Buffer.byteLength(reason) > 123) throw rangeError(ErrorCode.INVALID_ARGUMENT, 'close: the reason is at most 123 bytes');
    if (this.#state !== ReadyState.OPEN) return;
    this.#startClose(code, reason);
  }

  /** Stop reading from this connection (TCP pushes back on the peer) until `resume()`. */
  pause(): void {
    this.#pause('user');
  }

  /** Read again after `pause()`; what was already read is delivered at once. */
  resume(): void {
    this.#resume('user');
  }

  /**
   * Messages as `{ data, isBinary }` until the connection closes. At most
   * `maxQueuedMessages` wait for a slow loop: past that, reading stops until
   * the loop has taken half of them. Leaving the loop early (`break`)
   * stops the iteration, not the connection.
   *
   * ```ts
   * for await (const { data, isBinary } of socket) console.log(isBinary ? data.length : data);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#iterQueue) throw stateError(ErrorCode.INVALID_ARGUMENT, 'MessageSocket: only one async iteration at a time');
    const q: Message[] = (this.#iterQueue = []);
    const stop = (): void => {
      if (this.#iterQueue === q) this.#iterQueue = null;
      this.#iterWaiter = null;
      this.#resume('iterator');
    };
    return {
      next: () => {
        const m = q.shift();
        if (m) {
          if (q.length <= this.#o.maxQueuedMessages >> 1) this.#resume('iterator');
          return Promise.resolve({ value: m, done: false });
        }
        if (this.#state === ReadyState.CLOSED || this.#iterQueue !== q) {
          stop();
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => {
          this.#iterWaiter = resolve;
        });
      },
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #pause(why: PauseReason): void {
    this.#pausedBy.add(why);
    this.#wsi?.rxFlowControl(false);
  }

  #resume(why: PauseReason): void {
    if (!this.#pausedBy.delete(why) || this.#pausedBy.size > 0) return;
    if (this.#state !== ReadyState.CLOSED) this.#wsi?.rxFlowControl(true);
  }

  #startClose(code: number, reason: string): void {
    if (this.#closeOut || this.#state === ReadyState.CLOSED) return;
    this.#closeOut = { code, reason };
    this.#state = ReadyState.CLOSING;
    const wsi = this.#wsi;
    if (!wsi) return;
    // Bounds the whole close: draining the queue, our Close, the peer's.
    wsi.setTimeout(PendingTimeout.USER_BASE, this.#o.closeTimeout / 1000);
    wsi.callbackOnWritable();
  }

  #emitMessage(data: Buffer | string, isBinary: boolean): void {
    this.emit('message', data, isBinary);
    const q = this.#iterQueue;
    if (!q) return;
    const w = this.#iterWaiter;
    if (w) {
      this.#iterWaiter = null;
      w({ value: { data, isBinary }, done: false });
      return;
    }
    q.push({ data, isBinary });
    if (q.length >= this.#o.maxQueuedMessages) this.#pause('iterator');
  }

  #receive(wsi: Wsi, input: Buffer): number {
    if (this.#closeOut) return 0; // closing: what still comes is dropped
    const start = this.#rxLen === 0 && this.#parts.length === 0 && this.#acc === null;
    if (start && wsi.isFirstFragment()) this.#rxBinary = wsi.frameIsBinary();
    this.#rxLen += input.length;
    const more = wsi.remainingPacketPayload();
    // The frame's announced rest counts already: a 1 GiB header closes at once.
    if (this.#rxLen + more > this.#o.maxMessageSize) {
      this.#dropRx();
      this.#closeOut = { code: 1009, reason: 'message too big' };
      this.#state = ReadyState.CLOSING;
      wsi.closeReason(1009, 'message too big');
      return -1;
    }
    const end = more === 0 && wsi.isFinalFragment();
    if (start && end) {
      // The whole message in one piece. RECEIVE input is only valid during
      // the callback: binary is copied; text becomes a string, which is one.
      this.#rxLen = 0;
      // Text was checked as UTF-8 by the WebSocket role (1007 otherwise).
      if (this.#rxBinary) this.#emitMessage(copyOf(input), true);
      else this.#emitMessage(input.toString('utf8'), false);
      return 0;
    }
    this.#gather(input, more);
    if (!end) return 0;
    const acc = this.#acc;
    if (acc) this.#parts.push(this.#accLen === acc.length ? acc : acc.subarray(0, this.#accLen));
    const parts = this.#parts;
    const buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.#rxLen);
    this.#dropRx();
    this.#emitMessage(this.#rxBinary ? buf : buf.toString('utf8'), this.#rxBinary);
    return 0;
  }

  /**
   * Copy a RECEIVE piece (only valid during the callback) into the message
   * being gathered. The rest of the piece and the `more` bytes its frame has
   * announced get one buffer, so a message in one frame, however many
   * pieces it comes in, is copied once and never joined. (`more` is what is
   * known to follow: all of the frame, or less while it is inflated.)
   */
  #gather(input: Buffer, more: number): void {
    let off = 0;
    const acc = this.#acc;
    if (acc) {
      off = Math.min(acc.length - this.#accLen, input.length);
      acc.set(off === input.length ? input : input.subarray(0, off), this.#accLen);
      this.#accLen += off;
      if (this.#accLen < acc.length) return;
      this.#parts.push(acc);
      this.#acc = null;
      this.#accLen = 0;
    }
    const rest = input.length - off;
    if (rest === 0 && more === 0) return;
    const b = Buffer.allocUnsafe(rest + more);
    b.set(off === 0 ? input : input.subarray(off));
    if (more === 0) this.#parts.push(b);
    else {
      this.#acc = b;
      this.#accLen = rest;
    }
  }

  #dropRx(): void {
    this.#parts = [];
    this.#acc = null;
    this.#accLen = 0;
    this.#rxLen = 0;
  }

  #writable(wsi: Wsi): number {
    while (this.#pings.length > 0 && !wsi.sendPipeChoked()) {
      if (wsi.write(this.#pings.shift() as Buffer, Write.PING) < 0) return this.#writeFailed();
    }
    const frag = this.#o.fragmentSize;
    const q = this.#queue;
    while (q.length > 0 && !wsi.sendPipeChoked()) {
      const m = q.first() as OutMessage;
      const n = Math.min(frag, m.len - m.off);
      const last = m.off + n === m.len;
      const flags = (m.off === 0 ? m.kind : Write.CONTINUATION) | (last ? 0 : Write.NO_FIN);
      const buf = m.buf;
      const pooled = m.pooled;
      const at = (pooled ? LWS_PRE : 0) + m.off;
      const piece = pooled || n < buf.length ? buf.subarray(at, at + n) : buf;
      // A large whole message leaves from its spare; anything else is
      // copied into its frame by wsi.write(), the cheaper for a small one.
      const lend = pooled && m.off === 0 && last && n >= SMALL_SPARE_SIZE;
      const r = lend ? wsi.writeLent(piece, flags, () => spares.give(buf)) : wsi.write(piece, flags);
      m.off += n;
      this.#queued -= n;
      if (last) {
        q.shift();
        if (this.#topics) wsi.holdPublishedAfter(q.first()?.mark ?? null);
        if (pooled && !lend) spares.give(buf);
      }
      if (r < 0) return this.#writeFailed();
    }
    if (this.#pausedBy.has('buffer') && this.#queued <= this.#o.maxBufferedAmount >> 1) this.#resume('buffer');
    const out = this.#closeOut;
    if (out && this.#queue.length === 0 && this.#pings.length === 0) {
      wsi.closeReason(out.code, out.reason);
      return -1;
    }
    if (this.#queue.length > 0 || this.#pings.length > 0) wsi.callbackOnWritable();
    return 0;
  }

  #writeFailed(): number {
    if (this.listenerCount('error') > 0) this.emit('error', stateError(ErrorCode.WRITE_MISUSE, 'write failed'));
    return -1;
  }

  /**
   * @internal The connection is established on `wsi` with subprotocol
   * `protocol`. `hold`: read nothing until the next turn of the event loop,
   * since whoever awaits the socket attaches its listeners only after the
   * promise settles, while frames that came with the 101 would be
   * delivered at once.
   */
  attach(wsi: Wsi, protocol: string, hold = false): void {
    this.#wsi = wsi;
    this.#protocol = protocol;
    this.#state = ReadyState.OPEN;
    if (!hold) return;
    this.#pause('open');
    setImmediate(() => this.#resume('open'));
  }

  /** @internal One callback event of this connection (server or client reasons). */
  handle(wsi: Wsi, reason: Reason, input: unknown): number {
    switch (reason) {
      case Reason.RECEIVE:
      case Reason.CLIENT_RECEIVE:
        return this.#receive(wsi, input as Buffer);
      case Reason.SERVER_WRITEABLE:
      case Reason.CLIENT_WRITEABLE:
        return this.#writable(wsi);
      case Reason.RECEIVE_PONG:
      case Reason.CLIENT_RECEIVE_PONG:
        this.emit('pong', Buffer.from(input as Buffer));
        return 0;
      case Reason.TOPIC_DROPPED:
        this.emit('drop', input as TopicDropReport);
        return 0;
      case Reason.TOPIC_GAP:
        this.emit('gap', input as TopicGapReport);
        return 0;
      case Reason.WS_PEER_INITIATED_CLOSE: {
        const p = input as Buffer;
        this.#peerClose = p.length >= 2 ? { code: p.readUInt16BE(0), reason: p.subarray(2).toString('utf8') } : { code: 1005, reason: '' };
        if (this.#state === ReadyState.OPEN) this.#state = ReadyState.CLOSING;
        return 0; // echo the peer's Close
      }
      case Reason.CLOSED:
      case Reason.CLIENT_CLOSED:
        this.closed();
        return 0;
      default:
        return 0;
    }
  }

  /** @internal The connection is gone: settle everything once. */
  closed(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#state = ReadyState.CLOSED;
    this.#queue.clear();
    this.#queued = 0;
    this.#pings = [];
    this.#dropRx();
    const c = this.#peerClose ?? this.#closeOut ?? { code: 1006, reason: '' };
    const w = this.#iterWaiter;
    if (w && this.#iterQueue && this.#iterQueue.length === 0) {
      this.#iterWaiter = null;
      w({ value: undefined, done: true });
    }
    this.emit('close', c.code, c.reason);
  }
}
