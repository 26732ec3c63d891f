/**
 * What tslws tells `node:diagnostics_channel` about the connections,
 * HTTP requests and WebSocket messages it serves. Every channel is named
 * `tslws:…`; the names are the values of `DiagnosticsChannel`, and each
 * message's shape is the matching entry of `DiagnosticsMessages`.
 *
 * The layers publish from the few places every connection, request and
 * message passes, and only when the channel has subscribers: with nobody
 * listening the cost is one property read per event, and no message
 * object is made.
 *
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * import { DiagnosticsChannel, type HttpRequestFinishMessage } from 'tslws';
 *
 * subscribe(DiagnosticsChannel.HTTP_REQUEST_FINISH, (m) => {
 *   const r = m as HttpRequestFinishMessage;
 *   console.log(r.method, r.path, r.status, `${r.durationMs.toFixed(1)} ms`);
 * });
 * ```
 */
import { channel, subscribe, unsubscribe, type Channel } from 'node:diagnostics_channel';
import type { Wsi } from './wsi.js';
import type { Reason } from './reasons.js';

/** The names of the channels tslws publishes on. */
export const DiagnosticsChannel = {
  /** A connection joined the context (accepted, adopted or a client's): `ConnectionOpenMessage`. */
  CONNECTION_OPEN: 'tslws:connection:open',
  /** A connection took a new role (h1, ws, h2, raw …): `ConnectionRoleMessage`. */
  CONNECTION_ROLE: 'tslws:connection:role',
  /** A connection closed: `ConnectionCloseMessage`. */
  CONNECTION_CLOSE: 'tslws:connection:close',
  /** An HTTP request's head was read (HTTP/1 or an HTTP/2 stream): `HttpRequestStartMessage`. */
  HTTP_REQUEST_START: 'tslws:http:request:start',
  /** The request was answered, refused, or cut off: `HttpRequestFinishMessage`. */
  HTTP_REQUEST_FINISH: 'tslws:http:request:finish',
  /** A WebSocket was established (server or client side): `WsOpenMessage`. */
  WS_OPEN: 'tslws:ws:open',
  /** A WebSocket closed: `WsCloseMessage`. */
  WS_CLOSE: 'tslws:ws:close',
  /** A whole WebSocket message was received: `WsMessageMessage`. */
  WS_MESSAGE_IN: 'tslws:ws:message:in',
  /** A whole WebSocket message was handed to the connection to send: `WsMessageMessage`. */
  WS_MESSAGE_OUT: 'tslws:ws:message:out',
  /** A protocol callback threw, or a handshake failed: `ErrorMessage`. */
  ERROR: 'tslws:error',
} as const;
export type DiagnosticsChannel = (typeof DiagnosticsChannel)[keyof typeof DiagnosticsChannel];

/** What every message about one connection (or stream) carries. */
export interface ConnectionFacts {
  /** The connection (for HTTP/2 requests, the stream's wsi). Read it, never change it. */
  readonly wsi: Wsi;
  /** `wsi.id`: small, unique in the process, the same in every message about the connection. */
  readonly id: number;
  /** The name of the connection's vhost when the event happened. */
  readonly vhost: string;
}

/** `tslws:connection:open`. */
export interface ConnectionOpenMessage extends ConnectionFacts {
  /** The role it starts in: `none` for an accepted socket, which takes its role (`h1`, `tls-accept` …) next. */
  readonly role: string;
  /** The peer's numeric address; `''` for a client not connected yet. */
  readonly peerAddress: string;
  /** True for a connection tslws made as a client. */
  readonly client: boolean;
}

/** `tslws:connection:role`: published for connections, not for the streams inside one. */
export interface ConnectionRoleMessage extends ConnectionFacts {
  /** The new role: `h1`, `h2`, `ws`, `raw`, `tls-accept`, `tunnel` … */
  readonly role: string;
  /** The role it had before. */
  readonly previous: string;
}

/** `tslws:connection:close`. */
export interface ConnectionCloseMessage extends ConnectionFacts {
  /** The role it had when it closed. */
  readonly role: string;
  readonly peerAddress: string;
  /** Bytes read from the connection's socket over its life (0 without a socket). */
  readonly bytesIn: number;
  /** Bytes written to it, including what is still queued to leave. */
  readonly bytesOut: number;
}

/** `tslws:http:request:start`. */
export interface HttpRequestStartMessage extends ConnectionFacts {
  readonly method: string;
  /** The request-target as sent (percent-encoded: usually the path), without the query. */
  readonly path: string;
  readonly httpVersion: '1.0' | '1.1' | '2';
}

/**
 * `tslws:http:request:finish`: exactly one for every start. `vhost` is
 * the vhost that answered (on HTTP/1 the Host header may have moved the
 * connection since the start).
 */
export interface HttpRequestFinishMessage extends HttpRequestStartMessage {
  /** The protocol that answered (a CALLBACK mount's, or the vhost's first). */
  readonly protocol: string;
  /** The status sent; 101 for an accepted WebSocket upgrade; 0 when the request was cut off before a status left. */
  readonly status: number;
  /** Request body bytes received (after HTTP/1 chunked decoding). */
  readonly bytesIn: number;
  /**
   * Response bytes sent: on HTTP/1 everything written for the exchange,
   * head included (as the access log counts); on HTTP/2 the body (DATA).
   * 0 when nobody was subscribed as the request started.
   */
  readonly bytesOut: number;
  /** From the start to the finish; -1 when nobody was subscribed as the request started. */
  readonly durationMs: number;
  /** True when the connection or stream closed before the response was complete. */
  readonly aborted: boolean;
}

