import type { Context } from './context.js';
import type { Protocol, Pvo, PvoOptions } from './protocols.js';
import { Reason } from './reasons.js';
import { type HttpLimits, resolveLimits } from './limits.js';
import { type HttpMount, type ResolvedMount, resolveMounts } from '../roles/http/mount.js';
import { callbackHttpDummy } from '../roles/http/dummy.js';
import { KNOWN_OPTIONS } from './options.js';
import type { Listener } from '../roles/listen/listen.js';
import type { Wsi } from './wsi.js';
import { DEFAULT_WS_OPTIONS, type WsOptions } from '../roles/ws/options.js';

/** What a vhost is made from (the VH members of lws's creation info). */
export interface VhostCreationInfo {
  /** The name matched against Host / SNI; default `localhost`. */
  vhostName?: string;
  /**
   * TCP port to listen on; 0 picks a free one (read it back from
   * `vhost.port` after `listening`); absent means this vhost does not listen.
   */
  port?: number;
  /** Address to listen on (default all interfaces). */
  iface?: string;
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

function resolveWsOptions(o: Partial<WsOptions>): WsOptions {
  const out: WsOptions = { ...DEFAULT_WS_OPTIONS };
  for (const [k, v] of Object.entries(o) as [keyof WsOptions, unknown][]) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_WS_OPTIONS)) throw new TypeError(`unknown ws option "${k}"; known: ${Object.keys(DEFAULT_WS_OPTIONS).join(', ')}`);
    if (typeof v !== typeof DEFAULT_WS_OPTIONS[k] || (typeof v === 'number' && (!Number.isFinite(v) || v < 0)))
      throw new TypeError(`ws option ${k} must be a ${typeof DEFAULT_WS_OPTIONS[k]}${typeof v === 'number' ? ' >= 0' : ''}`);
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
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
  /** @internal Pre-rendered `name: value\r\n` lines for every response. */
  readonly extraHeaderLines: string;
  readonly serverString: string | undefined;
  /** Resolves once the listen socket is bound (immediately if this vhost does not listen). */
  readonly listening: Promise<void>;
  /** @internal */ listener: Listener | null = null;
  readonly iface: string | undefined;
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
    this.extraHeaderLines = lines;
    this.iface = info.iface;
    this.#port = info.port;
    if (info.port !== undefined && (!Number.isInteger(info.port) || info.port < 0 || info.port > 65535))
      throw new RangeError(`vhost ${this.name}: port must be 0..65535, got ${info.port}`);
    this.listening = Promise.resolve();
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
    for (const w of [...this.context.liveWsis()]) if (w.vhost === this) w.close(false);
    for (const p of this.protocols) this.#callVhostProtocol(p, Reason.PROTOCOL_DESTROY, undefined);
    this.#priv.clear();
  }

  #callVhostProtocol(p: Protocol, reason: Reason, input: PvoOptions | undefined): void {
    // Protocol lifecycle callbacks have no connection; lws passes a
    // placeholder wsi bound to the vhost, and so do we.
    const wsi = this.context.placeholderWsi(this, p);
    try {
      p.callback(wsi, reason, undefined, input);
    } catch (e) {
      this.context.reportCallbackError(p, reason, e);
    }
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
