import type { Socket } from 'node:net';
import type { Wsi } from '../../core/wsi.js';
import type { HttpLimits } from '../../core/limits.js';
import { Write, WRITE_KIND_MASK } from '../../core/write.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { ErrorCode, typeError } from '../../core/errors.js';
import type { HttpExchange, ResponsePump, BodySink, ResponseMemo } from '../../http/exchange.js';
import type { HttpRequest } from '../../http/request.js';
import { ResponseHeaders, checkRedirect } from '../../http/response.js';
import { statusHasNoBody, statusPage } from '../../http/status.js';
import { httpDate } from '../../http/date.js';
import { HttpTxn } from '../../http/txn.js';
import type { H2Stream } from './stream.js';
import { H2Error } from './frames.js';
import { acceptH2WebSocket } from './websocket.js';

/** Header fields an HTTP/2 response never carries (RFC 9113 8.2.2), whoever wrote them. */
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

type Field = [string, string];

/** `name: value\r\n` lines (lower-case names) as fields, without the connection-specific ones. */
function linesToFields(lines: string, out: Field[]): void {
  let at = 0;
  while (at < lines.length) {
    const end = lines.indexOf('\r\n', at);
    const line = lines.slice(at, end < 0 ? lines.length : end);
    at = end < 0 ? lines.length : end + 2;
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = line.slice(0, c).toLowerCase();
    if (DROPPED.has(name)) continue;
    out.push([name, line.slice(c + 1).trim()]);
  }
}

const extraFields = new WeakMap<object, { tls: Field[]; clear: Field[] }>();

/** A memoised response's head as fields, all but the date, for as long as its lines, vhost, transport and length are the same. */
interface MemoFields {
  lines: string;
  vhost: object;
  tls: boolean;
  length: number;
  status: number;
  fields: Field[];
}
const memoFields = new WeakMap<ResponseMemo, MemoFields>();

/**
 * The response side of one HTTP/2 stream, as the wire-independent
 * `HttpExchange`: the head goes out as a HEADERS frame (HPACK-encoded by
 * the connection, in order), the body as DATA as the windows allow, the
 * end as END_STREAM. No chunking: HTTP/2 frames the body itself.
 */
export class H2Exchange implements HttpExchange {
  #headers: ResponseHeaders | null = null;
  bodyToProtocol = false;
  bodySink: BodySink | null = null;
  producer: ResponsePump | null = null;
  boundToMount = false;
  status = 0;
  headersSent = false;
  done = false;
  /** An extended CONNECT with `:protocol websocket` (RFC 8441). */
  readonly wantsWebSocket: boolean;
  /** The request's start and finish, for the access log and the diagnostics channels. */
  readonly txn = new HttpTxn();
  /** Body bytes sent, for the access log. */
  #sent = 0;
  #left = -1;
  #noBody = false;
  #finalized: Uint8Array | null = null;
  #finalizedFields: Field[] | null = null;

  constructor(readonly stream: H2Stream, readonly wsi: Wsi, readonly req: HttpRequest, readonly rawPath: string, connectProtocol?: string) {
    this.wantsWebSocket = connectProtocol === 'websocket' && req.method === 'CONNECT';
    // Made as the stream's head is read: every way it ends goes through complete() or closing().
    this.txn.start(wsi, req.method, rawPath, 20);
  }

  /** The head the user's header calls build; made on first use (files and status pages never need one). */
  get headers(): ResponseHeaders {
    return (this.#headers ??= new ResponseHeaders());
  }

  get active(): boolean {
    return !this.done;
  }

  get isHead(): boolean {
    return this.req.method === 'HEAD';
  }

  get hasRequestBody(): boolean {
    return !this.stream.remoteClosed;
  }

  get limits(): Readonly<HttpLimits> {
    return this.wsi.vhost.limits;
  }

  get localPort(): number {
    return this.stream.conn.wsi.socket?.localPort ?? 0;
  }

  /** The vhost's own header lines as fields (STS only over TLS), made once per vhost. */
  #extraFields(): Field[] {
    const vh = this.wsi.vhost;
    let e = extraFields.get(vh);
    if (!e) {
      const tls: Field[] = [];
      const clear: Field[] = [];
      linesToFields(vh.extraHeaderLines, tls);
      linesToFields(vh.extraHeaderLinesClear, clear);
      extraFields.set(vh, (e = { tls, clear }));
    }
    return this.wsi.isSsl() ? e.tls : e.clear;
  }

