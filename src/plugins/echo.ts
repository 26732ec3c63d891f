/**
 * An echo protocol for conformance runs (Autobahn and the like), after lws's
 * test-echo: every message comes back with its type and its fragmentation.
 * The RECEIVE pieces of one frame are gathered (up to the protocol's
 * `rxBufferSize`) and written back as one frame, TEXT or BINARY first, then
 * CONTINUATION, NO_FIN unless it ends the message: a frame comes back as
 * one frame when it fits in `rxBufferSize`, however TCP split it, and as
 * several of at most that size otherwise. While more than `maxQueuedBytes`
 * wait, reading stops (rx flow control), so a peer that sends faster than
 * it reads is pushed back by TCP instead of growing the queue; reading
 * resumes once the queue is half drained.
 *
 * The protocol is named `lws-echo`; `createEchoProtocol(name)` makes one
 * under another name. Give it the pvo `default` so upgrades that ask for no
 * subprotocol reach it.
 *
 * ```ts
 * import { createContext, callbackHttpDummy, createEchoProtocol } from 'tslws';
 * const echo = createEchoProtocol('my-echo');
 * createContext({ port: 9001, protocols: [{ name: 'http', callback: callbackHttpDummy }, echo],
 *   pvo: { 'my-echo': { default: '1' } } });
 * ```
 */
import type { CallbackArgs, Protocol } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { LWS_PRE, Write } from '../core/write.js';
import { log } from '../core/log.js';
import { SpareBuffers } from '../core/spare-buffers.js';
import { ErrorCode, rangeError } from '../core/errors.js';
import type { Plugin } from './plugin.js';

/** The default echo protocol name. */
export const ECHO_PROTOCOL_NAME = 'lws-echo';

export interface EchoOptions {
  /** Largest RECEIVE piece (and so largest echoed frame); default 4096. */
  rxBufferSize?: number;
  /** Queued bytes past which reading stops; default 256 KiB. */
  maxQueuedBytes?: number;
  /**
   * Frames are copied into reused buffers: of `rxBufferSize` bytes for
   * frames of 2 KiB and more, of 2 KiB for smaller ones. This many idle
   * large ones are kept, and as many small ones as fit in the same bytes
   * (0: a new buffer for every copy). Each connection holds one between a
   * RECEIVE and its WRITEABLE, so this is how many connections can echo at
   * once without allocating. Default 128.
   */
  spareBuffers?: number;
}

/** A frame waiting to be echoed. Pieces are reused: a session keeps its queue's slots from message to message. */
interface Piece {
  /** A pooled buffer (the payload LWS_PRE bytes in), or exactly the payload; null once sent. */
  buf: Buffer | null;
  len: number;
  pooled: boolean;
  /** Write.TEXT, Write.BINARY or Write.CONTINUATION, plus Write.NO_FIN unless final. */
  flags: number;
}

interface EchoSession {
  /**
   * Frames to send are `queue[next]` up to `queue[end]`. The slots are kept
   * when it empties (up to KEEP_SLOTS): a frame waiting for WRITEABLE is
   * then no new object, so nothing per message outlives a turn of the loop.
   */
  queue: Piece[];
  next: number;
  end: number;
  queuedBytes: number;
  rxStopped: boolean;
  /** The buffer a frame is being gathered in (its later pieces have not come yet), or null. */
  gather: Buffer | null;
  gatherPooled: boolean;
  /** Bytes gathered, and the size the frame (or chunk) will have. */
  gatherLen: number;
  gatherCap: number;
  /** Write.TEXT, Write.BINARY or Write.CONTINUATION for the gathered frame. */
  gatherKind: number;
}

function newSession(): EchoSession {
  return { queue: [], next: 0, end: 0, queuedBytes: 0, rxStopped: false, gather: null, gatherPooled: false, gatherLen: 0, gatherCap: 0, gatherKind: 0 };
}

