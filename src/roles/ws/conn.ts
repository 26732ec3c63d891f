import type { Wsi } from '../../core/wsi.js';
import type { Timer } from '../../core/timers.js';
import { Reason } from '../../core/reasons.js';
import { log } from '../../core/log.js';
import { channels } from '../../core/diagnostics.js';
import type { HttpCarrier, HttpHead } from '../../http/head.js';
import { WsParser, type PieceInfo, type WsSink } from './parser.js';
import { Op, CloseStatus, closeCodeIsValid } from './frame.js';
import { Utf8Validator } from './utf8.js';
import { pmdOf, type WsOptions } from './options.js';
import { WS_SERVER, type WsSide } from './sides.js';
import { PmdConn } from './deflate/pmd-conn.js';
import { takeAgreed } from './deflate/handoff.js';
import { limiterFor } from './deflate/limiter.js';
import { WsSender } from './sender.js';
import { leaveAll, type TopicConn } from './topics/registry.js';

const EMPTY = Buffer.alloc(0);

interface PendingPiece {
  buf: Buffer;
  info: PieceInfo;
}

/**
 * One WebSocket connection, server or client side (see `WsSide`), the ws
 * role's state: turns frames into RECEIVE callbacks no larger than the
 * protocol's rxBufferSize, answers pings, runs the closing handshake and
 * the idle ping check. What it sends goes through its `WsSender`.
 */
export class WsConn implements WsSink, HttpCarrier {
  readonly sender: WsSender;
  /**
   * The head of the handshake: the request on a server (readable in
   * ESTABLISHED only, as lws frees its header table after it), the
   * response on a client (kept).
   */
  httpHead: HttpHead | null;
  /** On a client, the handshake's response status. */
  readonly status: number;
  readonly httpExchange = null;
  #topics: TopicConn | null = null;
  // The parser and the UTF-8 state are made when the first byte and the
  // first text message come: an idle connection (the common case at scale)
  // carries neither (about 1 KB of heap less per connection).
  #parser: WsParser | null = null;
  // what the fragment calls report about the piece being delivered
  #final = false;
  #first = false;
  #remaining = 0;
  #binary = false;
  /** Bytes of the message being received so far, for `tslws:ws:message:in`. */
  #rxMessageSize = 0;
  /** The status of the peer's Close when it came before ours; -1 until then. */
  #peerCloseCode = -1;
  #utf8: Utf8Validator | null = null;
  #validateUtf8: boolean;
  #pending: PendingPiece | null = null;
  #rxChunk: number;
  // set while a Close (ours or the peer's) waits one turn for a pending WRITEABLE
  #rxDone = false;
  // permessage-deflate, when negotiated: null otherwise
  #pmd: PmdConn | null = null;
  #rxInflate = false; // the message being received is compressed
  #infFirst = false;
  #infOpcode = 0;

  /** `side` says server or client: which reasons to deliver, whether frames are masked. */
  constructor(readonly wsi: Wsi, readonly opts: Readonly<WsOptions>, readonly side: WsSide = WS_SERVER,
    head: HttpHead | null = null, status = 0) {
    this.httpHead = head;
    this.status = status;
    this.#validateUtf8 = opts.validateUtf8;
    const rx = wsi.protocol.rxBufferSize;
    this.#rxChunk = rx && rx > 0 ? rx : 4096;
    const a = takeAgreed(wsi);
    if (a) {
      // The vhost's bounds are its own settings; a vhost that only makes
      // client connections takes those of the first one.
      const bounds = pmdOf(wsi.vhost.wsOptions) ?? a.cfg;
      this.#pmd = new PmdConn(a.cfg, a.agreement, limiterFor(wsi.vhost, bounds.concurrency, bounds.keptCompressors, wsi.context.timers), {
        accepting: () => !wsi.closed && wsi.rxFlowOn && !this.#pending,
        inflated: (buf, last, more) => this.#inflated(buf, last, more),
        drained: () => this.#inflateDrained(),
        fail: (code, why) => this.error(code, why),
      }, {
        frame: (op, fin, rsv1, payload) => this.sender.frame(op, fin, rsv1, payload),
        send: (frame) => this.sender.send(frame),
        // Not error(): nothing can be sent after a failed compression, so no WRITEABLE goes first.
        fail: (why) => {
          log.err('wsi %d: %s', wsi.id, why);
          this.sender.setCloseReason(CloseStatus.UNEXPECTED_CONDITION, Buffer.from(why.slice(0, 100)));
          wsi.close();
        },
      }, this.#rxChunk);
    }
    this.sender = new WsSender(wsi, side.isServer, this.#pmd);
  }

