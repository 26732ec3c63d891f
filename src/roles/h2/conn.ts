import type { Wsi } from '../../core/wsi.js';
import { StreamTable } from './stream-table.js';
import type { VhostSelector } from '../../core/vhost.js';
import type { Timer } from '../../core/timers.js';
import { roleTransition } from '../../core/role.js';
import { Reason } from '../../core/reasons.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { HttpRequest } from '../../http/request.js';
import { HttpError } from '../../http/errors.js';
import { normalisePath } from '../../http/uri.js';
import { routeRequest } from '../../responders/route.js';
import { misdirected } from '../listen/select-vhost.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from './hpack/index.js';
import {
  CLIENT_PREFACE, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, Flag, FrameType, H2Error, MAX_WINDOW, Setting,
  frameHeader, goawayFrame, h2ErrorName, headersFrames, pingFrame, rstStreamFrame, settingsFrame, windowUpdateFrame,
} from './frames.js';
import type { H2Options } from './options.js';
import { H2Stream } from './stream.js';
import { H2Exchange } from './exchange.js';
import { checkRequest, checkTrailers } from './request.js';
import { Budget } from './budget.js';
import { FrameReader } from './frame-reader.js';
import { takeQueued, unpad } from './frame-io.js';
import { FrameBatch } from './frame-batch.js';
import { continueBlock, decodeBlock } from './header-block.js';
import { readSettings } from './peer-settings.js';
import { SendRound } from './send-round.js';
import { H2ConnectionError } from './connection-error.js';
import { ReceiveWindow, creditConnection, moveStreamWindows, pingWantsAnswer, readGoaway, settingsAck, spendSettings, windowIncrement } from './control-frames.js';
import { h2StreamRole } from './role-stream.js';

/** Stream ids remembered after they close, to tell a closed stream (STREAM_CLOSED) from one never used. */
const CLOSED_MEMORY = 256;
/** Seconds a request body is still read (and dropped) after its response is complete. */
const DISCARD_SECS = 2;
/** What a request whose header list was too large to keep is taken to be. */
const TOO_LARGE_HEAD = Object.freeze({ method: 'GET', target: '/', scheme: 'http', authority: undefined, protocol: undefined, headers: [], contentLength: -1 });

/** A peer that reads nothing while this many bytes wait for it is cut off. */
const STALLED_PEER_BYTES = 4 * 1024 * 1024;
/**
 * Frames gathered past this many bytes are written at once rather than at
 * the end of the turn. Large writes cost less per byte in clear text; on
 * TLS, where a write of many pieces is first copied into one buffer and
 * cut into 16 KiB records anyway, smaller batches measured better.
 */
const FLUSH_BYTES_CLEAR = 256 * 1024;
const FLUSH_BYTES_TLS = 64 * 1024;

interface HeaderBlock {
  stream: number;
  endStream: boolean;
  /** A stream error found in the HEADERS frame itself (a priority on itself): the block is still decoded. */
  streamError: number;
  parts: Buffer[];
  bytes: number;
  frames: number;
}

/**
 * The server side of one HTTP/2 connection (RFC 9113), the h2 role's
 * state: frames in, frames out, HPACK both ways, flow control both ways,
 * and a wsi per stream (a child of the connection's) on which requests
 * are routed and answered exactly as on HTTP/1.
 */
