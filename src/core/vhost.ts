import type { Context } from './context.js';
import { invokeProtocol, type Protocol, type Pvo, type PvoOptions, type ReasonInput } from './protocols.js';
import { Reason } from './reasons.js';
import { type HttpLimits, resolveLimits } from './limits.js';
import { KNOWN_OPTIONS, hasOption, Option } from './options.js';
import type { Wsi } from './wsi.js';
import { resolveIface } from './iface.js';
import { ErrorCode, rangeError, typeError } from './errors.js';

/**
 * What a vhost is made from (the VH members of lws's creation info). The
 * layers above core add their own fields (mounts, TLS, ws …).
 */
export interface VhostCreationInfo {
  /** The name matched against Host / SNI; default `localhost`. */
  vhostName?: string;
  /**
   * TCP port to listen on; 0 picks a free one (read it back from
   * `vhost.port` after `listening`); absent means this vhost does not listen.
   */
  port?: number;
  /**
   * Address or network interface name (`eth0`) to listen on; default all
   * interfaces. With `Option.UNIX_SOCK` it is the path of a UNIX domain
   * socket to listen on instead (`@name` for the abstract namespace).
   */
  iface?: string;
  /**
   * Keep this vhost's traffic on the `iface` interface: listen on its
   * address and make client connections from it. (lws uses
   * SO_BINDTODEVICE; Node cannot, so this binds to the interface's address.)
   */
  bindIface?: boolean;
  /** Protocols; index 0 receives HTTP. Default: one `http-only` protocol on `callbackHttpDummy`. */
  protocols?: readonly Protocol[];
  /** Per-vhost options keyed by protocol name. */
  pvo?: Pvo;
  /** `Option.*` bits for this vhost. */
  options?: number;
  /** HTTP limits and timeouts; each absent field keeps its default. */
  limits?: Partial<HttpLimits>;
}

/** Which vhost a name (a Host header, an SNI name) selects among those sharing a listen socket. */
export interface VhostSelector {
  selectVhost(name: string | undefined): Vhost;
  /** The vhost `name` names, or null when it names none of them (no fallback to the first). */
  matchVhost(name: string | undefined): Vhost | null;
  /** The first live vhost. */
  defaultVhost(): Vhost | undefined;
}

/**
 * A named virtual server: its own protocols, mounts, options and limits.
 * Vhosts on the same port share one listen socket.
 */
export class Vhost {
  /** The name matched against Host and SNI (`vhostName`, default `localhost`). */
  readonly name: string;
  /** Its protocols, in order; the first receives HTTP. */
  readonly protocols: readonly Protocol[];
  /** Per-vhost options keyed by protocol name. */
  readonly pvo: Pvo;
  /** The `Option.*` bits of this vhost. */
  readonly options: number;
  /** Its HTTP limits: the context's, with this vhost's own over them. */
  readonly limits: Readonly<HttpLimits>;
  /** The `iface` as given (address, interface name or UNIX socket path). */
  readonly iface: string | undefined;
  /** @internal Where to listen: the resolved address, or the UNIX socket path. */
  readonly listenAt: { host: string | undefined } | { path: string };
  /** @internal Local address client connections of this vhost bind to (`bindIface`). */
  readonly clientLocalAddress: string | undefined;
  /** Resolves once the listen socket is bound (immediately if this vhost does not listen). */
  readonly listening: Promise<void> = Promise.resolve();
  #port: number | undefined;
  #boundPort: (() => number) | null = null;
  #priv = new Map<Protocol, unknown>();
  #destroyed = false;

  /** @internal Use `context.createVhost()`. */
  constructor(
    /** The context this vhost belongs to. */
    readonly context: Context,
    info: VhostCreationInfo,
  ) {
    const opts = info.options ?? 0;
    if ((opts & ~KNOWN_OPTIONS) !== 0)
      throw rangeError(ErrorCode.UNKNOWN_OPTION, `vhost options: unknown option bits 0x${(opts & ~KNOWN_OPTIONS).toString(16)}`);
    this.name = info.vhostName ?? 'localhost';
    if (!info.protocols || !info.protocols.length)
      throw typeError(ErrorCode.INVALID_OPTION, `vhost ${this.name}: at least one protocol is needed`);
    this.protocols = [...info.protocols];
    for (const p of this.protocols) {
      if (!p || typeof p.name !== 'string' || typeof p.callback !== 'function')
        throw typeError(ErrorCode.INVALID_OPTION, `vhost ${this.name}: every protocol needs a name and a callback`);
    }
    this.pvo = info.pvo ?? {};
    this.options = opts;
    this.limits = resolveLimits(context.limits, info.limits);
    this.iface = info.iface;
    this.#port = info.port;
    if (info.port !== undefined && (!Number.isInteger(info.port) || info.port < 0 || info.port > 65535))
      throw rangeError(ErrorCode.INVALID_OPTION, `vhost ${this.name}: port must be 0..65535, got ${info.port}`);
    if (hasOption(opts, Option.UNIX_SOCK)) {
      if (!info.iface) throw typeError(ErrorCode.INVALID_OPTION, `vhost ${this.name}: Option.UNIX_SOCK needs iface set to the socket's path`);
      this.listenAt = { path: info.iface };
      this.clientLocalAddress = undefined;
    } else {
      const host = info.iface === undefined ? undefined : resolveIface(info.iface, this.name);
      this.listenAt = { host };
      this.clientLocalAddress = info.bindIface ? host : undefined;
    }
    if (info.bindIface && !info.iface) throw typeError(ErrorCode.INVALID_OPTION, `vhost ${this.name}: bindIface needs iface`);
  }