/** Frames this large are copied into rxBufferSize spares; smaller ones into spares of this size. */
const POOL_FROM = 2048;
/** Queue slots a session keeps once its queue has drained. */
const KEEP_SLOTS = 64;

function makeCallback(maxQueued: number, rxChunk: number, keep: number) {
  const resumeBelow = Math.floor(maxQueued / 2);
  // Frames are copied (RECEIVE input is only valid during the callback)
  // into reused buffers, LWS_PRE bytes in: they leave from there
  // (wsi.writeLent(), no second copy) and come back once the socket has
  // written them. A fresh buffer per frame costs more than the copy: for a
  // large one the allocation, for a small one the ArrayBuffer every few
  // frames from Node's slab, which each young-generation collection must
  // sweep (most of its pause at 100 connections x 1 KiB).
  const spares = new SpareBuffers(Math.min(POOL_FROM, rxChunk), rxChunk, keep * (LWS_PRE + rxChunk));
  const giveBack = (b: Buffer): void => spares.give(b);
  /** Whether the last `take` came from the spares. */
  let pooled = false;

  /** A buffer for a `size`-byte frame: a spare (payload at LWS_PRE) or, past rxBufferSize, a buffer of its own. */
  function take(size: number): Buffer {
    if (size > rxChunk) {
      pooled = false;
      return Buffer.allocUnsafe(size);
    }
    pooled = true;
    return spares.take(size);
  }

  function queue(wsi: Wsi, pss: EchoSession, buf: Buffer, isPooled: boolean, len: number, flags: number): void {
    const p = pss.queue[pss.end];
    if (p === undefined) pss.queue.push({ buf, len, pooled: isPooled, flags });
    else {
      p.buf = buf;
      p.len = len;
      p.pooled = isPooled;
      p.flags = flags;
    }
    pss.end++;
    pss.queuedBytes += len;
    if (pss.queuedBytes > maxQueued && !pss.rxStopped) {
      pss.rxStopped = true;
      wsi.rxFlowControl(false);
    }
    wsi.callbackOnWritable();
  }

  function startGather(pss: EchoSession, size: number, kind: number): Buffer {
    const g = (pss.gather = take(size));
    pss.gatherPooled = pooled;
    pss.gatherLen = 0;
    pss.gatherCap = size;
    pss.gatherKind = kind;
    return g;
  }

  function receive(wsi: Wsi, pss: EchoSession, input: Uint8Array): void {
    // Bytes of this frame still to come, and whether they end the message.
    const rest = wsi.remainingPacketPayload();
    const fin = wsi.isFinalFragment() ? 0 : Write.NO_FIN;
    let g = pss.gather;
    let off = 0;
    if (!g) {
      const kind = wsi.isFirstFragment() ? (wsi.frameIsBinary() ? Write.BINARY : Write.TEXT) : Write.CONTINUATION;
      if (rest === 0 || input.length >= rxChunk) {
        // The common case: the piece is a whole frame (or a full chunk).
        const b = take(input.length);
        b.set(input, pooled ? LWS_PRE : 0);
        queue(wsi, pss, b, pooled, input.length, kind | (rest === 0 ? fin : Write.NO_FIN));
        return;
      }
      g = startGather(pss, Math.min(input.length + rest, rxChunk), kind);
    }
    for (;;) {
      const n = Math.min(pss.gatherCap - pss.gatherLen, input.length - off);
      g.set(off === 0 && n === input.length ? input : input.subarray(off, off + n), (pss.gatherPooled ? LWS_PRE : 0) + pss.gatherLen);
      pss.gatherLen += n;
      off += n;
      if (pss.gatherLen < pss.gatherCap) return; // more of this frame to come
      // Full: send it; what is left of the piece starts the next chunk.
      const more = input.length - off + rest;
      pss.gather = null;
      queue(wsi, pss, g, pss.gatherPooled, pss.gatherCap, pss.gatherKind | (more === 0 ? fin : Write.NO_FIN));
      if (off === input.length) return;
      g = startGather(pss, Math.min(more, rxChunk), Write.CONTINUATION);
    }
  }

  function writable(wsi: Wsi, pss: EchoSession): number {
    const q = pss.queue;
    while (pss.next < pss.end && !wsi.sendPipeChoked()) {
      const p = q[pss.next++];
      const buf = p.buf as Buffer;
      p.buf = null;
      pss.queuedBytes -= p.len;
      let r: number;
      if (!p.pooled) r = wsi.write(buf, p.flags);
      else if (p.len < POOL_FROM) {
        // Framing a copy costs a small frame less than lending it (a
        // callback per write): its spare is free again at once.
        r = wsi.write(buf.subarray(LWS_PRE, LWS_PRE + p.len), p.flags);
        giveBack(buf);
      } else r = wsi.writeLent(buf.subarray(LWS_PRE, LWS_PRE + p.len), p.flags, () => giveBack(buf));
      if (r < 0) {
        log.info('echo: write failed on wsi %d', wsi.id);
        return -1;
      }
    }
    if (pss.next === pss.end) {
      pss.next = pss.end = 0;
      if (q.length > KEEP_SLOTS) q.length = KEEP_SLOTS;
    } else {
      if (pss.next > 1024) {
        // The sent slots go to the back, for reuse.
        const sent = q.splice(0, pss.next);
        for (const p of sent) q.push(p);
        pss.end -= pss.next;
        pss.next = 0;
      }
      wsi.callbackOnWritable();
    }
    if (pss.rxStopped && pss.queuedBytes <= resumeBelow) {
      pss.rxStopped = false;
      wsi.rxFlowControl(true);
    }
    return 0;
  }

  return function callback(...[wsi, reason, pss, input]: CallbackArgs<EchoSession>): number {
    switch (reason) {
      case Reason.RECEIVE:
        receive(wsi, pss, input);
        return 0;
      case Reason.SERVER_WRITEABLE:
        return writable(wsi, pss);
      case Reason.CLOSED:
        pss.queue = [];
        pss.next = pss.end = 0;
        pss.queuedBytes = 0;
        pss.gather = null;
        return 0;
      default:
        return 0;
    }
  };
}

