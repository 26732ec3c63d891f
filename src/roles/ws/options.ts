import { ErrorCode, rangeError, typeError } from '../../core/errors.js';

/**
 * permessage-deflate (RFC 7692) settings. On a vhost (`ws.perMessageDeflate`)
 * they say what the server accepts; in a client's connect info, what it
 * offers. Off unless asked for, as lws needs the extension in its table.
 */
export interface PerMessageDeflateOptions {
  /** Server: always reset the compressor after each message (and say so). Client: ask the server to. Default false. */
  serverNoContextTakeover?: boolean;
  /** Server: ask the client to reset after each message. Client: reset ours and say so. Default false. */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window (8..15) the server's compressor may use; below 15 it is sent. Default 15. */
  serverMaxWindowBits?: number;
  /** Largest LZ77 window (8..15) the client's compressor may use; below 15 it is sent. Default 15. */
  clientMaxWindowBits?: number;
  /** zlib compression level 0..9 (lws's compression_level). Default 1. */
  level?: number;
  /** zlib memLevel 1..9 (lws's mem_level): compressor memory against ratio. Default 8. */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** Largest message after decompression: 1009 past it. Default `ws.maxMessageSize`. */
  maxInflatedSize?: number;
  /** zlib operations in progress at once on a vhost (or a client vhost); more wait in a queue. Default 10. */
  concurrency?: number;
  /**
   * Free a connection's compressor after this many ms without a message
   * (context takeover or not); the next message starts a fresh one, which
   * the peer decodes as usual (a compressor need not refer back, only a
   * decompressor must remember). Costs ratio on that one message, saves
   * most of the connection's zlib memory while it is quiet. 0 keeps it.
   * Default 2000.
   */
  idleReleaseMs?: number;
  /**
   * Connections of a vhost that may keep their compressor between
   * messages (context takeover: later messages refer back to earlier ones,
   * the best ratio on streams of similar messages). Further connections
   * compress each message afresh with a compressor borrowed from the
   * vhost's spares, which the peer decodes as usual: it costs them ratio,
   * not memory. Places go to the first connections that send, and come
   * back when one is quiet for `idleReleaseMs` or closes. This bounds the
   * vhost's compressor memory (about 240 KB each with 15-bit windows)
   * whatever the number of busy connections. Default 64.
   */
  keptCompressors?: number;
}

/** permessage-deflate settings with every default filled in. */
export type PmdConfig = Readonly<Required<PerMessageDeflateOptions>>;

/** WebSocket settings of a vhost, each with a default. */
export interface WsOptions {
  /** Largest frame payload accepted: 1009 past it. */
  maxFrameSize: number;
  /** Largest message (all its fragments) accepted: 1009 past it. */
  maxMessageSize: number;
  /** Check text messages and close reasons are UTF-8 (1007 otherwise). */
  validateUtf8: boolean;
  /** Ping a connection idle this many seconds and close it if no pong comes in as long; 0 is off. */
  pingPongSecs: number;
  /** Accept permessage-deflate offers: `true` with the defaults, or settings. Default false. */
  perMessageDeflate: boolean | PerMessageDeflateOptions;
  /**
   * Frames of 4 to 64 KiB of payload are built in reused 64 KiB buffers,
   * each given back once its socket has written it; this many idle ones
   * are kept per vhost (0: a new buffer for every frame). Default 32
   * (2 MiB).
   */
  framePool: number;
}

export const DEFAULT_WS_OPTIONS: Readonly<WsOptions> = Object.freeze({
  maxFrameSize: 64 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
  validateUtf8: true,
  pingPongSecs: 0,
  perMessageDeflate: false,
  framePool: 32,
});

const PMD_KEYS: ReadonlyArray<keyof PerMessageDeflateOptions> = [
  'serverNoContextTakeover', 'clientNoContextTakeover', 'serverMaxWindowBits', 'clientMaxWindowBits',
  'level', 'memLevel', 'threshold', 'maxInflatedSize', 'concurrency', 'idleReleaseMs', 'keptCompressors',
];

