import type { Wsi } from '../../core/wsi.js';
import type { Transport } from '../../core/role.js';
import type { Timer } from '../../core/timers.js';
import type { HttpCarrier, HttpHead } from '../../http/head.js';
import type { H2Conn } from './conn.js';
import type { H2Exchange } from './exchange.js';

/**
 * One HTTP/2 stream: the state RFC 9113 5.1 gives it, its windows, what
 * it has to send, and the request body held while its reader is paused.
 * It is the transport of the stream's wsi (a child of the connection's):
 * what the wsi writes becomes DATA frames as the windows allow, and the
 * wsi is choked while bytes wait or there is no credit.
 */
export class H2Stream implements Transport, HttpCarrier {
  /** The stream's wsi, once the request is being handled. */
  wsi: Wsi | null = null;
  exchange: H2Exchange | null = null;
  /** The peer sent END_STREAM (or the stream was reset). */
  remoteClosed = false;
  /** END_STREAM has been sent (or the stream was reset). */
  localClosed = false;
  /** Reset by either side: nothing more is sent. */
  reset = false;
  /** We sent the RST_STREAM (or refused it): late frames from the peer are ignored. */
  resetByUs = false;
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
  /** The reader paused (rx flow control): body bytes are held and no credit is given back. */
  paused = false;
  held: Buffer[] = [];
  heldEnd = false;
  /**
   * The stream carries a WebSocket (RFC 8441): its DATA are the wsi's
   * received bytes, read by its role, and its END_STREAM is the peer's FIN.
   */
  websocket = false;
  /** After our END_STREAM on a WebSocket's stream, the bound on waiting for the peer's. */
  endTimer: Timer | null = null;
  /** Request body bytes received, to check against content-length. */
  bodyReceived = 0;
  contentLength = -1;

  constructor(readonly conn: H2Conn, readonly id: number, sendWindow: number, recvWindow: number) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get httpHead(): HttpHead | null {
    const ex = this.exchange;
    return ex && ex.active ? ex.req : null;
  }

  get httpExchange(): H2Exchange | null {
    return this.exchange;
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

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.resumeStream(this);
  }

  end(): void {
    this.conn.endStream(this);
  }

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
