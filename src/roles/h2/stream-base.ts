import type { Wsi } from '../../core/wsi.js';
import type { Transport } from '../../core/role.js';

/** What a stream needs of the connection that carries it: the server's `H2Conn` or the client's `H2ClientConn`. */
export interface H2StreamCarrier {
  /** The connection's wsi, whose socket the stream's bytes leave through. */
  readonly wsi: Wsi;
  /** The connection's send window (the peer's credit for every stream together). */
  readonly sendWindow: number;
  /** The connection's socket takes no more for now. */
  readonly socketChoked: boolean;
  /** Queue DATA payload for `s`, sent as the windows allow. */
  queueData(s: H2StreamBase, b: Buffer): void;
  /** Reset `s` (its wsi is destroyed). */
  cancelStream(s: H2StreamBase): void;
}

/**
 * What every HTTP/2 stream is, on either side: the state RFC 9113 5.1
 * gives it, its two windows, the DATA waiting for credit and the DATA held
 * while its reader is paused; and the Transport of the stream's wsi (a
 * child of the connection's): what the wsi writes becomes DATA frames as
 * the windows allow, and the wsi is choked while bytes wait or there is
 * no credit. The server's `H2Stream` and the client's `H2ClientStream`
 * add what their side needs.
 */
export abstract class H2StreamBase implements Transport {
  /** The peer sent END_STREAM (or the stream was reset). */
  remoteClosed = false;
  /** END_STREAM has been sent (or the stream was reset). */
  localClosed = false;
  /** Reset by either side: nothing more is sent. */
  reset = false;
  /** END_STREAM goes out once the queued bytes have. */
  endQueued = false;
  /** Bytes we may send: the peer's window for this stream. */
  sendWindow: number;
  /** Bytes the peer may still send before we give credit back. */
  recvWindow: number;
  /** Bytes delivered to the reader that have not been given back yet. */
  unacked = 0;
  /** Queued DATA payload, oldest first, and how much of it. */
  out: Buffer[] = [];
  outBytes = 0;
  /** The stream is on the connection's round of streams with something to send. */
  ready = false;
  /** The reader paused (rx flow control): DATA is held and no credit is given back. */
  paused = false;
  held: Buffer[] = [];
  heldEnd = false;

  constructor(readonly conn: H2StreamCarrier, readonly id: number, sendWindow: number, recvWindow: number) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Both directions are done: the stream may be forgotten once its bytes are out. */
  get closed(): boolean {
    return this.reset || (this.remoteClosed && this.localClosed);
  }

  // ---- Transport ----

  get destroyed(): boolean {
    return this.reset || this.localClosed;
  }

  get writable(): boolean {
    return !this.destroyed && !this.endQueued;
  }

  write(data: Uint8Array | string, encoding?: BufferEncoding): boolean {
    const b = typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8')
      : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.conn.queueData(this, b);
    return !this.writableNeedDrain;
  }

  cork(): void {
    this.conn.wsi.transport?.cork();
  }

  uncork(): void {
    this.conn.wsi.transport?.uncork();
  }

  pause(): void {
    this.paused = true;
  }

  abstract resume(): void;

  abstract end(): void;

  destroy(): void {
    this.conn.cancelStream(this);
  }

  /** Choked while bytes wait, while either window is shut, or while the socket is. */
  get writableNeedDrain(): boolean {
    return this.outBytes > 0 || this.sendWindow <= 0 || this.conn.sendWindow <= 0 || this.conn.socketChoked;
  }

  /** The stream's credit: the smaller of its window and the connection's. */
  get txCredit(): number {
    return Math.max(0, Math.min(this.sendWindow, this.conn.sendWindow));
  }

  get writableLength(): number {
    return this.outBytes + (this.conn.wsi.transport?.writableLength ?? 0);
  }

  get writableHighWaterMark(): number {
    return this.conn.wsi.transport?.writableHighWaterMark ?? 16384;
  }
}