  /** Topics this connection subscribes to and publishes waiting for it; null until it first subscribes. */
  get topics(): TopicConn | null {
    return this.#topics;
  }
  set topics(t: TopicConn | null) {
    this.#topics = t;
    this.sender.topics = t;
  }

  /** True when permessage-deflate was negotiated on this connection. */
  get deflateActive(): boolean {
    return this.#pmd !== null;
  }

  /** The extension state, for tests and accounting. */
  get pmd(): PmdConn | null {
    return this.#pmd;
  }

  /** lws_set_extension_option: -1 when `ext` is not active here, 0 when applied. */
  setExtensionOption(ext: string, name: string, value: string | number): number {
    return this.#pmd ? this.#pmd.setOption(ext, name, value) : -1;
  }

  // ---- fragment information for the RECEIVE callback ----
  get isFinalFragment(): boolean {
    return this.#final;
  }
  get isFirstFragment(): boolean {
    return this.#first;
  }
  get remainingPacketPayload(): number {
    return this.#remaining;
  }
  get frameIsBinary(): boolean {
    return this.#binary;
  }

  // ---- input ----

  rx(buf: Buffer): void {
    const wsi = this.wsi;
    if (this.#rxDone) return;
    if (this.#pending && !this.#deliverPending()) {
      wsi.holdRx(buf);
      return;
    }
    if (this.#pmd?.rxBusy) {
      // Parsing waits for the piece being decompressed; newer bytes queue behind.
      if (buf.length) {
        wsi.heldRx = wsi.heldRx ? Buffer.concat([wsi.heldRx, buf]) : buf;
        wsi.transport?.pause();
        this.#armPing();
      }
      this.#pmd.inflater.resume();
      return;
    }
    if (wsi.closed || buf.length === 0) return;
    this.#armPing();
    let parser = this.#parser;
    if (!parser) {
      parser = this.#parser = new WsParser(this.side.isServer, this.opts, this);
      parser.allowRsv1 = this.#pmd !== null;
    }
    const used = parser.feed(buf, 0);
    // No copy: each compressed message in a read stops parsing once.
    if (used < buf.length && !wsi.closed) wsi.holdRx(buf.subarray(used));
  }

  #deliverPending(): boolean {
    const p = this.#pending as PendingPiece;
    this.#pending = null;
    return this.#deliver(p.buf, p.info);
  }

