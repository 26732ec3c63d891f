import type { Socket } from 'node:net';
import type { Wsi } from '../../core/wsi.js';
import type { VhostSelector } from '../../core/vhost.js';
import type { HttpLimits } from '../../core/limits.js';
import { Reason } from '../../core/reasons.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { HttpError } from '../../http/errors.js';
import { HttpRequest } from '../../http/request.js';
import { hasToken } from '../../http/response.js';
import { normalisePath } from '../../http/uri.js';
import { ChunkedDecoder } from '../../http/chunked.js';
import type { HttpCarrier, HttpHead } from '../../http/head.js';
import type { HttpExchange } from '../../http/exchange.js';
import { routeRequest, unbindMount } from '../../responders/route.js';
import { HeadScanner, parseHead, type RequestHead } from './head-parser.js';
import { H1Exchange } from './exchange.js';
import { upgradeToWebSocket } from './upgrade.js';
import { startTunnel } from '../tunnel/role-tunnel.js';
import { startH2 } from '../h2/start.js';
import { h2OptionsOf } from '../h2/vhost-h2.js';
import { CLIENT_PREFACE } from '../h2/frames.js';
import { judgeFirstBytes } from '../raw/sniff.js';
import { startRaw } from '../raw/start-raw.js';
import { hasOption, Option } from '../../core/options.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']);
/** Host = uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2); empty is allowed. */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::\d*)?$/;

const enum Body {
  NONE,
  LENGTH,
  CHUNKED,
}

/** Where a connection stands with its address's limit on heads being read (`ipLimitAh`). */
const enum HeadPlace {
  /** Not reading a head, or not limited. */
  NONE,
  /** Its bytes wait, unread, for a place. */
  WAITING,
  /** Reading a head, counted against its address. */
  HELD,
}

/**
 * The HTTP/1.1 server side of one connection, the h1 role's state: reads
 * requests strictly, in order, one exchange at a time (pipelined requests
 * wait their turn), and keeps the connection alive between them. What a
 * request means is decided by `routeRequest`; the response is framed by
 * the connection's `H1Exchange`.
 */
export class H1Conn implements HttpCarrier {
  readonly exchange: H1Exchange;
  /** The connection stays open after this response. */
  keepAlive = true;
  /** A request is being handled (its response not complete). */
  inTxn = false;
  #buf: Buffer | null = null;
  #scanner = new HeadScanner();
  #processing = false;
  // request body
  #body: Body = Body.NONE;
  #bodyLeft = 0;
  #chunked: ChunkedDecoder | null = null;
  #bodyDone = true;
  #expectContinue = false;
  #continueSent = false;
  #discardBody = false;
  #sawBytes = false;
  /** No request has begun on this connection yet (it may still turn out to be HTTP/2). */
  #first = true;
  /** FALLBACK_TO_RAW: the first bytes are still to be judged. */
  #judging = false;
  #headPlace = HeadPlace.NONE;
  /** The last Host value found well formed: a client sends the same one on every request. */
  #hostChecked: string | undefined;

  constructor(readonly wsi: Wsi, readonly vhosts: VhostSelector) {
    this.exchange = new H1Exchange(this);
  }

  get limits(): Readonly<HttpLimits> {
    return this.wsi.vhost.limits;
  }

  /** The request being handled, readable through the wsi's header calls. */
  get httpHead(): HttpHead | null {
    return this.inTxn ? this.exchange.currentReq : null;
  }

  get httpExchange(): HttpExchange {
    return this.exchange;
  }

  /** Does the request being handled carry a body still to be read? */
  get hasRequestBody(): boolean {
    return !this.#bodyDone;
  }