function intIn(where: string, k: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw rangeError(ErrorCode.INVALID_OPTION, `${where}.${k} must be an integer from ${min} to ${max}, got ${String(v)}`);
  return v;
}

/**
 * Fill in and check permessage-deflate settings; `false` (or undefined)
 * gives null. `where` names the option in error messages.
 */
export function resolvePmd(o: boolean | PerMessageDeflateOptions | undefined, maxMessageSize: number, where: string): PmdConfig | null {
  if (o === undefined || o === false) return null;
  if (o !== true && (typeof o !== 'object' || o === null)) throw typeError(ErrorCode.INVALID_OPTION, `${where} must be true, false or an options object`);
  const u: PerMessageDeflateOptions = o === true ? {} : o;
  for (const k of Object.keys(u)) {
    if (!PMD_KEYS.includes(k as keyof PerMessageDeflateOptions))
      throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown option ${where}.${k}; known: ${PMD_KEYS.join(', ')}`);
  }
  for (const k of ['serverNoContextTakeover', 'clientNoContextTakeover'] as const) {
    if (u[k] !== undefined && typeof u[k] !== 'boolean') throw typeError(ErrorCode.INVALID_OPTION, `${where}.${k} must be a boolean`);
  }
  const big = Number.MAX_SAFE_INTEGER;
  return Object.freeze({
    serverNoContextTakeover: u.serverNoContextTakeover ?? false,
    clientNoContextTakeover: u.clientNoContextTakeover ?? false,
    serverMaxWindowBits: intIn(where, 'serverMaxWindowBits', u.serverMaxWindowBits ?? 15, 8, 15),
    clientMaxWindowBits: intIn(where, 'clientMaxWindowBits', u.clientMaxWindowBits ?? 15, 8, 15),
    level: intIn(where, 'level', u.level ?? 1, 0, 9),
    memLevel: intIn(where, 'memLevel', u.memLevel ?? 8, 1, 9),
    threshold: intIn(where, 'threshold', u.threshold ?? 1024, 0, big),
    maxInflatedSize: intIn(where, 'maxInflatedSize', u.maxInflatedSize ?? maxMessageSize, 1, big),
    concurrency: intIn(where, 'concurrency', u.concurrency ?? 10, 1, 10000),
    idleReleaseMs: intIn(where, 'idleReleaseMs', u.idleReleaseMs ?? 2000, 0, 2 ** 31 - 1),
    keptCompressors: intIn(where, 'keptCompressors', u.keptCompressors ?? 64, 0, big),
  });
}

/** Check a vhost's `ws` options and fill in the defaults. */
export function resolveWsOptions(o: Partial<WsOptions>): WsOptions {
  const out: WsOptions = { ...DEFAULT_WS_OPTIONS };
  for (const [k, v] of Object.entries(o) as [keyof WsOptions, unknown][]) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_WS_OPTIONS)) throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown ws option "${k}"; known: ${Object.keys(DEFAULT_WS_OPTIONS).join(', ')}`);
    if (k === 'perMessageDeflate') continue;
    if (typeof v !== typeof DEFAULT_WS_OPTIONS[k] || (typeof v === 'number' && (!Number.isFinite(v) || v < 0)))
      throw typeError(ErrorCode.INVALID_OPTION, `ws option ${k} must be a ${typeof DEFAULT_WS_OPTIONS[k]}${typeof v === 'number' ? ' >= 0' : ''}`);
    if (k === 'framePool' && !Number.isInteger(v)) throw typeError(ErrorCode.INVALID_OPTION, 'ws option framePool must be an integer >= 0');
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  // Resolved once here, so every connection shares one frozen settings object.
  out.perMessageDeflate = resolvePmd(o.perMessageDeflate, out.maxMessageSize, 'ws.perMessageDeflate') ?? false;
  return out;
}

/** The resolved permessage-deflate settings of resolved `ws` options, or null when off. */
export function pmdOf(o: Readonly<WsOptions>): PmdConfig | null {
  // resolveWsOptions (every vhost's) leaves false or the frozen, filled-in settings.
  const p = o.perMessageDeflate;
  return typeof p === 'object' ? (p as PmdConfig) : null;
}
