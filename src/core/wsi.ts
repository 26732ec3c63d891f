import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Context } from './context.js';
import type { Vhost } from './vhost.js';
import type { Protocol, CallbackInput } from './protocols.js';
import type { Role } from './role.js';
import { Reason } from './reasons.js';
import { PendingTimeout, TO_KILL_ASYNC, TO_KILL_SYNC } from './timeouts.js';
import { log, logVisible, LogLevel } from './log.js';
import type { H1Conn } from '../roles/h1/conn.js';
import type { WsConn } from '../roles/ws/conn.js';
import type { ClientConn } from '../client/client-conn.js';
import { Token } from '../http/tokens.js';
import { reportSslInfo } from '../tls/accept.js';
import { CLOSE_NOTIFY_SENT } from '../tls/ssl-info.js';

/** Bound on how long a closing connection waits for its role's last bytes (messages still being compressed). */
const LAST_BYTES_MS = 5000;

let nextWsiId = 1;

/**
 * One connection ("wsi" in lws). It always has exactly one role; the role
 * decides what bytes mean and which callbacks they become.
 *
 * Only send from a WRITEABLE callback: ask with `callbackOnWritable()`.
 */
export class Wsi {
  /** A small number unique in this process, for logs. */
  readonly id = nextWsiId++;
  /** The protocol whose callback receives this connection's events. */
  protocol: Protocol;
  /** Per-session data made by the protocol's `createSessionData`. */
  user: unknown;
  /** @internal */ role: Role;
  /** @internal */ socket: Socket | null;
  /** @internal HTTP/1 state while the connection speaks HTTP. */ h1: H1Conn | null = null;
  /** @internal WebSocket state once upgraded. */ ws: WsConn | null = null;
  /** @internal Client connection state (connect info, response head, HTTP body). */ client: ClientConn | null = null;
  /** @internal */ wantWritable = false;
  /** @internal */ inWritable = false;
  /** @internal */ timeoutReason: PendingTimeout = PendingTimeout.NO_PENDING;
  /** @internal */ timeoutAt = 0;
  /** @internal */ rxFlowOn = true;
  /** @internal */ heldRx: Buffer | null = null;
  /** @internal */ peerEnded = false;
  /** True once the connection has been closed; no callbacks follow. */
  closed = false;
  /** Numeric address of the peer, e.g. `127.0.0.1` or `::1` (a client's: once its socket connects). */
  get peerAddress(): string {
    return this.#peerAddress;
  }
  /** The peer's port. */
  get peerPort(): number {
    return this.#peerPort;
  }
  #peerAddress: string;
  #peerPort: number;
  #vhost: Vhost;

  /** @internal */
  constructor(readonly context: Context, vhost: Vhost, socket: Socket | null, role: Role, protocol: Protocol, makeSession = true) {
    this.#vhost = vhost;
    this.socket = socket;
    this.role = role;
    this.protocol = protocol;
    this.user = makeSession && protocol.createSessionData ? protocol.createSessionData() : undefined;
    this.#peerAddress = socket?.remoteAddress ?? '';
    this.#peerPort = socket?.remotePort ?? 0;
  }

  /** @internal A client socket has connected: note whom to. */
  notePeer(socket: Socket): void {
    this.#peerAddress = socket.remoteAddress ?? '';
    this.#peerPort = socket.remotePort ?? 0;
  }

  /** The vhost this connection belongs to (it may change once Host is known). */
  get vhost(): Vhost {
    return this.#vhost;
  }

  /** @internal */
  setVhost(vh: Vhost): void {
    this.#vhost = vh;
  }

  /** @internal Move to another vhost of the same port (Host or SNI chose it): its first protocol takes over. */
  switchVhost(vh: Vhost): void {
    this.#vhost = vh;
    this.protocol = vh.protocols[0];
    this.user = this.protocol.createSessionData ? this.protocol.createSessionData() : undefined;
  }

  /** True when this connection is encrypted with TLS (lws's `lws_is_ssl`). */
  isSsl(): boolean {
    return this.socket instanceof TLSSocket;
  }

