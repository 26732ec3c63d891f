import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { Write, WRITE_KIND_MASK } from '../core/write.js';
import { log } from '../core/log.js';
import { ErrorCode, rangeError, stateError } from '../core/errors.js';
import type { ClientResponse } from './response-head.js';
import type { HttpClientBody } from './http-body.js';
import type { ClientConnectInfo } from './info.js';
import { PendingTimeout } from '../core/timeouts.js';
import { unwireSocket, wireSocket } from '../core/transport.js';
import { hasToken } from '../http/response.js';
import type { HttpCarrier, HttpHead } from '../http/head.js';
import type { H2ClientStream } from '../roles/h2/client-stream.js';

/** Where an attempt is, for the words of its error. */
export type ClientPhase = 'tcp' | 'tls' | 'handshake' | 'established';

/** Unread response body past which the socket stops being read. */
export const HTTP_CLIENT_HOLD_BYTES = 64 * 1024;

/**
 * The client side of one connection: what it was asked to do, how far it
 * got, and (HTTP) the response body waiting to be read: the state of the
 * client roles (connecting, http-client).
 */
export class ClientConn implements HttpCarrier {
  phase: ClientPhase = 'tcp';
  /** The last socket error, reported when the socket then closes. */
  lastError: NodeJS.ErrnoException | null = null;
  response: ClientResponse | null = null;
  /** Response bytes gathered until the head is complete. */
  headBuf: Buffer | null = null;
  body: HttpClientBody | null = null;
  /** Request body bytes still to send; -1 when no upload is pending. */
  uploadLeft = -1;
  /**
   * What the current request is made from: the caller's info, with
   * address, port, path, host, ssl, method and bodyLength rewritten by
   * each redirect followed.
   */
  info: ClientConnectInfo;
  /** Redirects followed so far. */
  redirects = 0;
  /** The request went out on a pooled connection (a stale one is retried once on a new one). */
  reused = false;
  /** Do not take a pooled connection (after a stale one failed). */
  noReuse = false;
  /** keepAlive: the pool this request's socket comes from and goes back to (set by openSocket). */
  poolKey = '';
  /** The HTTP/2 stream carrying the request, when it goes over HTTP/2. */
  h2: H2ClientStream | null = null;
  /** This attempt goes HTTP/1.1 (a WebSocket whose HTTP/2 server has no RFC 8441). */
  noH2 = false;
  /** Sent once more already after its HTTP/2 connection refused it or went away. */
  h2Retried = false;
  /** Told when the attempt fails (requests waiting on the connection this one opens fail with it). */
  onFail: ((why: string) => void) | null = null;
  /** Keeps the socket's error for the report; removed when the socket is handed on. */
  readonly noteError = (e: NodeJS.ErrnoException): void => {
    this.lastError ??= e;
  };
  readonly httpExchange = null;
  #reported = false;
  #paused = false;
  #completing = false;

  constructor(
    /** `'WS'`, `'RAW'` or the HTTP method (a 303 makes it `GET`). */
    public kind: string,
    info: ClientConnectInfo,
    readonly timeoutSecs: number,
    /** HTTP: seconds the response body may stall. */
    readonly bodyTimeoutSecs: number,
    /** WebSocket: our key and the subprotocols offered. */
    readonly wsKey: string,
    readonly offered: string | undefined,
  ) {
    this.info = { ...info };
  }

  /** The response head, readable through the wsi's header calls. */
  get httpHead(): HttpHead | null {
    return this.response;
  }

  get address(): string {
    return this.info.address;
  }

  get port(): number {
    return this.info.port;
  }

  /** True once the attempt succeeded or failed: no more CONNECTION_ERROR. */
  get settled(): boolean {
    return this.#reported;
  }

  /** The attempt succeeded: from now on the role's own close callbacks apply. */
  settle(): void {
    this.#reported = true;
    this.phase = 'established';
  }

