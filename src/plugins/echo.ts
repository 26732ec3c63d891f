/**
 * An echo protocol for conformance runs (Autobahn and the like), after lws's
 * test-echo: every message comes back with its type and its fragmentation.
 * Each RECEIVE piece is queued with what it was (first piece: TEXT or
 * BINARY, later pieces: CONTINUATION; final or not) and written back the
 * same way, NO_FIN unless it ended the message. While more than
 * `maxQueuedBytes` wait, reading stops (rx flow control), so a peer that
 * sends faster than it reads is pushed back by TCP instead of growing the
 * queue; reading resumes once the queue is half drained.
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
import type { Protocol } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { log } from '../core/log.js';
import type { Plugin } from './plugin.js';

/** The default echo protocol name. */
export const ECHO_PROTOCOL_NAME = 'lws-echo';

export interface EchoOptions {
  /** Largest RECEIVE piece (and so largest echoed frame); default 4096. */
  rxBufferSize?: number;
  /** Queued bytes past which reading stops; default 256 KiB. */
  maxQueuedBytes?: number;
}

interface Piece {
  data: Buffer;
  /** Write.TEXT, Write.BINARY or Write.CONTINUATION, plus Write.NO_FIN unless final. */
  flags: number;
}

interface EchoSession {
  /** Sent pieces become `undefined` at once so their buffers can go; the array is compacted now and then. */
  queue: Array<Piece | undefined>;
  /** Index of the next piece to send. */
  next: number;
  queuedBytes: number;
  rxStopped: boolean;
}

function newSession(): EchoSession {
  return { queue: [], next: 0, queuedBytes: 0, rxStopped: false };
}

function makeCallback(maxQueued: number) {
  const resumeBelow = Math.floor(maxQueued / 2);

  function receive(wsi: Wsi, pss: EchoSession, input: Uint8Array): void {
    const kind = wsi.isFirstFragment() ? (wsi.frameIsBinary() ? Write.BINARY : Write.TEXT) : Write.CONTINUATION;
    const flags = kind | (wsi.isFinalFragment() ? 0 : Write.NO_FIN);
    pss.queue.push({ data: Buffer.from(input), flags });
    pss.queuedBytes += input.length;
    if (pss.queuedBytes > maxQueued && !pss.rxStopped) {
      pss.rxStopped = true;
      wsi.rxFlowControl(false);
    }
    wsi.callbackOnWritable();
  }

  function writable(wsi: Wsi, pss: EchoSession): number {
    while (pss.next < pss.queue.length && !wsi.sendPipeChoked()) {
      const p = pss.queue[pss.next] as Piece;
      pss.queue[pss.next++] = undefined;
      pss.queuedBytes -= p.data.length;
      if (wsi.write(p.data, p.flags) < 0) {
        log.info('echo: write failed on wsi %d', wsi.id);
        return -1;
      }
    }
    if (pss.next === pss.queue.length) {
      pss.queue = [];
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

  return function callback(wsi: Wsi, reason: Reason, pss: EchoSession, input: unknown): number {
    switch (reason) {
      case Reason.RECEIVE:
        receive(wsi, pss, input as Uint8Array);
        return 0;
      case Reason.SERVER_WRITEABLE:
        return writable(wsi, pss);
      case Reason.CLOSED:
        pss.queue = [];
        pss.next = 0;
        pss.queuedBytes = 0;
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
  if (!Number.isInteger(rx) || rx < 1) throw new RangeError(`createEchoProtocol: rxBufferSize must be a positive integer, got ${rx}`);
  if (!Number.isInteger(maxQueued) || maxQueued < 1)
    throw new RangeError(`createEchoProtocol: maxQueuedBytes must be a positive integer, got ${maxQueued}`);
  return { name, callback: makeCallback(maxQueued), createSessionData: newSession, rxBufferSize: rx };
}

/** The `lws-echo` protocol. */
export const echoProtocol: Protocol<EchoSession> = createEchoProtocol();

/** The plugin carrying `lws-echo`. */
export const plugin: Plugin = {
  name: 'protocol_lws_echo',
  protocols: [echoProtocol],
};
