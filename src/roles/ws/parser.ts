import { Op, CloseStatus, unmask } from './frame.js';

/** Where the parser delivers what it finds. Returning false pauses it. */
export interface WsSink {
  /**
   * A piece of a data frame's payload, unmasked. `opcode` is the message's
   * (TEXT or BINARY) even for continuation frames.
   */
  payload(piece: Buffer, info: PieceInfo): boolean;
  /** A complete control frame (CLOSE, PING, PONG). */
  control(opcode: number, payload: Buffer): boolean;
  /** A protocol violation: close with `code`. */
  error(code: number, why: string): void;
}

export interface PieceInfo {
  opcode: number;
  /** The frame has FIN set. */
  fin: boolean;
  /** Bytes of this frame's payload after this piece. */
  remaining: number;
  /** This is the first piece of a message. */
  firstOfMessage: boolean;
  /** This frame had RSV1 set (claimed by an extension). */
  rsv1: boolean;
}

export interface WsParserLimits {
  /** Largest single frame payload: 1009 past it. */
  maxFrameSize: number;
  /** Largest message (all fragments): 1009 past it. */
  maxMessageSize: number;
}

const enum S {
  HEAD,
  LEN,
  MASK,
  PAYLOAD,
  CONTROL,
  FAILED,
}

/**
 * RFC 6455 frame parser, resumable at any byte boundary. The server side
 * requires masked frames, the client side unmasked ones. RSV bits are
 * refused unless `allowRsv1` says an extension claimed RSV1.
 */
export class WsParser {
  #s = S.HEAD;
  // Header bytes gathered so far; once the header is read, [0..3] hold the
  // mask key (one small array per connection instead of two Buffers).
  #hdr = new Uint8Array(14);
  #hdrHave = 0;
  #hdrNeed = 2;
  #fin = false;
  #rsv1 = false;
  #opcode = 0;
  #masked = false;
  #len = 0;
  #pos = 0;
  #msgOpcode = -1; // opcode of the message in progress, -1 when none
  #msgSize = 0;
  #firstPending = false;
  #control: Buffer | null = null;
  #controlHave = 0;
  // One PieceInfo per parser, refilled for every piece: sinks read it during
  // the call and copy it if they keep it (no allocation per frame).
  #info: PieceInfo = { opcode: 0, fin: false, remaining: 0, firstOfMessage: false, rsv1: false };
  allowRsv1 = false;

  constructor(readonly isServer: boolean, readonly limits: WsParserLimits, readonly sink: WsSink) {}

  /** True between the first and the last frame of a fragmented message. */
  get inMessage(): boolean {
    return this.#msgOpcode >= 0;
  }

