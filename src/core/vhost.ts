import type { Context } from './context.js';
import type { Protocol, Pvo, PvoOptions } from './protocols.js';
import { Reason } from './reasons.js';
import { type HttpLimits, resolveLimits } from './limits.js';
import { type HttpMount, type ResolvedMount, resolveMounts } from '../http/mount.js';
import { callbackHttpDummy } from '../http/dummy.js';
import { KNOWN_OPTIONS } from './options.js';
import type { Listener } from '../roles/listen/listen.js';
import type { Wsi } from './wsi.js';
import { resolveWsOptions, type WsOptions } from '../roles/ws/options.js';
import { VhostTls, wantsTls, type VhostTlsInfo } from '../tls/vhost-tls.js';
import { resolveIface } from './iface.js';
import { hasOption, Option } from './options.js';
import type { ClientSslOptions } from '../client/info.js';
import { ClientPool } from '../client/keepalive-pool.js';
import { limiterOf } from '../roles/ws/deflate/limiter.js';

/** What a vhost is made from (the VH members of lws's creation info). */
export interface VhostCreationInfo extends VhostTlsInfo {
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
  /** URL space served by the library. */
  mounts?: readonly HttpMount[];
  /** Per-vhost options keyed by protocol name. */
  pvo?: Pvo;
  /** `Option.*` bits for this vhost. */
  options?: number;
  /** HTTP limits and timeouts; each absent field keeps its default. */
  limits?: Partial<HttpLimits>;
  /** `server:` header value on responses; absent sends none. */
  serverString?: string;
  /** Extra headers added to every HTTP response of this vhost. */
  headers?: Readonly<Record<string, string>>;
  /** WebSocket limits and settings; each absent field keeps its default. */
  ws?: Partial<WsOptions>;
}


const DEFAULT_PROTOCOLS: readonly Protocol[] = [{ name: 'http-only', callback: callbackHttpDummy }];

/**
 * A named virtual server: its own protocols, mounts, options and limits.
 * Vhosts on the same port share one listen socket.
 */
export class Vhost {
  readonly name: string;
  readonly protocols: readonly Protocol[];
  readonly pvo: Pvo;
  readonly options: number;
  readonly limits: Readonly<HttpLimits>;
  readonly wsOptions: Readonly<WsOptions>;
  /** @internal */ readonly mounts: readonly ResolvedMount[];
  /** @internal Pre-rendered `name: value\r\n` lines for every TLS response (with STS when asked for). */
  readonly extraHeaderLines: string;
  /** @internal The same lines for clear-text responses: never STS (RFC 6797 7.2). */
  readonly extraHeaderLinesClear: string;
  readonly serverString: string | undefined;
  /** Resolves once the listen socket is bound (immediately if this vhost does not listen). */
  readonly listening: Promise<void>;
  /** @internal */ listener: Listener | null = null;
  /** The `iface` as given (address, interface name or UNIX socket path). */
  readonly iface: string | undefined;
  /** @internal Where to listen: the resolved address, or the UNIX socket path. */
  readonly listenAt: { host: string | undefined } | { path: string };
  /** @internal Local address client connections of this vhost bind to (`bindIface`). */
  readonly clientLocalAddress: string | undefined;
  /** The TLS side of this vhost, null when it serves clear text. */
  readonly tls: VhostTls | null;
  /** @internal Defaults for TLS client connections made on this vhost (`initClientSsl`). */
  clientSsl: ClientSslOptions | undefined;
  #clientPool: ClientPool | null = null;
  #port: number | undefined;
  #priv = new Map<Protocol, unknown>();
  #destroyed = false;