  /** The port this vhost listens on (the real one once bound when 0 was asked). */
  get port(): number | undefined {
    return this.#boundPort ? this.#boundPort() : this.#port;
  }

  /** @internal */
  get requestedPort(): number | undefined {
    return this.#port;
  }

  /** @internal Where the bound port is read from, and when the socket is bound. */
  setListening(p: Promise<void>, boundPort: () => number): void {
    (this as { listening: Promise<void> }).listening = p;
    this.#boundPort = boundPort;
  }

  /** Does this vhost listen (on a port or a UNIX socket)? */
  get listens(): boolean {
    return this.#port !== undefined || 'path' in this.listenAt;
  }

  /** The protocol named `name` on this vhost. */
  protocolByName(name: string): Protocol | undefined {
    return this.protocols.find((p) => p.name === name);
  }

  /** The per-vhost options of a protocol (from `pvo`), empty when none. */
  protocolOptions(protocol: Protocol | string): PvoOptions {
    const name = typeof protocol === 'string' ? protocol : protocol.name;
    return this.pvo[name] ?? {};
  }

  /**
   * This vhost's private data for `protocol` (lws's
   * `lws_protocol_vh_priv_get`), usually set at PROTOCOL_INIT.
   */
  protocolVhPriv<T>(protocol: Protocol): T | undefined {
    return this.#priv.get(protocol) as T | undefined;
  }

  /** Set this vhost's private data for `protocol` (`lws_protocol_vh_priv_zalloc`). */
  setProtocolVhPriv<T>(protocol: Protocol, data: T): T {
    this.#priv.set(protocol, data);
    return data;
  }

  /** Ask for a WRITEABLE callback on every connection of `protocol` on this vhost. */
  callbackOnWritableAllProtocol(protocol: Protocol): number {
    let n = 0;
    for (const w of this.context.liveWsis()) if (w.vhost === this && w.protocol === protocol && w.callbackOnWritable()) n++;
    return n;
  }

  /** Re-enable reading on every connection of `protocol` on this vhost. */
  rxFlowAllowAllProtocol(protocol: Protocol): void {
    for (const w of this.context.liveWsis()) if (w.vhost === this && w.protocol === protocol) w.rxFlowControl(true);
  }

  /** @internal PROTOCOL_INIT for each protocol, with its pvo options as input. */
  initProtocols(): void {
    for (const p of this.protocols) this.callVhostProtocol(p, Reason.PROTOCOL_INIT, this.protocolOptions(p));
  }

  /** True once the vhost has been destroyed. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * @internal The first half of destroying: each role says it is going
   * away, and connections that finish gracefully (HTTP/2 streams after a
   * GOAWAY) are left to close themselves, within their bound; the others
   * close now. Returns those still draining, or null when already done.
   */
  beginDestroy(): Wsi[] | null {
    if (this.#destroyed) return null;
    this.#destroyed = true;
    const draining: Wsi[] = [];
    for (const w of [...this.context.liveWsis()]) {
      if (w.vhost !== this || w.parent) continue;
      w.goingAway();
      if (w.drain()) draining.push(w);
      else w.close();
    }
    return draining;
  }

  /** @internal The second half: close what is left and deliver PROTOCOL_DESTROY. */
  endDestroy(): void {
    for (const w of [...this.context.liveWsis()]) if (w.vhost === this && !w.parent) w.close();
    for (const p of this.protocols) this.callVhostProtocol(p, Reason.PROTOCOL_DESTROY, undefined);
    this.#priv.clear();
  }

  /**
   * @internal A protocol lifecycle callback: it has no connection, so lws
   * passes a placeholder wsi bound to the vhost, and so do we.
   */
  callVhostProtocol<R extends Reason>(p: Protocol, reason: R, input: ReasonInput[R]): number {
    if (!this.context.runsProtocols) return 0;
    const wsi = this.context.placeholderWsi(this, p);
    try {
      const r = invokeProtocol(p, wsi, reason, undefined, input);
      return typeof r === 'number' ? r : 0;
    } catch (e) {
      this.context.reportCallbackError(p, reason, e, wsi);
      return -1;
    }
  }

  /**
   * Remove this vhost while the context runs (lws's `lws_vhost_destroy`):
   * its connections close (WebSockets with 1001 "going away"), its
   * protocols get PROTOCOL_DESTROY, and its listen socket closes if no
   * other vhost shares it. Resolves when that socket is closed.
   */
  destroy(): Promise<void> {
    return this.context.destroyVhost(this);
  }

  /** @internal */
  toString(): string {
    return `vhost ${this.name}${this.port !== undefined ? ':' + this.port : ''}`;
  }

  /** @internal */
  ownsWsi(w: Wsi): boolean {
    return w.vhost === this;
  }
}