  start(): void {
    this.#judging = hasOption(this.wsi.vhost.options, Option.FALLBACK_TO_RAW);
    // Also bounds a peer that sends nothing, or too little to judge: it is closed, never taken for RAW.
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
      if (e instanceof HttpError) this.exchange.fail(e.status, e.message, e.headers);
      else {
        // A bug here must cost this connection only, never the process.
        log.err('wsi %d: internal error handling a request: %s', this.wsi.id, e instanceof Error ? e.stack ?? e.message : String(e));
        this.exchange.fail(500, 'internal error');
      }
    } finally {
      this.#processing = false;
    }
  }

  #loop(): void {
    const wsi = this.wsi;
    while (!wsi.closed) {
      const buf = this.#buf;
      if (!this.inTxn) {
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
        if (this.#judging && this.#fallsBackToRaw(buf)) return;
        if (this.#first && buf[0] === 0x50 && this.#priorKnowledge(buf)) return;
        // Only an HTTP/1 head takes a place: RAW and HTTP/2 have left above.
        if (this.#headPlace !== HeadPlace.HELD && !this.#takeHeadPlace()) return;
        const n = this.#scanner.scan(buf, this.limits);
        if (n === 0) {
          // Only the empty lines RFC 9112 2.2 lets us ignore: nothing to answer.
          if (wsi.peerEnded && !this.#scanner.started) wsi.close();
          else if (wsi.peerEnded) this.exchange.fail(400, 'connection ended inside the request head');
          return;
        }
        this.#releaseHeadPlace();
        const head = parseHead(buf, this.#scanner.lineStarts, this.#scanner.lineCount, n);
        this.#scanner.reset();
        this.#buf = n === buf.length ? null : buf.subarray(n);
        this.#begin(head);
        continue;
      }
      if (!this.#bodyDone) {
        if (!buf || buf.length === 0) {
          if (wsi.peerEnded) this.exchange.fail(400, 'connection ended inside the request body');
          return;
        }
        this.#feedBody(buf);
        continue;
      }
      // A request is under way and its body is read: hold pipelined
      // requests, and stop reading when too much is waiting.
      if (buf && buf.length > this.limits.maxPipelineBytes) wsi.transport?.pause();
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
    const ex = this.exchange;
    // Not when the protocol already answered from the last HTTP_BODY: that
    // exchange is over, as it is when answered from an earlier piece.
    if (ex.bodySink && this.inTxn) {
      ex.bodySink.complete();
      return;
    }
    if (ex.bodyToProtocol && this.inTxn && !ex.done) {
      this.armTxnTimeout();
      wsi.callProtocol(Reason.HTTP_BODY_COMPLETION);
    }
  }

  #bodyPiece(piece: Buffer): void {
    this.exchange.txn.bytesIn += piece.length;
    if (piece.length === 0 || this.#discardBody || this.wsi.closed) return;
    const ex = this.exchange;
    if (ex.bodySink) ex.bodySink.piece(piece);
    else if (ex.bodyToProtocol) this.wsi.callProtocol(Reason.HTTP_BODY, piece);
  }

  /** @internal (Re)arm the bound on an exchange's progress. */
  armTxnTimeout(): void {
    if (this.inTxn && !this.wsi.closed) this.wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.limits.timeoutSecs);
  }

  // ---- one request ----

  #begin(head: RequestHead): void {
    const wsi = this.wsi;
    this.inTxn = true;
    this.#first = false;
    this.exchange.clear();
    this.keepAlive = head.version === 11;
    wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
    // Started before anything can refuse it, so every refusal below is a finish with its start.
    this.exchange.txn.start(wsi, head.method, head.target, head.version);

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
          connection += (connection ? ',' : '') + v;
          break;
        case 'expect':
          expect = v;
          break;
      }
    }
    if (hosts > 1) throw new HttpError(400, 'more than one Host header');
    if (hosts === 0 && head.version === 11) throw new HttpError(400, 'HTTP/1.1 request without Host');
    if (host !== undefined && host !== this.#hostChecked) {
      if (!HOST_SYNTAX.test(host)) throw new HttpError(400, 'malformed Host header');
      this.#hostChecked = host;
    }
    if (authority !== undefined) host = authority;

    // The Host header picks the vhost among those sharing this port, before
    // the body limits are applied: they are that vhost's.
    // On TLS the vhost was settled by SNI during the handshake.
    const ex = this.exchange;
    const tls = wsi.isSsl();
    const vh = tls ? wsi.vhost : this.vhosts.selectVhost(host);
    if (vh !== wsi.vhost) {
      unbindMount(ex);
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
    this.#discardBody = false;
    this.#continueSent = false;
    this.#expectContinue = false;
    if (expect !== undefined) {
      if (expect.trim().toLowerCase() !== '100-continue') throw new HttpError(417, 'unsupported expectation');
      this.#expectContinue = head.version === 11 && !this.#bodyDone;
    }
    // "close" wins wherever it appears in the list (RFC 9112 9.6).
    if (hasToken(connection, 'close')) this.keepAlive = false;
    else if (head.version === 10 && hasToken(connection, 'keep-alive')) this.keepAlive = true;

    const path = rawPath === '*' || head.method === 'CONNECT' ? rawPath : normalisePath(rawPath);
    const req = new HttpRequest(head, path, query);
    ex.start(req, rawPath, head.method === 'HEAD', hasToken(req.header('upgrade'), 'websocket'));

    routeRequest(ex);
    // An upgrade has left HTTP/1 (or waits for its upstream's answer).
    if (wsi.closed || ex.wantsWebSocket) return;

    if (!this.#bodyDone) {
      if (ex.done || ex.headersSent) {
        // Answered before the body was read: skip the body, unless the
        // peer is still waiting for 100-continue and may never send it.
        if (this.#expectContinue && !this.#continueSent) this.keepAlive = false;
        this.#discardBody = true;
        ex.bodyToProtocol = false;
      } else if (this.#expectContinue) {
        this.#continueSent = true;
        wsi.socket?.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      wsi.setTimeout(PendingTimeout.HTTP_CONTENT, this.limits.timeoutSecs);
    } else if (this.inTxn && !ex.done && wsi.timeoutReason === PendingTimeout.NO_PENDING) {
      // Every wait has a bound; a timeout the callback set itself wins.
      this.armTxnTimeout();
    }
  }

  /**
   * FALLBACK_TO_RAW: first bytes that cannot begin a request make the
   * connection RAW, with those bytes as its first RAW_RX. True when the
   * bytes were taken (or more are needed to tell).
   */
  #fallsBackToRaw(buf: Buffer): boolean {
    const v = judgeFirstBytes(buf);
    if (v === 'http') {
      this.#judging = false;
      return false;
    }
    // Too few bytes to tell and the peer has ended: they can never become a request.
    if (v === 'more' && !this.wsi.peerEnded) return true;
    this.#judging = false;
    this.#buf = null;
    this.#releaseHeadPlace();
    startRaw(this.wsi, buf);
    return true;
  }

  /**
   * A clear-text connection whose first bytes are the HTTP/2 preface
   * (prior knowledge, RFC 9113 3.3) becomes HTTP/2. True when the bytes
   * were taken (or more are needed to tell).
   */
  #priorKnowledge(buf: Buffer): boolean {
    const n = Math.min(buf.length, CLIENT_PREFACE.length);
    if (buf.compare(CLIENT_PREFACE, 0, n, 0, n) !== 0 || this.wsi.isSsl() || !h2OptionsOf(this.wsi.vhost).enabled) return false;
    if (n < CLIENT_PREFACE.length) {
      // The rest of the preface is still coming, unless the peer has ended its side.
      if (this.wsi.peerEnded) this.wsi.close();
      return true;
    }
    this.#buf = null;
    this.#releaseHeadPlace();
    startH2(this.wsi, this.vhosts, buf);
    return true;
  }

  // ---- ipLimitAh: heads read at once per peer address ----

  /**
   * A head begins: take a place among its address's heads being read, or
   * wait for one with the socket paused (lws's wait for a header table).
   * The head timeout set at accept keeps running. True when it may parse.
   */
  #takeHeadPlace(): boolean {
    const wsi = this.wsi;
    const peers = wsi.context.peerTable;
    const addr = wsi.peerKey;
    if (!peers || addr === null || wsi.context.ipLimitAh <= 0) return true;
    if (this.#headPlace === HeadPlace.NONE) {
      if (peers.beginHead(addr, this.#placeGiven)) {
        this.#headPlace = HeadPlace.HELD;
        return true;
      }
      this.#headPlace = HeadPlace.WAITING;
    }
    // Paused on every pass: something that resumed the socket (rx flow
    // control) lets in one more read at most.
    wsi.transport?.pause();
    return false;
  }

  /** The peer table gave a waiting head its place: read it on a later turn. */
  #placeGiven = (): void => {
    if (this.#headPlace !== HeadPlace.WAITING) return;
    this.#headPlace = HeadPlace.HELD;
    const wsi = this.wsi;
    if (wsi.closed) {
      this.#releaseHeadPlace();
      return;
    }
    if (wsi.rxFlowOn) wsi.transport?.resume();
    // Not now: this runs inside another connection's head completing.
    setImmediate(() => this.process());
  };

  /** The head is read (or the connection closes or leaves HTTP/1): its place, or its wait, ends. */
  #releaseHeadPlace(): void {
    if (this.#headPlace === HeadPlace.NONE) return;
    this.#headPlace = HeadPlace.NONE;
    const addr = this.wsi.peerKey;
    if (addr !== null) this.wsi.context.peerTable?.endHead(addr, this.#placeGiven);
  }

  /**
   * @internal The context is draining: a response in progress completes
   * and the connection closes after it (it says `connection: close`);
   * between requests there is nothing to finish. True when it closes by itself.
   */
  quiesce(): boolean {
    if (!this.inTxn) return false;
    this.keepAlive = false;
    return true;
  }

  /** @internal The `connection:` line for a response now, which may decide not to keep the connection. */
  connectionLine(v10: boolean): string {
    // Answered while the peer holds its body back for a 100 Continue it will
    // not get: its next bytes may be that body or a new request, so we close
    // and must say so (RFC 9110 10.1.1).
    if (this.inTxn && !this.#bodyDone && this.#expectContinue && !this.#continueSent) this.keepAlive = false;
    if (!this.keepAlive || this.wsi.peerEnded) return 'connection: close\r\n';
    return v10 ? 'connection: keep-alive\r\n' : '';
  }

  /** @internal Forget unparsed input (the connection is being refused). */
  dropBuffered(): void {
    this.#buf = null;
  }

  /**
   * @internal The exchange's response is complete: skip what is left of
   * the request body, then read the next request or close. Non-zero when
   * the connection closes.
   */
  responseDone(): number {
    const wsi = this.wsi;
    if (!this.#bodyDone) {
      if (this.#expectContinue && !this.#continueSent) this.keepAlive = false;
      this.#discardBody = true;
      this.exchange.bodyToProtocol = false;
      if (!this.keepAlive) {
        wsi.close();
        return -1;
      }
      return 0; // #feedBody finishes it once the body has gone by
    }
    return this.#finishTxn();
  }

  #finishTxn(): number {
    const wsi = this.wsi;
    if (!this.keepAlive || wsi.peerEnded && !(this.#buf && this.#buf.length)) {
      wsi.close();
      return -1;
    }
    this.inTxn = false;
    this.exchange.clear();
    this.#sawBytes = !!(this.#buf && this.#buf.length);
    wsi.setTimeout(this.#sawBytes ? PendingTimeout.AWAITING_HEADERS : PendingTimeout.HTTP_KEEPALIVE_IDLE,
      this.#sawBytes ? this.limits.headerTimeoutSecs : this.limits.keepaliveTimeoutSecs);
    if (!this.exchange.boundToMount && wsi.protocol !== wsi.vhost.protocols[0]) {
      wsi.protocol = wsi.vhost.protocols[0];
      wsi.user = wsi.protocol.createSessionData ? wsi.protocol.createSessionData() : undefined;
    }
    if (wsi.rxFlowOn) wsi.transport?.resume();
    if (this.#buf && this.#buf.length) {
      if (this.#processing) return 0; // the loop in progress picks it up
      setImmediate(() => this.process());
    }
    return 0;
  }

  // ---- leaving HTTP/1 ----

  /** @internal Become a WebSocket, or refuse with the status the handshake rules give. */
  upgradeWs(): void {
    const left = this.#buf;
    upgradeToWebSocket(this, !this.#bodyDone, () => {
      this.#buf = null;
      return left;
    });
  }

  /** @internal After an upstream's 101: the client's bytes go through unchanged both ways. */
  tunnel(head101: string, upstream: Socket, upstreamHead: Buffer): boolean {
    const wsi = this.wsi;
    const s = wsi.socket;
    if (!s || wsi.closed) return false;
    s.write(head101, 'latin1');
    if (upstreamHead.length) s.write(upstreamHead);
    this.exchange.txn.finish(wsi, null, 101, undefined);
    const left = this.#buf;
    this.#buf = null;
    this.exchange.closing();
    startTunnel(wsi, upstream, left);
    return true;
  }

  // ---- events from the role ----

  writable(): void {
    const wsi = this.wsi;
    const p = this.exchange.producer;
    if (p) {
      p.pump();
      return;
    }
    wsi.deliverWriteable(Reason.HTTP_WRITEABLE);
  }

  timeout(reason: PendingTimeout): void {
    if (reason === PendingTimeout.AWAITING_HEADERS && !this.inTxn) {
      this.exchange.fail(408, 'request head not received in time');
      return;
    }
    if (reason === PendingTimeout.HTTP_CONTENT && this.inTxn && !this.#bodyDone && !this.exchange.headersSent) {
      this.exchange.fail(408, 'request body not received in time');
      return;
    }
    this.wsi.close(false);
  }

  /** A protocol callback threw: 500 if the response has not begun, else the connection is cut. */
  callbackThrew(): void {
    if (this.inTxn && !this.exchange.headersSent) this.exchange.fail(500, 'a protocol callback threw');
    else this.wsi.close(false);
  }

  peerEnded(): void {
    // Inside a head or a body the request can no longer complete: the loop
    // answers 400. Otherwise it closes once the answer is out.
    this.process();
  }

  closing(): void {
    const wsi = this.wsi;
    this.#releaseHeadPlace();
    this.exchange.closing();
    wsi.callProtocol(Reason.CLOSED_HTTP);
    if (this.exchange.boundToMount) {
      this.exchange.boundToMount = false;
      wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL);
    }
    this.#buf = null;
  }
}