/** `tslws:ws:open`. */
export interface WsOpenMessage extends ConnectionFacts {
  /** The protocol bound to the WebSocket. */
  readonly protocol: string;
  /** True on the client side of a connection tslws made. */
  readonly client: boolean;
  /** permessage-deflate was negotiated. */
  readonly deflate: boolean;
}

/** `tslws:ws:close`. */
export interface WsCloseMessage extends ConnectionFacts {
  readonly protocol: string;
  readonly client: boolean;
  /**
   * The status of the first Close frame of the closing handshake (the
   * peer's when it closed first, ours otherwise): 1005 when that Close
   * carried none, 1006 when no Close frame was exchanged at all.
   */
  readonly code: number;
  /** Who sent the first Close: `peer`, `local`, or `none` (the connection ended without one). */
  readonly initiator: 'peer' | 'local' | 'none';
}

/** `tslws:ws:message:in` and `tslws:ws:message:out`: one per whole message, whatever its fragments. */
export interface WsMessageMessage extends ConnectionFacts {
  readonly protocol: string;
  readonly client: boolean;
  /** Payload bytes of the message as the application sees them (after inflating, before deflating). */
  readonly size: number;
  readonly binary: boolean;
}

/**
 * `tslws:error` when a protocol callback threw (it was logged and the
 * connection ended as its role says). For a per-vhost callback
 * (PROTOCOL_INIT …) `wsi` is the placeholder the callback was given,
 * which has no connection.
 */
export interface CallbackErrorMessage extends ConnectionFacts {
  readonly kind: 'callback';
  /** The protocol whose callback threw. */
  readonly protocol: string;
  readonly reason: Reason;
  /** What was thrown. */
  readonly error: unknown;
}

/** `tslws:error` when a handshake failed. */
export interface HandshakeErrorMessage extends ConnectionFacts {
  readonly kind: 'handshake';
  /** Which handshake: a WebSocket upgrade (either side) or a TLS accept. */
  readonly handshake: 'websocket' | 'tls';
  /** True on the client side of a connection tslws made. */
  readonly client: boolean;
  /** The HTTP status a refused upgrade was answered with (0 when none applies). */
  readonly status: number;
  /** Why, as logged. */
  readonly message: string;
}

/** `tslws:error`. */
export type ErrorMessage = CallbackErrorMessage | HandshakeErrorMessage;

/** The message published on each channel. */
export interface DiagnosticsMessages {
  'tslws:connection:open': ConnectionOpenMessage;
  'tslws:connection:role': ConnectionRoleMessage;
  'tslws:connection:close': ConnectionCloseMessage;
  'tslws:http:request:start': HttpRequestStartMessage;
  'tslws:http:request:finish': HttpRequestFinishMessage;
  'tslws:ws:open': WsOpenMessage;
  'tslws:ws:close': WsCloseMessage;
  'tslws:ws:message:in': WsMessageMessage;
  'tslws:ws:message:out': WsMessageMessage;
  'tslws:error': ErrorMessage;
}

/**
 * Subscribe to one channel with its message typed; returns the call that
 * unsubscribes. Plain `diagnostics_channel.subscribe(name, fn)` works too.
 *
 * ```ts
 * const stop = subscribeDiagnostics(DiagnosticsChannel.WS_CLOSE, (m) => console.log(m.id, m.code));
 * stop();
 * ```
 */
export function subscribeDiagnostics<K extends DiagnosticsChannel>(name: K, fn: (message: DiagnosticsMessages[K]) => void): () => void {
  const listener = (m: unknown): void => fn(m as DiagnosticsMessages[K]);
  subscribe(name, listener);
  return () => {
    unsubscribe(name, listener);
  };
}

/** @internal A channel the layers publish on, with its message type. */
export interface TypedChannel<M> {
  readonly hasSubscribers: boolean;
  publish(message: M): void;
}

function typed<K extends DiagnosticsChannel>(name: K): TypedChannel<DiagnosticsMessages[K]> {
  return channel(name) as Channel & TypedChannel<DiagnosticsMessages[K]>;
}

/**
 * @internal The channel objects, made once: publishers test
 * `hasSubscribers` before building a message.
 */
export const channels = {
  connectionOpen: typed(DiagnosticsChannel.CONNECTION_OPEN),
  connectionRole: typed(DiagnosticsChannel.CONNECTION_ROLE),
  connectionClose: typed(DiagnosticsChannel.CONNECTION_CLOSE),
  httpStart: typed(DiagnosticsChannel.HTTP_REQUEST_START),
  httpFinish: typed(DiagnosticsChannel.HTTP_REQUEST_FINISH),
  wsOpen: typed(DiagnosticsChannel.WS_OPEN),
  wsClose: typed(DiagnosticsChannel.WS_CLOSE),
  wsMessageIn: typed(DiagnosticsChannel.WS_MESSAGE_IN),
  wsMessageOut: typed(DiagnosticsChannel.WS_MESSAGE_OUT),
  error: typed(DiagnosticsChannel.ERROR),
} as const;

/** @internal A handshake failed on `wsi`: tell `tslws:error` if anyone listens. */
export function handshakeFailed(wsi: Wsi, handshake: 'websocket' | 'tls', client: boolean, status: number, message: string): void {
  if (!channels.error.hasSubscribers) return;
  channels.error.publish({ kind: 'handshake', wsi, id: wsi.id, vhost: wsi.vhost.name, handshake, client, status, message });
}
