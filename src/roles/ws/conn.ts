import type { Wsi } from '../../core/wsi.js';
import { Reason } from '../../core/reasons.js';
import { Write, WRITE_KIND_MASK } from '../../core/write.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { WsParser, type PieceInfo, type WsSink } from './parser.js';
import { Op, CloseStatus, buildFrame, closeCodeIsValid } from './frame.js';
import { Utf8Validator } from './utf8.js';
import { pmdOf, type WsOptions } from './options.js';
import { WS_SERVER, nextMaskKey, type WsSide } from './sides.js';
import type { Socket } from 'node:net';
import { PmdConn } from './deflate/pmd-conn.js';
import { takeAgreed } from './deflate/handoff.js';
import { limiterFor } from './deflate/limiter.js';

const EMPTY = Buffer.alloc(0);

interface PendingPiece {
  buf: Buffer;
  info: PieceInfo;
}

/**
 * One WebSocket connection, server or client side (see `WsSide`): turns frames into RECEIVE
 * callbacks no larger than the protocol's rxBufferSize, answers pings,
 * runs the closing handshake, and frames what the user writes.
 */
export class WsConn implements WsSink {
  // The parser and the UTF-8 state are made when the first byte and the
  // first text message come: an idle connection (the common case at scale)
  // carries neither (about 1 KB of heap less per connection).
  #parser: WsParser | null = null;
  // what the fragment calls report about the piece being delivered
  #final = false;
  #first = false;
  #remaining = 0;
  #binary = false;
  #utf8: Utf8Validator | null = null;
  #validateUtf8: boolean;
  #pending: PendingPiece | null = null;
  #pendingPong: Buffer | null = null;
  #txInMessage = false;
  #closeSent = false;
  #closeCode = 0;
  #closeReason: Buffer = EMPTY;
  #rxChunk: number;
  // set while a Close (ours or the peer's) waits one turn for a pending WRITEABLE
  #rxDone = false;
  // permessage-deflate, when negotiated: null otherwise
  #pmd: PmdConn | null = null;
  #txChoked = false;
  // the socket frames go to; kept when a close hands it over to the send queue
  #sock: Socket | null;
  #rxInflate = false; // the message being received is compressed
  #infFirst = false;
  #infOpcode = 0;
  #txCompress = false; // the message being sent is compressed

