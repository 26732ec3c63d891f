import type { Socket } from 'node:net';
import type { Wsi } from '../../core/wsi.js';
import type { Transport } from '../../core/role.js';
import { Write, WRITE_KIND_MASK } from '../../core/write.js';
import { ErrorCode, rangeError, stateError } from '../../core/errors.js';
import { channels } from '../../core/diagnostics.js';
import { Op, buildFrame, frameHeaderLength, unmask, writeFrame, writeFrameHeader } from './frame.js';
import { FRAME_PAYLOAD_MAX, POOL_FROM, framePoolOf, type FramePool } from './frame-pool.js';
import { carveAt, carved, scratchBuffer, scratchGeneration, takeBack } from './frame-scratch.js';
import { nextMaskKey } from './sides.js';
import type { PmdConn } from './deflate/pmd-conn.js';
import type { PublishedMessage } from './topics/published.js';
import type { TopicConn } from './topics/registry.js';

const EMPTY = Buffer.alloc(0);

/**
 * Memory lent to the socket until it is done with it; `out` until given
 * back (once): a pooled frame buffer (`buf`), or a caller's (`release`).
 */
interface Loan {
  buf: Buffer | null;
  release: (() => void) | null;
  out: boolean;
}

/**
 * Everything that leaves a WebSocket: framing, masking (a client masks
 * every frame with a fresh key, RFC 6455 5.3; a server never does), the
 * permessage-deflate send queue, pongs and the Close frame. Frames leave
 * in the order they were written, compressed or not; a message framed
 * once elsewhere (one publish to many subscribers) can be sent as it is.
 */
export class WsSender {
  #out: Transport | null;
  #inMessage = false;
  #compress = false;
  #closeSent = false;
  #closeCode = 0;
  #closeReason: Buffer = EMPTY;
  #pendingPong: Buffer | null = null;
  #choked = false;
  /** @internal Published messages waiting for this connection, once it subscribes. */
  topics: TopicConn | null = null;
  /** The fragmented message being sent: its bytes so far and its type, for `tslws:ws:message:out`. */
  #txMessageSize = 0;
  #txBinary = false;
  /** The connection's own socket, whose large frames are built in pooled buffers; null for a stream. */
  #sock: Socket | null;
  #pool: FramePool | null;
  /** Pooled frames handed to the socket, until it is known to be done with them. */
  #lent: Loan[] | null = null;

  constructor(readonly wsi: Wsi, readonly isServer: boolean, readonly pmd: PmdConn | null) {
    // Kept: a close may hand the transport to the send queue after the wsi let it go.
    this.#out = wsi.transport;
    // A socket calls a write's callback once it is done with the chunk (the
    // Writable contract): the buffer can then be lent again. A stream inside
    // a connection has its own rules, so its frames are never pooled.
    const s = wsi.socket;
    this.#sock = s !== null && s === this.#out ? s : null;
    this.#pool = this.#sock ? framePoolOf(wsi.vhost) : null;
  }

  /** One frame, masked when we are the client. */
  frame(op: number, fin: boolean, rsv1: boolean, payload: Uint8Array): Buffer {
    return buildFrame(op, fin, rsv1, payload, this.isServer ? undefined : nextMaskKey());
  }

  /** Bytes straight to the transport (frames the send queue has finished with). */
  send(frame: Uint8Array): void {
    const t = this.#out;
    if (t && !t.destroyed) t.write(frame);
  }

  /** True once our Close frame is on its way: nothing more may be sent. */
  get closeSent(): boolean {
    return this.#closeSent;
  }

  /** True between the first and the last fragment of a message of the connection's own. */
  get inMessage(): boolean {
    return this.#inMessage;
  }

  /** The status our Close frame carries (0: none). */
  get closeCode(): number {
    return this.#closeCode;
  }

  /** True while compressed output waits past the high-water mark. */
  get choked(): boolean {
    return this.#choked;
  }