  /**
   * Parse from `buf[start..]`. Returns the offset reached: `buf.length`
   * when all was used, less when the sink paused (the caller keeps the rest)
   * or the stream failed.
   */
  feed(buf: Buffer, start = 0): number {
    let p = start;
    const len = buf.length;
    while (p < len || (this.#s === S.PAYLOAD && this.#len === 0) || (this.#s === S.CONTROL && this.#len === 0)) {
      switch (this.#s) {
        case S.HEAD:
        case S.LEN:
        case S.MASK: {
          // At most 14 bytes: a JS loop beats a native Buffer.copy call.
          const h = this.#hdr;
          let have = this.#hdrHave;
          const stop = Math.min(this.#hdrNeed, have + len - p);
          while (have < stop) h[have++] = buf[p++];
          this.#hdrHave = have;
          if (this.#hdrHave < this.#hdrNeed) return p;
          if (!this.#header()) return p;
          break;
        }
        case S.PAYLOAD: {
          const n = Math.min(this.#len - this.#pos, len - p);
          const piece = p === 0 && n === len ? buf : buf.subarray(p, p + n);
          if (this.#masked && n) unmask(piece, this.#hdr, this.#pos);
          this.#pos += n;
          p += n;
          const remaining = this.#len - this.#pos;
          const info = this.#info;
          info.opcode = this.#msgOpcode;
          info.fin = this.#fin;
          info.remaining = remaining;
          info.firstOfMessage = this.#firstPending;
          info.rsv1 = this.#rsv1;
          this.#firstPending = false;
          if (remaining === 0) this.#frameDone();
          if (!this.sink.payload(piece, info)) return p;
          if ((this.#s as S) === S.FAILED) return p;
          break;
        }
        case S.CONTROL: {
          const c = this.#control as Buffer;
          const n = Math.min(this.#len - this.#controlHave, len - p);
          // At most 125 bytes: a loop beats Buffer#copy's argument checks.
          let at = this.#controlHave;
          for (const end = p + n; p < end; ) c[at++] = buf[p++];
          this.#controlHave = at;
          if (this.#controlHave < this.#len) return p;
          if (this.#masked) unmask(c, this.#hdr, 0);
          const op = this.#opcode;
          this.#control = null;
          this.#resetHeader();
          if (!this.sink.control(op, c)) return p;
          if ((this.#s as S) === S.FAILED) return p;
          break;
        }
        case S.FAILED:
          return len;
      }
    }
    return p;
  }

  #fail(code: number, why: string): false {
    this.#s = S.FAILED;
    this.sink.error(code, why);
    return false;
  }

  /** Interpret the header bytes gathered so far; false if the stream failed. */
  #header(): boolean {
    const h = this.#hdr;
    if (this.#s === S.HEAD) {
      const b0 = h[0];
      const b1 = h[1];
      this.#fin = (b0 & 0x80) !== 0;
      this.#rsv1 = (b0 & 0x40) !== 0;
      this.#opcode = b0 & 0x0f;
      this.#masked = (b1 & 0x80) !== 0;
      const l7 = b1 & 0x7f;
      if ((b0 & 0x30) !== 0 || (this.#rsv1 && !this.allowRsv1)) return this.#fail(CloseStatus.PROTOCOL_ERR, 'reserved bits set');
      const op = this.#opcode;
      if (op >= 0x8) {
        if (op > 0xa) return this.#fail(CloseStatus.PROTOCOL_ERR, `unknown control opcode ${op}`);
        if (!this.#fin) return this.#fail(CloseStatus.PROTOCOL_ERR, 'fragmented control frame');
        if (l7 > 125) return this.#fail(CloseStatus.PROTOCOL_ERR, 'control frame longer than 125 bytes');
        if (this.#rsv1) return this.#fail(CloseStatus.PROTOCOL_ERR, 'RSV1 on a control frame');
      } else if (op === Op.CONTINUATION) {
        if (this.#msgOpcode < 0) return this.#fail(CloseStatus.PROTOCOL_ERR, 'continuation frame with no message in progress');
        if (this.#rsv1) return this.#fail(CloseStatus.PROTOCOL_ERR, 'RSV1 on a continuation frame');
      } else if (op === Op.TEXT || op === Op.BINARY) {
        if (this.#msgOpcode >= 0) return this.#fail(CloseStatus.PROTOCOL_ERR, 'new message before the previous one finished');
      } else {
        return this.#fail(CloseStatus.PROTOCOL_ERR, `unknown data opcode ${op}`);
      }
      if (this.isServer && !this.#masked) return this.#fail(CloseStatus.PROTOCOL_ERR, 'unmasked frame from a client');
      if (!this.isServer && this.#masked) return this.#fail(CloseStatus.PROTOCOL_ERR, 'masked frame from a server');
      if (l7 === 126) {
        this.#s = S.LEN;
        this.#hdrNeed = 4;
        return true;
      }
      if (l7 === 127) {
        this.#s = S.LEN;
        this.#hdrNeed = 10;
        return true;
      }
      this.#len = l7;
      return this.#afterLength();
    }
    if (this.#s === S.LEN) {
      if (this.#hdrNeed === 4) this.#len = (h[2] << 8) | h[3];
      else {
        const hi = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
        if (hi & 0x80000000) return this.#fail(CloseStatus.PROTOCOL_ERR, '64-bit length with the top bit set');
        if (hi > 0x1fffff) return this.#fail(CloseStatus.MESSAGE_TOO_LARGE, 'frame too large');
        this.#len = hi * 0x100000000 + (((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0);
      }
      return this.#afterLength();
    }
    // S.MASK: keep the key at [0..3]; the header bytes are no longer needed.
    const k = this.#hdrNeed - 4;
    h[0] = h[k];
    h[1] = h[k + 1];
    h[2] = h[k + 2];
    h[3] = h[k + 3];
    return this.#startPayload();
  }

  #afterLength(): boolean {
    const op = this.#opcode;
    if (op < 0x8) {
      if (this.#len > this.limits.maxFrameSize) return this.#fail(CloseStatus.MESSAGE_TOO_LARGE, 'frame too large');
      const total = (op === Op.CONTINUATION ? this.#msgSize : 0) + this.#len;
      if (total > this.limits.maxMessageSize) return this.#fail(CloseStatus.MESSAGE_TOO_LARGE, 'message too large');
    }
    if (this.#masked) {
      this.#s = S.MASK;
      this.#hdrNeed += 4;
      return true;
    }
    return this.#startPayload();
  }

  #startPayload(): boolean {
    const op = this.#opcode;
    this.#pos = 0;
    if (op >= 0x8) {
      this.#s = S.CONTROL;
      this.#control = Buffer.allocUnsafe(this.#len);
      this.#controlHave = 0;
      return true;
    }
    if (op !== Op.CONTINUATION) {
      this.#msgOpcode = op;
      this.#msgSize = 0;
      this.#firstPending = true;
    }
    this.#msgSize += this.#len;
    this.#s = S.PAYLOAD;
    return true;
  }

  #frameDone(): void {
    if (this.#fin) this.#msgOpcode = -1;
    this.#resetHeader();
  }

  #resetHeader(): void {
    this.#s = S.HEAD;
    this.#hdrHave = 0;
    this.#hdrNeed = 2;
  }
}
