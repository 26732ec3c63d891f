import type { Transport } from '../../core/role.js';
import type { H2ClientConn } from './client-conn.js';

/** What an HTTP/2 client stream tells the request it carries. */
export interface H2StreamOwner {
  /** The final response head (1xx interim heads are skipped). */
  head(status: number, headers: Array<[string, string]>): void;
  /** Response body bytes (DATA), in order. */
  data(buf: Buffer): void;
  /** The server ended the stream (END_STREAM). */
  end(): void;
  /**
   * The stream is gone before it ended: reset by the server, refused by
   * its GOAWAY (`retry`: the server did not process it, it may be sent
   * again), or the connection failed. `why` is for the user.
   */
  failed(why: string, retry: boolean): void;
  /** Credit or socket room came back: the request may write again. */
  drained(): void;
}

/**
 * One stream of an HTTP/2 client connection: its state, its windows,
 * and the request bytes waiting for credit. It is the transport of the
 * request's wsi (a child of the connection's).
 */
export class H2ClientStream implements Transport {
  /** We sent END_STREAM (or the stream was reset). */
  localClosed = false;
  /** The server sent END_STREAM (or the stream was reset). */
  remoteClosed = false;
  reset = false;
  /** The final response head arrived. */
  headSeen = false;
  endQueued = false;
  /** Once our END_STREAM is out, a response still coming is cancelled (the request's wsi closed). */
  cancelOnEnd = false;
  sendWindow: number;
  recvWindow: number;
  /** Body bytes delivered that have not been given back as credit. */
  unacked = 0;
  out: Buffer[] = [];
  outBytes = 0;
  ready = false;
  /** The reader paused: DATA is held, no credit goes back for this stream. */
  paused = false;
  held: Buffer[] = [];
  heldEnd = false;

  constructor(readonly conn: H2ClientConn, readonly id: number, readonly owner: H2StreamOwner, sendWindow: number, recvWindow: number) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get closed(): boolean {
    return this.reset || (this.localClosed && this.remoteClosed);
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

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // On a later turn, as a socket resumes: never inside the read that resumed it.
    setImmediate(() => {
      if (!this.paused && !this.reset) this.conn.resumeStream(this);
    });
  }

  /** The request's wsi closes: our side ends after what is queued, and a response still coming is cancelled. */
  end(): void {
    this.conn.finishStream(this);
  }

  destroy(): void {
    this.conn.cancelStream(this);
  }

  get writableNeedDrain(): boolean {
    return this.outBytes > 0 || this.sendWindow <= 0 || this.conn.sendWindow <= 0 || this.conn.socketChoked;
  }

  get writableLength(): number {
    return this.outBytes + (this.conn.wsi.transport?.writableLength ?? 0);
  }

  get writableHighWaterMark(): number {
    return this.conn.wsi.transport?.writableHighWaterMark ?? 16384;
  }
}
