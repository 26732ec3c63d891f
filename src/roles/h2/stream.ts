import type { Wsi } from '../../core/wsi.js';
import type { Timer } from '../../core/timers.js';
import type { HttpCarrier, HttpHead } from '../../http/head.js';
import type { H2Conn } from './conn.js';
import type { H2Exchange } from './exchange.js';
import { H2StreamBase } from './stream-base.js';

/**
 * One stream of the server's HTTP/2 connection (see `H2StreamBase`), with
 * the exchange it carries and the request body's bookkeeping.
 */
export class H2Stream extends H2StreamBase implements HttpCarrier {
  /** The stream's wsi, once the request is being handled. */
  wsi: Wsi | null = null;
  exchange: H2Exchange | null = null;
  /** We sent the RST_STREAM (or refused it): late frames from the peer are ignored. */
  resetByUs = false;
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

  constructor(override readonly conn: H2Conn, id: number, sendWindow: number, recvWindow: number) {
    super(conn, id, sendWindow, recvWindow);
  }

  get httpHead(): HttpHead | null {
    const ex = this.exchange;
    return ex && ex.active ? ex.req : null;
  }

  get httpExchange(): H2Exchange | null {
    return this.exchange;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.resumeStream(this);
  }

  end(): void {
    this.conn.endStream(this);
  }
}
