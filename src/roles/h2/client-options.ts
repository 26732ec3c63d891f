import { ErrorCode, rangeError, typeError } from '../../core/errors.js';
import { DEFAULT_MAX_FRAME, DEFAULT_WINDOW, MAX_MAX_FRAME, MAX_WINDOW } from './frames.js';

/** Limits of the HTTP/2 connections a vhost's client requests share, each with a default. */
export interface H2ClientOptions {
  /** Streams we open at once on one connection; the server's SETTINGS_MAX_CONCURRENT_STREAMS may lower it. More requests wait. Default 100. */
  maxConcurrentStreams: number;
  /** Requests that may wait for a stream on one connection; past it a request fails at once. Default 1000. */
  maxQueued: number;
  /** Each stream's receive window (our SETTINGS_INITIAL_WINDOW_SIZE): response bytes the server may send ahead of the reader. Default 256 KiB. */
  initialWindowSize: number;
  /** The connection's receive window, shared by every stream. Default 4 MiB. */
  connectionWindowSize: number;
  /** Largest frame payload we accept (SETTINGS_MAX_FRAME_SIZE), 16384..16777215. Default 16384. */
  maxFrameSize: number;
  /** Largest response header list, counted as RFC 9113 does (name + value + 32 per field): the request fails past it. Default 65536. */
  maxHeaderListSize: number;
  /** Seconds the server has to send its SETTINGS and to acknowledge ours. Default 10. */
  settingsTimeoutSecs: number;
  /** Seconds a connection with no open stream is kept for the next request: then GOAWAY and close. Default 10. */
  idleTimeoutSecs: number;
  /** PING, SETTINGS and tiny WINDOW_UPDATE (under 1 KiB) frames the server may send at once, each kind; refilled at `floodRate` per second. Past it: GOAWAY ENHANCE_YOUR_CALM. Default 500, 50. */
  floodBurst: number;
  floodRate: number;
}

export const DEFAULT_H2_CLIENT_OPTIONS: Readonly<H2ClientOptions> = Object.freeze({
  maxConcurrentStreams: 100,
  maxQueued: 1000,
  initialWindowSize: 256 * 1024,
  connectionWindowSize: 4 * 1024 * 1024,
  maxFrameSize: DEFAULT_MAX_FRAME,
  maxHeaderListSize: 65536,
  settingsTimeoutSecs: 10,
  idleTimeoutSecs: 10,
  floodBurst: 500,
  floodRate: 50,
});

const RANGES: { [K in keyof H2ClientOptions]: [number, number] } = {
  maxConcurrentStreams: [1, 2 ** 31 - 1],
  maxQueued: [0, 2 ** 31 - 1],
  initialWindowSize: [DEFAULT_WINDOW, MAX_WINDOW],
  connectionWindowSize: [DEFAULT_WINDOW, MAX_WINDOW],
  maxFrameSize: [DEFAULT_MAX_FRAME, MAX_MAX_FRAME],
  maxHeaderListSize: [1024, 2 ** 31 - 1],
  settingsTimeoutSecs: [0.001, 86400],
  idleTimeoutSecs: [0.001, 86400],
  floodBurst: [1, 2 ** 31 - 1],
  floodRate: [0, 2 ** 31 - 1],
};

/** Check a vhost's `h2Client` options and fill in the defaults. */
export function resolveH2ClientOptions(o: Partial<H2ClientOptions> | undefined): H2ClientOptions {
  const out: H2ClientOptions = { ...DEFAULT_H2_CLIENT_OPTIONS };
  for (const [k, v] of Object.entries(o ?? {}) as [keyof H2ClientOptions, unknown][]) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_H2_CLIENT_OPTIONS))
      throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown h2Client option "${k}"; known: ${Object.keys(DEFAULT_H2_CLIENT_OPTIONS).join(', ')}`);
    const [min, max] = RANGES[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      throw rangeError(ErrorCode.INVALID_OPTION, `h2Client option ${k} must be a number from ${min} to ${max}, got ${String(v)}`);
    out[k] = v;
  }
  return out;
}
