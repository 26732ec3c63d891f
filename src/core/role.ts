import type { Wsi } from './wsi.js';
import type { Vhost } from './vhost.js';
import type { PendingTimeout } from './timeouts.js';
import { runRoleHooks } from './features.js';
import { channels } from './diagnostics.js';

/**
 * What a connection's bytes go out through and come in from: for a
 * connection with its own socket, the socket itself; for a child
 * connection (a stream inside a connection), an object its parent's role
 * provides. It is the part of `net.Socket` the library uses, so a socket
 * is one as it is.
 */
export interface Transport {
  write(data: Uint8Array | string, encoding?: BufferEncoding): boolean;
  cork(): void;
  uncork(): void;
  /** Stop delivering received bytes (TCP, or the stream's flow control, pushes back). */
  pause(): unknown;
  resume(): unknown;
  /** Finish sending what is queued, then end this side. */
  end(): unknown;
  /** Drop the connection now. */
  destroy(): unknown;
  readonly destroyed: boolean;
  readonly writable: boolean;
  /** Past the high-water mark: write nothing more until it drains. */
  readonly writableNeedDrain: boolean;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
  /** Bytes the peer lets a stream send now (its flow-control credit); absent on a socket, which only TCP limits. */
  readonly txCredit?: number;
}

/** Called when a closing connection's last bytes are written; see `RoleOps.closing`. */
export type LastBytes = (done: () => void) => void;

/**
 * A wire role, after lws's `struct lws_role_ops`: what a connection
 * speaks right now (h1, ws, raw …). A role is a table of handlers; the
 * state it keeps per connection lives in the connection's one role-state
 * slot and is handed to every handler. Core calls these and nothing else
 * of a role; a role reaches user code only through `wsi.callProtocol`.
 *
 * `S` is the role's per-connection state.
 */
export interface RoleOps<S = unknown> {
  readonly name: string;
  /** Bytes read from the transport. */
  rx(wsi: Wsi, state: S, buf: Buffer): void;
  /**
   * The connection may write: deliver a requested WRITEABLE (with
   * `wsi.deliverWriteable`), or carry on the role's own pending work.
   */
  writable(wsi: Wsi, state: S): void;
  /** `wsi.write()` from user code or the library: frame and send; bytes taken or -1. */
  write(wsi: Wsi, state: S, buf: Uint8Array, flags: number): number;
  /** Reasons beyond the transport's own to hold WRITEABLE back (bytes waiting for a compressor). */
  choked?(wsi: Wsi, state: S): boolean;
  /** Bytes the peer lets this connection send now (lws's tx credit); absent means no limit. */
  txCredit?(wsi: Wsi, state: S): number;
  /** Rx flow control was turned back on: deliver what was held (default: `held` to `rx`). */
  rxResumed?(wsi: Wsi, state: S, held: Buffer | null): void;
  /** A pending timeout fired; without this handler the connection closes. */
  timeout?(wsi: Wsi, state: S, reason: PendingTimeout): void;
  /** The peer ended its side; without this handler the connection closes. */
  peerEnded?(wsi: Wsi, state: S): void;
  /** A transport error: true when the role dealt with it (the connection is then not closed). */
  transportError?(wsi: Wsi, state: S, e: NodeJS.ErrnoException): boolean;
  /**
   * A protocol callback threw (it has been logged): tell the peer as the
   * role can (HTTP 500 before the response head, WebSocket close 1011)
   * and close the connection. Without this handler it is closed.
   */
  callbackThrew?(wsi: Wsi, state: S): void;
  /** The vhost is going away (its destroy closes the connection next): say so on the wire if the role can. */
  goingAway?(wsi: Wsi, state: S): void;
  /**
   * The vhost or the context is being destroyed: finish gracefully (an
   * HTTP/2 GOAWAY lets open streams end). True when the role will close
   * the connection itself within its own bound; false (or absent): it is
   * closed at once.
   */
  drain?(wsi: Wsi, state: S): boolean;
  /**
   * `context.drain()`: finish what is in flight and close (an HTTP/1
   * response completes, then the connection closes; HTTP/2 sends GOAWAY and
   * its streams finish). True when the connection will close by itself
   * (the drain's deadline bounds it); false (or absent): it is closed now,
   * with what it has queued sent.
   */
  quiesce?(wsi: Wsi, state: S): boolean;
  /**
   * The connection is closing: deliver the role's close callbacks and free
   * its state. With `flush`, a role whose last bytes are still being made
   * (compression) returns a function that calls `done` once they are
   * written; the transport is ended only then (within a bound).
   */
  closing(wsi: Wsi, state: S, flush: boolean): void | LastBytes;
  /** Once for every vhost made after the role is registered (lws's per-vhost init). */
  vhostInit?(vh: Vhost): void;
  /** Once for every vhost destroyed. */
  vhostDestroy?(vh: Vhost): void;
}

/** A connection between roles: nothing to read or write yet (accepting, a vhost's protocol callbacks). */
export const NO_ROLE: RoleOps<null> = {
  name: 'none',
  rx() {},
  writable() {},
  write() {
    return -1;
  },
  closing() {},
};

/** Move a connection to `ops` with its new state (lws's `lws_role_transition`). */
export function roleTransition<S>(wsi: Wsi, ops: RoleOps<S>, state: S): void {
  const previous = wsi.roleName;
  wsi.setRole(ops as RoleOps<unknown>, state);
  runRoleHooks(wsi);
  // Streams inside a connection are told of as HTTP requests, not as connections.
  if (channels.connectionRole.hasSubscribers && !wsi.parent)
    channels.connectionRole.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, role: ops.name, previous });
}

/** The connection's state if its role is `ops`, else null. */
export function roleStateOf<S>(wsi: Wsi, ops: RoleOps<S>): S | null {
  return wsi.roleOps === (ops as RoleOps<unknown>) ? (wsi.roleState as S) : null;
}
