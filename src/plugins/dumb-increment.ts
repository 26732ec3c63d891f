/**
 * `dumb-increment-protocol`, lws's classic test protocol: each connection
 * gets its own counter from 0, sent as a decimal TEXT message 20 times a
 * second from its WRITEABLE callback (a slow peer simply gets fewer). A
 * message that is exactly `reset\n` sets the counter back to 0; `closeme\n`
 * closes with 1001 "seeya". Anything else is ignored.
 *
 * Per-vhost options (pvo, under `dumb-increment-protocol`):
 * - `closetest`: close each connection after it was sent 50 numbers (0…49),
 *   as the C test server's `-c`. The close carries no status.
 * - `no-send`: send nothing at all, as the C test server's `-n`.
 * - `options`: lws's bit mask spelling; bit 0 is `no-send`.
 *
 * One 50 ms timer per vhost (started at PROTOCOL_INIT, stopped at
 * PROTOCOL_DESTROY, never keeping the process alive) asks every connection
 * of the protocol on that vhost for a WRITEABLE.
 *
 * ```ts
 * import { createContext, callbackHttpDummy, dumbIncrementProtocol } from 'tslws';
 * createContext({ port: 7681, protocols: [{ name: 'http', callback: callbackHttpDummy }, dumbIncrementProtocol],
 *   pvo: { 'dumb-increment-protocol': { closetest: '1' } } });
 * ```
 */
import type { CallbackArgs, Protocol } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { log } from '../core/log.js';
import type { Plugin } from './plugin.js';
import { pvoFlag, pvoNumber } from './pvo.js';

/** How often every connection is offered the next number. */
export const DUMB_INCREMENT_PERIOD_MS = 50;
/** With `closetest`, connections close after this many numbers. */
export const DUMB_INCREMENT_CLOSETEST_COUNT = 50;

const RESET = Buffer.from('reset\n');
const CLOSEME = Buffer.from('closeme\n');
/** Enough of a message to recognise the longest command. */
const HEAD_MAX = CLOSEME.length;

interface DumbSession {
  number: number;
  /** The first bytes of the message being received, and its whole length. */
  head: Buffer;
  headLen: number;
  msgLen: number;
}

interface DumbVhost {
  timer: NodeJS.Timeout | null;
  noSend: boolean;
  closeTest: boolean;
}

function newSession(): DumbSession {
  return { number: 0, head: Buffer.alloc(HEAD_MAX), headLen: 0, msgLen: 0 };
}

function vhostData(wsi: Wsi): DumbVhost | undefined {
  return wsi.vhost.protocolVhPriv<DumbVhost>(wsi.protocol);
}

function init(wsi: Wsi, options: Readonly<Record<string, string>> | undefined): void {
  const protocol = wsi.protocol;
  const vh = wsi.vhost;
  const noSend = pvoFlag(options, 'no-send') || (pvoNumber(options, 'options', 0) & 1) !== 0;
  const data: DumbVhost = { timer: null, noSend, closeTest: pvoFlag(options, 'closetest') };
  if (!noSend) {
    data.timer = setInterval(() => vh.callbackOnWritableAllProtocol(protocol), DUMB_INCREMENT_PERIOD_MS);
    data.timer.unref();
  }
  vh.setProtocolVhPriv(protocol, data);
}

/**
 * Gather a message's length and first bytes across RECEIVE pieces, so a
 * command is recognised however the peer or rxBufferSize split it, and a
 * longer message that merely starts like one is not.
 */
function receive(wsi: Wsi, pss: DumbSession, piece: Uint8Array): number {
  if (wsi.isFirstFragment()) {
    pss.headLen = 0;
    pss.msgLen = 0;
  }
  pss.msgLen += piece.length;
  const take = Math.min(piece.length, HEAD_MAX - pss.headLen);
  if (take > 0) {
    pss.head.set(piece.subarray(0, take), pss.headLen);
    pss.headLen += take;
  }
  if (!wsi.isFinalFragment()) return 0;
  const msg = pss.head.subarray(0, pss.headLen);
  if (pss.msgLen === RESET.length && msg.equals(RESET)) {
    pss.number = 0;
  } else if (pss.msgLen === CLOSEME.length && msg.equals(CLOSEME)) {
    log.notice('dumb-increment: wsi %d asked to be closed', wsi.id);
    wsi.closeReason(1001, 'seeya');
    return -1;
  }
  return 0;
}

function callback(...[wsi, reason, pss, input]: CallbackArgs<DumbSession>): number {
  switch (reason) {
    case Reason.PROTOCOL_INIT:
      init(wsi, input);
      return 0;
    case Reason.PROTOCOL_DESTROY: {
      const vhd = vhostData(wsi);
      if (vhd?.timer) clearInterval(vhd.timer);
      if (vhd) vhd.timer = null;
      return 0;
    }
    case Reason.ESTABLISHED:
      // Without its vhost data (PROTOCOL_INIT failed on a bad pvo) the protocol cannot work.
      if (!vhostData(wsi)) return -1;
      pss.number = 0;
      return 0;
    case Reason.SERVER_WRITEABLE: {
      const vhd = vhostData(wsi);
      if (!vhd || vhd.noSend) return 0;
      const n = Buffer.from(String(pss.number++), 'latin1');
      if (wsi.write(n, Write.TEXT) < n.length) {
        log.err('dumb-increment: writing to wsi %d failed', wsi.id);
        return -1;
      }
      if (vhd.closeTest && pss.number === DUMB_INCREMENT_CLOSETEST_COUNT) {
        log.info('dumb-increment: close test limit reached on wsi %d', wsi.id);
        return -1;
      }
      return 0;
    }
    case Reason.RECEIVE:
      return receive(wsi, pss, input);
    default:
      return 0;
  }
}

/** The `dumb-increment-protocol` protocol (rxBufferSize 10, as in lws). */
export const dumbIncrementProtocol: Protocol<DumbSession> = {
  name: 'dumb-increment-protocol',
  callback,
  createSessionData: newSession,
  rxBufferSize: 10,
  pvoOptions: ['no-send', 'options', 'closetest'],
};

/** The plugin carrying `dumb-increment-protocol`. */
export const plugin: Plugin = {
  name: 'protocol_dumb_increment',
  protocols: [dumbIncrementProtocol],
};
