/**
 * What a MessageSocket's `send()` has queued and WRITEABLE has not yet
 * written, and the spare buffers the copies are made in.
 *
 * Nothing of a message waiting for WRITEABLE is a new object: the queue
 * keeps its slots from message to message, and the copy goes into a
 * reused spare. At a hundred busy connections, what waits between a read
 * and the WRITEABLE after it is alive at every young-generation
 * collection; when that is a few KB, V8 keeps the young generation small
 * and its pauses short.
 */
import { SpareBuffers } from '../core/spare-buffers.js';

/** One queued message. The slot is reused once the message is written. */
export interface OutMessage {
  /** A spare with the bytes LWS_PRE bytes in, or a buffer of exactly the bytes. */
  buf: Buffer;
  /** Whether `buf` is a spare, given back once written. */
  pooled: boolean;
  len: number;
  kind: number;
  /** Bytes already written. */
  off: number;
  /** Publishes queued for the connection when this was sent: those after it wait for it. */
  mark: number;
}

/**
 * Spares: copies of messages up to SPARE_SIZE bytes are made in them,
 * LWS_PRE bytes in, so a large message sent as one frame leaves from its
 * spare (`wsi.writeLent()`, the header written in front) and a small one
 * is framed from it by `wsi.write()`, which frees the spare at once.
 * Shared by every socket: at most 8 MiB of each size is kept.
 */
export const SPARE_SIZE = 64 * 1024;
/** Messages up to this size are copied into small spares, of this size. */
export const SMALL_SPARE_SIZE = 4 * 1024;
export const spares = new SpareBuffers(SMALL_SPARE_SIZE, SPARE_SIZE, 8 * 1024 * 1024);

/** Slots kept once the queue has drained. */
const KEEP_SLOTS = 16;
/** Written slots past which a queue that has not drained moves them to its end. */
const COMPACT_AT = 1024;

/** A FIFO of OutMessages whose slots are reused. */
export class SendQueue {
  #slots: OutMessage[] = [];
  #head = 0;
  #tail = 0;

  get length(): number {
    return this.#tail - this.#head;
  }

  /** The oldest message, or undefined when empty. */
  first(): OutMessage | undefined {
    return this.#head < this.#tail ? this.#slots[this.#head] : undefined;
  }

  /** Queue `len` bytes: in a spare (`pooled`, LWS_PRE bytes in) or a buffer of their own. */
  push(buf: Buffer, pooled: boolean, len: number, kind: number, mark: number): void {
    const m = this.#slots[this.#tail];
    if (m === undefined) this.#slots.push({ buf, pooled, len, kind, off: 0, mark });
    else {
      m.buf = buf;
      m.pooled = pooled;
      m.len = len;
      m.kind = kind;
      m.off = 0;
      m.mark = mark;
    }
    this.#tail++;
  }

  /** Drop the oldest message (written): its slot lets go of its bytes. */
  shift(): void {
    const m = this.#slots[this.#head++];
    m.buf = EMPTY;
    m.pooled = false;
    if (this.#head === this.#tail) {
      this.#head = this.#tail = 0;
      if (this.#slots.length > KEEP_SLOTS) this.#slots.length = KEEP_SLOTS;
    } else if (this.#head > COMPACT_AT) {
      const done = this.#slots.splice(0, this.#head);
      for (const s of done) this.#slots.push(s);
      this.#tail -= this.#head;
      this.#head = 0;
    }
  }

  /** Forget everything queued. None of it was lent to the socket (a lent message leaves the queue as it is written), so its spares are free. */
  clear(): void {
    for (let i = this.#head; i < this.#tail; i++) {
      const m = this.#slots[i];
      if (m.pooled) spares.give(m.buf);
    }
    this.#slots = [];
    this.#head = this.#tail = 0;
  }
}

const EMPTY = Buffer.alloc(0);
