import { ErrorCode, rangeError, typeError } from './errors.js';
/**
 * Every limit a vhost applies to HTTP/1 peers, with its default. A peer that
 * passes one gets the named status and its connection alone is closed.
 */
export interface HttpLimits {
  /** Longest request line (method, target, version) in bytes: 414 past it. */
  maxRequestLine: number;
  /** Largest header block (request line included) in bytes: 431 past it. */
  maxHeaderBytes: number;
  /** Most header fields in one request (or chunked trailer): 431 past it. */
  maxHeaderCount: number;
  /** Largest request body in bytes, by Content-Length or chunked: 413 past it. */
  maxBodySize: number;
  /** Longest chunk-size line (with extensions) of a chunked body: 400 past it. */
  maxChunkLine: number;
  /** Seconds a peer has to deliver a complete header block: 408 after. */
  headerTimeoutSecs: number;
  /** Seconds a TLS peer has to complete its handshake (and, on a port that also takes clear text, to send its first byte). */
  tlsAcceptTimeoutSecs: number;
  /** Seconds an idle keep-alive connection is kept between requests. */
  keepaliveTimeoutSecs: number;
  /** Seconds without progress on a request body or a response before closing. */
  timeoutSecs: number;
  /** Unparsed pipelined bytes held while a response is under way; reading pauses past it. */
  maxPipelineBytes: number;
  /** Bytes queued on a socket before it counts as choked (no WRITEABLE until it drains). */
  txHighWater: number;
  /** Bytes read from a file per write when serving it. */
  fileChunkSize: number;
  /** HTTP client (`keepAlive`): idle connections kept per target for reuse. */
  clientKeepAliveMax: number;
  /** HTTP client (`keepAlive`): seconds an idle connection is kept. */
  clientKeepAliveSecs: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaderCount: 100,
  maxBodySize: 100 * 1024 * 1024,
  maxChunkLine: 1024,
  headerTimeoutSecs: 10,
  tlsAcceptTimeoutSecs: 10,
  keepaliveTimeoutSecs: 5,
  timeoutSecs: 20,
  maxPipelineBytes: 64 * 1024,
  txHighWater: 64 * 1024,
  fileChunkSize: 64 * 1024,
  clientKeepAliveMax: 4,
  clientKeepAliveSecs: 5,
});

/** The longest delay Node's setTimeout takes, in ms (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Merge user limits over the defaults, refusing values that make no sense. */
export function resolveLimits(base: Readonly<HttpLimits>, over?: Partial<HttpLimits>): HttpLimits {
  const out: HttpLimits = { ...base };
  if (!over) return out;
  for (const [k, v] of Object.entries(over) as [keyof HttpLimits, number | undefined][]) {
    if (v === undefined) continue;
    if (!(k in base)) throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown limit "${k}"; known limits: ${Object.keys(base).join(', ')}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw rangeError(ErrorCode.INVALID_OPTION, `limit ${k} must be a non-negative number, got ${String(v)}`);
    out[k] = v;
  }
  if (out.maxRequestLine > out.maxHeaderBytes) out.maxRequestLine = out.maxHeaderBytes;
  if (out.fileChunkSize < 512) throw rangeError(ErrorCode.INVALID_OPTION, 'limit fileChunkSize must be at least 512');
  // 0 would disarm the handshake timeout altogether (wsi.setTimeout's "no timeout").
  if (out.tlsAcceptTimeoutSecs <= 0) throw rangeError(ErrorCode.INVALID_OPTION, 'limit tlsAcceptTimeoutSecs must be > 0');
  // The idle timer of a kept client connection is one setTimeout, which takes at most 2^31-1 ms.
  if (out.clientKeepAliveSecs * 1000 > MAX_TIMER_MS)
    throw rangeError(ErrorCode.INVALID_OPTION, `limit clientKeepAliveSecs must be at most ${MAX_TIMER_MS / 1000} (about 24.8 days), got ${out.clientKeepAliveSecs}`);
  return out;
}
