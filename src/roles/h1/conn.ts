import type { Wsi } from '../../core/wsi.js';
import type { Listener } from '../listen/listen.js';
import { Reason } from '../../core/reasons.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { Write, WRITE_KIND_MASK } from '../../core/write.js';
import { log } from '../../core/log.js';
import { HeadScanner, parseHead, type RequestHead } from './head-parser.js';
import { ChunkedDecoder } from '../../http/chunked.js';
import { HttpError } from '../../http/errors.js';
import { HttpRequest } from '../../http/request.js';
import { ResponseHeaders, scanHeaderBlock } from '../../http/response.js';
import { reasonPhrase, statusHasNoBody, statusPage } from '../../http/status.js';
import { httpDate } from '../../http/date.js';
import { normalisePath } from '../../http/uri.js';
import { matchMount, mountTakesMethod, bareOrigin, Mount, type ResolvedMount } from '../../http/mount.js';
import { basicAuthOk, BASIC_AUTH_CHALLENGE } from '../../http/basic-auth.js';
import { serveMount, serveFile, type FileMemo } from '../../responders/file/serve.js';
import { bindProtocol } from '../../http/bind.js';
import { startCgi } from '../../responders/cgi/cgi.js';
import { startProxy } from '../../responders/proxy/proxy.js';
import type { Protocol } from '../../core/protocols.js';
import { isWsUpgrade, checkUpgrade, completeUpgrade } from '../ws/handshake.js';
import { logHttpTransaction } from '../../http/access-log.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']);
/** Host = uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2); empty is allowed. */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::\d*)?$/;

/**
 * Something the library runs for a response on the writeable path (a file
 * being sent, a CGI program, a proxied answer): pumped when the socket can
 * take more, closed when the transaction or the connection ends.
 */
export interface ResponsePump {
  pump(): void;
  close(): void;
}

/** Where a request body goes when the library, not a protocol, consumes it. */
export interface BodySink {
  piece(buf: Buffer): void;
  complete(): void;
}

const enum Body {
  NONE,
  LENGTH,
  CHUNKED,
}

/**
 * HTTP/1.1 server side of one connection: reads requests strictly, in
 * order, one transaction at a time, and frames what the user writes.
 */
export class H1Conn {
  req: HttpRequest | null = null;
  readonly resp = new ResponseHeaders();
  /** @internal Status of the response under way, for the access log (0: the memoised 200). */
  logStatus = 0;
  /** @internal */ file: ResponsePump | null = null;
  /** @internal */ bodySink: BodySink | null = null;
  /** True while a CALLBACK mount has bound the connection to its protocol. */
  #bound = false;
  #buf: Buffer | null = null;
  #scanner = new HeadScanner();
  #inTxn = false;
  #processing = false;
  #keepAlive = true;
  #isHead = false;
  // request body
  #body: Body = Body.NONE;
  #bodyLeft = 0;
  #chunked: ChunkedDecoder | null = null;
  #bodyDone = true;
  #bodyToUser = false;
  #expectContinue = false;
  #continueSent = false;
  #discardBody = false;
  // response framing
  #headersSent = false;
  #respChunked = false;
  #respLeft = -1;
  #respNoBody = false;
  #respDone = false;
  #lastFinalized: Uint8Array | null = null;
  #sawBytes = false;
  #rawPath = '/';

  constructor(readonly wsi: Wsi, readonly listener: Listener) {}

  get limits() {
    return this.wsi.vhost.limits;
  }

  start(): void {
    this.wsi.setTimeout(PendingTimeout.AWAITING_HEADERS, this.limits.headerTimeoutSecs);
  }

  // ---- input ----

  rx(data: Buffer): void {
    if (this.wsi.closed) return;
    if (this.#buf && this.#buf.length) this.#buf = Buffer.concat([this.#buf, data]);
    else this.#buf = data;
    this.process();
  }

  /** Parse and dispatch what is buffered, until we must wait. */
  process(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      this.#loop();
    } catch (e) {
      if (e instanceof HttpError) this.fail(e.status, e.message, e.headers);
      else {
        // A bug here must cost this connection only, never the process.
        log.err('wsi %d: internal error handling a request: %s', this.wsi.id, e instanceof Error ? e.stack ?? e.message : String(e));
        this.fail(500, 'internal error');
      }
    } finally {
      this.#processing = false;
    }
  }