  /** @internal Use `context.createVhost()`. */
  constructor(readonly context: Context, info: VhostCreationInfo) {
    const opts = info.options ?? 0;
    if ((opts & ~KNOWN_OPTIONS) !== 0) throw new RangeError(`vhost options: unknown option bits 0x${(opts & ~KNOWN_OPTIONS).toString(16)}`);
    this.name = info.vhostName ?? 'localhost';
    this.protocols = info.protocols && info.protocols.length ? [...info.protocols] : DEFAULT_PROTOCOLS;
    for (const p of this.protocols) {
      if (!p || typeof p.name !== 'string' || typeof p.callback !== 'function')
        throw new TypeError(`vhost ${this.name}: every protocol needs a name and a callback`);
    }
    this.pvo = info.pvo ?? {};
    this.options = opts;
    this.limits = resolveLimits(context.limits, info.limits);
    this.mounts = resolveMounts(info.mounts);
    this.wsOptions = resolveWsOptions({ ...context.wsOptions, ...info.ws });
    this.serverString = info.serverString ?? context.serverString;
    let lines = '';
    for (const [k, v] of Object.entries(info.headers ?? {})) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || /[\r\n\0]/.test(v))
        throw new TypeError(`vhost ${this.name}: invalid header ${JSON.stringify(k)}`);
      lines += `${k.toLowerCase()}: ${v}\r\n`;
    }
    if (this.serverString !== undefined) lines += `server: ${this.serverString}\r\n`;
    this.extraHeaderLinesClear = lines;
    if (hasOption(opts, Option.STS)) lines += 'strict-transport-security: max-age=15768000 ; includeSubDomains\r\n';
    this.extraHeaderLines = lines;
    this.iface = info.iface;
    this.#port = info.port;
    if (info.port !== undefined && (!Number.isInteger(info.port) || info.port < 0 || info.port > 65535))
      throw new RangeError(`vhost ${this.name}: port must be 0..65535, got ${info.port}`);
    if (hasOption(opts, Option.UNIX_SOCK)) {
      if (!info.iface) throw new TypeError(`vhost ${this.name}: Option.UNIX_SOCK needs iface set to the socket's path`);
      this.listenAt = { path: info.iface };
      this.clientLocalAddress = undefined;
    } else {
      const host = info.iface === undefined ? undefined : resolveIface(info.iface, this.name);
      this.listenAt = { host };
      this.clientLocalAddress = info.bindIface ? host : undefined;
    }
    if (info.bindIface && !info.iface) throw new TypeError(`vhost ${this.name}: bindIface needs iface`);
    this.listening = Promise.resolve();
    this.tls = wantsTls(info, opts)
      ? new VhostTls(this.name, info, opts, (what, setup) => this.#callVhostProtocol(this.protocols[0],
        what === 'requires-private-key' ? Reason.OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY : Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS, setup))
      : null;
    if (!this.tls) {
      for (const o of [Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT, Option.ALLOW_NON_SSL_ON_SSL_PORT, Option.REDIRECT_HTTP_TO_HTTPS, Option.SSL_ECDH]) {
        if (hasOption(opts, o)) throw new TypeError(`vhost ${this.name}: a TLS option is set but the vhost has no certificate (sslCertFilepath / sslCert, or Option.CREATE_VHOST_SSL_CTX)`);
      }
    }
  }

  /**
   * Replace this vhost's certificate material while running: new
   * handshakes use it, live connections keep theirs. With no argument the
   * same files are read again (after renewing them on disk). Throws, and
   * keeps the old certificate, if the new one does not load.
   *
   * ```ts
   * vhost.reloadTls();                                   // re-read the files
   * vhost.reloadTls({ sslCert: newPem, sslPrivateKey: newKey });
   * ```
   */
  reloadTls(update?: VhostTlsInfo): void {
    if (!this.tls) throw new Error(`reloadTls: ${this} has no TLS`);
    this.tls.reload(update);
  }

  /**
   * Prepare this vhost for TLS client connections (lws's
   * `lws_init_vhost_client_ssl`): the settings become the defaults of every
   * `clientConnect` on this vhost that asks for TLS, and
   * OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS is delivered to the first
   * protocol with the settings object, which user code may still change.
   *
   * ```ts
   * vhost.initClientSsl({ ca: readFileSync('my-ca.pem') });
   * context.clientConnect({ vhost, address: 'example.com', port: 443, ssl: true });
   * ```
   */
  initClientSsl(opts: ClientSslOptions = {}): void {
    const o: ClientSslOptions = { ...opts };
    if (this.#callVhostProtocol(this.protocols[0], Reason.OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS, o) !== 0)
      throw new Error(`initClientSsl: ${this}: OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS failed`);
    this.clientSsl = o;
  }

  /** The port this vhost listens on (the real one once bound when 0 was asked). */
  get port(): number | undefined {
    return this.listener?.port ?? this.#port;
  }

  /** @internal */
  get requestedPort(): number | undefined {
    return this.#port;
  }

  /** @internal */
  setListening(p: Promise<void>): void {
    (this as { listening: Promise<void> }).listening = p;
  }

  /** @internal Idle HTTP client connections of this vhost kept for reuse. */
  get clientPool(): ClientPool {
    return (this.#clientPool ??= new ClientPool(this.limits.clientKeepAliveMax, this.limits.clientKeepAliveSecs));
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
    for (const p of this.protocols) this.#callVhostProtocol(p, Reason.PROTOCOL_INIT, this.protocolOptions(p));
  }

  /** @internal */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** @internal Close this vhost's connections and deliver PROTOCOL_DESTROY. */
  destroyInternal(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#clientPool?.clear();
    for (const w of [...this.context.liveWsis()]) {
      if (w.vhost !== this) continue;
      if (w.ws) w.closeReason(1001, 'vhost going away');
      w.close();
    }
    for (const p of this.protocols) this.#callVhostProtocol(p, Reason.PROTOCOL_DESTROY, undefined);
    this.#priv.clear();
    // The connections are closed: their spare zlib streams go now, not at GC.
    limiterOf(this)?.closeSpares();
  }

  #callVhostProtocol(p: Protocol, reason: Reason, input: object | undefined): number {
    // Protocol lifecycle callbacks have no connection; lws passes a
    // placeholder wsi bound to the vhost, and so do we.
    const wsi = this.context.placeholderWsi(this, p);
    try {
      const r = p.callback(wsi, reason, undefined, input);
      return typeof r === 'number' ? r : 0;
    } catch (e) {
      this.context.reportCallbackError(p, reason, e);
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
