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
   * Frame copies of 2 KiB to `rxBufferSize` are made in reused buffers of
   * `rxBufferSize` bytes; this many idle ones are kept (0: a new buffer
   * for every copy). Each connection holds one between a RECEIVE and its
   * WRITEABLE, so this is how many connections can echo at once without
   * allocating. Default 128.
   */
  spareBuffers?: number;
}

interface Piece {
  data: Buffer;
  /** Write.TEXT, Write.BINARY or Write.CONTINUATION, plus Write.NO_FIN unless final. */
  flags: number;
  /** The pooled buffer `data` lies in, given back once written. */
  pooled: Buffer | null;
}

interface EchoSession {
  /** Sent pieces become `undefined` at once so their buffers can go; the array is compacted now and then. */
  queue: Array<Piece | undefined>;
  /** Index of the next piece to send. */
  next: number;
  queuedBytes: number;
  rxStopped: boolean;
  /** The frame being gathered (its later pieces have not come yet), or null. */
  gather: Buffer | null;
  /** The pooled buffer `gather` lies in, if any. */
  gatherPool: Buffer | null;
  gatherLen: number;
  /** Write.TEXT, Write.BINARY or Write.CONTINUATION for the gathered frame. */
  gatherKind: number;
}

function newSession(): EchoSession {
  return { queue: [], next: 0, queuedBytes: 0, rxStopped: false, gather: null, gatherPool: null, gatherLen: 0, gatherKind: 0 };
}

/** Frames this large are copied into pooled buffers; smaller ones come from Node's own slab. */
const POOL_FROM = 2048;
function makeCallback(maxQueued: number, rxChunk: number, keep: number) {
  const resumeBelow = Math.floor(maxQueued / 2);
  // Large frames are copied (RECEIVE input is only valid during the
  // callback) into rxBufferSize buffers, LWS_PRE bytes in: they leave from
  // there (wsi.writeLent(), no second copy) and are reused once the socket
  // has written them; allocating a fresh 64 KiB buffer per frame costs
  // more than the copy itself.
  const spare: Buffer[] = [];
  let pooled: Buffer | null = null;
  const giveBack = (b: Buffer): void => {
    if (spare.length < keep) spare.push(b);
  };

  /** `size` bytes the session owns; `pooled` is set to the pool buffer they lie in, or null. */
  function alloc(size: number): Buffer {
    if (size < POOL_FROM || size > rxChunk) {
      pooled = null;
      return Buffer.allocUnsafe(size);
    }
    pooled = spare.pop() ?? Buffer.allocUnsafeSlow(LWS_PRE + rxChunk);
    return pooled.subarray(LWS_PRE, LWS_PRE + size);
  }

  function copyOf(input: Uint8Array): Buffer {
    const b = alloc(input.length);
    b.set(input);
    return b;
  }

  function queue(wsi: Wsi, pss: EchoSession, data: Buffer, flags: number, pool: Buffer | null): void {
    pss.queue.push({ data, flags, pooled: pool });
    pss.queuedBytes += data.length;
    if (pss.queuedBytes > maxQueued && !pss.rxStopped) {
      pss.rxStopped = true;
      wsi.rxFlowControl(false);
    }
    wsi.callbackOnWritable();
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
        const data = copyOf(input);
        queue(wsi, pss, data, kind | (rest === 0 ? fin : Write.NO_FIN), pooled);
        return;
      }
      g = pss.gather = alloc(Math.min(input.length + rest, rxChunk));
      pss.gatherPool = pooled;
      pss.gatherLen = 0;
      pss.gatherKind = kind;
    }
    for (;;) {
      const n = Math.min(g.length - pss.gatherLen, input.length - off);
      g.set(off === 0 && n === input.length ? input : input.subarray(off, off + n), pss.gatherLen);
      pss.gatherLen += n;
      off += n;
      if (pss.gatherLen < g.length) return; // more of this frame to come
      // Full: send it; what is left of the piece starts the next chunk.
      const more = input.length - off + rest;
      pss.gather = null;
      queue(wsi, pss, g, pss.gatherKind | (more === 0 ? fin : Write.NO_FIN), pss.gatherPool);
      if (off === input.length) return;
      g = pss.gather = alloc(Math.min(more, rxChunk));
      pss.gatherPool = pooled;
      pss.gatherLen = 0;
      pss.gatherKind = Write.CONTINUATION;
    }
  }

  function writable(wsi: Wsi, pss: EchoSession): number {
    while (pss.next < pss.queue.length && !wsi.sendPipeChoked()) {
      const p = pss.queue[pss.next] as Piece;
      pss.queue[pss.next++] = undefined;
      pss.queuedBytes -= p.data.length;
      const pool = p.pooled;
      const r = pool ? wsi.writeLent(p.data, p.flags, () => giveBack(pool)) : wsi.write(p.data, p.flags);
      if (r < 0) {
        log.info('echo: write failed on wsi %d', wsi.id);
        return -1;
      }
    }
    if (pss.next === pss.queue.length) {
      pss.queue.length = 0;
      pss.next = 0;
    } else {
      if (pss.next > 1024) {
        pss.queue = pss.queue.slice(pss.next);
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
        pss.next = 0;
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