/**
 * Make an echo protocol named `name` (default `lws-echo`).
 *
 * ```ts
 * const echo = createEchoProtocol('', { rxBufferSize: 1024 }); // lws test-echo's empty name
 * ```
 */
export function createEchoProtocol(name: string = ECHO_PROTOCOL_NAME, opts: EchoOptions = {}): Protocol<EchoSession> {
  const rx = opts.rxBufferSize ?? 4096;
  const maxQueued = opts.maxQueuedBytes ?? 256 * 1024;
  const keep = opts.spareBuffers ?? 128;
  if (!Number.isInteger(rx) || rx < 1) throw rangeError(ErrorCode.INVALID_OPTION, `createEchoProtocol: rxBufferSize must be a positive integer, got ${rx}`);
  if (!Number.isInteger(maxQueued) || maxQueued < 1)
    throw rangeError(ErrorCode.INVALID_OPTION, `createEchoProtocol: maxQueuedBytes must be a positive integer, got ${maxQueued}`);
  if (!Number.isInteger(keep) || keep < 0) throw rangeError(ErrorCode.INVALID_OPTION, `createEchoProtocol: spareBuffers must be an integer >= 0, got ${keep}`);
  return { name, callback: makeCallback(maxQueued, rx, keep), createSessionData: newSession, rxBufferSize: rx, pvoOptions: [] };
}

/** The `lws-echo` protocol. */
export const echoProtocol: Protocol<EchoSession> = createEchoProtocol();

/** The plugin carrying `lws-echo`. */
export const plugin: Plugin = {
  name: 'protocol_lws_echo',
  protocols: [echoProtocol],
};