  /** `side` says server or client: which reasons to deliver, whether frames are masked. */
  constructor(readonly wsi: Wsi, readonly opts: Readonly<WsOptions>, readonly side: WsSide = WS_SERVER) {
    this.#validateUtf8 = opts.validateUtf8;
    const rx = wsi.protocol.rxBufferSize;
    this.#rxChunk = rx && rx > 0 ? rx : 4096;
    this.#sock = wsi.socket;
    const a = takeAgreed(wsi);
    if (a) {
      // The vhost's bounds are its own settings; a vhost that only makes
      // client connections takes those of the first one.
      const bounds = pmdOf(wsi.vhost.wsOptions) ?? a.cfg;
      this.#pmd = new PmdConn(a.cfg, a.agreement, limiterFor(wsi.vhost, bounds.concurrency, bounds.keptCompressors), {
        accepting: () => !wsi.closed && wsi.rxFlowOn && !this.#pending,
        inflated: (buf, last, more) => this.#inflated(buf, last, more),
        drained: () => this.#inflateDrained(),
        fail: (code, why) => this.error(code, why),
      }, {
        frame: (op, fin, rsv1, payload) => this.#frame(op, fin, rsv1, payload),
        send: (frame) => {
          const s = this.#sock;
          if (s && !s.destroyed) s.write(frame);
        },
        // Not error(): nothing can be sent after a failed compression, so no WRITEABLE goes first.
        fail: (why) => {
          log.err('wsi %d: %s', wsi.id, why);
          this.setCloseReason(CloseStatus.UNEXPECTED_CONDITION, Buffer.from(why.slice(0, 100)));
          wsi.close();
        },
      }, this.#rxChunk);
    }
  }

  /** True when permessage-deflate was negotiated on this connection. */
  get deflateActive(): boolean {
    return this.#pmd !== null;
  }

  /** @internal The extension state, for tests and accounting. */
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
      this.#hold(buf, 0);
      return;
    }
    if (this.#pmd?.rxBusy) {
      // Parsing waits for the piece being decompressed; newer bytes queue behind.
      if (buf.length) {
        wsi.heldRx = wsi.heldRx ? Buffer.concat([wsi.heldRx, buf]) : buf;
        wsi.socket?.pause();
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
    if (used < buf.length && !wsi.closed) this.#hold(buf, used);
  }

  /** Keep unparsed input until reading is allowed again, ahead of anything newer. */
  #hold(buf: Buffer, from: number): void {
    const rest = buf.subarray(from);
    if (rest.length === 0) return;
    const wsi = this.wsi;
    // No copy: each compressed message in a read stops parsing once, and
    // copying the rest every time would cost the square of the messages.
    wsi.heldRx = wsi.heldRx ? Buffer.concat([rest, wsi.heldRx]) : rest;
    wsi.socket?.pause();
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
    if (!wsi.closed && wsi.rxFlowOn && !wsi.heldRx && !this.#pending && !this.#pmd?.rxBusy) wsi.socket?.resume();
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
      this.#sendPong(payload);
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
    if (this.#closeSent) {
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
      if (r === 0) {
        // Echo the peer's status, as RFC 6455 5.5.1 asks.
        this.#closeCode = code === CloseStatus.NO_STATUS ? 0 : code;
        this.#closeReason = payload.length > 2 ? payload.subarray(2) : EMPTY;
      }
      wsi.close();
    }
  }

  error(code: number, why: string): void {
    const wsi = this.wsi;
    log.info('wsi %d (%s): closing %d: %s', wsi.id, wsi.peerAddress, code, why);
    this.setCloseReason(code, Buffer.from(why.slice(0, 100)));
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

  // A client masks every frame with a fresh key (RFC 6455 5.3); a server never does.
  #frame(op: number, fin: boolean, rsv1: boolean, payload: Uint8Array): Buffer {
    return buildFrame(op, fin, rsv1, payload, this.side.isServer ? undefined : nextMaskKey());
  }

  #sendPong(payload: Buffer): void {
    const s = this.wsi.socket;
    if (!s || this.#closeSent) return;
    if (s.writableNeedDrain) {
      // Only the latest ping needs an answer (RFC 6455 5.5.3): keep one.
      this.#pendingPong = Buffer.from(payload);
      return;
    }
    s.write(this.#frame(Op.PONG, true, false, payload));
  }

  write(buf: Uint8Array, flags: number): number {
    const wsi = this.wsi;
    const s = wsi.socket;
    if (!s || wsi.closed || this.#closeSent) return -1;
    const kind = flags & WRITE_KIND_MASK;
    const fin = (flags & Write.NO_FIN) === 0;
    let op: number;
    switch (kind) {
      case Write.TEXT:
      case Write.BINARY:
        if (this.#txInMessage) throw new Error('wsi.write: a fragmented message is in progress; continue it with Write.CONTINUATION');
        op = kind === Write.TEXT ? Op.TEXT : Op.BINARY;
        this.#txInMessage = !fin;
        // A fragmented message's size is unknown: compress it whatever its first piece.
        this.#txCompress = this.#pmd !== null && (!fin || buf.length >= this.#pmd.threshold);
        break;
      case Write.CONTINUATION:
        if (!this.#txInMessage) throw new Error('wsi.write: Write.CONTINUATION with no fragmented message in progress (start it with Write.TEXT or Write.BINARY and Write.NO_FIN)');
        op = Op.CONTINUATION;
        this.#txInMessage = !fin;
        break;
      case Write.PING:
      case Write.PONG:
        if (buf.length > 125) throw new RangeError('wsi.write: ping and pong payloads are at most 125 bytes');
        if (!fin) throw new Error('wsi.write: control frames cannot be fragmented');
        op = kind === Write.PING ? Op.PING : Op.PONG;
        break;
      default:
        throw new Error(`wsi.write: write kind ${kind} is not valid on a WebSocket connection`);
    }
    const pmd = this.#pmd;
    if (pmd && op < 0x8) {
      if (this.#txCompress) {
        // The caller may reuse its buffer once write returns; zlib reads it later.
        pmd.sendCompressed(op, fin, op !== Op.CONTINUATION, Buffer.from(buf));
      } else {
        pmd.sendFrame(this.#frame(op, fin, false, buf));
      }
      // Uncompressed frames queued behind a compression count too.
      this.#chokeWhileCompressing(s, pmd);
      return buf.length;
    }
    s.write(this.#frame(op, fin, false, buf));
    return buf.length;
  }

  /**
   * Bytes waiting for the compressor count against the send high-water
   * mark as bytes in the socket do: past it, sendPipeChoked() turns true
   * and WRITEABLE waits until the compressor has caught up, so a writer
   * looping on sendPipeChoked() cannot queue without bound.
   */
  #chokeWhileCompressing(s: Socket, pmd: PmdConn): void {
    if (this.#txChoked || pmd.txQueuedBytes + s.writableLength < s.writableHighWaterMark) return;
    this.#txChoked = true;
    pmd.whenTxIdle(() => {
      this.#txChoked = false;
      // A socket that is itself past its mark reports through 'drain'.
      const wsi = this.wsi;
      if (!wsi.closed && wsi.socket && !wsi.socket.writableNeedDrain) wsi.context.socketDrained(wsi);
    });
  }

  /** @internal True while compressed output waits past the high-water mark. */
  get txChoked(): boolean {
    return this.#txChoked;
  }

  /** Remember the status and reason the Close frame will carry. */
  setCloseReason(code: number, reason: Uint8Array): void {
    if (this.#closeCode) return; // the first reason given wins
    this.#closeCode = code;
    this.#closeReason = Buffer.from(reason.subarray(0, 123));
  }

  writable(): void {
    const wsi = this.wsi;
    if (this.#pendingPong) {
      const p = this.#pendingPong;
      this.#pendingPong = null;
      this.#sendPong(p);
      if (wsi.sendPipeChoked()) return;
    }
    if (!wsi.wantWritable) return;
    wsi.wantWritable = false;
    wsi.inWritable = true;
    // Frames written in one WRITEABLE leave together, in one writev, rather
    // than one syscall per socket.write (the cost that dominates echoing
    // pipelined small messages). sendPipeChoked() still turns true once the
    // corked bytes pass the high-water mark.
    const s = wsi.socket;
    s?.cork();
    try {
      wsi.callProtocol(this.side.writeable);
    } finally {
      wsi.inWritable = false;
      s?.uncork();
    }
  }

  // ---- timers ----

  // The idle ping check has its own deadline, apart from the connection's
  // one timeout slot, so a timeout the user set is never overwritten.
  #pingAt = 0;
  #awaitingPong = false;

  #armPing(): void {
    const secs = this.opts.pingPongSecs;
    if (secs <= 0 || this.wsi.closed) return;
    this.#pingAt = Date.now() + secs * 1000;
    this.#awaitingPong = false;
    this.wsi.context.watchPing(this.wsi);
  }

  start(): void {
    this.#armPing();
  }

  /** Called by the context a few times a second while a ping interval is set. */
  pingTick(now: number): void {
    const wsi = this.wsi;
    const secs = this.opts.pingPongSecs;
    if (wsi.closed || now < this.#pingAt) return;
    if (!wsi.rxFlowOn) {
      // A pong cannot be read while reading is stopped: do not judge the peer.
      this.#pingAt = now + secs * 1000;
      return;
    }
    if (this.#awaitingPong) {
      log.info('wsi %d: no pong in time, closing', wsi.id);
      wsi.close(false);
      return;
    }
    if (wsi.socket && !this.#closeSent) {
      wsi.socket.write(this.#frame(Op.PING, true, false, EMPTY));
      this.#awaitingPong = true;
      this.#pingAt = now + secs * 1000;
    }
  }

  timeout(_reason: PendingTimeout): void {
    this.wsi.close(false);
  }

  /** The peer closed TCP without a Close frame. */
  peerEnded(): void {
    this.wsi.close();
  }

  /** See Role.closing: with messages still being compressed, they and the Close go out first. */
  closing(flush: boolean): void | ((done: () => void) => void) {
    const wsi = this.wsi;
    const s = wsi.socket;
    const pmd = this.#pmd;
    pmd?.stopRx();
    let last: void | ((done: () => void) => void) = undefined;
    if (s && !s.destroyed && !this.#closeSent && s.writable) {
      this.#closeSent = true;
      let payload = EMPTY;
      if (this.#closeCode) {
        payload = Buffer.allocUnsafe(2 + this.#closeReason.length);
        payload.writeUInt16BE(this.#closeCode, 0);
        this.#closeReason.copy(payload, 2);
      }
      const close = this.#frame(Op.CLOSE, true, false, payload);
      if (flush && pmd && !pmd.txIdle) {
        // The socket ends once the queued messages and then the Close are written.
        s.once('close', () => pmd.destroy());
        last = (done) => pmd.whenTxIdle(() => {
          pmd.destroy();
          if (!s.destroyed) s.write(close);
          done();
        });
      } else {
        s.write(close);
        pmd?.destroy();
      }
    } else pmd?.destroy();
    wsi.callProtocol(this.side.closed);
    return last;
  }
}
