import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Context } from './context.js';
import type { Vhost } from './vhost.js';
import { invokeProtocol, type Protocol, type ReasonInput } from './protocols.js';
import { NO_ROLE, type LastBytes, type RoleOps, type Transport } from './role.js';
import { Reason } from './reasons.js';
import { PendingTimeout, TO_KILL_ASYNC, TO_KILL_SYNC } from './timeouts.js';
import { log, logVisible, LogLevel } from './log.js';
import type { Timer } from './timers.js';
import { peerAddressOf } from './peer.js';
import { runEnding } from './features.js';
import { ErrorCode, rangeError } from './errors.js';

/** Bound on how long a closing connection waits for its role's last bytes (messages still being compressed). */
const LAST_BYTES_MS = 5000;
/** How long an ended socket may take to finish: longer while it still has bytes to send. */
const LINGER_MS = 2000;
const LINGER_SENDING_MS = 5000;
const NO_CHILDREN: readonly Wsi[] = Object.freeze([]);

/** @internal Closes that did not finish are cut; one function for every timer. */
export function destroySocket(s: Socket): void {
  s.destroy();
}

let nextWsiId = 1;

/**
 * What follows the reason when the library delivers it: the input, which
 * may be left out only for reasons whose input may be undefined, then (for
 * `callProtocol`) the protocol to call when not the connection's own.
 */
type RawArgs<R extends Reason> = undefined extends ReasonInput[R]
  ? [input?: ReasonInput[R], answerThrow?: boolean]
  : [input: ReasonInput[R], answerThrow?: boolean];
type DeliveryArgs<R extends Reason> = undefined extends ReasonInput[R]
  ? [input?: ReasonInput[R], protocol?: Protocol]
  : [input: ReasonInput[R], protocol?: Protocol];

/** The reasons `deliverWriteable` hands out, one per role. */
type WriteableReason = Reason.SERVER_WRITEABLE | Reason.CLIENT_WRITEABLE | Reason.HTTP_WRITEABLE |
  Reason.CLIENT_HTTP_WRITEABLE | Reason.RAW_WRITEABLE | Reason.RAW_WRITEABLE_FILE;

