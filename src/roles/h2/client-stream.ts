import { H2StreamBase } from './stream-base.js';
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
 * One stream of an HTTP/2 client connection (see `H2StreamBase`): the
 * transport of the request's wsi (a child of the connection's), and what
 * the request it carries is told.
 */
export class H2ClientStream extends H2StreamBase {
  /** The final response head arrived. */
  headSeen = false;
  /** Once our END_STREAM is out, a response still coming is cancelled (the request's wsi closed). */
  cancelOnEnd = false;

  constructor(override readonly conn: H2ClientConn, id: number, readonly owner: H2StreamOwner, sendWindow: number, recvWindow: number) {
    super(conn, id, sendWindow, recvWindow);
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
}
