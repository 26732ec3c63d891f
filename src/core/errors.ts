/**
 * Errors tslws throws carry a stable `code` (as Node's own errors do), so
 * callers can tell them apart without matching messages. The messages say
 * what to do; the codes stay the same from version to version.
 *
 * ```ts
 * try {
 *   createContext({ port: 70000 });
 * } catch (e) {
 *   if ((e as TslwsError).code === 'TSLWS_INVALID_OPTION') ...
 * }
 * ```
 */
export const ErrorCode = {
  /** A creation, connect or limit setting has a wrong type or value. */
  INVALID_OPTION: 'TSLWS_INVALID_OPTION',
  /** An option bit, limit or key that tslws does not know. */
  UNKNOWN_OPTION: 'TSLWS_UNKNOWN_OPTION',
  /** `connect()` could not establish the WebSocket (refused, DNS, TLS, handshake, timeout). */
  CONNECT_FAILED: 'TSLWS_CONNECT_FAILED',
  /** A send on a message socket that is not open yet. */
  NOT_OPEN: 'TSLWS_NOT_OPEN',
  /** A function argument out of its range (a status code, a close code, seconds). */
  INVALID_ARGUMENT: 'TSLWS_INVALID_ARGUMENT',
  /** The context or vhost has been destroyed. */
  DESTROYED: 'TSLWS_DESTROYED',
  /** An HTTP call on a connection that has no HTTP exchange open. */
  NOT_HTTP: 'TSLWS_NOT_HTTP',
  /** A request handed over as an upgrade (`vhost.handleUpgrade`) that asks for none. */
  NOT_UPGRADE: 'TSLWS_NOT_UPGRADE',
  /** A WebSocket call on a connection that is not a WebSocket. */
  NOT_WEBSOCKET: 'TSLWS_NOT_WEBSOCKET',
  /** An HTTP client call on a connection that is not an HTTP client. */
  NOT_HTTP_CLIENT: 'TSLWS_NOT_HTTP_CLIENT',
  /** A header name or value that HTTP does not allow. */
  INVALID_HEADER: 'TSLWS_INVALID_HEADER',
  /** Response calls in the wrong order (a header before the status, a status twice). */
  RESPONSE_ORDER: 'TSLWS_RESPONSE_ORDER',
  /** A write the connection cannot take (a fragment out of order, a control frame too long), or form data fed to a `Spa` after `finalize()`. */
  WRITE_MISUSE: 'TSLWS_WRITE_MISUSE',
  /** Certificates or keys that cannot be loaded, or TLS settings that contradict each other. */
  TLS_SETUP: 'TSLWS_TLS_SETUP',
  /** A plugin module that cannot be loaded or is not a plugin. */
  PLUGIN: 'TSLWS_PLUGIN',
  /** An lwsws configuration error (`ConfigError`, with file and line). */
  CONFIG: 'TSLWS_CONFIG',
  /** The switch to `uid` / `gid` failed. */
  PRIVILEGES: 'TSLWS_PRIVILEGES',
  /** A zip archive whose directory is malformed or over its limits (`ZipFormatError`). */
  ZIP_FORMAT: 'TSLWS_ZIP_FORMAT',
  /** A form body that breaks its format or limits (`SpaError`). */
  FORM: 'TSLWS_FORM',
  /** A `FileOps` object that lacks a call. */
  FOPS: 'TSLWS_FOPS',
  /** An HTTP handler's connection closed (or its response completed) before a body read or a response write could happen. */
  CLOSED: 'TSLWS_CLOSED',
  /** An HTTP handler's request body read a second time. */
  BODY_USED: 'TSLWS_BODY_USED',
  /** An HTTP handler's request body larger than its `maxBodySize` (`RequestBodyError`, status 413). */
  BODY_TOO_LARGE: 'TSLWS_BODY_TOO_LARGE',
  /** An HTTP handler's request body that is not what `req.json()` reads (`RequestBodyError`, status 400). */
  BODY_MALFORMED: 'TSLWS_BODY_MALFORMED',
  /** A service process of a context with `countThreads` could not start, or could not be made there. */
  SMP: 'TSLWS_SMP',
  /** The Redis topic bus (`tslws/redis`) cannot load its client: the optional `redis` package is not installed. */
  REDIS_CLIENT_MISSING: 'TSLWS_REDIS_CLIENT_MISSING',
  /** A publish refused by the topic bus: its buffer of publishes waiting for the bus (Redis unreachable) is at its bound. */
  TOPIC_BUS_FULL: 'TSLWS_TOPIC_BUS_FULL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An Error, TypeError or RangeError thrown by tslws: it has a `code`. */
export interface TslwsError extends Error {
  readonly code: ErrorCode;
}

function withCode<E extends Error>(e: E, code: ErrorCode): E & TslwsError {
  Object.defineProperty(e, 'code', { value: code, enumerable: true, configurable: true, writable: false });
  return e as E & TslwsError;
}

/** A wrong type or a malformed value. @internal */
export function typeError(code: ErrorCode, message: string): TypeError & TslwsError {
  return withCode(new TypeError(message), code);
}

/** A value outside its range. @internal */
export function rangeError(code: ErrorCode, message: string): RangeError & TslwsError {
  return withCode(new RangeError(message), code);
}

/** A call that the object's state does not allow. @internal */
export function stateError(code: ErrorCode, message: string): Error & TslwsError {
  return withCode(new Error(message), code);
}

/** Give an error of an own class its code (ConfigError, ZipFormatError …). @internal */
export function coded<E extends Error>(e: E, code: ErrorCode): E & TslwsError {
  return withCode(e, code);
}