  /**
   * `wsi.write()` on a WebSocket: a message or a fragment (`NO_FIN`, then
   * `CONTINUATION`), or a ping or pong. Returns the bytes taken or -1.
   */
  write(buf: Uint8Array, flags: number): number {
    const op = this.#begin(buf, flags);
    if (op < 0) return -1;
    const fin = (flags & Write.NO_FIN) === 0;
    const t = this.#out as Transport;
    if (this.#toCompressor(t, op, fin, buf)) return buf.length;
    const sock = this.#sock;
    if (sock !== null && buf.length >= POOL_FROM && buf.length <= FRAME_PAYLOAD_MAX) this.#writePooled(sock, op, fin, buf);
    else if (sock !== null && buf.length < POOL_FROM) this.#writeScratch(sock, op, fin, buf);
    else t.write(this.frame(op, fin, false, buf));
    return buf.length;
  }

  /** The range of the scratch buffer (frame-scratch.ts) this connection's frames took and its socket may hold; generation -1: none. */
  #scrGen = -1;
  #scrStart = 0;
  #scrEnd = 0;

  /** A small frame built in the shared scratch buffer, its bytes taken back once the socket holds nothing. */
  #writeScratch(sock: Socket, op: number, fin: boolean, buf: Uint8Array): void {
    const mask = this.isServer ? undefined : nextMaskKey();
    const n = frameHeaderLength(buf.length, mask !== undefined) + buf.length;
    const at = carveAt(n);
    const out = scratchBuffer();
    writeFrame(out, at, op, fin, false, buf, mask);
    carved(n);
    // Frames carved one after the other (nothing between) make one range.
    const gen = scratchGeneration();
    if (this.#scrGen !== gen || this.#scrEnd !== at) {
      this.#scrGen = gen;
      this.#scrStart = at;
    }
    this.#scrEnd = at + n;
    sock.write(out.subarray(at, at + n));
    this.#takeBackScratch(sock);
  }