/**
 * One connection ("wsi" in lws), or one stream inside a connection (a
 * child, whose `parent` is the connection). It always has exactly one
 * role; the role decides what bytes mean and which callbacks they become.
 * The role's own calls (`hdrCopy`, `closeReason`, `httpClientRead` …)
 * are added by the layers that implement them.
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
  /** @internal A WRITEABLE was asked for and not delivered yet. */
  wantWritable = false;
  /** @internal Inside a WRITEABLE callback. */
  inWritable = false;
  /** @internal The context owes this connection a WRITEABLE on its next service pass. */
  writablePending = false;
  /** @internal In the context's list of connections to serve (maybe no longer pending). */
  writableListed = false;
  /** @internal */ rxFlowOn = true;
  /** @internal Bytes read while rx flow control was off, or left unparsed. */
  heldRx: Buffer | null = null;
  /** @internal The peer ended its side. */
  peerEnded = false;
  /** True once the connection has been closed; no callbacks follow. */
  closed = false;
  /** @internal The address this connection is counted under in the context's peer table; null when not counted. */
  peerKey: string | null = null;
  /** @internal Its place in the context's list of connections (-1: not in it). */
  listIdx = -1;
  #ops: RoleOps = NO_ROLE as RoleOps;
  #state: unknown = null;
  #transport: Transport | null;
  #parent: Wsi | null;
  #children: Wsi[] | null = null;
  #timer: Timer | null = null;
  #timeoutReason = PendingTimeout.NO_PENDING;
  #peerAddress: string;
  #peerPort: number;
  #vhost: Vhost;

  /** @internal Connections are made by the context, a listen socket or `clientConnect`. */
  constructor(
    /** The context this connection belongs to. */
    readonly context: Context,
    vhost: Vhost, protocol: Protocol, transport: Transport | null = null, parent: Wsi | null = null, makeSession = true,
  ) {
    this.#vhost = vhost;
    this.#transport = transport;
    this.#parent = parent;
    this.protocol = protocol;
    this.user = makeSession && protocol.createSessionData ? protocol.createSessionData() : undefined;
    if (parent) {
      this.#peerAddress = parent.#peerAddress;
      this.#peerPort = parent.#peerPort;
    } else {
      const s = transport as Socket | null;
      this.#peerAddress = peerAddressOf(s?.remoteAddress);
      this.#peerPort = s?.remotePort ?? 0;
    }
  }

  /**
   * Numeric address of the peer, e.g. `127.0.0.1` or `::1` (a client's:
   * once its socket connects). An IPv4 peer on an IPv6 socket is given
   * as IPv4 (`127.0.0.1`, not `::ffff:127.0.0.1`).
   */
  get peerAddress(): string {
    return this.#peerAddress;
  }

  /** The peer's port. */
  get peerPort(): number {
    return this.#peerPort;
  }

  /** @internal A client socket has connected: note whom to. */
  notePeer(socket: Socket): void {
    this.#peerAddress = peerAddressOf(socket.remoteAddress);
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

  /** The connection this one is a stream of (lws's `lws_get_parent`), or null. */
  get parent(): Wsi | null {
    return this.#parent;
  }

  /** The streams open inside this connection (lws's `lws_get_child` and siblings). */
  get children(): readonly Wsi[] {
    return this.#children ?? NO_CHILDREN;
  }

  /** @internal */
  addChild(w: Wsi): void {
    (this.#children ??= []).push(w);
  }

  /**
   * @internal A client request becomes a stream of `parent`'s connection
   * (HTTP/2), or with null a connection of its own again (a redirect
   * elsewhere). Only `context.reparentWsi` calls this.
   */
  setParent(parent: Wsi | null): void {
    const old = this.#parent;
    if (old === parent) return;
    const siblings = old ? old.#children : null;
    if (siblings) {
      const i = siblings.indexOf(this);
      if (i >= 0) siblings.splice(i, 1);
    }
    this.#parent = parent;
    if (parent) {
      parent.addChild(this);
      this.#peerAddress = parent.#peerAddress;
      this.#peerPort = parent.#peerPort;
    }
  }

  // ---- role ----

  /** The name of the current role: `h1`, `ws`, `raw` … */
  get roleName(): string {
    return this.#ops.name;
  }

  /** @internal */
  get roleOps(): RoleOps {
    return this.#ops;
  }

  /** @internal */
  get roleState(): unknown {
    return this.#state;
  }

  /** @internal Use `roleTransition()`. */
  setRole(ops: RoleOps, state: unknown): void {
    this.#ops = ops;
    this.#state = state;
  }

  // ---- transport ----

  /** @internal The socket of a connection that has its own (null for a child). */
  get socket(): Socket | null {
    return this.#parent ? null : (this.#transport as Socket | null);
  }

  /** @internal What this connection writes through (its socket, or its stream). */
  get transport(): Transport | null {
    return this.#transport;
  }

  /** @internal A TLS socket wrapping the first, a redirect's new socket, a parked socket taken away. */
  setTransport(t: Transport | null): void {
    this.#transport = t;
  }

  #rootSocket(): Socket | null {
    let w: Wsi = this;
    while (w.#parent) w = w.#parent;
    return w.#transport as Socket | null;
  }

  /** True when this connection is encrypted with TLS (lws's `lws_is_ssl`). */
  isSsl(): boolean {
    return this.#rootSocket() instanceof TLSSocket;
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
    const t = this.#rootSocket();
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

  // ---- protocol callbacks ----

  /**
   * Call this connection's protocol callback. A non-zero return closes the
   * connection and is passed back so the caller can stop what it was doing.
   * A throw is logged and ends the connection as the role says (HTTP 500,
   * WebSocket 1011); -1 is returned.
   * @internal
   */
  callProtocol<R extends Reason>(reason: R, ...[input, protocol = this.protocol]: DeliveryArgs<R>): number {
    if (this.closed && reason !== Reason.CLOSED_HTTP && reason !== Reason.CLOSED &&
      reason !== Reason.WSI_DESTROY && reason !== Reason.RAW_CLOSE && reason !== Reason.RAW_CLOSE_FILE &&
      reason !== Reason.CLIENT_CLOSED && reason !== Reason.CLOSED_CLIENT_HTTP &&
      reason !== Reason.HTTP_DROP_PROTOCOL) return -1;
    let r: number | void;
    try {
      r = invokeProtocol(protocol, this, reason, this.user, input as ReasonInput[R]);
    } catch (e) {
      this.context.reportCallbackError(protocol, reason, e, this);
      this.#threw();
      return -1;
    }
    if (typeof r === 'number' && r !== 0) {
      if (!this.closed) this.close();
      return r;
    }
    return 0;
  }

  /**
   * @internal Call the protocol and return its answer without acting on it.
   * A throw is logged and gives -1; with `answerThrow` it also ends the
   * connection as callProtocol's does (for a caller that checks `closed`).
   */
  callProtocolRaw<R extends Reason>(reason: R, ...[input, answerThrow = false]: RawArgs<R>): number {
    try {
      const r = invokeProtocol(this.protocol, this, reason, this.user, input as ReasonInput[R]);
      return typeof r === 'number' ? r : 0;
    } catch (e) {
      this.context.reportCallbackError(this.protocol, reason, e, this);
      if (answerThrow) this.#threw();
      return -1;
    }
  }

  /** A callback threw: the role tells the peer if it can, and the connection closes. */
  #threw(): void {
    if (this.closed) return;
    const ops = this.#ops;
    if (ops.callbackThrew) ops.callbackThrew(this, this.#state);
    if (!this.closed) this.close();
  }

  // ---- writeable ----

  /**
   * Ask for a WRITEABLE callback (SERVER_WRITEABLE, HTTP_WRITEABLE …) when the
   * connection can take more. It comes on a later turn of the event loop, and
   * not before a choked connection has drained. Returns false if the
   * connection is closed.
   */
  callbackOnWritable(): boolean {
    if (this.closed) return false;
    this.wantWritable = true;
    this.context.scheduleWritable(this);
    this.context.poll?.update(this);
    return true;
  }

  /**
   * @internal The one way a WRITEABLE reaches user code: only when one was
   * asked for, flagged so writes outside it can be reported. With `cork`,
   * what the callback writes leaves in one go.
   */
  deliverWriteable(reason: WriteableReason, cork = false): void {
    if (!this.wantWritable) return;
    this.wantWritable = false;
    this.inWritable = true;
    const t = cork ? this.#transport : null;
    t?.cork();
    try {
      this.callProtocol(reason);
    } finally {
      this.inWritable = false;
      t?.uncork();
      this.context.poll?.update(this);
    }
  }

  /** @internal The connection can write again (the scheduler found it unchoked). */
  serviceWritable(): void {
    this.#ops.writable(this, this.#state);
  }

  /** @internal The transport drained below its high-water mark. */
  transportDrained(): void {
    if (!this.closed) this.context.scheduleWritable(this);
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
    if (this.closed || !this.#transport) return -1;
    if (!this.inWritable && logVisible(LogLevel.DEBUG))
      log.debug('wsi %d: write outside a WRITEABLE callback', this.id);
    return this.#ops.write(this, this.#state, buf, flags);
  }

  /**
   * True when more is waiting to be sent than the high-water mark allows
   * (in the socket, in the compressor, or past a stream's credit): write
   * nothing more now and wait for the next WRITEABLE.
   */
  sendPipeChoked(): boolean {
    const t = this.#transport;
    if (!t || t.destroyed || t.writableNeedDrain) return true;
    const ops = this.#ops;
    return ops.choked !== undefined && ops.choked(this, this.#state);
  }

  /** Bytes the library holds for this connection that the kernel has not taken yet. */
  partialBuffered(): number {
    return this.#transport?.writableLength ?? 0;
  }

  /**
   * How many bytes the peer lets this connection send now (lws's
   * `lws_get_peer_write_allowance`): -1 when only the socket limits it
   * (HTTP/1, WebSocket), the stream's credit for a stream.
   */
  getPeerWriteAllowance(): number {
    const ops = this.#ops;
    return ops.txCredit ? ops.txCredit(this, this.#state) : -1;
  }

  // ---- timeouts ----

  /** @internal The reason of the pending timeout, NO_PENDING when none. */
  get timeoutReason(): PendingTimeout {
    return this.#timeoutReason;
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
      this.#timeoutReason = PendingTimeout.NO_PENDING;
      // Most are armed again soon (the next request's wait); close() stops it for good.
      this.#timer?.suspend();
      return;
    }
    if (secs !== TO_KILL_ASYNC && (!Number.isFinite(secs) || secs < 0))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `setTimeout: secs must be a positive number, TO_KILL_ASYNC or TO_KILL_SYNC, got ${secs}`);
    this.#timeoutReason = reason;
    (this.#timer ??= this.context.timers.timer(Wsi.#timedOut, this)).start(secs === TO_KILL_ASYNC ? 0 : secs * 1000);
  }

  static #timedOut = (w: Wsi): void => {
    const reason = w.#timeoutReason;
    if (reason === PendingTimeout.NO_PENDING || w.closed) return;
    w.#timeoutReason = PendingTimeout.NO_PENDING;
    log.info('wsi %d: timeout %s', w.id, PendingTimeout[reason] ?? reason);
    const ops = w.#ops;
    if (ops.timeout) ops.timeout(w, w.#state, reason);
    else w.close(false);
  };

  // ---- receiving ----

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
    const t = this.#transport;
    if (!enable) {
      t?.pause();
      return;
    }
    // "Forced service": what was read before stopping is delivered now,
    // without waiting for the network to say anything new.
    setImmediate(() => {
      if (this.closed || !this.rxFlowOn) return;
      const held = this.heldRx;
      this.heldRx = null;
      const ops = this.#ops;
      if (ops.rxResumed) ops.rxResumed(this, this.#state, held);
      else if (held) ops.rx(this, this.#state, held);
      if (!this.closed && this.rxFlowOn && !this.heldRx) t?.resume();
    });
  }

  /** @internal Bytes from the transport, held while rx flow control is off. */
  deliverRx(buf: Buffer): void {
    if (this.closed) return;
    if (!this.rxFlowOn) {
      this.heldRx = this.heldRx ? Buffer.concat([this.heldRx, buf]) : buf;
      this.#transport?.pause();
      return;
    }
    this.#ops.rx(this, this.#state, buf);
  }

  /** @internal Hold bytes the role could not take now, ahead of anything newer, and stop reading. */
  holdRx(rest: Buffer): void {
    if (rest.length === 0) return;
    // No copy: a role that stops parsing once per message would otherwise copy the rest each time.
    this.heldRx = this.heldRx ? Buffer.concat([rest, this.heldRx]) : rest;
    this.#transport?.pause();
  }

  /** @internal The peer ended its side of the transport. */
  transportEnded(): void {
    this.peerEnded = true;
    if (this.closed) return;
    const ops = this.#ops;
    if (ops.peerEnded) ops.peerEnded(this, this.#state);
    else this.close();
  }

  /** @internal The transport failed. */
  transportError(e: NodeJS.ErrnoException): void {
    if (this.closed) return;
    // The role may take it over (a client retrying a stale kept connection).
    if (this.#ops.transportError?.(this, this.#state, e)) return;
    this.close(false);
  }

  // ---- closing ----

  /** @internal The vhost is going away: let the role say so before it closes. */
  goingAway(): void {
    if (!this.closed) this.#ops.goingAway?.(this, this.#state);
  }

  /** @internal Finish gracefully if the role can: true when it will close the connection itself, within a bound. */
  drain(): boolean {
    return !this.closed && this.#ops.drain !== undefined && this.#ops.drain(this, this.#state);
  }

  /** @internal See `RoleOps.quiesce`. */
  quiesce(): boolean {
    return !this.closed && this.#ops.quiesce !== undefined && this.#ops.quiesce(this, this.#state);
  }

  /**
   * Close the connection now (and the streams inside it). The role's close
   * callbacks (CLOSED_HTTP, CLOSED …) and WSI_DESTROY are delivered before
   * this returns. Data already queued is flushed first unless `flush` is false.
   */
  close(flush = true): void {
    if (this.closed) return;
    this.closed = true;
    this.wantWritable = false;
    this.#timer?.stop();
    this.#timeoutReason = PendingTimeout.NO_PENDING;
    // A stream cannot outlive its connection.
    if (this.#children) for (const c of [...this.#children]) c.close(flush);
    let last: void | LastBytes = undefined;
    try {
      last = this.#ops.closing(this, this.#state, flush);
    } finally {
      const siblings = this.#parent ? this.#parent.#children : null;
      if (siblings) {
        const i = siblings.indexOf(this);
        if (i >= 0) siblings.splice(i, 1);
      }
      this.context.wsiClosed(this);
      const t = this.#transport;
      if (t && !t.destroyed) {
        if (!flush) t.destroy();
        else if (last) {
          // The role's last bytes are still being made: end once they are written, or give up.
          const s = this.socket;
          if (s) {
            const tm = this.context.timers.timer(destroySocket, s);
            tm.start(LAST_BYTES_MS);
            s.once('close', () => tm.stop());
          }
          last(() => this.#linger(t));
        } else this.#linger(t);
      }
    }
  }

  /**
   * End the transport after what is queued. A socket keeps draining the
   * peer so an unread request does not turn our last answer into an RST,
   * and is destroyed if the peer never lets it finish.
   */
  #linger(t: Transport): void {
    if (t.destroyed) return;
    const s = this.socket;
    if (!s) {
      t.end(); // a stream: its connection's role finishes it
      return;
    }
    runEnding(this, s);
    const ms = s.writableLength > 0 ? LINGER_SENDING_MS : LINGER_MS;
    s.end();
    s.resume();
    this.context.lingerSocket(s, ms);
  }
}