  payload(piece: Buffer, info: PieceInfo): boolean {
    if (info.firstOfMessage) {
      this.#rxInflate = info.rsv1;
      if (info.rsv1) {
        this.#infFirst = true;
        this.#infOpcode = info.opcode;
      }
    }
    if (!this.#rxInflate) return this.#deliver(piece, info);
    const end = info.fin && info.remaining === 0;
    if (piece.length === 0 && !end) return true;
    // Parsing stops here until the piece is decompressed and delivered.
    (this.#pmd as PmdConn).inflater.push(piece, end);
    return false;
  }

  #inflated(buf: Buffer, last: boolean, more: number): boolean {
    const info: PieceInfo = { opcode: this.#infOpcode, fin: last, remaining: more, firstOfMessage: this.#infFirst, rsv1: false };
    this.#infFirst = false;
    return this.#deliver(buf, info);
  }

  /** A compressed piece is used up: parse what arrived meanwhile ("forced service"). */
  #inflateDrained(): void {
    const wsi = this.wsi;
    if (wsi.closed || this.#rxDone || !wsi.rxFlowOn || this.#pending) return;
    const held = wsi.heldRx;
    wsi.heldRx = null;
    if (held) this.rx(held);
    if (!wsi.closed && wsi.rxFlowOn && !wsi.heldRx && !this.#pending && !this.#pmd?.rxBusy) wsi.transport?.resume();
  }

  /** Check a piece (UTF-8) and hand it to RECEIVE in rxBufferSize pieces, stopping if rx flow control stops. */
  #deliver(piece: Buffer, info: PieceInfo): boolean {
    const wsi = this.wsi;
    if (this.#validateUtf8 && info.opcode === Op.TEXT) {
      const v = (this.#utf8 ??= new Utf8Validator());
      if (info.firstOfMessage) v.reset();
      if (!v.push(piece) || (info.fin && info.remaining === 0 && !v.end())) {
        this.error(CloseStatus.INVALID_PAYLOAD, 'invalid UTF-8 in a text message');
        return false;
      }
    }
    let off = 0;
    let first = info.firstOfMessage;
    const chunk = this.#rxInflate && this.#pmd ? this.#pmd.rxPiece : this.#rxChunk;
    do {
      const n = Math.min(chunk, piece.length - off);
      const sub = n === piece.length ? piece : piece.subarray(off, off + n);
      off += n;
      const after = piece.length - off;
      this.#first = first;
      first = false;
      this.#remaining = info.remaining + after;
      this.#final = info.fin && this.#remaining === 0;
      this.#binary = info.opcode === Op.BINARY;
      this.#rxMessageSize = (this.#first ? 0 : this.#rxMessageSize) + n;
      // Told before the callback sees the last piece: what it sends in answer, or its close, comes after.
      if (this.#final && channels.wsMessageIn.hasSubscribers) {
        channels.wsMessageIn.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, protocol: wsi.protocol.name, client: !this.side.isServer,
          size: this.#rxMessageSize, binary: this.#binary });
      }
      if (wsi.callProtocol(this.side.receive, sub)) return false;
      if (wsi.closed) return false;
      if (!wsi.rxFlowOn) {
        if (after > 0) this.#pending = { buf: piece.subarray(off), info: { ...info, firstOfMessage: false } };
        return false;
      }
    } while (off < piece.length);
    return true;
  }

  control(opcode: number, payload: Buffer): boolean {
    const wsi = this.wsi;
    if (opcode === Op.PING) {
      this.sender.pong(payload);
      return !wsi.closed;
    }
    if (opcode === Op.PONG) {
      this.#armPing();
      wsi.callProtocol(this.side.receivePong, payload);
      return !wsi.closed;
    }
    // CLOSE
    let code: number = CloseStatus.NO_STATUS;
    if (payload.length === 1) {
      this.error(CloseStatus.PROTOCOL_ERR, 'close frame with a 1-byte payload');
      return false;
    }
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!closeCodeIsValid(code)) {
        this.error(CloseStatus.PROTOCOL_ERR, `invalid close code ${code}`);
        return false;
      }
      const v = new Utf8Validator();
      if (!v.push(payload.subarray(2)) || !v.end()) {
        this.error(CloseStatus.INVALID_PAYLOAD, 'close reason is not UTF-8');
        return false;
      }
    }
    if (!this.sender.closeSent) this.#peerCloseCode = code;
    if (this.sender.closeSent) {
      // This is the answer to our Close: the handshake is complete.
      wsi.close();
      return false;
    }
    if (wsi.wantWritable) {
      // A message read just before this Close may be waiting for the
      // WRITEABLE the user asked for (an echo): RFC 6455 5.5.1 lets us
      // finish sending it first, and Autobahn 7.1.1 expects it. Parsing
      // stops here; anything after the Close is ignored.
      const p = Buffer.from(payload);
      this.#rxDone = true;
      setImmediate(() => {
        if (!wsi.closed) this.#peerClose(code, p);
      });
      return false;
    }
    this.#peerClose(code, payload);
    return false;
  }

  #peerClose(code: number, payload: Buffer): void {
    const wsi = this.wsi;
    const r = wsi.callProtocol(Reason.WS_PEER_INITIATED_CLOSE, payload);
    if (!wsi.closed) {
      // Echo the peer's status, as RFC 6455 5.5.1 asks.
      if (r === 0) this.sender.setCloseReason(code === CloseStatus.NO_STATUS ? 0 : code, payload.length > 2 ? payload.subarray(2) : EMPTY);
      wsi.close();
    }
  }

