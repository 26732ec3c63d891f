import type { Wsi } from '../../core/wsi.js';
import { StreamTable } from './stream-table.js';
import type { Timer } from '../../core/timers.js';
import type { Socket } from 'node:net';
import { log } from '../../core/log.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from './hpack/index.js';
import {
  CLIENT_PREFACE, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, Flag, FrameType, H2Error, MAX_WINDOW, Setting,
  frameHeader, goawayFrame, h2ErrorName, headersFrames, pingFrame, rstStreamFrame, settingsFrame, windowUpdateFrame,
} from './frames.js';
import { H2ConnectionError } from './connection-error.js';
import { ReceiveWindow, creditConnection, moveStreamWindows, pingWantsAnswer, readGoaway, settingsAck, spendSettings, windowIncrement } from './control-frames.js';
import { FrameReader } from './frame-reader.js';
import { takeQueued, unpad } from './frame-io.js';
import { FrameBatch } from './frame-batch.js';
import { continueBlock, decodeBlock } from './header-block.js';
import { SendRound } from './send-round.js';
import { readSettings } from './peer-settings.js';
import { checkResponse } from './client-response.js';
import { checkTrailers } from './request.js';
import { Budget } from './budget.js';
import type { H2ClientOptions } from './client-options.js';
import { H2ClientStream, type H2StreamOwner } from './client-stream.js';

/** The largest client stream id (31 bits, odd). */
const MAX_STREAM_ID = 0x7fffffff;
/** CONTINUATION frames one response header block may take. */
const MAX_CONTINUATIONS = 32;
/** Frames gathered past this many bytes are written at once rather than at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

/** What the connection tells whoever shares it out among requests. */
export interface H2ClientEvents {
  /** The server's SETTINGS arrived: streams may be opened (and whether RFC 8441 CONNECT is allowed is known). */
  ready(conn: H2ClientConn): void;
  /** A stream ended or the server allowed more: waiting requests may go. */
  room(conn: H2ClientConn): void;
  /** No new stream may be opened any more (GOAWAY either way, an error, the socket closed). */
  gone(conn: H2ClientConn, why: string): void;
}

interface HeaderBlock {
  stream: number;
  endStream: boolean;
  parts: Buffer[];
  bytes: number;
  frames: number;
}

/**
 * The client side of one HTTP/2 connection (RFC 9113): the preface and
 * SETTINGS, requests as streams with odd ids, HPACK both ways, flow
 * control both ways (a stream whose reader pauses withholds only its own
 * credit), and the server's RST_STREAM and GOAWAY turned into clear
 * failures of the requests they hit.
 */