  #loop(): void {
    const wsi = this.wsi;
    while (!wsi.closed) {
      const buf = this.#buf;
      if (!this.#inTxn) {
        if (!buf || buf.length === 0) {
          if (wsi.peerEnded) wsi.close();
          return;
        }
        if (!this.#sawBytes) {
          this.#sawBytes = true;
          // From keep-alive idle to reading a head; a fresh connection's
          // clock started at accept and must not restart here.
          if (wsi.timeoutReason !== PendingTimeout.AWAITING_HEADERS)
            wsi.setTimeout(PendingTimeout.AWAITING_HEADERS, this.limits.headerTimeoutSecs);
        }
        const n = this.#scanner.scan(buf, this.limits);
        if (n === 0) {
          // Only the empty lines RFC 9112 2.2 lets us ignore: nothing to answer.
          if (wsi.peerEnded && !this.#scanner.started) wsi.close();
          else if (wsi.peerEnded) this.fail(400, 'connection ended inside the request head');
          return;
        }
        const head = parseHead(buf, this.#scanner.lineStarts, n);
        this.#scanner.reset();
        this.#buf = n === buf.length ? null : buf.subarray(n);
        this.#begin(head);
        continue;
      }
      if (!this.#bodyDone) {
        if (!buf || buf.length === 0) {
          if (wsi.peerEnded) this.fail(400, 'connection ended inside the request body');
          return;
        }
        this.#feedBody(buf);
        continue;
      }
      // A transaction is under way and its body is read: hold pipelined
      // requests, and stop reading when too much is waiting.
      if (buf && buf.length > this.limits.maxPipelineBytes) wsi.socket?.pause();
      return;
    }
  }

  #feedBody(buf: Buffer): void {
    const wsi = this.wsi;
    if (this.#body === Body.LENGTH) {
      const n = Math.min(this.#bodyLeft, buf.length);
      const piece = buf.subarray(0, n);
      this.#buf = n === buf.length ? null : buf.subarray(n);
      this.#bodyLeft -= n;
      if (this.#bodyLeft === 0) this.#bodyDone = true;
      this.#bodyPiece(piece);
    } else {
      const dec = this.#chunked as ChunkedDecoder;
      const end = dec.feed(buf, 0, (piece) => this.#bodyPiece(piece));
      if (wsi.closed) return;
      this.#buf = end === buf.length ? null : buf.subarray(end);
      if (dec.done) this.#bodyDone = true;
    }
    if (wsi.closed) return;
    if (!this.#bodyDone) {
      wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.limits.timeoutSecs);
      return;
    }
    this.#chunked = null;
    if (this.#discardBody) {
      this.#discardBody = false;
      this.#finishTxn();
      return;
    }
    // Not when the protocol already answered from the last HTTP_BODY: that
    // transaction is over, as it is when answered from an earlier piece.
    if (this.bodySink && this.#inTxn) {
      this.bodySink.complete();
      return;
    }
    if (this.#bodyToUser && this.#inTxn && !this.#respDone) {
      this.#armTxnTimeout();
      wsi.callProtocol(Reason.HTTP_BODY_COMPLETION);
    }
  }

  #bodyPiece(piece: Buffer): void {
    if (piece.length === 0 || this.#discardBody || this.wsi.closed) return;
    if (this.bodySink) this.bodySink.piece(piece);
    else if (this.#bodyToUser) this.wsi.callProtocol(Reason.HTTP_BODY, piece);
  }

  #armTxnTimeout(): void {
    if (this.#inTxn && !this.wsi.closed) this.wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.limits.timeoutSecs);
  }

  // ---- one request ----

  #begin(head: RequestHead): void {
    const wsi = this.wsi;
    this.#inTxn = true;
    this.#respReset();
    this.#keepAlive = head.version === 11;
    this.#isHead = head.method === 'HEAD';
    wsi.setTimeout(PendingTimeout.NO_PENDING, 0);

    // Request target forms (RFC 9112 3.2).
    let rawPath: string;
    let query = '';
    let authority: string | undefined;
    const t = head.target;
    if (t.charCodeAt(0) === 0x2f) {
      const q = t.indexOf('?');
      rawPath = q < 0 ? t : t.slice(0, q);
      if (q >= 0) query = t.slice(q + 1);
      if (head.method === 'CONNECT') throw new HttpError(400, 'CONNECT needs an authority-form target');
    } else if (t === '*') {
      if (head.method !== 'OPTIONS') throw new HttpError(400, 'asterisk-form is only for OPTIONS');
      rawPath = '*';
    } else if (/^https?:\/\//i.test(t)) {
      if (head.method === 'CONNECT') throw new HttpError(400, 'CONNECT needs an authority-form target');
      const m = /^https?:\/\/([^/?]+)([^?]*)(?:\?(.*))?$/i.exec(t);
      if (!m || m[1].includes('@')) throw new HttpError(400, 'malformed absolute-form target');
      authority = m[1];
      rawPath = m[2] || '/';
      query = m[3] ?? '';
    } else if (head.method === 'CONNECT' && /^[^/?@]+:\d+$/.test(t)) {
      rawPath = t;
      authority = t;
    } else {
      throw new HttpError(400, 'malformed request-target');
    }
    // The authority stands in for Host, so it must be a host as strictly.
    if (authority !== undefined && !HOST_SYNTAX.test(authority)) throw new HttpError(400, 'malformed authority in request-target');

    if (!KNOWN_METHODS.has(head.method)) throw new HttpError(501, `method ${head.method} not implemented`);

    // Host (RFC 9112 3.2): exactly one in HTTP/1.1, and well formed.
    let host: string | undefined;
    let hosts = 0;
    let cl: string | undefined;
    let te: string | undefined;
    let connection = '';
    let expect: string | undefined;
    for (const [n, v] of head.headers) {
      switch (n) {
        case 'host':
          hosts++;
          host = v;
          break;
        case 'content-length':
          if (cl !== undefined && cl !== v) cl = cl + ',' + v;
          else cl = v;
          break;
        case 'transfer-encoding':
          te = te === undefined ? v : te + ',' + v;
          break;
        case 'connection':
          connection += (connection ? ',' : '') + v.toLowerCase();
          break;
        case 'expect':
          expect = v;
          break;
      }
    }
    if (hosts > 1) throw new HttpError(400, 'more than one Host header');
    if (hosts === 0 && head.version === 11) throw new HttpError(400, 'HTTP/1.1 request without Host');
    if (host !== undefined && !HOST_SYNTAX.test(host)) throw new HttpError(400, 'malformed Host header');
    if (authority !== undefined) host = authority;

    // The Host header picks the vhost among those sharing this port, before
    // the body limits are applied: they are that vhost's.
    // On TLS the vhost was settled by SNI during the handshake.
    const tls = wsi.isSsl();
    const vh = tls ? wsi.vhost : this.listener.selectVhost(host);
    if (vh !== wsi.vhost) {
      this.#unbind();
      wsi.switchVhost(vh);
    }
    if (!tls && vh.tls?.redirectToHttps) {
      // Clear text on a TLS port: send the client to https on the same host (lws drops the path).
      throw new HttpError(301, 'clear text on a TLS port', `location: https://${host || vh.name}/\r\n`);
    }

    // Message framing (RFC 9112 6): refuse anything ambiguous.
    this.#body = Body.NONE;
    this.#bodyLeft = 0;
    if (te !== undefined) {
      if (cl !== undefined) throw new HttpError(400, 'both Transfer-Encoding and Content-Length');
      if (head.version === 10) throw new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request');
      // Empty list elements are ignored (RFC 9110 5.6.1).
      const codings = te.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
      if (codings[codings.length - 1] !== 'chunked') throw new HttpError(400, 'Transfer-Encoding does not end in chunked');
      if (codings.indexOf('chunked') !== codings.length - 1) throw new HttpError(400, 'chunked applied more than once');
      if (codings.length > 1) throw new HttpError(501, `transfer coding ${codings[0]} not implemented`);
      this.#body = Body.CHUNKED;
      this.#chunked = new ChunkedDecoder(this.limits);
    } else if (cl !== undefined) {
      const parts = cl.split(',').map((s) => s.trim());
      for (const p of parts) if (!/^\d+$/.test(p)) throw new HttpError(400, 'malformed Content-Length');
      // Compared as digit strings: two long values must not become equal by
      // rounding, and a valid but huge value is too large, not malformed.
      const digits = parts.map((p) => p.replace(/^0+(?=\d)/, ''));
      if (digits.some((p) => p !== digits[0])) throw new HttpError(400, 'conflicting Content-Length values');
      const len = digits[0].length > 15 ? Infinity : Number(digits[0]);
      if (len > this.limits.maxBodySize) throw new HttpError(413, 'request body too large');
      if (len > 0) {
        this.#body = Body.LENGTH;
        this.#bodyLeft = len;
      }
    }
    this.#bodyDone = this.#body === Body.NONE;
    this.#bodyToUser = false;
    this.bodySink = null;
    this.#discardBody = false;
    this.#continueSent = false;
    this.#expectContinue = false;
    if (expect !== undefined) {
      if (expect.trim().toLowerCase() !== '100-continue') throw new HttpError(417, 'unsupported expectation');
      this.#expectContinue = head.version === 11 && !this.#bodyDone;
    }
    // "close" wins wherever it appears in the list (RFC 9112 9.6).
    const options = connection.split(',').map((s) => s.trim());
    if (options.includes('close')) this.#keepAlive = false;
    else if (options.includes('keep-alive') && head.version === 10) this.#keepAlive = true;

    this.#rawPath = rawPath;
    const path = rawPath === '*' || head.method === 'CONNECT' ? rawPath : normalisePath(rawPath);
    const req = new HttpRequest(head, path, query);
    this.req = req;

    const m = matchMount(vh.mounts, path);
    if (m?.basicAuthLoginFile !== undefined && !basicAuthOk(m.basicAuthLoginFile, req.header('authorization')))
      throw new HttpError(401, `no valid credentials for ${m.mountpoint}`, BASIC_AUTH_CHALLENGE);
    const proxied = m !== undefined && (m.originProtocol === Mount.HTTP || m.originProtocol === Mount.HTTPS);
    if (isWsUpgrade(req)) {
      this.#unbind();
      if (proxied && m) startProxy(this, m, path, true);
      else this.#upgradeWs();
      return;
    }

    if (this.#bindFor(m)) return;

    if (wsi.callProtocol(Reason.FILTER_HTTP_CONNECTION, path)) return;

    let handled = false;
    let httpInput = path;
    if (m && mountTakesMethod(m, head.method)) {
      if (m.originProtocol === Mount.CALLBACK) {
        // The bound protocol sees the URL below its mountpoint, as in lws.
        httpInput = path.slice(m.mpLen);
      } else if (m.originProtocol === Mount.CGI) {
        handled = startCgi(this, m, path);
      } else if (proxied) {
        handled = startProxy(this, m, path, false);
      } else if (m.originProtocol === Mount.FILE) {
        handled = serveMount(this, m, path);
      } else if (m.originProtocol === Mount.REDIR_HTTP || m.originProtocol === Mount.REDIR_HTTPS) {
        const scheme = m.originProtocol === Mount.REDIR_HTTPS ? 'https://' : 'http://';
        const o = m.origin.replace(/^(https?:\/\/|>)/i, '');
        this.redirect(301, scheme + o);
        handled = true;
      }
    }
    if (!handled && !wsi.closed) {
      this.#bodyToUser = true;
      if (wsi.callProtocol(Reason.HTTP, httpInput)) return;
    }
    if (wsi.closed) return;
    if (!this.#bodyDone) {
      if (this.#respDone || this.#headersSent) {
        // Answered before the body was read: skip the body, unless the
        // peer is still waiting for 100-continue and may never send it.
        if (this.#expectContinue && !this.#continueSent) this.#keepAlive = false;
        this.#discardBody = true;
        this.#bodyToUser = false;
      } else if (this.#expectContinue) {
        this.#continueSent = true;
        wsi.socket?.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.limits.timeoutSecs);
    } else if (this.#inTxn && !this.#respDone && wsi.timeoutReason === PendingTimeout.NO_PENDING) {
      // Every wait has a bound; a timeout the callback set itself wins.
      this.#armTxnTimeout();
    }
  }

  /** Take the bytes read but not parsed (a tunnel forwards them). @internal */
  takeBuffered(): Buffer | null {
    const b = this.#buf;
    this.#buf = null;
    return b;
  }

  /** The request's path as sent (still percent-encoded, not normalised), without the query. @internal */
  get rawPath(): string {
    return this.#rawPath;
  }

  /** Does the request being handled carry a body still to be read? @internal */
  get hasRequestBody(): boolean {
    return !this.#bodyDone;
  }

  /**
   * Bind to the protocol of the CALLBACK mount the request falls in, or
   * back to protocols[0] when it falls outside; the session data lives as
   * long as the binding. Returns non-zero when the connection closed.
   */
  #bindFor(m: ResolvedMount | undefined): number {
    const wsi = this.wsi;
    const vh = wsi.vhost;
    let target: Protocol = vh.protocols[0];
    if (m && m.originProtocol === Mount.CALLBACK) {
      const p = vh.protocolByName(bareOrigin(m));
      if (!p) {
        log.err('mount %s: no protocol named "%s" on vhost %s', m.mountpoint, bareOrigin(m), vh.name);
        throw new HttpError(500, 'callback mount names an unknown protocol');
      }
      target = p;
    }
    if (!this.#bound && target === vh.protocols[0]) return 0;
    if (wsi.protocol === target) return 0;
    this.#bound = target !== vh.protocols[0];
    return bindProtocol(wsi, target);
  }

  /** Leave a CALLBACK mount's protocol before the connection changes vhost or role. */
  #unbind(): void {
    if (!this.#bound) return;
    this.#bound = false;
    this.wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL);
  }

  /** Become a WebSocket, or refuse with the status the handshake rules give. */
  #upgradeWs(): void {
    const wsi = this.wsi;
    const req = this.req as HttpRequest;
    const hs = checkUpgrade(wsi, req, !this.#bodyDone);
    if (!hs.ok) {
      this.fail(hs.status, hs.why, hs.headers);
      return;
    }
    wsi.protocol = hs.protocol;
    wsi.user = hs.protocol.createSessionData ? hs.protocol.createSessionData() : undefined;
    const r = wsi.callProtocolRaw(Reason.FILTER_PROTOCOL_CONNECTION, hs.protocolHeader ?? hs.protocol.name);
    if (wsi.closed) return;
    if (r) {
      // Refused: the callback may have answered with its own status.
      if (this.#headersSent || this.#respDone) wsi.close();
      else this.fail(403, 'refused by FILTER_PROTOCOL_CONNECTION');
      return;
    }
    const left = this.#buf;
    this.#buf = null;
    completeUpgrade(wsi, hs, left);
  }

  // ---- output ----

  #respReset(): void {
    this.resp.reset();
    this.#headersSent = false;
    this.#respChunked = false;
    this.#respLeft = -1;
    this.#respNoBody = false;
    this.#respDone = false;
    this.#lastFinalized = null;
  }

  /** Render the user's header block with the library's own lines. */
  finalizeHeaders(): Uint8Array {
    const r = this.resp;
    if (r.code === 0) throw new Error('finalizeHttpHeader: no status added (addHttpHeaderStatus)');
    const req = this.req;
    const v10 = req?.version === 10;
    let extra = '';
    const noBody = statusHasNoBody(r.code) || this.#isHead;
    if (r.connectionClose) this.#keepAlive = false;
    if (r.contentLength < 0 && !r.chunked && !statusHasNoBody(r.code)) {
      if (v10) this.#keepAlive = false;
      else if (!this.#isHead) extra += 'transfer-encoding: chunked\r\n';
    }
    extra += this.#connectionLine(v10);
    const block = Buffer.from(`HTTP/1.${v10 ? 0 : 1} ${r.code} ${reasonPhrase(r.code)}\r\n` +
      this.#extraLines() + r.lines + extra + `date: ${httpDate()}\r\n\r\n`, 'latin1');
    this.#lastFinalized = block;
    this.logStatus = r.code;
    this.#respChunked = !noBody && (r.chunked || (r.contentLength < 0 && !v10));
    this.#respLeft = r.contentLength;
    this.#respNoBody = noBody;
    return block;
  }

  /** The vhost's own header lines; Strict-Transport-Security only over TLS (RFC 6797 7.2). */
  #extraLines(): string {
    const vh = this.wsi.vhost;
    return this.wsi.isSsl() ? vh.extraHeaderLines : vh.extraHeaderLinesClear;
  }

  #connectionLine(v10: boolean): string {
    // Answered while the peer holds its body back for a 100 Continue it will
    // not get: its next bytes may be that body or a new request, so we close
    // and must say so (RFC 9110 10.1.1).
    if (this.#inTxn && !this.#bodyDone && this.#expectContinue && !this.#continueSent) this.#keepAlive = false;
    if (!this.#keepAlive || this.wsi.peerEnded) return 'connection: close\r\n';
    return v10 ? 'connection: keep-alive\r\n' : '';
  }

  /** Library-built header block for a whole response; sets framing. */
  headerBlock(code: number, lines: string, contentLength: number): string {
    this.logStatus = code;
    const v10 = this.req?.version === 10;
    this.#respNoBody = statusHasNoBody(code) || this.#isHead;
    this.#respLeft = contentLength;
    this.#respChunked = false;
    this.#headersSent = true;
    return `HTTP/1.${v10 ? 0 : 1} ${code} ${reasonPhrase(code)}\r\n${this.#extraLines()}${lines}` +
      `${contentLength >= 0 ? `content-length: ${contentLength}\r\n` : ''}${this.#connectionLine(v10)}date: ${httpDate()}\r\n\r\n`;
  }

  /**
   * A whole 200 for an unchanged small file. The bytes built for the
   * previous request are sent again when nothing in them has changed (same
   * file, same `date:` second, same connection line).
   */
  sendMemo200(memo: FileMemo, body: Buffer): void {
    const s = this.wsi.socket;
    if (!s || this.wsi.closed) return;
    const v10 = this.req?.version === 10;
    const key = (v10 ? '0' : '1') + this.#connectionLine(v10) + httpDate();
    if (memo.resp && memo.key === key && memo.body === body) {
      this.#respNoBody = false;
      this.#respLeft = body.length;
      this.#respChunked = false;
      this.#headersSent = true;
      s.write(memo.resp);
      return;
    }
    const head = this.headerBlock(200, memo.tail, body.length);
    const out = Buffer.allocUnsafe(head.length + body.length);
    out.write(head, 0, 'latin1');
    out.set(body, head.length);
    memo.key = key;
    memo.resp = out;
    memo.body = body;
    s.write(out);
  }

  /** A 304 carries the validators and no content-length (RFC 9110 15.4.5). */
  headerBlock304(lines: string): string {
    return this.headerBlock(304, lines, -1);
  }

  get isHead(): boolean {
    return this.#isHead;
  }

  write(buf: Uint8Array, flags: number): number {
    const wsi = this.wsi;
    const s = wsi.socket;
    if (!s || wsi.closed) return -1;
    const kind = flags & WRITE_KIND_MASK;
    if (!this.#inTxn || this.#respDone) {
      log.err('wsi %d: HTTP write with no transaction open', wsi.id);
      return -1;
    }
    if (kind === Write.HTTP_HEADERS || kind === Write.HTTP_HEADERS_CONTINUATION) {
      if (this.#headersSent && kind === Write.HTTP_HEADERS) {
        log.err('wsi %d: response headers written twice', wsi.id);
        return -1;
      }
      if (buf !== this.#lastFinalized && kind === Write.HTTP_HEADERS) {
        const f = scanHeaderBlock(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1'));
        this.logStatus = f.code;
        this.#respNoBody = statusHasNoBody(f.code) || this.#isHead;
        this.#respChunked = f.chunked && !this.#respNoBody;
        this.#respLeft = f.contentLength;
        if (f.close || (f.contentLength < 0 && !f.chunked && !this.#respNoBody)) this.#keepAlive = false;
      }
      this.#headersSent = true;
      s.write(buf);
      this.#armTxnTimeout();
      return buf.length;
    }
    if (kind !== Write.HTTP && kind !== Write.HTTP_FINAL) {
      log.err('wsi %d: write kind %d is not valid on an HTTP connection', wsi.id, kind);
      return -1;
    }
    if (!this.#headersSent) {
      log.err('wsi %d: HTTP body written before its headers', wsi.id);
      return -1;
    }
    const final = kind === Write.HTTP_FINAL || (flags & Write.H2_STREAM_END) !== 0;
    if (this.#respLeft >= 0 && buf.length > this.#respLeft) {
      log.err('wsi %d: body longer than its content-length (%d more bytes allowed)', wsi.id, this.#respLeft);
      wsi.close();
      return -1;
    }
    if (this.#respNoBody) {
      // HEAD, 204, 304: the body is counted but not sent.
    } else if (this.#respChunked) {
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
    if (this.#respLeft >= 0) this.#respLeft -= buf.length;
    this.#armTxnTimeout();
    if (final || this.#respLeft === 0) {
      if (this.#respLeft > 0 && !this.#respNoBody) {
        log.err('wsi %d: final write %d bytes short of its content-length', wsi.id, this.#respLeft);
        wsi.close();
        return -1;
      }
      this.transactionCompleted();
    }
    return buf.length;
  }

  /** Write a complete library-made response (head and optional body). */
  sendWhole(head: string, body?: Uint8Array): void {
    const s = this.wsi.socket;
    if (!s || this.wsi.closed) return;
    if (body && body.length && !this.#respNoBody) {
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

  returnStatus(code: number, html?: string): number {
    if (this.#headersSent || !this.#inTxn) {
      log.err('wsi %d: returnHttpStatus(%d) after the response started', this.wsi.id, code);
      this.wsi.close();
      return -1;
    }
    const body = Buffer.from(statusPage(code, html));
    this.sendWhole(this.headerBlock(code, 'content-type: text/html\r\n', body.length), body);
    return this.transactionCompleted();
  }

  /**
   * What the library was producing for this response failed: answer
   * `status` and close when nothing was sent yet (the body may still be
   * arriving; it is not worth reading), else cut the connection, which is
   * all that can tell the client the response is incomplete. @internal
   */
  abandonResponse(status: number): void {
    const wsi = this.wsi;
    if (wsi.closed) return;
    if (this.#headersSent) {
      wsi.close(false);
      return;
    }
    // Headers the failed producer had added must not leak into anything later.
    this.resp.reset();
    this.returnStatus(status);
    wsi.close();
  }

  redirect(code: number, location: string): number {
    if (![301, 302, 303, 307, 308].includes(code)) throw new RangeError(`httpRedirect: ${code} is not a redirect status`);
    if (/[\r\n\0]/.test(location)) throw new TypeError('httpRedirect: location must not contain CR, LF or NUL');
    if (this.#headersSent || !this.#inTxn) {
      this.wsi.close();
      return -1;
    }
    this.sendWhole(this.headerBlock(code, `location: ${location}\r\ncontent-type: text/html\r\n`, 0));
    return this.transactionCompleted();
  }

  serveFile(path: string, mime: string, extra?: Readonly<Record<string, string>>): number {
    if (this.#headersSent || !this.#inTxn) {
      log.err('wsi %d: serveHttpFile after the response started', this.wsi.id);
      return -1;
    }
    return serveFile(this, path, { mime, extraHeaders: extra }) ? 0 : -1;
  }

  /**
   * The response is complete. Go back to reading requests, or close.
   * Returns non-zero when the connection closes.
   */
  transactionCompleted(): number {
    const wsi = this.wsi;
    if (wsi.closed) return -1;
    if (!this.#inTxn || this.#respDone) return 0;
    this.#respDone = true;
    logHttpTransaction(wsi, this.req, this.logStatus || 200);
    this.logStatus = 0;
    if (this.file) {
      this.file.close();
      this.file = null;
    }
    if (!this.#bodyDone) {
      if (this.#expectContinue && !this.#continueSent) this.#keepAlive = false;
      this.#discardBody = true;
      this.#bodyToUser = false;
      if (!this.#keepAlive) {
        wsi.close();
        return -1;
      }
      return 0; // #feedBody finishes it once the body has gone by
    }
    return this.#finishTxn();
  }

  #finishTxn(): number {
    const wsi = this.wsi;
    if (!this.#keepAlive || wsi.peerEnded && !(this.#buf && this.#buf.length)) {
      wsi.close();
      return -1;
    }
    this.#inTxn = false;
    this.req = null;
    this.#sawBytes = !!(this.#buf && this.#buf.length);
    wsi.setTimeout(this.#sawBytes ? PendingTimeout.AWAITING_HEADERS : PendingTimeout.HTTP_KEEPALIVE_IDLE,
      this.#sawBytes ? this.limits.headerTimeoutSecs : this.limits.keepaliveTimeoutSecs);
    if (!this.#bound && wsi.protocol !== wsi.vhost.protocols[0]) {
      wsi.protocol = wsi.vhost.protocols[0];
      wsi.user = wsi.protocol.createSessionData ? wsi.protocol.createSessionData() : undefined;
    }
    if (wsi.rxFlowOn) wsi.socket?.resume();
    if (this.#buf && this.#buf.length) {
      if (this.#processing) return 0; // the loop in progress picks it up
      setImmediate(() => this.process());
    }
    return 0;
  }

  /** Answer a refused request with `status` and close. */
  fail(status: number, why: string, extraHeaders = ''): void {
    const wsi = this.wsi;
    if (wsi.closed) return;
    log.info('wsi %d (%s): %d %s', wsi.id, wsi.peerAddress, status, why);
    // Between requests #headersSent still describes the previous response.
    if ((!this.#inTxn || !this.#headersSent) && wsi.socket) {
      this.#keepAlive = false;
      const body = Buffer.from(statusPage(status));
      const v10 = this.req?.version === 10;
      wsi.socket.write(`HTTP/1.${v10 ? 0 : 1} ${status} ${reasonPhrase(status)}\r\n${this.#extraLines()}` +
        `${extraHeaders}content-type: text/html\r\ncontent-length: ${body.length}\r\nconnection: close\r\ndate: ${httpDate()}\r\n\r\n`, 'latin1');
      wsi.socket.write(body);
      logHttpTransaction(wsi, this.#inTxn ? this.req : null, status);
    }
    this.#buf = null;
    wsi.close();
  }

  // ---- events from the role ----

  writable(): void {
    const wsi = this.wsi;
    if (this.file) {
      this.file.pump();
      return;
    }
    if (!wsi.wantWritable) return;
    wsi.wantWritable = false;
    wsi.inWritable = true;
    try {
      wsi.callProtocol(Reason.HTTP_WRITEABLE);
    } finally {
      wsi.inWritable = false;
    }
  }

  timeout(reason: PendingTimeout): void {
    if (reason === PendingTimeout.AWAITING_HEADERS && !this.#inTxn) {
      this.fail(408, 'request head not received in time');
      return;
    }
    if (reason === PendingTimeout.HTTP_CONTENT && this.#inTxn && !this.#bodyDone && !this.#headersSent) {
      this.fail(408, 'request body not received in time');
      return;
    }
    this.wsi.close(false);
  }

  peerEnded(): void {
    // Inside a head or a body the request can no longer complete: the loop
    // answers 400. Otherwise it closes once the answer is out.
    this.process();
  }

  closing(): void {
    const wsi = this.wsi;
    if (this.file) {
      this.file.close();
      this.file = null;
    }
    wsi.callProtocol(Reason.CLOSED_HTTP);
    if (this.#bound) {
      this.#bound = false;
      wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL);
    }
    this.bodySink = null;
    this.#buf = null;
  }
}
