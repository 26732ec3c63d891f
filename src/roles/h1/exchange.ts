import type { Socket } from 'node:net';
import type { Wsi } from '../../core/wsi.js';
import type { HttpLimits } from '../../core/limits.js';
import { Write, WRITE_KIND_MASK } from '../../core/write.js';
import { log } from '../../core/log.js';
import { ErrorCode, typeError } from '../../core/errors.js';
import type { HttpExchange, ResponsePump, BodySink, ResponseMemo } from '../../http/exchange.js';
import type { HttpRequest } from '../../http/request.js';
import { ResponseHeaders, checkRedirect } from '../../http/response.js';
import { reasonPhrase, statusHasNoBody, statusPage } from '../../http/status.js';
import { httpDate } from '../../http/date.js';
import { HttpTxn } from '../../http/txn.js';
import { scanHeaderBlock } from './header-block.js';
import type { H1Conn } from './conn.js';

/**
 * The response side of an HTTP/1.x connection's current request, as the
 * wire-independent `HttpExchange`: status line and headers as text,
 * content-length or chunked framing, `connection:` as keep-alive allows.
 * One per connection, reset for each request.
 */
export class H1Exchange implements HttpExchange {
  #req: HttpRequest | null = null;
  rawPath = '/';
  isHead = false;
  wantsWebSocket = false;
  readonly headers = new ResponseHeaders();
  bodyToProtocol = false;
  bodySink: BodySink | null = null;
  producer: ResponsePump | null = null;
  boundToMount = false;
  /** The request's start and finish, for the access log and the diagnostics channels. */
  readonly txn = new HttpTxn();
  /** Status of the response under way, for the access log (0: none yet). */
  status = 0;
  headersSent = false;
  done = false;
  #chunked = false;
  #left = -1;
  #noBody = false;
  #lastFinalized: Uint8Array | null = null;

  constructor(readonly conn: H1Conn) {}

  get wsi(): Wsi {
    return this.conn.wsi;
  }

  get limits(): Readonly<HttpLimits> {
    return this.conn.wsi.vhost.limits;
  }

  get hasRequestBody(): boolean {
    return this.conn.hasRequestBody;
  }

  get localPort(): number {
    return this.conn.wsi.socket?.localPort ?? 0;
  }

  /** The request being answered (only asked for while there is one). */
  get req(): HttpRequest {
    return this.#req as HttpRequest;
  }

  get active(): boolean {
    return this.conn.inTxn && this.#req !== null;
  }

  /** The request being answered, null between requests and while one is being checked. */
  get currentReq(): HttpRequest | null {
    return this.#req;
  }

  /** Between requests, and while the next one's head is checked: nothing to answer to yet. */
  clear(): void {
    this.#req = null;
    this.isHead = false;
    this.wantsWebSocket = false;
    this.#resetResponse();
  }

  /** The request `req` is to be answered. */
  start(req: HttpRequest, rawPath: string, isHead: boolean, wantsWebSocket: boolean): void {
    this.#req = req;
    this.rawPath = rawPath;
    this.isHead = isHead;
    this.wantsWebSocket = wantsWebSocket;
    this.#resetResponse();
  }