  /**
   * What the TLS handshake settled, or null on a clear-text connection:
   * version, cipher, ALPN protocol, the SNI name the client asked for and,
   * when one was presented, the peer certificate's subject CN.
   *
   * ```ts
   * const t = wsi.tlsInfo(); // { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', alpn: 'http/1.1', ... }
   * ```
   */
  tlsInfo(): { version: string | null; cipher: string; alpn: string | null; servername: string | null; peerCN: string | null } | null {
    const t = this.socket;
    if (!(t instanceof TLSSocket)) return null;
    const peer = t.getPeerCertificate();
    const cn = peer && peer.subject ? peer.subject.CN : undefined;
    return {
      version: t.getProtocol(),
      cipher: t.getCipher()?.name ?? '',
      alpn: typeof t.alpnProtocol === 'string' ? t.alpnProtocol : null,
      servername: typeof t.servername === 'string' ? t.servername : null,
      peerCN: typeof cn === 'string' ? cn : null,
    };
  }

  /** The name of the current role: `h1`, `ws`, `raw-skt` … */
  get roleName(): string {
    return this.role.name;
  }

  /**
   * Call this connection's protocol callback. A non-zero return closes the
   * connection and is passed back so the caller can stop what it was doing.
   * @internal
   */
  callProtocol(reason: Reason, input?: CallbackInput, protocol: Protocol = this.protocol): number {
    if (this.closed && reason !== Reason.CLOSED_HTTP && reason !== Reason.CLOSED &&
      reason !== Reason.WSI_DESTROY && reason !== Reason.RAW_CLOSE &&
      reason !== Reason.CLIENT_CLOSED && reason !== Reason.CLOSED_CLIENT_HTTP &&
      reason !== Reason.HTTP_DROP_PROTOCOL) return -1;
    let r: number | void;
    try {
      r = protocol.callback(this, reason, this.user, input);
    } catch (e) {
      log.err('protocol "%s" callback threw on reason %s: %s', protocol.name, Reason[reason] ?? reason,
        e instanceof Error ? e.stack ?? e.message : String(e));
      r = -1;
    }
    if (typeof r === 'number' && r !== 0) {
      if (!this.closed) this.close();
      return r;
    }
    return 0;
  }

  /** @internal Call the protocol and return its answer without acting on it. */
  callProtocolRaw(reason: Reason, input?: CallbackInput): number {
    try {
      const r = this.protocol.callback(this, reason, this.user, input);
      return typeof r === 'number' ? r : 0;
    } catch (e) {
      this.context.reportCallbackError(this.protocol, reason, e);
      return -1;
    }
  }

  /**
   * Ask for a WRITEABLE callback (SERVER_WRITEABLE, HTTP_WRITEABLE …) when the
   * socket can take more. It comes on a later turn of the event loop, and not
   * before a choked socket has drained. Returns false if the connection is closed.
   */
  callbackOnWritable(): boolean {
    if (this.closed) return false;
    this.wantWritable = true;
    this.context.scheduleWritable(this);
    return true;
  }

  /**
   * Send `buf` as `flags` says (`Write.HTTP`, `Write.HTTP_HEADERS`,
   * `Write.TEXT | Write.NO_FIN` …). Returns the number of bytes taken from
   * `buf` or -1 if the connection cannot send (then close it).
   *
   * The whole buffer is always taken: what the kernel does not accept now is
   * held by the library and sent first, and the connection is reported as
   * choked (no WRITEABLE) until it drains.
   */
  write(buf: Uint8Array, flags: number): number {
    if (this.closed || !this.socket) return -1;
    if (!this.inWritable && logVisible(LogLevel.DEBUG))
      log.debug('wsi %d: write outside a WRITEABLE callback', this.id);
    return this.role.write(this, buf, flags);
  }

  /**
   * True when the socket holds more unsent data than the high-water mark:
   * write nothing more now and wait for the next WRITEABLE.
   */
  sendPipeChoked(): boolean {
    const s = this.socket;
    return !s || s.destroyed || s.writableNeedDrain || (this.ws !== null && this.ws.txChoked);
  }

