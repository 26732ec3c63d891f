import type { Wsi } from './wsi.js';
import type { PendingTimeout } from './timeouts.js';

/**
 * A wire role: what a connection speaks right now. The core hands it bytes
 * and events; it never touches user code except through `wsi.callProtocol`.
 */
export interface Role {
  readonly name: string;
  /** Bytes read from the socket. */
  rx(wsi: Wsi, buf: Buffer): void;
  /** The connection may write: a requested WRITEABLE, or the role's own pending work. */
  writable(wsi: Wsi): void;
  /** `wsi.write()` from user code or the library: frame and send, return bytes taken or -1. */
  write(wsi: Wsi, buf: Uint8Array, flags: number): number;
  /** A pending timeout fired; the default is to close. */
  timeout?(wsi: Wsi, reason: PendingTimeout): void;
  /** The peer sent FIN. */
  peerEnded?(wsi: Wsi): void;
  /** A socket error: true when the role dealt with it (the wsi is then not closed). */
  socketError?(wsi: Wsi, e: NodeJS.ErrnoException): boolean;
  /**
   * The connection is closing: deliver the role's close callbacks, free its
   * state. With `flush`, a role whose last bytes are still being produced
   * (compression) returns a function that calls `done` once they are
   * written; the socket is ended only then (within a bound).
   */
  closing(wsi: Wsi, flush: boolean): void | ((done: () => void) => void);
}
