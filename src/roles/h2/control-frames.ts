/**
 * What both ends of an HTTP/2 connection check the same way in the
 * connection-level control frames (RFC 9113 6.5, 6.7, 6.8, 6.9): the
 * connection errors they may raise, the arithmetic of the send windows,
 * and the connection's receive window. What each end then does (answer,
 * wake streams, fail requests) stays with it.
 */
import { DEFAULT_WINDOW, Flag, H2Error, MAX_WINDOW } from './frames.js';
import { H2ConnectionError } from './connection-error.js';
import type { Budget } from './budget.js';

/** SETTINGS with ACK (6.5): true, checked to be empty; false for settings to apply. */
export function settingsAck(flags: number, sid: number, payload: Buffer): boolean {
  if (sid !== 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
  if (!(flags & Flag.ACK)) return false;
  if (payload.length) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
  return true;
}

/** A SETTINGS frame to apply is within `budget`, or the peer is flooding. */
export function spendSettings(budget: Budget): void {
  if (!budget.take()) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'SETTINGS flood');
}

/** PING (6.7): true when it asks for an answer (not an ACK) within `budget`. */
export function pingWantsAnswer(flags: number, sid: number, payload: Buffer, budget: Budget): boolean {
  if (sid !== 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
  if (payload.length !== 8) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING of a wrong size');
  if (flags & Flag.ACK) return false;
  if (!budget.take()) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'PING flood');
  return true;
}

/** GOAWAY (6.8): the last stream the peer processed, and its error code. */
export function readGoaway(sid: number, payload: Buffer): { last: number; code: number } {
  if (sid !== 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
  if (payload.length < 8) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'GOAWAY too short');
  return { last: payload.readUInt32BE(0) & MAX_WINDOW, code: payload.readUInt32BE(4) };
}

/** WINDOW_UPDATE increments below this count against the flood budget. */
const TINY_UPDATE = 1024;

/**
 * WINDOW_UPDATE (6.9): the increment (0 on a stream is that stream's
 * error, for the caller). Peers give credit back in kilobytes; a stream of
 * tiny increments only makes us work, so each spends from `tiny`.
 */
export function windowIncrement(payload: Buffer, tiny: Budget): number {
  if (payload.length !== 4) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of a wrong size');
  const inc = payload.readUInt32BE(0) & MAX_WINDOW;
  if (inc < TINY_UPDATE && !tiny.take()) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'WINDOW_UPDATE flood');
  return inc;
}

/** The connection's send window `window` credited with `inc` (6.9.1): the new window. */
export function creditConnection(window: number, inc: number): number {
  if (inc === 0) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
  if (window + inc > MAX_WINDOW) throw new H2ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window past 2^31-1');
  return window + inc;
}

/** INITIAL_WINDOW_SIZE moved by `delta` (6.9.2): every open stream's window moves with it, and may go negative. */
export function moveStreamWindows(streams: Iterable<{ sendWindow: number }>, delta: number): void {
  for (const s of streams) {
    s.sendWindow += delta;
    if (s.sendWindow > MAX_WINDOW) throw new H2ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'a stream window past 2^31-1');
  }
}

/**
 * The connection's receive window (6.9.1), kept alike by both ends: DATA
 * counts against it whole, padding included, and the credit goes back in
 * one WINDOW_UPDATE once half of `size` has been taken, whatever the
 * streams do with it: only a stream's own window holds back a slow reader.
 */
export class ReceiveWindow {
  #window = DEFAULT_WINDOW;
  #unacked = 0;

  /** `size`: the window we announce (`connectionWindowSize`). */
  constructor(readonly size: number) {}

  /** At the start: the increment that widens the default window to `size`, to send now (0: none). */
  widen(): number {
    if (this.size <= DEFAULT_WINDOW) return 0;
    this.#window = this.size;
    return this.size - DEFAULT_WINDOW;
  }

  /** A DATA frame of `len` bytes came: the credit to give back now (0: not yet). Past the window, a connection error. */
  take(len: number): number {
    if (len > this.#window) throw new H2ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'DATA past the connection window');
    this.#window -= len;
    this.#unacked += len;
    if (this.#unacked < this.size / 2) return 0;
    const credit = this.#unacked;
    this.#window += credit;
    this.#unacked = 0;
    return credit;
  }
}