  /** The head as fields: :status, the vhost's lines, `lines`, content-length, date. */
  #fields(code: number, lines: string, contentLength: number): Field[] {
    const f: Field[] = [[':status', String(code)]];
    for (const x of this.#extraFields()) f.push(x);
    linesToFields(lines, f);
    if (contentLength >= 0 && !(code < 200 || code === 204 || code === 304)) f.push(['content-length', String(contentLength)]);
    f.push(['date', httpDate()]);
    return f;
  }

  /** The head of a memoised response: its fields made once (they change with the file), the date added each time. */
  #memoFields(memo: ResponseMemo, status: number, lines: string, len: number): Field[] {
    const vhost = this.wsi.vhost;
    const tls = this.wsi.isSsl();
    let m = memoFields.get(memo);
    if (!m || m.lines !== lines || m.vhost !== vhost || m.tls !== tls || m.length !== len || m.status !== status) {
      const fields = this.#fields(status, lines, len);
      fields.pop(); // the date: added fresh below
      m = { lines, vhost, tls, length: len, status, fields };
      memoFields.set(memo, m);
    }
    const f = m.fields.slice();
    f.push(['date', httpDate()]);
    return f;
  }

  #sendHead(code: number, fields: Field[], contentLength: number): void {
    this.status = code;
    this.#noBody = statusHasNoBody(code) || this.isHead;
    this.#left = contentLength;
    this.headersSent = true;
    this.stream.conn.sendHeaders(this.stream, fields, this.#noBody);
  }

  respond(status: number, lines: string, contentLength: number): void {
    if (this.stream.destroyed) return;
    this.#sendHead(status, this.#fields(status, lines, contentLength), contentLength);
    this.armTimeout();
  }

  respondWhole(status: number, lines: string, body?: Uint8Array, memo?: ResponseMemo): void {
    if (this.stream.destroyed) return;
    const len = statusHasNoBody(status) ? -1 : body ? body.length : 0;
    this.#sendHead(status, memo ? this.#memoFields(memo, status, lines, len) : this.#fields(status, lines, len), len);
    if (body && body.length && !this.#noBody) this.#data(body);
  }

  #data(buf: Uint8Array): void {
    this.#sent += buf.length;
    this.stream.write(buf);
  }

  finalizeHeaders(): Uint8Array {
    const r = this.headers;
    if (r.code === 0) throw typeError(ErrorCode.RESPONSE_ORDER, 'finalizeHttpHeader: no status added (addHttpHeaderStatus)');
    // The head is HPACK-encoded when it is written, in order with every
    // other head of the connection: what is handed back is a token for it.
    // r.lines already carry the content-length the user added.
    const fields = this.#fields(r.code, r.lines, -1);
    const token = Buffer.from(`HTTP/2 ${r.code}\r\n`, 'latin1');
    this.#finalized = token;
    this.#finalizedFields = fields;
    return token;
  }

  write(buf: Uint8Array, flags: number): number {
    const wsi = this.wsi;
    if (wsi.closed || this.stream.destroyed) return -1;
    const kind = flags & WRITE_KIND_MASK;
    if (this.done) {
      log.err('wsi %d: HTTP write with no transaction open', wsi.id);
      return -1;
    }
    if (kind === Write.HTTP_HEADERS || kind === Write.HTTP_HEADERS_CONTINUATION) {
      if (this.headersSent) {
        log.err('wsi %d: response headers written twice', wsi.id);
        return -1;
      }
      let fields: Field[];
      let cl: number;
      if (buf === this.#finalized && this.#finalizedFields) {
        fields = this.#finalizedFields;
        cl = this.headers.contentLength;
      } else {
        // A head written by hand as HTTP/1 text: its status line and fields.
        const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
        const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
        const code = m ? Number(m[1]) : 200;
        const lines = text.slice(text.indexOf('\r\n') + 2).replace(/\r\n\r\n[\s\S]*$/, '\r\n');
        const clm = /(?:^|\r\n)content-length:\s*(\d+)\s*\r\n/i.exec(lines);
        cl = clm ? Number(clm[1]) : -1;
        fields = this.#fields(code, lines.replace(/(^|\r\n)content-length:[^\r\n]*\r\n/gi, '$1'), cl);
      }
      this.#sendHead(Number(fields[0][1]), fields, cl);
      this.armTimeout();
      return buf.length;
    }
    if (kind !== Write.HTTP && kind !== Write.HTTP_FINAL) {
      log.err('wsi %d: write kind %d is not valid on an HTTP connection', wsi.id, kind);
      return -1;
    }
    const final = kind === Write.HTTP_FINAL || (flags & Write.H2_STREAM_END) !== 0;
    if (this.#body(buf) < 0) return -1;
    if (final || this.#left === 0) {
      if (this.#left > 0 && !this.#noBody) {
        log.err('wsi %d: final write %d bytes short of its content-length', wsi.id, this.#left);
        this.stream.conn.resetStream(this.stream, H2Error.INTERNAL_ERROR);
        return -1;
      }
      this.complete();
    }
    return buf.length;
  }

  writeBody(buf: Uint8Array): number {
    if (this.wsi.closed || this.stream.destroyed || this.done) return -1;
    return this.#body(buf);
  }

  #body(buf: Uint8Array): number {
    const wsi = this.wsi;
    if (!this.headersSent) {
      log.err('wsi %d: HTTP body written before its headers', wsi.id);
      return -1;
    }
    if (this.#left >= 0 && buf.length > this.#left) {
      log.err('wsi %d: body longer than its content-length (%d more bytes allowed)', wsi.id, this.#left);
      this.stream.conn.resetStream(this.stream, H2Error.INTERNAL_ERROR);
      return -1;
    }
    if (!this.#noBody && buf.length) this.#data(buf);
    if (this.#left >= 0) this.#left -= buf.length;
    this.armTimeout();
    return buf.length;
  }

  armTimeout(): void {
    if (!this.done && !this.wsi.closed) this.wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.limits.timeoutSecs);
  }

  returnStatus(code: number, html?: string): number {
    if (this.headersSent || this.done) {
      log.err('wsi %d: returnHttpStatus(%d) after the response started', this.wsi.id, code);
      this.stream.conn.resetStream(this.stream, H2Error.INTERNAL_ERROR);
      return -1;
    }
    this.respondWhole(code, 'content-type: text/html\r\n', Buffer.from(statusPage(code, html)));
    return this.complete();
  }

  redirect(code: number, location: string): number {
    checkRedirect(code, location);
    if (this.headersSent || this.done) {
      this.stream.conn.resetStream(this.stream, H2Error.INTERNAL_ERROR);
      return -1;
    }
    this.respondWhole(code, `location: ${location}\r\ncontent-type: text/html\r\n`);
    return this.complete();
  }

  abandon(status: number): void {
    if (this.wsi.closed) return;
    if (this.headersSent) {
      this.stream.conn.resetStream(this.stream, H2Error.INTERNAL_ERROR);
      return;
    }
    this.#headers?.reset();
    this.returnStatus(status);
  }

  /** Refuse the request with `status`; on HTTP/2 only the stream ends, not the connection. */
  fail(status: number, why: string, extraHeaders = ''): void {
    const wsi = this.wsi;
    if (wsi.closed) return;
    log.info('wsi %d (%s): %d %s', wsi.id, wsi.peerAddress, status, why);
    if (this.headersSent || this.done) {
      this.stream.conn.resetStream(this.stream, H2Error.PROTOCOL_ERROR);
      return;
    }
    this.#headers?.reset();
    this.respondWhole(status, `${extraHeaders}content-type: text/html\r\n`, Buffer.from(statusPage(status)));
    this.complete();
  }

  complete(): number {
    if (this.done) return 0;
    this.done = true;
    this.txn.bytesIn = this.stream.bodyReceived;
    this.txn.finish(this.wsi, this.req, this.status || 200, this.#sent);
    if (this.producer) {
      this.producer.close();
      this.producer = null;
    }
    this.bodySink = null;
    this.bodyToProtocol = false;
    this.stream.conn.responseDone(this.stream);
    return 0;
  }

  acceptWebSocket(): void {
    acceptH2WebSocket(this);
  }

  /**
   * The stream became a WebSocket after its 200: the request is over (as
   * an HTTP/1.1 upgrade's is with its 101), the stream stays open.
   */
  upgraded(): void {
    this.done = true;
    this.headersSent = true;
    this.txn.finish(this.wsi, null, this.status, undefined);
  }

  tunnel(_head101: string, _upstream: Socket, _upstreamHead: Buffer): boolean {
    return false;
  }

  /** The stream's wsi is closing: stop what the library was producing. */
  closing(): void {
    if (this.txn.open) {
      // Closed before the response completed (reset, the connection gone): cut off.
      this.txn.bytesIn = this.stream.bodyReceived;
      this.txn.finish(this.wsi, null, this.headersSent ? this.status : 0, this.#sent, true);
    }
    if (this.producer) {
      this.producer.close();
      this.producer = null;
    }
    this.bodySink = null;
  }
}