  error(code: number, why: string): void {
    const wsi = this.wsi;
    log.info('wsi %d (%s): closing %d: %s', wsi.id, wsi.peerAddress, code, why);
    this.sender.setCloseReason(code, Buffer.from(why.slice(0, 100)));
    if (wsi.wantWritable && !wsi.closed) {
      // Good messages earlier in the same read may be waiting for the
      // WRITEABLE the user asked for (an echo): let it run first, so the
      // peer gets those answers before the Close (Autobahn 3.2, 4.1.3 ...
      // count a missing answer as non-strict). The parser has already
      // stopped, so nothing after the bad frame is delivered.
      this.#rxDone = true;
      setImmediate(() => wsi.close());
      return;
    }
    wsi.close();
  }

  // ---- output ----

  writable(): void {
    const wsi = this.wsi;
    if (!this.sender.flushPong()) return;
    const tc = this.#topics;
    if (tc?.pending) {
      // Published messages were made before anything the WRITEABLE about
      // to run writes: they go first. While they cannot all go (choked),
      // WRITEABLE waits, and the drain brings the connection back.
      const t = wsi.transport;
      t?.cork();
      const empty = tc.flush(false);
      t?.uncork();
      if (!empty && !this.sender.inMessage && !tc.held) return;
    }
    // Frames written in one WRITEABLE leave together, in one writev, rather
    // than one syscall per write (the cost that dominates echoing pipelined
    // small messages). sendPipeChoked() still turns true once the corked
    // bytes pass the high-water mark.
    wsi.deliverWriteable(this.side.writeable, true);
    // Frames the uncork wrote through free their pooled buffers for the next connection.
    this.sender.reclaim();
  }

  // ---- the idle ping check ----

  // The check has its own timer, apart from the connection's one timeout
  // slot, so a timeout the user set is never overwritten.
  #pingTimer: Timer | null = null;
  #awaitingPong = false;

  #armPing(): void {
    const secs = this.opts.pingPongSecs;
    if (secs <= 0 || this.wsi.closed) return;
    this.#awaitingPong = false;
    (this.#pingTimer ??= this.wsi.context.timers.timer(WsConn.#pingDue, this)).start(secs * 1000);
  }

  start(): void {
    this.#armPing();
  }

  static #pingDue = (c: WsConn): void => c.#pingCheck();

  #pingCheck(): void {
    const wsi = this.wsi;
    const ms = this.opts.pingPongSecs * 1000;
    if (wsi.closed) return;
    if (!wsi.rxFlowOn) {
      // A pong cannot be read while reading is stopped: do not judge the peer.
      this.#pingTimer?.start(ms);
      return;
    }
    if (this.#awaitingPong) {
      log.info('wsi %d: no pong in time, closing', wsi.id);
      wsi.close(false);
      return;
    }
    if (!this.sender.closeSent) {
      this.sender.ping();
      this.#awaitingPong = true;
      this.#pingTimer?.start(ms);
    }
  }

  /** Rx flow control was turned back on: deliver what was held, even half a frame. */
  resumed(held: Buffer | null): void {
    this.rx(held ?? EMPTY);
  }

  /** The peer closed TCP without a Close frame. */
  peerEnded(): void {
    this.wsi.close();
  }

  /** See RoleOps.closing: with messages still being compressed, they and the Close go out first. */
  closing(flush: boolean): void | ((done: () => void) => void) {
    this.#pingTimer?.stop();
    const tc = this.#topics;
    if (tc) {
      // What was published before the close leaves before the Close frame.
      if (!flush || !tc.flush(true, true)) tc.discard();
      leaveAll(this.wsi, tc);
    }
    const last = this.sender.close(flush);
    if (channels.wsClose.hasSubscribers) this.#announceClose();
    this.wsi.callProtocol(this.side.closed);
    return last;
  }

  /** `tslws:ws:close`: who closed first, and with which status (see `WsCloseMessage`). */
  #announceClose(): void {
    const wsi = this.wsi;
    let code: number;
    let initiator: 'peer' | 'local' | 'none';
    if (this.#peerCloseCode >= 0) {
      initiator = 'peer';
      code = this.#peerCloseCode;
    } else if (wsi.peerEnded || !this.sender.closeSent) {
      // The peer left without a Close, or ours could not be written: an abnormal closure.
      initiator = 'none';
      code = CloseStatus.ABNORMAL_CLOSE;
    } else {
      initiator = 'local';
      code = this.sender.closeCode || CloseStatus.NO_STATUS;
    }
    channels.wsClose.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, protocol: wsi.protocol.name, client: !this.side.isServer,
      code, initiator });
  }
}