  /** Bytes the library holds for this connection that the kernel has not taken yet. */
  partialBuffered(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** How much this connection may send now by peer credit: -1 (no limit) on HTTP/1. */
  getPeerWriteAllowance(): number {
    return -1;
  }

  /**
   * Arm (or with reason `NO_PENDING` / secs 0, disarm) this connection's one
   * pending timeout. `TO_KILL_ASYNC` closes at the next check, `TO_KILL_SYNC`
   * closes now.
   */
  setTimeout(reason: PendingTimeout, secs: number): void {
    if (this.closed) return;
    if (secs === TO_KILL_SYNC) {
      this.close();
      return;
    }
    if (reason === PendingTimeout.NO_PENDING || secs === 0) {
      this.timeoutReason = PendingTimeout.NO_PENDING;
      this.context.unwatchTimeout(this);
      return;
    }
    if (secs !== TO_KILL_ASYNC && (!Number.isFinite(secs) || secs < 0))
      throw new RangeError(`setTimeout: secs must be a positive number, TO_KILL_ASYNC or TO_KILL_SYNC, got ${secs}`);
    this.timeoutReason = reason;
    this.timeoutAt = secs === TO_KILL_ASYNC ? 0 : Date.now() + secs * 1000;
    this.context.watchTimeout(this);
  }

  /**
   * Stop (false) or restart (true) reading from this connection. While
   * stopped nothing is read from the socket, so TCP pushes back on the peer;
   * data already read is held and delivered after re-enabling, without
   * waiting for new network data.
   */
  rxFlowControl(enable: boolean): void {
    if (this.closed) return;
    if (this.rxFlowOn === enable) return;
    this.rxFlowOn = enable;
    const s = this.socket;
    if (!enable) {
      s?.pause();
      return;
    }
    // "Forced service": what was read before stopping is delivered now,
    // without waiting for the network to say anything new.
    setImmediate(() => {
      if (this.closed || !this.rxFlowOn) return;
      const held = this.heldRx;
      this.heldRx = null;
      if (held || this.ws) this.role.rx(this, held ?? Buffer.alloc(0));
      if (!this.closed && this.rxFlowOn && !this.heldRx) s?.resume();
    });
  }

  /** @internal Bytes from the socket, held while rx flow control is off. */
  deliverRx(buf: Buffer): void {
    if (this.closed) return;
    if (!this.rxFlowOn) {
      this.heldRx = this.heldRx ? Buffer.concat([this.heldRx, buf]) : buf;
      this.socket?.pause();
      return;
    }
    this.role.rx(this, buf);
  }

  /**
   * Close the connection now. The role's close callbacks (CLOSED_HTTP,
   * CLOSED …) and WSI_DESTROY are delivered before this returns. Data already
   * queued is flushed first unless `flush` is false.
   */
  close(flush = true): void {
    if (this.closed) return;
    this.closed = true;
    this.wantWritable = false;
    this.context.unwatchTimeout(this);
    let last: void | ((done: () => void) => void) = undefined;
    try {
      last = this.role.closing(this, flush);
    } finally {
      this.context.wsiClosed(this);
      const s = this.socket;
      if (s && !s.destroyed) {
        if (!flush) s.destroy();
        else if (last) {
          // The role's last bytes are still being made: end once they are written, or give up.
          const t = setTimeout(() => s.destroy(), LAST_BYTES_MS);
          t.unref();
          s.once('close', () => clearTimeout(t));
          last(() => this.#linger(s));
        } else this.#linger(s);
      }
    }
  }

  /**
   * End the socket after what is queued: keep draining the peer so an
   * unread request does not turn our last answer into an RST, and destroy
   * it if the peer never lets it finish.
   */
  #linger(s: Socket): void {
    if (s.destroyed) return;
    // Ending a TLS connection sends close_notify (destroying it does not).
    if (s instanceof TLSSocket && s.encrypted && this.vhost.tls) reportSslInfo(this, CLOSE_NOTIFY_SENT);
    const ms = s.writableLength > 0 ? 5000 : 2000;
    s.end();
    s.resume();
    const t = setTimeout(() => s.destroy(), ms);
    t.unref();
    s.once('close', () => clearTimeout(t));
  }

  // ---- WebSocket ("Fragmented messages", "Closing connections") ----

  /** In RECEIVE: is this the last piece of the message? */
  isFinalFragment(): boolean {
    return this.ws?.isFinalFragment ?? false;
  }

  /** In RECEIVE: is this the first piece of the message? */
  isFirstFragment(): boolean {
    return this.ws?.isFirstFragment ?? false;
  }

  /** In RECEIVE: bytes of the current frame still to come after this piece. */
  remainingPacketPayload(): number {
    return this.ws?.remainingPacketPayload ?? 0;
  }

  /** In RECEIVE: is the message binary (not text)? */
  frameIsBinary(): boolean {
    return this.ws?.frameIsBinary ?? false;
  }

  /**
   * Change an option of an extension active on this connection (lws's
   * `lws_set_extension_option`), typically from ESTABLISHED. Returns -1
   * when the extension is not active here, 0 when applied; an unknown
   * option or a bad value throws. permessage-deflate knows `rx_buf_size`,
   * `tx_buf_size` (both as 2^n), `compression_level` and `mem_level`.
   *
   * ```ts
   * wsi.setExtensionOption('permessage-deflate', 'rx_buf_size', '12'); // 4096-byte pieces
   * ```
   */
  setExtensionOption(extension: string, name: string, value: string | number): number {
    return this.ws ? this.ws.setExtensionOption(extension, name, value) : -1;
  }

  /**
   * Set the status and reason of the Close frame sent when this connection
   * closes (return -1 from the callback after calling it). Without it the
   * Close frame carries no status.
   *
   * ```ts
   * wsi.closeReason(1001, 'seeya');
   * return -1;
   * ```
   */
  closeReason(code: number, reason: string | Uint8Array = ''): void {
    if (!this.ws) throw new Error(`closeReason: connection ${this.id} is not a WebSocket (role ${this.role.name})`);
    if (!Number.isInteger(code) || code < 1000 || code > 4999 || code === 1005 || code === 1006 || code === 1015)
      throw new RangeError(`closeReason: ${code} cannot be sent in a Close frame`);
    const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
    if (r.length > 123) throw new RangeError('closeReason: the reason is at most 123 bytes');
    this.ws.setCloseReason(code, r);
  }

  // ---- HTTP request information ("Availability of header information") ----

  /** The request method (`GET`, `POST` …), or undefined when no request is held. */
  get method(): string | undefined {
    return this.h1?.req?.method;
  }

  /** The decoded, normalised request path, without the query. */
  get uri(): string | undefined {
    return this.h1?.req?.path;
  }

  /**
   * A request header as a string, by token or by (case-insensitive) name;
   * repeated headers are joined as lws joins them. Undefined when absent or
   * when the headers have been released (after a WebSocket ESTABLISHED).
   */
  hdrCopy(header: Token | string): string | undefined {
    return this.h1?.req ? this.h1.req.header(header) : this.client?.response?.header(header);
  }

  /** Length in bytes of `hdrCopy(header)`, 0 when absent. */
  hdrTotalLength(header: Token | string): number {
    const v = this.hdrCopy(header);
    return v === undefined ? 0 : Buffer.byteLength(v, 'latin1');
  }

  /** How many times the header appeared. */
  hdrFragmentCount(header: Token | string): number {
    return (this.h1?.req ?? this.client?.response)?.fragments(header).length ?? 0;
  }

  /** The `index`th occurrence of a repeated header. */
  hdrCopyFragment(header: Token | string, index: number): string | undefined {
    return (this.h1?.req ?? this.client?.response)?.fragments(header)[index];
  }

  /** Every request header (on a client connection: response header) as `[lower-case name, value]` pairs, in arrival order. */
  hdrList(): ReadonlyArray<readonly [string, string]> {
    return this.h1?.req?.headers ?? this.client?.response?.headers ?? [];
  }

  // ---- client connections ("Client connections as HTTP[S]") ----

  /**
   * On a client connection, the server's response status (101 for a
   * WebSocket), or 0 before the response head has arrived.
   */
  httpClientStatus(): number {
    return this.client?.response?.status ?? 0;
  }

  /**
   * On an HTTP client connection: take the response body bytes received so
   * far (dechunked), or an empty buffer when none are waiting. Reading
   * stops while more than a bound is unread, so a body can be consumed at
   * the pace of another connection's WRITEABLE. COMPLETED_CLIENT_HTTP comes
   * once the body has ended and everything has been taken.
   *
   * ```ts
   * case Reason.RECEIVE_CLIENT_HTTP: out.push(wsi.httpClientRead()); break;
   * ```
   */
  httpClientRead(): Buffer {
    const c = this.client;
    if (!c) throw new Error(`httpClientRead: connection ${this.id} is not an HTTP client connection (role ${this.role.name})`);
    const out = c.read();
    c.afterRead(this);
    return out;
  }

  /** The `index`th URL argument, decoded, as `name=value` (lws's fragment form). */
  getUrlArg(index: number): string | undefined {
    return this.h1?.req?.args()[index];
  }

  /**
   * The value of the URL argument `name` (decoded), or undefined. lws's
   * `lws_get_urlarg_by_name(wsi, "name=", …)` spelling with a trailing `=` is
   * accepted too.
   */
  getUrlArgByName(name: string): string | undefined {
    const n = name.endsWith('=') ? name : name + '=';
    for (const a of this.h1?.req?.args() ?? []) if (a.startsWith(n)) return a.slice(n.length);
    return undefined;
  }

  // ---- HTTP responses (the same calls will work over HTTP/2) ----

  /** Start a response with its status. */
  addHttpHeaderStatus(code: number): void {
    this.#h1Required('addHttpHeaderStatus').resp.status(code);
  }

  /** Add a response header by name; use lower-case names (HTTP/2 requires it). */
  addHttpHeaderByName(name: string, value: string | number): void {
    this.#h1Required('addHttpHeaderByName').resp.header(name, String(value));
  }

  /** Add a response header by token. */
  addHttpHeaderByToken(token: Token, value: string | number): void {
    this.#h1Required('addHttpHeaderByToken').resp.headerByToken(token, String(value));
  }

  /** Add `content-length`. */
  addHttpHeaderContentLength(length: number): void {
    this.#h1Required('addHttpHeaderContentLength').resp.header('content-length', String(length));
  }

  /**
   * Finish the header block and return it, to be sent with
   * `wsi.write(block, Write.HTTP_HEADERS)`. Without a content-length the
   * body is sent chunked (HTTP/1.1) or delimited by closing (HTTP/1.0).
   *
   * ```ts
   * wsi.addHttpHeaderStatus(200);
   * wsi.addHttpHeaderByName('content-type', 'text/plain');
   * wsi.addHttpHeaderContentLength(body.length);
   * wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
   * wsi.write(body, Write.HTTP_FINAL);
   * ```
   */
  finalizeHttpHeader(): Uint8Array {
    return this.#h1Required('finalizeHttpHeader').finalizeHeaders();
  }

  /**
   * Answer with `code` and a small HTML page (`html` is placed after the
   * heading), then finish the transaction. Returns non-zero if the
   * connection must close.
   */
  returnHttpStatus(code: number, html?: string): number {
    return this.#h1Required('returnHttpStatus').returnStatus(code, html);
  }

  /** Answer with a redirect to `location` (301, 302, 303, 307 or 308). */
  httpRedirect(code: number, location: string): number {
    return this.#h1Required('httpRedirect').redirect(code, location);
  }

  /**
   * Send a file as the response, from WRITEABLE callbacks, in bounded
   * chunks; HTTP_FILE_COMPLETION follows the last byte. Conditional and
   * single-range requests are honoured. Returns -1 (sending nothing) if the
   * file cannot be opened, so the caller can answer otherwise.
   */
  serveHttpFile(path: string, mime: string, extraHeaders?: Readonly<Record<string, string>>): number {
    return this.#h1Required('serveHttpFile').serveFile(path, mime, extraHeaders);
  }

  /**
   * End the current HTTP transaction: the connection goes back to waiting for
   * the next request (keep-alive) or closes. Returns non-zero when it closes.
   * Writing `Write.HTTP_FINAL`, or the last byte of a declared
   * content-length, ends it by itself; calling this again is harmless.
   */
  httpTransactionCompleted(): number {
    return this.#h1Required('httpTransactionCompleted').transactionCompleted();
  }

  #h1Required(what: string): H1Conn {
    const h = this.h1;
    if (!h || this.closed) throw new Error(`${what}: connection ${this.id} is not an open HTTP connection (role ${this.role.name})`);
    return h;
  }
}