export class H2ClientConn {
  readonly decoder: HpackDecoder;
  readonly encoder = new HpackEncoder();
  /** Our send window for the whole connection. */
  sendWindow = DEFAULT_WINDOW;
  readonly streams = new StreamTable<H2ClientStream>();
  /** The server allows extended CONNECT (RFC 8441 SETTINGS_ENABLE_CONNECT_PROTOCOL). */
  connectProtocol = false;
  #reader = new FrameReader();
  readonly #sendData = (b: Buffer): void => this.#send(b);
  #ready = false;
  #block: HeaderBlock | null = null;
  #nextId = 1;
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxStreams = MAX_STREAM_ID;
  #peerMaxHeaderList = Number.MAX_SAFE_INTEGER;
  readonly #recv: ReceiveWindow;
  #goawayReceived = false;
  #goawaySent = false;
  #gone = false;
  readonly #batch: FrameBatch;
  readonly #round = new SendRound<H2ClientStream>({
    limit: () => Math.min(this.sendWindow, this.#peerMaxFrame),
    frame: (s, n) => this.#dataFrame(s, n),
    drained: (s) => s.owner.drained(),
  });
  #settingsTimer: Timer | null = null;
  #readyTimer: Timer | null = null;
  #idleTimer: Timer | null = null;
  readonly #pings: Budget;
  readonly #settings: Budget;
  readonly #tinyUpdates: Budget;

  constructor(readonly wsi: Wsi, readonly opts: Readonly<H2ClientOptions>, readonly events: H2ClientEvents) {
    this.decoder = new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: opts.maxHeaderListSize });
    this.#batch = new FrameBatch(wsi, FLUSH_BYTES, () => this.#pump());
    this.#pings = new Budget(opts.floodBurst, opts.floodRate);
    this.#settings = new Budget(opts.floodBurst, opts.floodRate);
    this.#tinyUpdates = new Budget(opts.floodBurst, opts.floodRate);
    this.#recv = new ReceiveWindow(opts.connectionWindowSize);
  }

  /** The server's SETTINGS have arrived. */
  get ready(): boolean {
    return this.#ready;
  }

  /** New streams may still be opened on this connection. */
  get usable(): boolean {
    return !this.#gone && !this.wsi.closed && this.#nextId <= MAX_STREAM_ID;
  }

  /** A stream may be opened now: usable, ready, and under both limits on streams in flight. */
  get canOpen(): boolean {
    return this.usable && this.#ready && this.streams.size < Math.min(this.#peerMaxStreams, this.opts.maxConcurrentStreams);
  }

  get socketChoked(): boolean {
    const t = this.wsi.transport;
    return !t || t.writableNeedDrain;
  }

  /** Send the preface and our SETTINGS; the server's must follow within settingsTimeoutSecs. */
  start(): void {
    const o = this.opts;
    const s: Array<[number, number]> = [[Setting.ENABLE_PUSH, 0], [Setting.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize]];
    if (o.initialWindowSize !== DEFAULT_WINDOW) s.push([Setting.INITIAL_WINDOW_SIZE, o.initialWindowSize]);
    if (o.maxFrameSize !== DEFAULT_MAX_FRAME) s.push([Setting.MAX_FRAME_SIZE, o.maxFrameSize]);
    this.#send(CLIENT_PREFACE);
    this.#send(settingsFrame(s));
    const widen = this.#recv.widen();
    if (widen) this.#send(windowUpdateFrame(0, widen));
    const timers = this.wsi.context.timers;
    this.#settingsTimer = timers.timer((c: H2ClientConn) => c.#error(H2Error.SETTINGS_TIMEOUT, 'the server did not acknowledge our SETTINGS in time'), this);
    this.#settingsTimer.start(o.settingsTimeoutSecs * 1000);
    this.#readyTimer = timers.timer((c: H2ClientConn) => c.#error(H2Error.SETTINGS_TIMEOUT, 'the server sent no SETTINGS in time'), this);
    this.#readyTimer.start(o.settingsTimeoutSecs * 1000);
  }

  /**
   * Open a stream for a request: its head (pseudo-headers first) goes out
   * now. A string says why it cannot (the server's header list limit).
   */
  open(fields: ReadonlyArray<readonly [string, string]>, endStream: boolean, owner: H2StreamOwner): H2ClientStream | string {
    let size = 0;
    for (const [n, v] of fields) size += n.length + v.length + 32;
    if (size > this.#peerMaxHeaderList) return `request header list of ${size} bytes is more than the server's limit of ${this.#peerMaxHeaderList}`;
    const id = this.#nextId;
    this.#nextId += 2;
    const s = new H2ClientStream(this, id, owner, this.#peerInitialWindow, this.opts.initialWindowSize);
    this.streams.add(s);
    this.#idleTimer?.stop();
    (this.wsi.socket as Socket | null)?.ref();
    this.#send(headersFrames(id, this.encoder.encode(fields), endStream, this.#peerMaxFrame));
    if (endStream) s.localClosed = true;
    return s;
  }

  // ---- output ----

  #send(b: Uint8Array): void {
    this.#batch.send(b);
  }

  #flushSoon(): void {
    this.#batch.soon();
  }

  #flush(): void {
    this.#batch.flush();
  }

  /** Request body bytes: queued, sent as the windows allow. */
  queueData(s: H2ClientStream, b: Buffer): void {
    if (s.reset || s.localClosed || s.endQueued || !b.length) return;
    s.out.push(b);
    s.outBytes += b.length;
    this.#schedule(s);
    this.#flushSoon();
  }

  /** The request is complete: END_STREAM after what is queued (the response may still come). */
  endRequest(s: H2ClientStream): void {
    if (s.reset || s.localClosed || s.endQueued) return;
    s.endQueued = true;
    this.#schedule(s);
    this.#flushSoon();
  }

  /** The request's wsi closed: finish our side, and cancel a response still coming once it has gone. */
  finishStream(s: H2ClientStream): void {
    if (s.reset) return;
    if (s.closed) {
      this.#forget(s);
      return;
    }
    s.cancelOnEnd = true;
    if (s.localClosed) this.cancelStream(s);
    else this.endRequest(s);
  }

  /** The request is dropped: RST_STREAM CANCEL, nothing more sent or delivered. */
  cancelStream(s: H2ClientStream): void {
    if (s.reset) return;
    if (!s.closed) this.#resetStream(s, H2Error.CANCEL);
    else this.#forget(s);
  }

  #schedule(s: H2ClientStream): void {
    this.#round.schedule(s);
  }

  #pump(): void {
    this.#round.pump(this.wsi.transport);
  }

  #dataFrame(s: H2ClientStream, n: number): void {
    const end = s.endQueued && n === s.outBytes;
    this.#send(frameHeader(n, FrameType.DATA, end ? Flag.END_STREAM : 0, s.id));
    takeQueued(s, n, this.#sendData);
    s.outBytes -= n;
    s.sendWindow -= n;
    this.sendWindow -= n;
    if (end) {
      s.endQueued = false;
      s.localClosed = true;
      if (s.cancelOnEnd && !s.remoteClosed) this.#resetStream(s, H2Error.CANCEL);
      else if (s.closed) this.#forget(s);
    }
  }

  #resetStream(s: H2ClientStream, code: number): void {
    if (s.reset) return;
    this.#send(rstStreamFrame(s.id, code));
    s.reset = true;
    this.#forget(s);
  }

  #forget(s: H2ClientStream): void {
    if (this.#drop(s)) this.#afterDrop();
  }

  /** The stream is over: nothing more goes out or comes in for it. False when it already was. */
  #drop(s: H2ClientStream): boolean {
    s.reset = true;
    s.out = [];
    s.outBytes = 0;
    s.held = [];
    return this.streams.delete(s.id);
  }

  /** A stream went: the connection may close (after GOAWAY), idle, or take a waiting request. */
  #afterDrop(): void {
    if (this.wsi.closed) return;
    if (this.streams.size === 0) {
      if (this.#goawayReceived) {
        this.wsi.close();
        return;
      }
      this.#armIdle();
    }
    if (this.usable) this.events.room(this);
  }

  /** A stream fails from the server's side (or the connection's): its request is told why, nothing more is sent on it. */
  #failStream(s: H2ClientStream, why: string, retry: boolean, rst = -1): void {
    if (s.reset) return;
    if (rst >= 0) this.#send(rstStreamFrame(s.id, rst));
    const dropped = this.#drop(s);
    // Told first: the request may go elsewhere before this connection (its parent) closes.
    s.owner.failed(why, retry);
    if (dropped) this.#afterDrop();
  }

  #armIdle(): void {
    if (this.wsi.closed) return;
    // An idle connection waits for the next request without keeping the process alive.
    (this.wsi.socket as Socket | null)?.unref();
    (this.#idleTimer ??= this.wsi.context.timers.timer((c: H2ClientConn) => c.#idleOut(), this)).start(this.opts.idleTimeoutSecs * 1000);
  }

  #idleOut(): void {
    if (this.streams.size) return;
    this.#goneNow('idle');
    this.#sendGoaway(H2Error.NO_ERROR, '');
    this.wsi.close();
  }

  #sendGoaway(code: number, why: string): void {
    if (this.#goawaySent) return;
    this.#goawaySent = true;
    // We accept no server-initiated stream (push is off): the last one processed is 0.
    this.#send(goawayFrame(0, code, why));
  }

  #goneNow(why: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.events.gone(this, why);
  }

  // ---- input ----

  rx(data: Buffer): void {
    if (this.wsi.closed) return;
    try {
      if (!this.#ready && data.subarray(0, 7).toString('latin1') === 'HTTP/1.')
        throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'the server answered in HTTP/1.1: it does not speak HTTP/2 by prior knowledge');
      this.#reader.feed(data, this.opts.maxFrameSize, this.#onFrame, this.#isClosed);
    } catch (e) {
      if (e instanceof H2ConnectionError) this.#error(e.code, e.message);
      else {
        log.err('client wsi %d: internal error in HTTP/2: %s', this.wsi.id, e instanceof Error ? e.stack ?? e.message : String(e));
        this.#error(H2Error.INTERNAL_ERROR, 'internal error');
      }
    }
  }

  // Made once, not per read.
  readonly #onFrame = (type: number, flags: number, sid: number, payload: Buffer): void => this.#frame(type, flags, sid, payload);
  readonly #isClosed = (): boolean => this.wsi.closed;

  #frame(type: number, flags: number, sid: number, payload: Buffer): void {
    if (this.#block && type !== FrameType.CONTINUATION)
      throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'a frame other than CONTINUATION inside a header block');
    if (!this.#ready && (type !== FrameType.SETTINGS || (flags & Flag.ACK)))
      throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'the server preface must be SETTINGS');
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, sid, payload);
      case FrameType.HEADERS:
        return this.#headers(flags, sid, payload);
      case FrameType.PRIORITY:
        return;
      case FrameType.RST_STREAM:
        return this.#rstStream(sid, payload);
      case FrameType.SETTINGS:
        return this.#settingsFrame(flags, sid, payload);
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
      case FrameType.PING:
        return this.#ping(flags, sid, payload);
      case FrameType.GOAWAY:
        return this.#goaway(sid, payload);
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(sid, payload);
      case FrameType.CONTINUATION:
        return this.#continuation(flags, sid, payload);
      default:
        return; // unknown frame types are ignored (RFC 9113 5.5)
    }
  }

  /** The stream `sid` names, or null for one of ours already closed; a stream we never opened is a connection error. */
  #stream(sid: number, what: string): H2ClientStream | null {
    if (sid === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `${what} on stream 0`);
    if ((sid & 1) === 0 || sid >= this.#nextId) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `${what} on stream ${sid}, which we never opened`);
    return this.streams.get(sid) ?? null;
  }

  #data(flags: number, sid: number, payload: Buffer): void {
    const s = this.#stream(sid, 'DATA');
    const data = unpad(flags, payload);
    const len = payload.length;
    const credit = this.#recv.take(len);
    if (credit) this.#send(windowUpdateFrame(0, credit));
    if (!s) return; // a stream we reset or finished: late frames are ignored
    if (!s.headSeen) {
      this.#failStream(s, 'HTTP/2: DATA before the response head', false, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (s.remoteClosed) {
      this.#failStream(s, 'HTTP/2: DATA after the end of the response', false, H2Error.STREAM_CLOSED);
      return;
    }
    if (len > s.recvWindow) {
      this.#failStream(s, 'HTTP/2: the server sent past the stream window', false, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    s.recvWindow -= len;
    s.unacked += len - data.length;
    const end = (flags & Flag.END_STREAM) !== 0;
    if (end) s.remoteClosed = true;
    this.#body(s, data, end);
  }

  #body(s: H2ClientStream, data: Buffer, end: boolean): void {
    if (s.paused || s.held.length) {
      if (data.length) s.held.push(data);
      if (end) s.heldEnd = true;
      return;
    }
    this.#deliver(s, data, end);
  }

  #deliver(s: H2ClientStream, data: Buffer, end: boolean): void {
    if (data.length) {
      s.unacked += data.length;
      s.owner.data(data);
      if (s.reset) return; // the reader closed its request
    }
    this.#giveStreamCredit(s);
    if (end) {
      s.owner.end();
      if (s.closed && !s.reset) this.#forget(s);
    }
  }

  /** The reader of `s` reads again: what was held goes now, then credit. */
  resumeStream(s: H2ClientStream): void {
    while (s.held.length && !s.paused && !s.reset) {
      const d = s.held.shift() as Buffer;
      const last = s.held.length === 0 && s.heldEnd;
      if (last) s.heldEnd = false;
      this.#deliver(s, d, last);
    }
    if (!s.held.length && s.heldEnd && !s.paused && !s.reset) {
      s.heldEnd = false;
      this.#deliver(s, Buffer.alloc(0), true);
      return;
    }
    if (!s.reset) this.#giveStreamCredit(s);
    this.#flushSoon();
  }

  #giveStreamCredit(s: H2ClientStream): void {
    if (s.paused || s.reset || s.remoteClosed || s.unacked < this.opts.initialWindowSize / 2) return;
    this.#send(windowUpdateFrame(s.id, s.unacked));
    s.recvWindow += s.unacked;
    s.unacked = 0;
  }

  #headers(flags: number, sid: number, payload: Buffer): void {
    let fragment: Buffer;
    if (flags & Flag.PRIORITY) {
      const body = unpad(flags, payload);
      if (body.length < 5) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      fragment = body.subarray(5);
    } else fragment = unpad(flags, payload);
    const block: HeaderBlock = { stream: sid, endStream: (flags & Flag.END_STREAM) !== 0, parts: [fragment], bytes: fragment.length, frames: 1 };
    if (flags & Flag.END_HEADERS) this.#headerBlock(block);
    else this.#block = block;
  }

  #continuation(flags: number, sid: number, payload: Buffer): void {
    const b = continueBlock(this.#block, sid, payload, MAX_CONTINUATIONS, this.opts.maxHeaderListSize + this.opts.maxFrameSize);
    if (!(flags & Flag.END_HEADERS)) return;
    this.#block = null;
    this.#headerBlock(b);
  }

  #decode(b: HeaderBlock): { fields: HeaderField[]; tooLarge: boolean } {
    return decodeBlock(this.decoder, b);
  }

  #headerBlock(b: HeaderBlock): void {
    this.#block = null;
    const s = this.#stream(b.stream, 'HEADERS');
    // Always decoded: HPACK's table must stay in step whatever happens to the stream.
    const { fields, tooLarge } = this.#decode(b);
    if (!s) return;
    if (s.remoteClosed) throw new H2ConnectionError(H2Error.STREAM_CLOSED, `HEADERS on half-closed stream ${s.id}`);
    if (tooLarge) {
      this.#failStream(s, `HTTP/2: response header list larger than ${this.opts.maxHeaderListSize} bytes`, false, H2Error.CANCEL);
      return;
    }
    if (s.headSeen) {
      // Trailers end the response; they are checked and not kept.
      const why = b.endStream ? checkTrailers(fields) : 'a second header block without END_STREAM';
      if (why) {
        this.#failStream(s, `HTTP/2: malformed trailers: ${why}`, false, H2Error.PROTOCOL_ERROR);
        return;
      }
      s.remoteClosed = true;
      this.#body(s, Buffer.alloc(0), true);
      return;
    }
    const head = checkResponse(fields);
    if (typeof head === 'string' || head.status === 101 || (head.status < 200 && b.endStream)) {
      const why = typeof head === 'string' ? head : `:status ${head.status} ${head.status === 101 ? 'is not allowed in HTTP/2' : 'ending the stream'}`;
      this.#failStream(s, `HTTP/2: malformed response: ${why}`, false, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (head.status < 200) return; // interim (100, 103): the final head follows
    s.headSeen = true;
    if (b.endStream) s.remoteClosed = true;
    s.owner.head(head.status, head.headers);
    if (b.endStream && !s.reset) this.#body(s, Buffer.alloc(0), true);
  }

  #rstStream(sid: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    const s = this.#stream(sid, 'RST_STREAM');
    if (!s) return;
    const code = payload.readUInt32BE(0);
    // NO_ERROR after a complete response: the server wants no more of the request (RFC 9113 8.1).
    if (code === H2Error.NO_ERROR && s.remoteClosed) {
      s.reset = true;
      this.#forget(s);
      return;
    }
    this.#failStream(s, `HTTP/2 stream reset by the server: ${h2ErrorName(code)}`, code === H2Error.REFUSED_STREAM);
  }

  #settingsFrame(flags: number, sid: number, payload: Buffer): void {
    if (settingsAck(flags, sid, payload)) {
      this.#settingsTimer?.stop();
      return;
    }
    const values = readSettings(payload);
    spendSettings(this.#settings);
    let grew = false;
    for (const [id, v] of values) {
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(Math.min(v, 65536));
          break;
        case Setting.ENABLE_PUSH:
          if (v !== 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH from a server');
          break;
        case Setting.ENABLE_CONNECT_PROTOCOL:
          if (this.connectProtocol && v === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_CONNECT_PROTOCOL withdrawn');
          this.connectProtocol = v === 1;
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          grew ||= v > this.#peerMaxStreams;
          this.#peerMaxStreams = v;
          break;
        case Setting.MAX_HEADER_LIST_SIZE:
          this.#peerMaxHeaderList = v;
          break;
        case Setting.MAX_FRAME_SIZE:
          this.#peerMaxFrame = v;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          const delta = v - this.#peerInitialWindow;
          this.#peerInitialWindow = v;
          moveStreamWindows(this.streams.values(), delta);
          if (delta > 0) this.#wakeWaiting();
          break;
        }
      }
    }
    this.#send(settingsFrame(null));
    this.#pump();
    if (!this.#ready) {
      this.#ready = true;
      this.#readyTimer?.stop();
      this.events.ready(this);
    } else if (grew && this.usable) this.events.room(this);
  }

  #ping(flags: number, sid: number, payload: Buffer): void {
    if (pingWantsAnswer(flags, sid, payload, this.#pings)) this.#send(pingFrame(payload, true));
  }

  #goaway(sid: number, payload: Buffer): void {
    const { last, code } = readGoaway(sid, payload);
    const debug = payload.toString('latin1', 8, Math.min(payload.length, 208)).replace(/[^\x20-\x7e]/g, '?');
    const why = `GOAWAY ${h2ErrorName(code)}${debug ? ` (${debug})` : ''}`;
    log.info('client wsi %d: server sent %s, last stream %d', this.wsi.id, why, last);
    this.#goawayReceived = true;
    this.#goneNow(`the server sent ${why}`);
    // Streams past `last` were never processed (6.8): they may be sent again elsewhere.
    for (const s of this.streams.values()) if (s.id > last) this.#failStream(s, `HTTP/2 stream refused by the server's ${why}`, true);
    if (this.streams.size === 0 && !this.wsi.closed) this.wsi.close();
  }

  #windowUpdate(sid: number, payload: Buffer): void {
    const inc = windowIncrement(payload, this.#tinyUpdates);
    if (sid === 0) {
      this.sendWindow = creditConnection(this.sendWindow, inc);
      this.#pump();
      this.#wakeWaiting();
      return;
    }
    const s = this.#stream(sid, 'WINDOW_UPDATE');
    if (!s) return;
    if (inc === 0) {
      this.#failStream(s, 'HTTP/2: WINDOW_UPDATE of 0', false, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (s.sendWindow + inc > MAX_WINDOW) {
      this.#failStream(s, 'HTTP/2: stream window past 2^31-1', false, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    s.sendWindow += inc;
    this.#schedule(s);
    this.#pump();
    if (s.outBytes === 0 && !s.localClosed && !s.reset) s.owner.drained();
  }

  #wakeWaiting(): void {
    if (this.socketChoked || this.sendWindow <= 0) return;
    for (const s of this.streams.values()) if (s.outBytes === 0 && !s.localClosed && !s.reset) s.owner.drained();
  }

  // ---- the connection ending ----

  /** A connection error: GOAWAY with its code, every request fails with `why`, the connection closes. */
  #error(code: number, why: string): void {
    if (this.wsi.closed) return;
    log.info('client wsi %d: HTTP/2 connection error %s: %s', this.wsi.id, h2ErrorName(code), why);
    this.#sendGoaway(code, why);
    this.#flush();
    this.lost(`HTTP/2 connection error ${h2ErrorName(code)}: ${why}`);
  }

  /** The connection is lost (closed by the server, a socket error): every open request fails with `why`. */
  lost(why: string): void {
    this.#goneNow(why);
    for (const s of this.streams.values()) this.#failStream(s, why, false);
    if (!this.wsi.closed) this.wsi.close(false);
  }

  /** The socket drained: queued DATA goes on, and streams waiting only on the socket may write. */
  writable(): void {
    this.#pump();
    this.#wakeWaiting();
  }

  /** The vhost or context goes away: GOAWAY, no new streams. */
  goingAway(): void {
    this.#goneNow('the client is going away');
    this.#sendGoaway(H2Error.NO_ERROR, '');
    this.#flush();
  }

  closing(): void {
    this.#settingsTimer?.stop();
    this.#readyTimer?.stop();
    this.#idleTimer?.stop();
    this.#goneNow('the connection closed');
    for (const s of this.streams.values()) this.#failStream(s, 'HTTP/2 connection closed', false);
    this.#sendGoaway(H2Error.NO_ERROR, '');
    this.#flush();
    this.#round.clear();
    this.#reader.clear();
  }
}