  /** Take this connection's range back if its socket holds nothing (the kernel has every frame). */
  #takeBackScratch(sock: Socket): void {
    if (this.#scrGen < 0 || sock.writableLength !== 0 || sock.destroyed) return;
    takeBack(this.#scrGen, this.#scrStart, this.#scrEnd);
    this.#scrGen = -1;
  }

  /**
   * `wsi.writeLent()`: as `write`, but the header goes into the LWS_PRE
   * bytes before `buf` and the frame leaves from the caller's memory, which
   * `release` gives back once the socket is done with it. Where the frame
   * must be built elsewhere anyway (a stream inside another connection, the
   * compressor) it is copied and released at once. `release` is called
   * exactly once. The caller has checked the room in front.
   */
  writeLent(buf: Uint8Array, flags: number, release: () => void): number {
    let op: number;
    try {
      op = this.#begin(buf, flags);
    } catch (e) {
      release();
      throw e;
    }
    if (op < 0) {
      release();
      return -1;
    }
    const fin = (flags & Write.NO_FIN) === 0;
    const t = this.#out as Transport;
    const sock = this.#sock;
    // Copied by the compressor's queue, or (a stream's transport) into a frame here.
    const copied = this.#toCompressor(t, op, fin, buf);
    if (copied || sock === null) {
      if (!copied) t.write(this.frame(op, fin, false, buf));
      release();
      return buf.length;
    }
    const mask = this.isServer ? undefined : nextMaskKey();
    const hlen = frameHeaderLength(buf.length, mask !== undefined);
    const frame = new Uint8Array(buf.buffer, buf.byteOffset - hlen, hlen + buf.length);
    writeFrameHeader(frame, 0, op, fin, false, buf.length, mask);
    if (mask) unmask(buf, mask, 0);
    this.#lend(sock, frame, { buf: null, release, out: true });
    return buf.length;
  }

  /**
   * Check a write against the connection's state and move the message
   * state on; the frame's opcode, or -1 when nothing more can be sent.
   */
  #begin(buf: Uint8Array, flags: number): number {
    const t = this.#out;
    if (!t || this.wsi.closed || this.#closeSent) return -1;
    const kind = flags & WRITE_KIND_MASK;
    const fin = (flags & Write.NO_FIN) === 0;
    let op: number;
    switch (kind) {
      case Write.TEXT:
      case Write.BINARY:
        if (this.#inMessage) throw stateError(ErrorCode.WRITE_MISUSE, 'wsi.write: a fragmented message is in progress; continue it with Write.CONTINUATION');
        op = kind === Write.TEXT ? Op.TEXT : Op.BINARY;
        // Messages published to this connection before this write leave before it.
        if (this.topics?.pending) this.topics.flush(true);
        this.#inMessage = !fin;
        this.#txMessageSize = buf.length;
        this.#txBinary = op === Op.BINARY;
        // A fragmented message's size is unknown: compress it whatever its first piece.
        this.#compress = this.pmd !== null && (!fin || buf.length >= this.pmd.threshold);
        break;
      case Write.CONTINUATION:
        if (!this.#inMessage) throw stateError(ErrorCode.WRITE_MISUSE, 'wsi.write: Write.CONTINUATION with no fragmented message in progress (start it with Write.TEXT or Write.BINARY and Write.NO_FIN)');
        op = Op.CONTINUATION;
        this.#inMessage = !fin;
        // Publishes held back by the fragmented message may go once it is written.
        if (fin && this.topics?.pending) this.wsi.context.scheduleWritable(this.wsi);
        this.#txMessageSize += buf.length;
        break;
      case Write.PING:
      case Write.PONG:
        if (buf.length > 125) throw rangeError(ErrorCode.WRITE_MISUSE, 'wsi.write: ping and pong payloads are at most 125 bytes');
        if (!fin) throw stateError(ErrorCode.WRITE_MISUSE, 'wsi.write: control frames cannot be fragmented');
        op = kind === Write.PING ? Op.PING : Op.PONG;
        break;
      default:
        throw stateError(ErrorCode.WRITE_MISUSE, `wsi.write: write kind ${kind} is not valid on a WebSocket connection`);
    }
    // Told as the whole message is handed over (queued for the compressor or the socket), before it leaves.
    if (fin && op < 0x8 && channels.wsMessageOut.hasSubscribers) this.#announce(this.#txMessageSize, this.#txBinary);
    return op;
  }

  /** With permessage-deflate a data frame goes through its queue (compressed or not): true when it did. */
  #toCompressor(t: Transport, op: number, fin: boolean, buf: Uint8Array): boolean {
    const pmd = this.pmd;
    if (!pmd || op >= 0x8) return false;
    if (this.#compress) {
      // The caller may reuse its buffer once write returns; zlib reads it later.
      pmd.sendCompressed(op, fin, op !== Op.CONTINUATION, Buffer.from(buf));
    } else {
      pmd.sendFrame(this.frame(op, fin, false, buf));
    }
    // Uncompressed frames queued behind a compression count too.
    this.#chokeWhileCompressing(t, pmd);
    return true;
  }

  /**
   * A large frame built in a buffer lent from the pool until the socket is
   * done with it: told by the write's callback, or sooner by the socket
   * having nothing left to write (see `reclaim`).
   */
  #writePooled(sock: Socket, op: number, fin: boolean, buf: Uint8Array): void {
    const slot = (this.#pool as FramePool).take();
    const n = writeFrame(slot, 0, op, fin, false, buf, this.isServer ? undefined : nextMaskKey());
    this.#lend(sock, slot.subarray(0, n), { buf: slot, release: null, out: true });
  }

  #lend(sock: Socket, frame: Uint8Array, loan: Loan): void {
    const lent = (this.#lent ??= []);
    lent.push(loan);
    sock.write(frame, (err) => this.#giveBack(loan, err));
    this.reclaim();
  }

  #giveBack(loan: Loan, err?: Error | null): void {
    if (!loan.out) return;
    loan.out = false;
    if (loan.release) loan.release();
    // After an error the socket may still hold the chunk: a pooled buffer is left to the GC.
    else if (!err) (this.#pool as FramePool).give(loan.buf as Buffer);
  }

  /**
   * Give back the lent frame buffers the socket is done with. Once its
   * writableLength is 0 every write has completed, though the callbacks
   * come a tick later: called right after a corked WRITEABLE, this lets the
   * next connection's frame reuse the buffer instead of each connection
   * served in one pass taking its own.
   */
  reclaim(): void {
    this.#takeBackScratch(this.#sock as Socket);
    const lent = this.#lent;
    if (lent === null || lent.length === 0) return;
    const s = this.#sock as Socket;
    if (s.writableLength === 0 && !s.destroyed) {
      for (let i = 0; i < lent.length; i++) this.#giveBack(lent[i]);
      lent.length = 0;
    } else if (lent.length > 8) {
      // Still writing: forget the loans already given back by their callbacks.
      this.#lent = lent.filter((l) => l.out);
    }
  }

  /**
   * Send a whole data message framed elsewhere (unmasked: servers only),
   * in order with what `write` queued before it. Returns its length, or
   * -1 when nothing more can be sent.
   */
  sendFramed(frame: Buffer): number {
    const t = this.#out;
    if (!t || this.wsi.closed || this.#closeSent) return -1;
    if (!this.isServer) throw stateError(ErrorCode.WRITE_MISUSE, 'a client masks every frame: a frame made for many cannot be sent as it is');
    if (this.#inMessage) throw stateError(ErrorCode.WRITE_MISUSE, 'a fragmented message is in progress: a whole message cannot go in between');
    if (channels.wsMessageOut.hasSubscribers) this.#announce(framedPayloadLength(frame), (frame[0] & 0x0f) === Op.BINARY);
    const pmd = this.pmd;
    if (pmd) {
      pmd.sendFrame(frame);
      this.#chokeWhileCompressing(t, pmd);
    } else t.write(frame);
    return frame.length;
  }

  #announce(size: number, binary: boolean): void {
    const wsi = this.wsi;
    channels.wsMessageOut.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, protocol: wsi.protocol.name, client: !this.isServer,
      size, binary });
  }

  /**
   * Send a published message (servers only): the frame made once for every
   * plain subscriber, as it is; for permessage-deflate, the frame
   * compressed once for every subscriber without context takeover, or a
   * compression of its own on this connection's compressor (its peer's
   * decompressor remembers what this connection sent, so a shared
   * compression would break the back-references). False when nothing more
   * can be sent. Called while the connection closes, too: what was
   * published before the close leaves before the Close frame.
   */
  sendPublished(m: PublishedMessage): boolean {
    const t = this.#out;
    if (!t || t.destroyed || this.#closeSent) return false;
    const pmd = this.pmd;
    if (!pmd) {
      t.write(m.frame);
      return true;
    }
    if (m.size < pmd.threshold) pmd.sendFrame(m.frame);
    else if (pmd.agreement.txNoContextTakeover) pmd.sendShared(m.compressedFor(pmd), m.size);
    else {
      m.stats.ownCompressions++;
      pmd.sendCompressed(m.op, true, true, m.payload);
    }
    this.#chokeWhileCompressing(t, pmd);
    return true;
  }

  /**
   * Bytes waiting for the compressor count against the send high-water
   * mark as bytes in the socket do: past it, sendPipeChoked() turns true
   * and WRITEABLE waits until the compressor has caught up, so a writer
   * looping on sendPipeChoked() cannot queue without bound.
   */
  #chokeWhileCompressing(t: Transport, pmd: PmdConn): void {
    if (this.#choked || pmd.txQueuedBytes + t.writableLength < t.writableHighWaterMark) return;
    this.#choked = true;
    pmd.whenTxIdle(() => {
      this.#choked = false;
      // A transport that is itself past its mark reports through its drain.
      const wsi = this.wsi;
      if (!wsi.closed && !t.writableNeedDrain) wsi.transportDrained();
    });
  }

  /** Answer a ping; while choked only the newest needs an answer (RFC 6455 5.5.3). */
  pong(payload: Buffer): void {
    const t = this.#out;
    if (!t || this.#closeSent) return;
    if (t.writableNeedDrain) {
      this.#pendingPong = Buffer.from(payload);
      return;
    }
    t.write(this.frame(Op.PONG, true, false, payload));
  }

  /** A pong held while choked goes now. False when the transport is choked again. */
  flushPong(): boolean {
    const p = this.#pendingPong;
    if (!p) return true;
    this.#pendingPong = null;
    this.pong(p);
    return !this.wsi.sendPipeChoked();
  }

  /** An empty ping (the idle check). */
  ping(): void {
    const t = this.#out;
    if (t && !this.#closeSent) t.write(this.frame(Op.PING, true, false, EMPTY));
  }

  /** Remember the status and reason the Close frame will carry; the first given wins, unless `override`. */
  setCloseReason(code: number, reason: Uint8Array, override = false): void {
    if (this.#closeCode && !override) return;
    this.#closeCode = code;
    this.#closeReason = reason.length === 0 ? EMPTY : Buffer.from(reason.subarray(0, 123));
  }

  /**
   * The connection is closing: send our Close (after the messages still
   * being compressed, when `flush`). Returns the role's last-bytes hook
   * when the transport must wait for the compressor.
   */
  close(flush: boolean): void | ((done: () => void) => void) {
    const t = this.#out;
    const pmd = this.pmd;
    pmd?.stopRx();
    if (!t || t.destroyed || this.#closeSent || !t.writable) {
      pmd?.destroy();
      return;
    }
    this.#closeSent = true;
    let payload = EMPTY;
    if (this.#closeCode) {
      payload = Buffer.allocUnsafe(2 + this.#closeReason.length);
      payload.writeUInt16BE(this.#closeCode, 0);
      this.#closeReason.copy(payload, 2);
    }
    const close = this.frame(Op.CLOSE, true, false, payload);
    if (flush && pmd && !pmd.txIdle) {
      // The transport ends once the queued messages and then the Close are written.
      this.wsi.socket?.once('close', () => pmd.destroy());
      return (done) => pmd.whenTxIdle(() => {
        pmd.destroy();
        if (!t.destroyed) t.write(close);
        done();
      });
    }
    t.write(close);
    pmd?.destroy();
  }

  /** The transport went away without a close (destroyed): free the compressor. */
  destroy(): void {
    this.pmd?.destroy();
  }
}

/** The payload length an unmasked frame's header declares (RFC 6455 5.2). */
function framedPayloadLength(frame: Buffer): number {
  const len7 = frame[1] & 0x7f;
  if (len7 === 126) return frame.readUInt16BE(2);
  if (len7 === 127) return Number(frame.readBigUInt64BE(2));
  return len7;
}