  /**
   * The attempt failed: CLIENT_CONNECTION_ERROR with `why`, then the wsi is
   * closed with no other callback (WSI_DESTROY on protocols[0] excepted).
   */
  fail(wsi: Wsi, why: string): void {
    if (this.#reported) return;
    this.#reported = true;
    log.info('client wsi %d to %s:%d: %s', wsi.id, this.address, this.port, why);
    const told = this.onFail;
    this.onFail = null;
    told?.(why);
    wsi.callProtocolRaw(Reason.CLIENT_CONNECTION_ERROR, why);
    if (!wsi.closed) wsi.close(false);
  }

  /** Words for a socket error, by how far the attempt got. */
  describeError(e: NodeJS.ErrnoException | null): string {
    const where = `${this.address}:${this.port}`;
    // OpenSSL errors carry a short `reason` ("wrong version number") beside a long message.
    if (this.phase === 'tls') return `TLS handshake with ${where} failed: ${e ? (e as { reason?: string }).reason ?? e.message : 'connection closed'}`;
    if (this.phase === 'handshake') return `HS: connection closed before the server answered${e ? ' (' + e.message + ')' : ''}`;
    if (!e) return `connect to ${where} failed: connection closed`;
    if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EAI_FAIL' || e.code === 'EAI_NONAME')
      return `DNS lookup of "${this.address}" failed (${e.code})`;
    if (e.code === 'ECONNREFUSED') return `connect to ${where} refused (ECONNREFUSED)`;
    return `connect to ${where} failed: ${e.message}`;
  }

  // ---- HTTP request body ----

  /** Deliver CLIENT_HTTP_WRITEABLE while the request body is not all sent. */
  uploadWritable(wsi: Wsi): void {
    if (this.uploadLeft < 0) {
      wsi.wantWritable = false; // nothing left to send: the request is dropped
      return;
    }
    wsi.deliverWriteable(Reason.CLIENT_HTTP_WRITEABLE);
  }

  /** `wsi.getPeerWriteAllowance()`: on HTTP/2 the stream's credit (its window and the connection's), else -1 (only the socket limits). */
  uploadCredit(): number {
    const s = this.h2;
    return s ? Math.max(0, Math.min(s.sendWindow, s.conn.sendWindow)) : -1;
  }

  /** `wsi.write()` of request body bytes: `Write.HTTP`, or `Write.HTTP_FINAL` for the last. */
  uploadWrite(wsi: Wsi, buf: Uint8Array, flags: number): number {
    const s = wsi.transport;
    if (!s || this.uploadLeft < 0) return -1;
    const kind = flags & WRITE_KIND_MASK;
    if (kind !== Write.HTTP && kind !== Write.HTTP_FINAL)
      throw stateError(ErrorCode.WRITE_MISUSE, `wsi.write: an HTTP client sends its body with Write.HTTP or Write.HTTP_FINAL, not kind ${kind}`);
    if (buf.length > this.uploadLeft)
      throw rangeError(ErrorCode.WRITE_MISUSE, `wsi.write: ${buf.length} bytes is more than the ${this.uploadLeft} left of bodyLength`);
    s.write(buf);
    this.uploadLeft -= buf.length;
    // Still sending: the server may fairly wait for the rest before answering more.
    if (this.body) this.armBodyTimeout(wsi);
    if (this.uploadLeft === 0 || kind === Write.HTTP_FINAL) {
      this.uploadLeft = -1;
      // The request ends here on HTTP/2 (END_STREAM); on HTTP/1.1 its length said so.
      if (this.h2) this.h2.conn.endRequest(this.h2);
    }
    return buf.length;
  }

  // ---- HTTP response body ----

  /** Body bytes arrived: hold them, stop reading past the bound, signal the user. */
  bodyRx(wsi: Wsi, buf: Buffer): void {
    const b = this.body;
    if (!b) return;
    const before = b.heldBytes;
    try {
      b.feed(buf);
    } catch (e) {
      log.info('client wsi %d: bad response body: %s', wsi.id, (e as Error).message);
      wsi.close(false);
      return;
    }
    if (b.heldBytes > HTTP_CLIENT_HOLD_BYTES && !this.#paused) {
      this.#paused = true;
      wsi.transport?.pause();
    }
    this.armBodyTimeout(wsi);
    if (b.heldBytes > before && wsi.callProtocol(Reason.RECEIVE_CLIENT_HTTP)) return;
    this.maybeComplete(wsi);
  }

  /**
   * `wsi.httpClientRead()`: the held body bytes, handed over directly (lws
   * copies them into the caller's buffer and signals RECEIVE_CLIENT_HTTP_READ;
   * returning them is the Node way and needs no second callback).
   */
  read(): Buffer {
    return this.body ? this.body.take() : Buffer.alloc(0);
  }

  /** After a read: resume the socket, and finish once the body has ended and is all taken. */
  afterRead(wsi: Wsi): void {
    if (this.#paused && this.body && this.body.heldBytes <= HTTP_CLIENT_HOLD_BYTES / 2) {
      this.#paused = false;
      if (wsi.rxFlowOn) wsi.transport?.resume();
      this.armBodyTimeout(wsi);
    }
    this.maybeComplete(wsi);
  }

  /**
   * (Re)start the wait for more of the response body, lws's HTTP_CONTENT
   * timeout. Off once the body has ended, and while the user has not read
   * what is held: a stall of ours is not the server's.
   */
  armBodyTimeout(wsi: Wsi): void {
    const b = this.body;
    if (!b || wsi.closed) return;
    if (b.ended || this.#paused) wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
    else wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.bodyTimeoutSecs);
  }

  /**
   * A keepAlive exchange that ended cleanly hands its socket to the vhost's
   * pool instead of closing it (the wsi still closes, as usual).
   */
  #keepForReuse(wsi: Wsi): void {
    const s = wsi.socket;
    const r = this.response;
    if (!this.info.keepAlive || !s || !r || !this.body?.reusable || this.uploadLeft >= 0 || wsi.peerEnded || s.destroyed) return;
    if (r.version !== 'HTTP/1.1' || hasToken(r.header('connection'), 'close') || !this.poolKey) return;
    unwireSocket(s);
    s.off('error', this.noteError);
    if (!wsi.vhost.clientPool.park(this.poolKey, s)) {
      // No room: back as it was, for the usual close.
      s.on('error', this.noteError);
      wireSocket(wsi, s);
      return;
    }
    wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
    wsi.setTransport(null);
  }

  maybeComplete(wsi: Wsi): void {
    const b = this.body;
    if (!b || !b.ended || b.heldBytes > 0 || this.#completing || wsi.closed) return;
    this.#completing = true;
    // On a later turn: the user may be inside a callback of this very wsi.
    setImmediate(() => {
      if (wsi.closed) return;
      if (wsi.callProtocol(Reason.COMPLETED_CLIENT_HTTP)) return;
      if (!wsi.closed) this.#keepForReuse(wsi);
      wsi.close();
    });
  }
}