export class H2Conn {
  readonly decoder: HpackDecoder;
  readonly encoder: HpackEncoder;
  /** Our send window for the whole connection. */
  sendWindow = DEFAULT_WINDOW;
  readonly streams = new StreamTable<H2Stream>();
  #buf: Buffer | null = null;
  #prefaceSeen = false;
  #settingsSeen = false;
  #block: HeaderBlock | null = null;
  /** The highest stream id the client has used. */
  #maxStream = 0;
  /** Closed stream ids, true for those we reset (their late frames are ignored, 5.1). */
  #closedIds = new Map<number, boolean>();
  // the peer's settings
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #peerInitialWindow = DEFAULT_WINDOW;
  // our receive window for the whole connection, and what we have not given back yet
  readonly #recv: ReceiveWindow;
  #goawaySent = false;
  #goawayReceived = false;
  #lastStream = 0;
  #settingsTimer: Timer | null = null;
  #idleTimer: Timer | null = null;
  #drainTimer: Timer | null = null;
  /** Frames made during this turn, written together when it ends (one system call for many streams' frames). */
  readonly #batch: FrameBatch;
  readonly #round = new SendRound<H2Stream>({
    limit: () => Math.min(this.sendWindow, this.#peerMaxFrame),
    frame: (s, n) => this.#dataFrame(s, n),
    drained: (s) => s.wsi?.transportDrained(),
  });
  readonly #resets: Budget;
  readonly #pings: Budget;
  readonly #settings: Budget;
  readonly #priorities: Budget;
  readonly #emptyData: Budget;
  readonly #tinyUpdates: Budget;

  constructor(readonly wsi: Wsi, readonly vhosts: VhostSelector, readonly opts: Readonly<H2Options>) {
    // The client may use HPACK's initial 4096 until it acknowledges our SETTINGS.
    this.decoder = new HpackDecoder({ maxTableSize: 4096, maxHeaderListSize: opts.maxHeaderListSize });
    this.encoder = new HpackEncoder();
    this.#batch = new FrameBatch(wsi, wsi.isSsl() ? FLUSH_BYTES_TLS : FLUSH_BYTES_CLEAR, () => this.#pump());
    this.#resets = new Budget(opts.resetBurst, opts.resetRate);
    this.#pings = new Budget(opts.floodBurst, opts.floodRate);
    this.#settings = new Budget(opts.floodBurst, opts.floodRate);
    this.#priorities = new Budget(opts.floodBurst, opts.floodRate);
    this.#emptyData = new Budget(opts.floodBurst, opts.floodRate);
    this.#tinyUpdates = new Budget(opts.floodBurst, opts.floodRate);
    this.#recv = new ReceiveWindow(opts.connectionWindowSize);
  }

  /** The socket is past its high-water mark. */
  get socketChoked(): boolean {
    const t = this.wsi.transport;
    return !t || t.writableNeedDrain;
  }

  /** Send our SETTINGS (the server's preface) and open the connection's receive window. */
  start(): void {
    const o = this.opts;
    const s: Array<[number, number]> = [[Setting.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams], [Setting.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize]];
    if (o.initialWindowSize !== DEFAULT_WINDOW) s.push([Setting.INITIAL_WINDOW_SIZE, o.initialWindowSize]);
    if (o.maxFrameSize !== DEFAULT_MAX_FRAME) s.push([Setting.MAX_FRAME_SIZE, o.maxFrameSize]);
    if (o.headerTableSize !== 4096) s.push([Setting.HEADER_TABLE_SIZE, o.headerTableSize]);
    if (o.websockets) s.push([Setting.ENABLE_CONNECT_PROTOCOL, 1]);
    this.#send(settingsFrame(s));
    const widen = this.#recv.widen();
    if (widen) this.#send(windowUpdateFrame(0, widen));
    this.#settingsTimer = this.wsi.context.timers.timer((c: H2Conn) => c.#error(H2Error.SETTINGS_TIMEOUT, 'SETTINGS not acknowledged in time'), this);
    this.#settingsTimer.start(o.settingsTimeoutSecs * 1000);
    this.#armIdle();
  }

  /** Queue a frame: it leaves with the others made in this turn, in order. */
  #send(b: Uint8Array): void {
    this.#batch.send(b);
  }

  #flushSoon(): void {
    this.#batch.soon();
  }

  #flush(): void {
    this.#batch.flush();
  }

  // ---- input ----

  rx(data: Buffer): void {
    if (this.wsi.closed) return;
    let buf = this.#buf && this.#buf.length ? Buffer.concat([this.#buf, data]) : data;
    this.#buf = null;
    try {
      if (!this.#prefaceSeen) {
        const n = Math.min(buf.length, CLIENT_PREFACE.length);
        if (buf.compare(CLIENT_PREFACE, 0, n, 0, n) !== 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'invalid connection preface');
        if (buf.length < CLIENT_PREFACE.length) {
          this.#buf = buf;
          return;
        }
        this.#prefaceSeen = true;
        buf = buf.subarray(CLIENT_PREFACE.length);
      }
      this.#frames.feed(buf, this.opts.maxFrameSize, this.#onFrame, this.#isClosed);
    } catch (e) {
      if (e instanceof H2ConnectionError) this.#error(e.code, e.message);
      else {
        log.err('wsi %d: internal error in HTTP/2: %s', this.wsi.id, e instanceof Error ? e.stack ?? e.message : String(e));
        this.#error(H2Error.INTERNAL_ERROR, 'internal error');
      }
    }
  }

  readonly #frames = new FrameReader();
  readonly #sendData = (b: Buffer): void => this.#send(b);
  readonly #onFrame = (type: number, flags: number, sid: number, payload: Buffer): void => this.#frame(type, flags, sid, payload);
  readonly #isClosed = (): boolean => this.wsi.closed;

  #frame(type: number, flags: number, sid: number, payload: Buffer): void {
    if (this.#block && type !== FrameType.CONTINUATION)
      throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'a frame other than CONTINUATION inside a header block');
    if (!this.#settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK)) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'the preface must be followed by SETTINGS');
      this.#settingsSeen = true;
    }
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, sid, payload);
      case FrameType.HEADERS:
        return this.#headers(flags, sid, payload);
      case FrameType.PRIORITY:
        return this.#priority(sid, payload);
      case FrameType.RST_STREAM:
        return this.#rstStream(sid, payload);
      case FrameType.SETTINGS:
        return this.#settingsFrame(flags, sid, payload);
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
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

  /** A stream id the client has not opened (5.1 "idle"). */
  #idle(sid: number): boolean {
    return sid > this.#maxStream;
  }

  #data(flags: number, sid: number, payload: Buffer): void {
    if (sid === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    if (this.#idle(sid)) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${sid}`);
    const data = unpad(flags, payload);
    const len = payload.length;
    // The whole frame, padding included, counts against both windows (6.9.1).
    const credit = this.#recv.take(len);
    if (credit) this.#send(windowUpdateFrame(0, credit));
    const s = this.streams.get(sid);
    if (!s) {
      // Frames may still come on a stream we reset; any other closed stream is an error (5.1).
      if (this.#closedIds.get(sid) === true) return;
      throw new H2ConnectionError(H2Error.STREAM_CLOSED, `DATA on closed stream ${sid}`);
    }
    if (s.remoteClosed) {
      this.resetStream(s, H2Error.STREAM_CLOSED);
      return;
    }
    if (len > s.recvWindow) {
      this.resetStream(s, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    s.recvWindow -= len;
    // Padding is consumed at once: it is given back with the data.
    s.unacked += len - data.length;
    const end = (flags & Flag.END_STREAM) !== 0;
    if (data.length === 0 && !end && !this.#emptyData.take()) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'empty DATA flood');
    s.bodyReceived += data.length;
    if (s.contentLength >= 0 && (s.bodyReceived > s.contentLength || (end && s.bodyReceived !== s.contentLength))) {
      this.resetStream(s, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (end) s.remoteClosed = true;
    this.#body(s, data, end);
  }

  /** Body bytes of a stream: to its reader now, or held while it is paused. */
  #body(s: H2Stream, data: Buffer, end: boolean): void {
    if (s.paused || s.held.length) {
      if (data.length) s.held.push(data);
      if (end) s.heldEnd = true;
      return;
    }
    this.#deliver(s, data, end);
  }

  #deliver(s: H2Stream, data: Buffer, end: boolean): void {
    const ex = s.exchange;
    const w = s.wsi;
    if (s.websocket) {
      // Counted as consumed first: a reader that stops on them pauses the stream, which withholds the credit.
      s.unacked += data.length;
      if (w && !w.closed) {
        if (data.length) w.deliverRx(data);
        if (end && !w.closed) w.transportEnded();
      }
      this.#giveStreamCredit(s);
      if (end) this.#maybeForget(s);
      return;
    }
    if (data.length) {
      if (ex && w && !w.closed && !ex.done) {
        if (ex.bodySink) ex.bodySink.piece(data);
        else if (ex.bodyToProtocol) w.callProtocol(Reason.HTTP_BODY, data);
      }
      s.unacked += data.length;
    }
    this.#giveStreamCredit(s);
    if (end) {
      if (ex && w && !w.closed && !ex.done) {
        if (ex.bodySink) ex.bodySink.complete();
        else if (ex.bodyToProtocol) {
          ex.armTimeout();
          w.callProtocol(Reason.HTTP_BODY_COMPLETION);
        }
      }
      this.#maybeForget(s);
    }
  }

  /** The reader of `s` is reading again: what was held goes now, then credit. */
  resumeStream(s: H2Stream): void {
    while (s.held.length && !s.paused && !s.reset) {
      const d = s.held.shift() as Buffer;
      this.#deliver(s, d, s.held.length === 0 && s.heldEnd);
      if (s.held.length === 0 && s.heldEnd) return;
    }
    if (!s.held.length && s.heldEnd && !s.paused) {
      s.heldEnd = false;
      this.#deliver(s, Buffer.alloc(0), true);
      return;
    }
    this.#giveStreamCredit(s);
  }

  /** Credit back to the peer for a stream's consumed bytes, in batches; none while its reader is paused. */
  #giveStreamCredit(s: H2Stream): void {
    if (s.paused || s.reset || s.remoteClosed || s.unacked < this.opts.initialWindowSize / 2) return;
    this.#send(windowUpdateFrame(s.id, s.unacked));
    s.recvWindow += s.unacked;
    s.unacked = 0;
  }

  #headers(flags: number, sid: number, payload: Buffer): void {
    if (sid === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let streamError = 0;
    let fragment: Buffer;
    if (flags & Flag.PRIORITY) {
      const body = unpad(flags, payload);
      if (body.length < 5) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      if ((body.readUInt32BE(0) & MAX_WINDOW) === sid) streamError = H2Error.PROTOCOL_ERROR; // depends on itself (5.3.1)
      fragment = body.subarray(5);
    } else fragment = unpad(flags, payload);
    const block: HeaderBlock = { stream: sid, endStream: (flags & Flag.END_STREAM) !== 0, streamError, parts: [fragment], bytes: fragment.length, frames: 1 };
    if (flags & Flag.END_HEADERS) this.#headerBlock(block);
    else this.#block = block;
  }

  #continuation(flags: number, sid: number, payload: Buffer): void {
    // Bounded: a header block cannot grow past what the header list may hold.
    const b = continueBlock(this.#block, sid, payload, this.opts.maxContinuations, this.opts.maxHeaderListSize + this.opts.maxFrameSize);
    if (!(flags & Flag.END_HEADERS)) return;
    this.#block = null;
    this.#headerBlock(b);
  }

  #decode(b: HeaderBlock): { fields: HeaderField[]; tooLarge: boolean } {
    return decodeBlock(this.decoder, b);
  }

  #headerBlock(b: HeaderBlock): void {
    this.#block = null;
    const sid = b.stream;
    const s = this.streams.get(sid);
    // The block is always decoded: HPACK's table must stay in step whatever happens to the stream.
    const { fields, tooLarge } = this.#decode(b);
    if (s) {
      // Trailers (8.1): end the request; they carry no pseudo-headers.
      if (s.remoteClosed) {
        if (s.reset) return;
        throw new H2ConnectionError(H2Error.STREAM_CLOSED, `HEADERS on half-closed stream ${sid}`);
      }
      const why = b.endStream ? checkTrailers(fields) : 'trailers without END_STREAM';
      if (why || b.streamError) {
        log.info('wsi %d: stream %d: %s', this.wsi.id, sid, why ?? 'priority on itself');
        this.resetStream(s, b.streamError || H2Error.PROTOCOL_ERROR);
        return;
      }
      if (s.contentLength >= 0 && s.bodyReceived !== s.contentLength) {
        this.resetStream(s, H2Error.PROTOCOL_ERROR);
        return;
      }
      s.remoteClosed = true;
      this.#body(s, Buffer.alloc(0), true);
      return;
    }
    if (!this.#idle(sid)) {
      const ours = this.#closedIds.get(sid);
      if (ours === true) return; // reset by us: late frames are ignored
      throw new H2ConnectionError(ours === false ? H2Error.STREAM_CLOSED : H2Error.PROTOCOL_ERROR,
        `HEADERS on ${ours === false ? 'closed' : 'an old'} stream ${sid}`);
    }
    if ((sid & 1) === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `client stream ${sid} is even`);
    this.#maxStream = sid;
    if (this.#goawaySent) {
      // Past our GOAWAY's last stream: not processed (6.8), the client may retry elsewhere.
      this.#send(rstStreamFrame(sid, H2Error.REFUSED_STREAM));
      this.#remember(sid, true);
      return;
    }
    if (b.streamError) {
      this.#send(rstStreamFrame(sid, b.streamError));
      this.#remember(sid, true);
      return;
    }
    if (this.streams.size >= this.opts.maxConcurrentStreams) {
      this.#send(rstStreamFrame(sid, H2Error.REFUSED_STREAM));
      this.#remember(sid, true);
      return;
    }
    // Past maxHeaderListSize the fields were dropped: the stream is answered 431 (its head unknown).
    const head = tooLarge ? TOO_LARGE_HEAD : checkRequest(fields, this.opts.websockets);
    if (typeof head === 'string') {
      log.info('wsi %d: stream %d: malformed request: %s', this.wsi.id, sid, head);
      this.#send(rstStreamFrame(sid, H2Error.PROTOCOL_ERROR));
      this.#remember(sid, true);
      return;
    }
    const s2 = new H2Stream(this, sid, this.#peerInitialWindow, this.opts.initialWindowSize);
    s2.remoteClosed = b.endStream;
    s2.contentLength = head.contentLength;
    if (b.endStream && head.contentLength > 0) {
      this.#send(rstStreamFrame(sid, H2Error.PROTOCOL_ERROR));
      this.#remember(sid, true);
      return;
    }
    this.streams.add(s2);
    this.#idleTimer?.stop();
    this.#open(s2, head, tooLarge);
  }

  /** Give a new stream its wsi and exchange, and route its request as HTTP/1 requests are. */
  #open(s: H2Stream, head: Exclude<ReturnType<typeof checkRequest>, string>, tooLarge: boolean): void {
    const parent = this.wsi;
    // On TLS, SNI chose the vhost; in clear text :authority does, as Host does on HTTP/1.
    const vh = parent.isSsl() ? parent.vhost : this.vhosts.selectVhost(head.authority);
    const w = parent.context.newChildWsi(parent, vh.protocols[0], s, vh);
    if (!w) {
      this.resetStream(s, H2Error.REFUSED_STREAM);
      return;
    }
    s.wsi = w;
    roleTransition(w, h2StreamRole, s);
    const q = head.target.indexOf('?');
    // A plain CONNECT's target is an authority; an extended one (RFC 8441) has a :path like any request's.
    const authorityForm = head.method === 'CONNECT' && head.protocol === undefined;
    const rawPath = authorityForm || head.target === '*' ? head.target : q < 0 ? head.target : head.target.slice(0, q);
    const query = q < 0 || authorityForm ? '' : head.target.slice(q + 1);
    let path: string;
    try {
      path = rawPath === '*' || authorityForm ? rawPath : normalisePath(rawPath);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 400;
      const req = new HttpRequest({ method: head.method, target: head.target, version: 20, headers: head.headers }, '/', query);
      const ex = new H2Exchange(s, w, req, rawPath);
      s.exchange = ex;
      ex.fail(status, (e as Error).message);
      return;
    }
    const req = new HttpRequest({ method: head.method, target: head.target, version: 20, headers: head.headers }, path, query);
    const ex = new H2Exchange(s, w, req, rawPath, head.protocol);
    s.exchange = ex;
    if (tooLarge) {
      ex.fail(431, 'request header list too large');
      return;
    }
    if (parent.isSsl() && misdirected(this.vhosts, vh, head.authority)) {
      ex.fail(421, `:authority ${head.authority} is another vhost than this connection's`);
      return;
    }
    if (head.protocol !== undefined && !ex.wantsWebSocket) {
      ex.fail(501, `:protocol ${JSON.stringify(head.protocol)} is not offered`);
      return;
    }
    ex.armTimeout();
    try {
      routeRequest(ex);
    } catch (e) {
      if (e instanceof HttpError) ex.fail(e.status, e.message, e.headers);
      else {
        log.err('wsi %d: internal error handling a request: %s', w.id, e instanceof Error ? e.stack ?? e.message : String(e));
        ex.fail(500, 'internal error');
      }
    }
  }

  #priority(sid: number, payload: Buffer): void {
    if (sid === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
    if (!this.#priorities.take()) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'PRIORITY flood');
    if (payload.length !== 5) {
      this.#resetId(sid, H2Error.FRAME_SIZE_ERROR);
      return;
    }
    // Parsed and ignored (RFC 9113 5.3.2), but a stream cannot depend on itself.
    if ((payload.readUInt32BE(0) & MAX_WINDOW) === sid) this.#resetId(sid, H2Error.PROTOCOL_ERROR);
  }

  /** A stream error on a stream that may not exist yet (PRIORITY may name any stream). */
  #resetId(sid: number, code: number): void {
    const s = this.streams.get(sid);
    if (s) this.resetStream(s, code);
    else this.#send(rstStreamFrame(sid, code));
  }

  #rstStream(sid: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    if (sid === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (this.#idle(sid)) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `RST_STREAM on idle stream ${sid}`);
    const s = this.streams.get(sid);
    if (!s) {
      // Reset by the peer after we closed it: from now on its frames are errors, not late arrivals (5.1).
      if (this.#closedIds.has(sid)) this.#closedIds.set(sid, false);
      return;
    }
    // A stream the client resets before we finished it cost us work for nothing ("rapid reset").
    if (!s.localClosed && !this.#resets.take()) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'too many streams reset');
    s.reset = true;
    s.remoteClosed = true;
    if (s.websocket && s.wsi) s.wsi.peerEnded = true;
    this.#forget(s);
  }

  #settingsFrame(flags: number, sid: number, payload: Buffer): void {
    if (settingsAck(flags, sid, payload)) {
      if (this.#settingsTimer?.running) {
        // Our SETTINGS apply from now on.
        this.#settingsTimer.stop();
        if (this.opts.headerTableSize !== 4096) this.decoder.setMaxTableSize(this.opts.headerTableSize);
      }
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
        case Setting.INITIAL_WINDOW_SIZE: {
          const delta = v - this.#peerInitialWindow;
          this.#peerInitialWindow = v;
          grew ||= delta > 0;
          moveStreamWindows(this.streams.values(), delta);
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          this.#peerMaxFrame = v;
          break;
        default:
          break; // ENABLE_PUSH and ENABLE_CONNECT_PROTOCOL (checked), MAX_CONCURRENT_STREAMS bounds pushes, which we never make; unknown settings are skipped
      }
    }
    this.#send(settingsFrame(null));
    this.#pump();
    // A larger INITIAL_WINDOW_SIZE is credit for every stream, including those with nothing queued.
    if (grew) this.#wakeWaiting();
  }

  #ping(flags: number, sid: number, payload: Buffer): void {
    if (pingWantsAnswer(flags, sid, payload, this.#pings)) this.#send(pingFrame(payload, true));
  }

  #goaway(sid: number, payload: Buffer): void {
    const { code } = readGoaway(sid, payload);
    this.#goawayReceived = true;
    if (code !== H2Error.NO_ERROR) log.info('wsi %d: peer GOAWAY %s', this.wsi.id, h2ErrorName(code));
    if (this.streams.size === 0) this.wsi.close();
  }

  #windowUpdate(sid: number, payload: Buffer): void {
    const inc = windowIncrement(payload, this.#tinyUpdates);
    if (sid === 0) {
      this.sendWindow = creditConnection(this.sendWindow, inc);
      this.#pump();
      this.#wakeWaiting();
      return;
    }
    if (this.#idle(sid)) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${sid}`);
    const s = this.streams.get(sid);
    if (!s || s.reset) return; // closed: frames may still be in flight (6.9)
    if (inc === 0) {
      this.resetStream(s, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (s.sendWindow + inc > MAX_WINDOW) {
      this.resetStream(s, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    s.sendWindow += inc;
    this.#schedule(s);
    this.#pump();
    // Credit back: a stream that had nothing queued may write again.
    if (s.outBytes === 0 && !s.localClosed) s.wsi?.transportDrained();
  }

  // ---- output ----

  /** Send a response head: HPACK-encoded now, so blocks leave in the order their table state assumes. */
  sendHeaders(s: H2Stream, fields: ReadonlyArray<readonly [string, string]>, endStream: boolean): void {
    if (s.reset || s.localClosed) return;
    const block = this.encoder.encode(fields);
    // DATA already queued must not be overtaken (there is none before a head; trailers are not sent).
    this.#send(headersFrames(s.id, block, endStream, this.#peerMaxFrame));
    if (endStream) this.#localEnd(s);
  }

  /** Body bytes of a stream: queued, and sent as the windows allow. */
  queueData(s: H2Stream, b: Buffer): void {
    if (s.reset || s.localClosed || !b.length) return;
    s.out.push(b);
    s.outBytes += b.length;
    this.#schedule(s);
    this.#flushSoon();
  }

  /** END_STREAM after what is queued (the wsi's transport ends). */
  endStream(s: H2Stream): void {
    if (s.reset || s.localClosed || s.endQueued) return;
    s.endQueued = true;
    this.#schedule(s);
    this.#flushSoon();
  }

  /** The exchange of `s` is complete: its response ends, then the stream. */
  responseDone(s: H2Stream): void {
    this.endStream(s);
    this.#maybeForget(s);
  }

  /** The stream's wsi went away before its response ended (closed, or destroyed): reset it. */
  cancelStream(s: H2Stream): void {
    if (s.reset || s.localClosed) return;
    this.resetStream(s, H2Error.CANCEL);
  }

  #schedule(s: H2Stream): void {
    this.#round.schedule(s);
  }

  /**
   * Send queued DATA, a frame per stream in turn (round robin, so one large
   * body cannot starve the others), while the socket takes it and the
   * windows allow.
   */
  #pump(): void {
    if (this.#round.busy) return;
    const t = this.wsi.transport;
    this.#round.pump(t);
    if (t && t.writableLength > STALLED_PEER_BYTES) {
      log.notice('wsi %d: HTTP/2 peer reads nothing (%d bytes waiting)', this.wsi.id, t.writableLength);
      this.wsi.close(false);
    }
  }

  /** One DATA frame of `n` queued bytes of `s` (END_STREAM when they are its last and its end is queued). */
  #dataFrame(s: H2Stream, n: number): void {
    const end = s.endQueued && n === s.outBytes;
    this.#send(frameHeader(n, FrameType.DATA, end ? Flag.END_STREAM : 0, s.id));
    takeQueued(s, n, this.#sendData);
    s.outBytes -= n;
    s.sendWindow -= n;
    this.sendWindow -= n;
    if (end) {
      s.endQueued = false;
      this.#localEnd(s);
    }
  }


  /** END_STREAM has been sent on `s`. */
  #localEnd(s: H2Stream): void {
    s.localClosed = true;
    if (!s.remoteClosed && s.wsi && !s.wsi.closed) {
      // Answered while the request is still coming: what follows is read
      // (and checked, and dropped) for a moment, then the client is told
      // to stop with RST_STREAM NO_ERROR (8.1) if it has not ended by then.
      s.wsi.setTimeout(PendingTimeout.HTTP_CONTENT, DISCARD_SECS);
    } else if (!s.remoteClosed && s.websocket) {
      // The WebSocket closed (its wsi is gone): the peer has as long to end its side, then RST_STREAM NO_ERROR.
      (s.endTimer ??= this.wsi.context.timers.timer((x: H2Stream) => x.conn.resetStream(x, H2Error.NO_ERROR), s)).start(DISCARD_SECS * 1000);
    }
    this.#maybeForget(s);
  }

  /** Forget a stream closed both ways, once its exchange is over (a HEAD's head ends the stream before the exchange completes). */
  #maybeForget(s: H2Stream): void {
    if (s.closed && (!s.exchange || s.exchange.done || s.reset)) this.#forget(s);
  }

  /** Reset a stream (RFC 9113 5.4.2): RST_STREAM with `code`, its wsi closed, nothing more sent. */
  resetStream(s: H2Stream, code: number): void {
    if (s.reset) return;
    if (code !== H2Error.NO_ERROR || !s.localClosed) log.info('wsi %d: stream %d reset: %s', this.wsi.id, s.id, h2ErrorName(code));
    this.#send(rstStreamFrame(s.id, code));
    s.reset = true;
    s.resetByUs = true;
    s.remoteClosed = true;
    this.#forget(s);
  }

  /** The stream is done: its wsi closes (CLOSED_HTTP), its id is remembered as closed. */
  #forget(s: H2Stream): void {
    if (!this.streams.delete(s.id)) return;
    s.endTimer?.stop();
    this.#remember(s.id, s.resetByUs);
    s.out = [];
    s.outBytes = 0;
    s.held = [];
    const w = s.wsi;
    if (w && !w.closed) w.close(false);
    if (this.streams.size === 0) {
      if (this.#goawayReceived || (this.#goawaySent && this.#drainTimer)) this.wsi.close();
      else this.#armIdle();
    }
  }

  #remember(sid: number, resetByUs: boolean): void {
    this.#closedIds.set(sid, resetByUs);
    if (this.#closedIds.size > CLOSED_MEMORY) {
      const first = this.#closedIds.keys().next().value as number;
      this.#closedIds.delete(first);
    }
  }

  #armIdle(): void {
    if (this.wsi.closed || this.#goawaySent) return;
    (this.#idleTimer ??= this.wsi.context.timers.timer((c: H2Conn) => c.#idleOut(), this)).start(this.opts.idleTimeoutSecs * 1000);
  }

  #idleOut(): void {
    if (this.streams.size) return;
    this.#sendGoaway(H2Error.NO_ERROR, 'idle');
    this.wsi.close();
  }

  /** GOAWAY once: no new stream past the last one seen. */
  #sendGoaway(code: number, why: string): void {
    if (this.#goawaySent) return;
    this.#goawaySent = true;
    this.#lastStream = this.#maxStream;
    this.#send(goawayFrame(this.#lastStream, code, code === H2Error.NO_ERROR ? '' : why));
  }

  /** A connection error: GOAWAY with its code, then the connection closes. */
  #error(code: number, why: string): void {
    if (this.wsi.closed) return;
    log.info('wsi %d (%s): HTTP/2 connection error %s: %s', this.wsi.id, this.wsi.peerAddress, h2ErrorName(code), why);
    this.#sendGoaway(code, why);
    this.wsi.close();
  }

  // ---- events from the role ----

  /** The socket drained: queued DATA goes on, and streams waiting only on the socket may write. */
  writable(): void {
    this.#pump();
    this.#wakeWaiting();
  }

  /** Streams with nothing queued that waited on the socket or the connection window may write again. */
  #wakeWaiting(): void {
    if (this.socketChoked || this.sendWindow <= 0) return;
    // Every one: a stream's producer (a file being sent) waits here as well as a protocol that asked for WRITEABLE.
    for (const s of this.streams.values()) if (s.outBytes === 0 && !s.localClosed) s.wsi?.transportDrained();
  }

  /**
   * The vhost or context is going away: GOAWAY, no new streams, and the
   * open ones get `drainSecs` to finish. True when the connection closes
   * by itself (within that bound).
   */
  goingAway(): boolean {
    this.#sendGoaway(H2Error.NO_ERROR, 'going away');
    // A WebSocket never finishes by itself: it is told 1001 now, and its stream ends after its Close.
    for (const st of this.streams.values()) {
      const w = st.websocket ? st.wsi : null;
      if (w && !w.closed) {
        w.goingAway();
        w.close();
      }
    }
    this.#flush();
    if (this.streams.size === 0 || this.opts.drainSecs <= 0) return false;
    this.#drainTimer = this.wsi.context.timers.timer((w: Wsi) => w.close(), this.wsi);
    this.#drainTimer.start(this.opts.drainSecs * 1000);
    return true;
  }

  /**
   * The connection closes: what is gathered, the GOAWAY last, is written
   * before the transport ends, even when it is destroyed rather than
   * ended, so the peer learns why (and which streams were processed).
   */
  closing(): void {
    this.#settingsTimer?.stop();
    this.#idleTimer?.stop();
    this.#drainTimer?.stop();
    this.#sendGoaway(H2Error.NO_ERROR, 'closing');
    this.#flush();
    for (const s of this.streams.values()) s.reset = true;
    this.streams.clear();
    this.#round.clear();
    this.#buf = null;
  }
}
