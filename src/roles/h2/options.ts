import { ErrorCode, rangeError, typeError } from '../../core/errors.js';
import { DEFAULT_WINDOW, DEFAULT_MAX_FRAME, MAX_MAX_FRAME, MAX_WINDOW } from './frames.js';

/** HTTP/2 settings and limits of a vhost, each with a default. */
export interface H2Options {
  /** Serve HTTP/2: by ALPN on TLS (when the vhost's `alpn` offers `h2`) and by prior knowledge on clear text. Default true. */
  enabled: boolean;
  /**
   * Serve only HTTP/2: on TLS, ALPN offers only `h2`; in clear text the
   * connection must open with the HTTP/2 preface (anything else gets a
   * GOAWAY), as an h2c-only server does. Default false.
   */
  only: boolean;
  /** Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM. Default 100. */
  maxConcurrentStreams: number;
  /** Each stream's receive window (SETTINGS_INITIAL_WINDOW_SIZE): request body bytes a client may send ahead. At least 65535. Default 65535. */
  initialWindowSize: number;
  /** The connection's receive window, shared by every stream's body. Default 1 MiB. */
  connectionWindowSize: number;
  /** Largest frame payload we accept (SETTINGS_MAX_FRAME_SIZE), 16384..16777215. Default 16384. */
  maxFrameSize: number;
  /** Our HPACK dynamic table (SETTINGS_HEADER_TABLE_SIZE). Default 4096. */
  headerTableSize: number;
  /** Largest request header list, as RFC 9113 counts it (name + value + 32 per field): 431 past it. Default 32768. */
  maxHeaderListSize: number;
  /** Seconds the client has to acknowledge our SETTINGS: SETTINGS_TIMEOUT after. Default 10. */
  settingsTimeoutSecs: number;
  /** Seconds a connection with no open stream is kept: then GOAWAY and close. Default 30. */
  idleTimeoutSecs: number;
  /** Seconds open streams have to finish after a graceful GOAWAY (vhost or context destroy). Default 5. */
  drainSecs: number;
  /** Streams the client may reset before we finished them, at once; refilled at `resetRate` per second ("rapid reset"). Default 200. */
  resetBurst: number;
  resetRate: number;
  /**
   * PING, SETTINGS, PRIORITY, empty DATA and tiny WINDOW_UPDATE (under 1 KiB)
   * frames a client may send at once, each kind; refilled at `floodRate`
   * per second. Past it: GOAWAY ENHANCE_YOUR_CALM. Default 500, 50.
   */
  floodBurst: number;
  floodRate: number;
  /** CONTINUATION frames one header block may take. Default 32. */
  maxContinuations: number;
  /**
   * WebSockets over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
   * is advertised and an extended CONNECT with `:protocol websocket` becomes
   * a WebSocket on its stream, bound to the vhost's protocols as an HTTP/1.1
   * upgrade is. Default true, as every vhost takes WebSocket upgrades on
   * HTTP/1.1; false: the setting is not sent and `:protocol` is a malformed
   * request (RST_STREAM PROTOCOL_ERROR).
   */
  websockets: boolean;
}

export const DEFAULT_H2_OPTIONS: Readonly<H2Options> = Object.freeze({
  enabled: true,
  only: false,
  maxConcurrentStreams: 100,
  initialWindowSize: DEFAULT_WINDOW,
  connectionWindowSize: 1024 * 1024,
  maxFrameSize: DEFAULT_MAX_FRAME,
  headerTableSize: 4096,
  maxHeaderListSize: 32768,
  settingsTimeoutSecs: 10,
  idleTimeoutSecs: 30,
  drainSecs: 5,
  resetBurst: 200,
  resetRate: 20,
  floodBurst: 500,
  floodRate: 50,
  maxContinuations: 32,
  websockets: true,
});

const RANGES: { [K in Exclude<keyof H2Options, 'enabled' | 'only' | 'websockets'>]: [number, number] } = {
  maxConcurrentStreams: [1, 2 ** 31 - 1],
  initialWindowSize: [DEFAULT_WINDOW, MAX_WINDOW],
  connectionWindowSize: [DEFAULT_WINDOW, MAX_WINDOW],
  maxFrameSize: [DEFAULT_MAX_FRAME, MAX_MAX_FRAME],
  headerTableSize: [0, 2 ** 31 - 1],
  maxHeaderListSize: [1024, 2 ** 31 - 1],
  settingsTimeoutSecs: [0.001, 86400],
  idleTimeoutSecs: [0.001, 86400],
  drainSecs: [0, 3600],
  resetBurst: [1, 2 ** 31 - 1],
  resetRate: [0, 2 ** 31 - 1],
  floodBurst: [1, 2 ** 31 - 1],
  floodRate: [0, 2 ** 31 - 1],
  maxContinuations: [1, 100000],
};

/** Check a vhost's `h2` options and fill in the defaults. */
export function resolveH2Options(o: Partial<H2Options> | undefined): H2Options {
  const out: H2Options = { ...DEFAULT_H2_OPTIONS };
  for (const [k, v] of Object.entries(o ?? {}) as [keyof H2Options, unknown][]) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_H2_OPTIONS)) throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown h2 option "${k}"; known: ${Object.keys(DEFAULT_H2_OPTIONS).join(', ')}`);
    if (k === 'enabled' || k === 'only' || k === 'websockets') {
      if (typeof v !== 'boolean') throw typeError(ErrorCode.INVALID_OPTION, `h2 option ${k} must be a boolean`);
      out[k] = v;
      continue;
    }
    const [min, max] = RANGES[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      throw rangeError(ErrorCode.INVALID_OPTION, `h2 option ${k} must be a number from ${min} to ${max}, got ${String(v)}`);
    out[k] = v;
  }
  return out;
}
