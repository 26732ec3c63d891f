import type { Reason } from './reasons.js';
import type { Wsi } from './wsi.js';

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

/** What `input` carries, depending on the reason (see `Reason`). */
export type CallbackInput =
  | Uint8Array
  | string
  | number
  | PvoOptions
  | object
  | undefined;

/**
 * A protocol's callback. Return a non-zero number to close the connection
 * (for reasons where closing makes sense); return nothing or 0 to go on.
 */
export type ProtocolCallback<U = unknown> = (
  wsi: Wsi,
  reason: Reason,
  user: U,
  input: CallbackInput,
) => number | void;

/**
 * A protocol, as lws's `struct lws_protocols`. `createSessionData` replaces
 * `per_session_data_size`: it makes the per-connection `user` object.
 */
export interface Protocol<U = unknown> {
  readonly name: string;
  /** Method syntax on purpose: a `Protocol<MyState>` fits where `Protocol` is asked for. */
  callback(wsi: Wsi, reason: Reason, user: U, input: CallbackInput): number | void;
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

