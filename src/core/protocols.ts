import type { Reason } from './reasons.js';
import type { Wsi } from './wsi.js';
import type { PollArgs } from './poll-events.js';

/** Per-vhost options for one protocol: `name → value`, as lws's pvo list. */
export type PvoOptions = Readonly<Record<string, string>>;

/**
 * Per-vhost options keyed by protocol name. The keys also say which
 * protocols a vhost enables when it takes them from plugins. An option
 * named `default` makes that protocol the one WebSocket upgrades without
 * `Sec-WebSocket-Protocol` bind to; `raw` marks the RAW protocol.
 *
 * ```ts
 * const pvo = { 'my-protocol': { default: '1' } };
 * ```
 */
export type Pvo = Readonly<Record<string, PvoOptions>>;

/**
 * What `input` is for each reason: `ReasonInput[Reason.RECEIVE]` is
 * `Buffer`. Where lws passes `in` and `len`, tslws passes one value that
 * carries its own length; where lws passes nothing, `undefined`. Reasons
 * tslws never delivers are `undefined` too. See each `Reason` member for
 * when it comes and what its return value does.
 *
 * The TLS and client layers add the reasons whose input is one of their
 * types (SSL_INFO, the OPENSSL_* reasons, CLIENT_APPEND_HANDSHAKE_HEADER),
 * so that core does not depend on them; every reason has an entry once
 * the library is loaded, or the build fails.
 */
export interface ReasonInput {
  /** Nothing: the headers are readable with `wsi.hdrCopy()` instead. */
  [Reason.ESTABLISHED]: undefined;
  /** Why the attempt failed, e.g. `"HS: ws upgrade response not 101"`. */
  [Reason.CLIENT_CONNECTION_ERROR]: string;
  [Reason.CLIENT_FILTER_PRE_ESTABLISH]: undefined;
  [Reason.CLIENT_ESTABLISHED]: undefined;
  [Reason.CLOSED]: undefined;
  [Reason.CLOSED_HTTP]: undefined;
  /** A piece of a message, at most the protocol's `rxBufferSize` bytes. */
  [Reason.RECEIVE]: Buffer;
  /** The PONG's payload (often empty). */
  [Reason.RECEIVE_PONG]: Buffer;
  /** A piece of a message, at most the protocol's `rxBufferSize` bytes. */
  [Reason.CLIENT_RECEIVE]: Buffer;
  /** The PONG's payload (often empty). */
  [Reason.CLIENT_RECEIVE_PONG]: Buffer;
  [Reason.CLIENT_WRITEABLE]: undefined;
  [Reason.SERVER_WRITEABLE]: undefined;
  /** The decoded path without the query; under a CALLBACK mount, the part after the mountpoint. */
  [Reason.HTTP]: string;
  /** A piece of the request body. */
  [Reason.HTTP_BODY]: Buffer;
  [Reason.HTTP_BODY_COMPLETION]: undefined;
  [Reason.HTTP_FILE_COMPLETION]: undefined;
  [Reason.HTTP_WRITEABLE]: undefined;
  /** The peer's numeric address (lws passes the socket's descriptor). */
  [Reason.FILTER_NETWORK_CONNECTION]: string;
  /** The decoded path without the query. */
  [Reason.FILTER_HTTP_CONNECTION]: string;
  [Reason.SERVER_NEW_CLIENT_INSTANTIATED]: undefined;
  /** The name of the protocol the upgrade chose. */
  [Reason.FILTER_PROTOCOL_CONNECTION]: string;
  /** The extension's name, `"permessage-deflate"`. */
  [Reason.CONFIRM_EXTENSION_OKAY]: string;
  /** The extension's name, `"permessage-deflate"`. */
  [Reason.CLIENT_CONFIRM_EXTENSION_SUPPORTED]: string;
  /** The protocol's per-vhost options from `pvo`, empty when none. */
  [Reason.PROTOCOL_INIT]: PvoOptions;
  [Reason.PROTOCOL_DESTROY]: undefined;
  [Reason.WSI_CREATE]: undefined;
  [Reason.WSI_DESTROY]: undefined;
  [Reason.GET_THREAD_ID]: undefined;
  /** The descriptor and its interest (`Poll.IN`, `Poll.OUT`); with `pollEvents` only. */
  [Reason.ADD_POLL_FD]: PollArgs;
  [Reason.DEL_POLL_FD]: PollArgs;
  [Reason.CHANGE_MODE_POLL_FD]: PollArgs;
  [Reason.LOCK_POLL]: PollArgs;
  [Reason.UNLOCK_POLL]: PollArgs;
  /** The Close frame's payload: a 2-byte status (network order) and a reason, or empty. */
  [Reason.WS_PEER_INITIATED_CLOSE]: Buffer;
  [Reason.WS_EXT_DEFAULTS]: undefined;
  [Reason.CGI]: undefined;
  [Reason.CGI_TERMINATED]: undefined;
  [Reason.CGI_STDIN_DATA]: undefined;
  [Reason.CGI_STDIN_COMPLETED]: undefined;
  [Reason.ESTABLISHED_CLIENT_HTTP]: undefined;
  [Reason.CLOSED_CLIENT_HTTP]: undefined;
  /** Nothing: read the bytes with `wsi.httpClientRead()`. */
  [Reason.RECEIVE_CLIENT_HTTP]: undefined;
  [Reason.COMPLETED_CLIENT_HTTP]: undefined;
  [Reason.RECEIVE_CLIENT_HTTP_READ]: undefined;
  [Reason.HTTP_BIND_PROTOCOL]: undefined;
  [Reason.HTTP_DROP_PROTOCOL]: undefined;
  [Reason.CHECK_ACCESS_RIGHTS]: undefined;
  [Reason.PROCESS_HTML]: undefined;
  [Reason.ADD_HEADERS]: undefined;
  [Reason.SESSION_INFO]: undefined;
  [Reason.GS_EVENT]: undefined;
  [Reason.HTTP_PMO]: undefined;
  [Reason.CLIENT_HTTP_WRITEABLE]: undefined;
  [Reason.OPENSSL_PERFORM_SERVER_CERT_VERIFICATION]: undefined;
  /** The bytes read. */
  [Reason.RAW_RX]: Buffer;
  [Reason.RAW_CLOSE]: undefined;
  [Reason.RAW_WRITEABLE]: undefined;
  [Reason.RAW_ADOPT]: undefined;
  [Reason.RAW_ADOPT_FILE]: undefined;
  [Reason.RAW_RX_FILE]: Buffer;
  [Reason.RAW_WRITEABLE_FILE]: undefined;
  [Reason.RAW_CLOSE_FILE]: undefined;
  [Reason.CHILD_WRITE_VIA_PARENT]: undefined;
  [Reason.CHILD_CLOSING]: undefined;
  [Reason.CGI_PROCESS_ATTACH]: undefined;
  [Reason.CLIENT_CLOSED]: undefined;
  [Reason.USER]: undefined;
}