  #resetResponse(): void {
    this.headers.reset();
    this.bodyToProtocol = false;
    this.bodySink = null;
    this.status = 0;
    this.headersSent = false;
    this.done = false;
    this.#chunked = false;
    this.#left = -1;
    this.#noBody = false;
    this.#lastFinalized = null;
  }

  /** The vhost's own header lines; Strict-Transport-Security only over TLS (RFC 6797 7.2). */
  #extraLines(): string {
    const w = this.conn.wsi;
    const vh = w.vhost;
    return w.isSsl() ? vh.extraHeaderLines : vh.extraHeaderLinesClear;
  }

  #statusLine(code: number): string {
    return `HTTP/1.${this.#req?.version === 10 ? 0 : 1} ${code} ${reasonPhrase(code)}\r\n`;
  }

  /** Render the user's header block with the library's own lines. */
  finalizeHeaders(): Uint8Array {
    const r = this.headers;
    if (r.code === 0) throw typeError(ErrorCode.RESPONSE_ORDER, 'finalizeHttpHeader: no status added (addHttpHeaderStatus)');
    const v10 = this.#req?.version === 10;
    let extra = '';
    const noBody = statusHasNoBody(r.code) || this.isHead;
    if (r.connectionClose) this.conn.keepAlive = false;
    if (r.contentLength < 0 && !r.chunked && !statusHasNoBody(r.code)) {
      if (v10) this.conn.keepAlive = false;
      else if (!this.isHead) extra += 'transfer-encoding: chunked\r\n';
    }
    extra += this.conn.connectionLine(v10);
    const block = Buffer.from(this.#statusLine(r.code) + this.#extraLines() + r.lines + extra + `date: ${httpDate()}\r\n\r\n`, 'latin1');
    this.#lastFinalized = block;
    this.status = r.code;
    this.#chunked = !noBody && (r.chunked || (r.contentLength < 0 && !v10));
    this.#left = r.contentLength;
    this.#noBody = noBody;
    return block;
  }

  /** A library-built head for a whole response; sets framing. */
  #headBlock(code: number, lines: string, contentLength: number): string {
    this.status = code;
    this.#noBody = statusHasNoBody(code) || this.isHead;
    this.#left = contentLength;
    this.#chunked = false;
    this.headersSent = true;
    return this.#statusLine(code) + this.#extraLines() + lines +
      `${contentLength >= 0 ? `content-length: ${contentLength}\r\n` : ''}${this.conn.connectionLine(this.#req?.version === 10)}date: ${httpDate()}\r\n\r\n`;
  }

  respond(status: number, lines: string, contentLength: number): void {
    const s = this.conn.wsi.socket;
    if (!s || this.conn.wsi.closed) return;
    s.write(this.#headBlock(status, lines, contentLength), 'latin1');
    this.armTimeout();
  }

  respondWhole(status: number, lines: string, body?: Uint8Array, memo?: ResponseMemo): void {
    const s = this.conn.wsi.socket;
    if (!s || this.conn.wsi.closed) return;
    // A 304 carries no content-length (RFC 9110 15.4.5), nor do the statuses without a body.
    const len = statusHasNoBody(status) ? -1 : body ? body.length : 0;
    if (memo && body) {
      // The bytes built for the previous request are sent again when nothing
      // in them has changed (same body and status, same `date:` second, connection line, vhost lines, version).
      const v10 = this.#req?.version === 10;
      const connLine = this.conn.connectionLine(v10);
      const date = httpDate();
      // The vhost's lines differ between its TLS and clear-text connections (HSTS).
      const extra = this.#extraLines();
      if (memo.resp && memo.body === body && memo.status === status && memo.date === date && memo.connLine === connLine &&
        memo.extra === extra && memo.v10 === v10 && !this.isHead) {
        this.#noBody = false;
        this.#left = body.length;
        this.#chunked = false;
        this.headersSent = true;
        this.status = status;
        s.write(memo.resp);
        return;
      }
      const head = this.#headBlock(status, lines, len);
      const out = Buffer.allocUnsafe(head.length + body.length);
      out.write(head, 0, 'latin1');
      out.set(body, head.length);
      if (!this.#noBody) {
        memo.status = status;
        memo.date = date;
        memo.connLine = connLine;
        memo.extra = extra;
        memo.v10 = v10;
        memo.resp = out;
        memo.body = body as Buffer;
        s.write(out);
      } else s.write(head, 'latin1');
      return;
    }
    this.#sendWhole(s, this.#headBlock(status, lines, len), body);
  }

  #sendWhole(s: Socket, head: string, body?: Uint8Array): void {
    if (body && body.length && !this.#noBody) {
      if (body.length <= 16384) {
        // One buffer, one write(2): cheaper than writev for small answers.
        const out = Buffer.allocUnsafe(head.length + body.length);
        out.write(head, 0, 'latin1');
        out.set(body, head.length);
        s.write(out);
      } else {
        s.cork();
        s.write(head, 'latin1');
        s.write(body);
        s.uncork();
      }
    } else {
      s.write(head, 'latin1');
    }
  }

  write(buf: Uint8Array, flags: number): number {
    const conn = this.conn;
    const wsi = conn.wsi;
    const s = wsi.socket;
    if (!s || wsi.closed) return -1;
    const kind = flags & WRITE_KIND_MASK;
    if (!conn.inTxn || this.done) {
      log.err('wsi %d: HTTP write with no transaction open', wsi.id);
      return -1;
    }
    if (kind === Write.HTTP_HEADERS || kind === Write.HTTP_HEADERS_CONTINUATION) {
      if (this.headersSent && kind === Write.HTTP_HEADERS) {
        log.err('wsi %d: response headers written twice', wsi.id);
        return -1;
      }
      if (buf !== this.#lastFinalized && kind === Write.HTTP_HEADERS) {
        const f = scanHeaderBlock(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1'));
        this.status = f.code;
        this.#noBody = statusHasNoBody(f.code) || this.isHead;
        this.#chunked = f.chunked && !this.#noBody;
        this.#left = f.contentLength;
        if (f.close || (f.contentLength < 0 && !f.chunked && !this.#noBody)) conn.keepAlive = false;
      }
      this.headersSent = true;
      s.write(buf);
      this.armTimeout();
      return buf.length;
    }
    if (kind !== Write.HTTP && kind !== Write.HTTP_FINAL) {
      log.err('wsi %d: write kind %d is not valid on an HTTP connection', wsi.id, kind);
      return -1;
    }
    const final = kind === Write.HTTP_FINAL || (flags & Write.H2_STREAM_END) !== 0;
    if (this.#body(s, buf, final) < 0) return -1;
    if (final || this.#left === 0) {
      if (this.#left > 0 && !this.#noBody) {
        log.err('wsi %d: final write %d bytes short of its content-length', wsi.id, this.#left);
        wsi.close();
        return -1;
      }
      this.complete();
    }
    return buf.length;
  }

  writeBody(buf: Uint8Array): number {
    const wsi = this.conn.wsi;
    const s = wsi.socket;
    if (!s || wsi.closed || this.done) return -1;
    return this.#body(s, buf, false);
  }

  /** Frame body bytes: counted and dropped for HEAD/204/304, chunked or as they are. */
  #body(s: Socket, buf: Uint8Array, final: boolean): number {
    const wsi = this.conn.wsi;
    if (!this.headersSent) {
      log.err('wsi %d: HTTP body written before its headers', wsi.id);
      return -1;
    }
    if (this.#left >= 0 && buf.length > this.#left) {
      log.err('wsi %d: body longer than its content-length (%d more bytes allowed)', wsi.id, this.#left);
      wsi.close();
      return -1;
    }
    if (this.#noBody) {
      // HEAD, 204, 304: the body is counted but not sent.
    } else if (this.#chunked) {
      if (buf.length) {
        s.cork();
        s.write(buf.length.toString(16) + '\r\n');
        s.write(buf);
        s.write(final ? '\r\n0\r\n\r\n' : '\r\n');
        s.uncork();
      } else if (final) {
        s.write('0\r\n\r\n');
      }
    } else if (buf.length) {
      s.write(buf);
    }
    if (this.#left >= 0) this.#left -= buf.length;
    this.armTimeout();
    return buf.length;
  }

  armTimeout(): void {
    this.conn.armTxnTimeout();
  }

  returnStatus(code: number, html?: string): number {
    if (this.headersSent || !this.conn.inTxn) {
      log.err('wsi %d: returnHttpStatus(%d) after the response started', this.conn.wsi.id, code);
      this.conn.wsi.close();
      return -1;
    }
    this.respondWhole(code, 'content-type: text/html\r\n', Buffer.from(statusPage(code, html)));
    return this.complete();
  }

  redirect(code: number, location: string): number {
    checkRedirect(code, location);
    if (this.headersSent || !this.conn.inTxn) {
      this.conn.wsi.close();
      return -1;
    }
    this.respondWhole(code, `location: ${location}\r\ncontent-type: text/html\r\n`);
    return this.complete();
  }

  abandon(status: number): void {
    const wsi = this.conn.wsi;
    if (wsi.closed) return;
    if (this.headersSent) {
      wsi.close(false);
      return;
    }
    // Headers the failed producer had added must not leak into anything later.
    this.headers.reset();
    this.returnStatus(status);
    wsi.close();
  }

  /** Refuse with `status` and close: between requests too (a malformed head). */
  fail(status: number, why: string, extraHeaders = ''): void {
    const conn = this.conn;
    const wsi = conn.wsi;
    if (wsi.closed) return;
    log.info('wsi %d (%s): %d %s', wsi.id, wsi.peerAddress, status, why);
    // Between requests headersSent still describes the previous response.
    const s = wsi.socket;
    if ((!conn.inTxn || !this.headersSent) && s) {
      conn.keepAlive = false;
      const body = Buffer.from(statusPage(status));
      s.write(this.#statusLine(status) + this.#extraLines() +
        `${extraHeaders}content-type: text/html\r\ncontent-length: ${body.length}\r\nconnection: close\r\ndate: ${httpDate()}\r\n\r\n`, 'latin1');
      s.write(body);
      if (conn.inTxn) this.txn.finish(wsi, this.#req, status, undefined);
    }
    conn.dropBuffered();
    wsi.close();
  }

  /**
   * The response is complete. Go back to reading requests, or close.
   * Returns non-zero when the connection closes.
   */
  complete(): number {
    const conn = this.conn;
    const wsi = conn.wsi;
    if (wsi.closed) return -1;
    if (!conn.inTxn || this.done) return 0;
    this.done = true;
    this.txn.finish(wsi, this.req, this.status || 200, undefined);
    this.status = 0;
    if (this.producer) {
      this.producer.close();
      this.producer = null;
    }
    return conn.responseDone();
  }

  acceptWebSocket(): void {
    this.conn.upgradeWs();
  }

  tunnel(head101: string, upstream: Socket, upstreamHead: Buffer): boolean {
    return this.conn.tunnel(head101, upstream, upstreamHead);
  }

  /** The connection is closing (or leaving HTTP): stop what the library was producing. */
  closing(): void {
    // Still open here only when the response did not complete: cut off.
    if (this.txn.open) this.txn.finish(this.conn.wsi, null, this.headersSent ? this.status : 0, undefined, true);
    if (this.producer) {
      this.producer.close();
      this.producer = null;
    }
    this.bodySink = null;
  }
}