/**
 * The type of `input` for reason `R`; without `R`, what any reason may
 * pass (the type to give `input` in code that handles many reasons alike,
 * such as a logger or a function forwarding to `callbackHttpDummy`).
 *
 * ```ts
 * function onPiece(piece: CallbackInput<Reason.RECEIVE>) {} // Buffer
 * ```
 */
export type CallbackInput<R extends Reason = Reason> = ReasonInput[R];

/**
 * The arguments of a protocol callback, as a union with one
 * `[wsi, reason, user, input]` tuple per reason: a function whose
 * parameters are typed by it gets `input` narrowed by `switch (reason)`
 * or `if (reason === …)`, with no casts. `U` is the per-session data
 * (`user`).
 *
 * ```ts
 * function callback(...[wsi, reason, user, input]: CallbackArgs<Session>): number {
 *   if (reason === Reason.RECEIVE) user.bytes += input.length; // input: Buffer
 *   return 0;
 * }
 * ```
 */
export type CallbackArgs<U = unknown> = {
  [R in Reason]: [wsi: Wsi, reason: R, user: U, input: ReasonInput[R]];
}[Reason];

/**
 * A protocol's callback, lws's `(wsi, reason, user, in)`: a function
 * expression or arrow function given this type has its parameters typed
 * and `input` narrowed by the reason. Return a non-zero number to close the
 * connection (for reasons where closing makes sense; each `Reason` member
 * says what non-zero does); return nothing or 0 to go on.
 *
 * ```ts
 * const callback: ProtocolCallback<Session> = (wsi, reason, user, input) => {
 *   switch (reason) {
 *     case Reason.RECEIVE: user.parts.push(input); break; // input: Buffer
 *     case Reason.HTTP: console.log(input); break;         // input: string
 *   }
 *   return 0;
 * };
 * ```
 */
export type ProtocolCallback<U = unknown> = (...args: CallbackArgs<U>) => number | void;

/**
 * A protocol, as lws's `struct lws_protocols`. `createSessionData` replaces
 * `per_session_data_size`: it makes the per-connection `user` object.
 */
export interface Protocol<U = unknown> {
  readonly name: string;
  /**
   * Called for every event of the connections bound to this protocol, for
   * the vhost's events (PROTOCOL_INIT …) and, on protocols[0], for events
   * of any connection (WSI_CREATE …): `callback(wsi, reason, user, input)`. Written as a method of an
   * object literal, its parameters are typed from here and `switch
   * (reason)` narrows `input` (see `ReasonInput`).
   *
   * Declare all four parameters (`_user`, `_input` when unused): TypeScript
   * checks a shorter list against the whole union and rejects it. To pass
   * an event on unchanged, forward the tuple:
   * `callback(...args) { return other.callback(...args); }`.
   *
   * Method syntax on purpose: a `Protocol<MyState>` fits where `Protocol` is asked for.
   */
  callback(...args: CallbackArgs<U>): number | void;
  /** Makes the per-connection state handed to every callback as `user`. */
  readonly createSessionData?: () => U;
  /** Largest piece RECEIVE delivers at once; 0 or absent means 4096. */
  readonly rxBufferSize?: number;
  /**
   * The per-vhost options this protocol reads. When given, lwsws refuses
   * any other option in the protocol's `ws-protocols` entry (besides
   * `default` and `status`), suggesting the nearest name: a misspelt
   * option is an error rather than a setting silently not taken.
   */
  readonly pvoOptions?: readonly string[];
  /** Free for the user: a version or identity number. */
  readonly id?: number;
  /** Free for the user: anything the protocol wants to carry. */
  readonly user?: unknown;
}

/**
 * @internal Deliver one event to `p`'s callback (as a method call, so
 * `this` is the protocol). The signature pairs reason and input; the call
 * inside cannot, since a generic reason is no single member of
 * `CallbackArgs`.
 */
export function invokeProtocol<R extends Reason>(p: Protocol, wsi: Wsi, reason: R, user: unknown, input: ReasonInput[R]): number | void {
  return p.callback(...([wsi, reason, user, input] as CallbackArgs));
}
