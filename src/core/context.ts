import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Vhost, type VhostCreationInfo } from './vhost.js';
import { Wsi } from './wsi.js';
import { Reason } from './reasons.js';
import type { Protocol } from './protocols.js';
import type { Role } from './role.js';
import { PendingTimeout } from './timeouts.js';
import { log } from './log.js';
import { dropPrivileges } from './privileges.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits, resolveLimits } from './limits.js';
import { Option, KNOWN_OPTIONS } from './options.js';
import { Listener } from '../roles/listen/listen.js';
import { FileCache } from '../responders/file/cache.js';
import type { WsOptions } from '../roles/ws/options.js';
import { clientConnect } from '../client/connect.js';
import type { ClientConnectInfo } from '../client/info.js';
import type { Plugin } from '../plugins/plugin.js';
import { loadPlugins } from '../plugins/load.js';
import { type FileOps, checkFops } from '../fops/fops.js';
import { platformFops } from '../fops/platform.js';
import { vhostProtocols, unknownPvoProtocols } from '../plugins/enable.js';

/** What a context is made from; the vhost fields make the default vhost. */
export interface ContextCreationInfo extends VhostCreationInfo {
  /** `Option.*` bits; `Option.EXPLICIT_VHOSTS` skips the default vhost. */
  options?: number;
  /**
   * Most connections at once. Default: the process's open-file limit less a
   * reserve, as lws sizes itself from the fd limit. Connections past it are
   * closed on accept.
   */
  maxConnections?: number;
  /** Default `server:` string for vhosts that do not set their own. */
  serverString?: string;
  /** Bytes of small files kept in memory (revalidated by stat on every use). Default 8 MiB; 0 disables. */
  fileCacheBytes?: number;
  /** Largest file kept in that cache. Default 64 KiB. */
  fileCacheMaxFile?: number;
  /**
   * Seconds of idleness before TCP keepalive probes start on every socket
   * (accepted and client); 0 or absent leaves keepalive off.
   */
  kaTime?: number;
  /**
   * Probes before a silent peer is dropped. Node cannot set this per
   * socket: the system's `net.ipv4.tcp_keepalive_probes` applies (see README).
   */
  kaProbes?: number;
  /**
   * Seconds between probes. Node cannot set this per socket: the system's
   * `net.ipv4.tcp_keepalive_intvl` applies (see README).
   */
  kaInterval?: number;
  /** Group (id or name) to switch to once the listen sockets are bound. */
  gid?: number | string;
  /** User (id or name) to switch to once the listen sockets are bound. */
  uid?: number | string;
  /**
   * Plugins whose protocols join every vhost that enables them (by naming
   * them in its `pvo`; a vhost with no pvo at all gets them all, as in lws).
   */
  plugins?: readonly Plugin[];
  /**
   * Directories to load more plugins from at run time (lws's
   * `plugin_dirs`). Loading is asynchronous: use `createContextAsync`.
   */
  pluginDirs?: readonly string[];
  /** File operations FILE mounts read through (lws's fops); default `platformFops`. */
  fops?: FileOps;
  /**
   * Warn when a vhost's `pvo` names a protocol no plugin provides; default
   * true. Off for a caller that reports those itself (lwsws does, with the
   * config file and line), so each is warned about once.
   */
  warnUnknownPvo?: boolean;
}

const FD_RESERVE = 32;

function processFdLimit(): number {
  try {
    const txt = readFileSync('/proc/self/limits', 'latin1');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(txt);
    if (m && m[1] !== 'unlimited') return Number(m[1]);
  } catch {
    /* not Linux: fall through */
  }
  return 1024;
}

const NONE_ROLE: Role = {
  name: 'none',
  rx() {},
  writable() {},
  write() {
    return -1;
  },
  closing() {},
};

/**
 * The process-wide object: vhosts, listen sockets, connections, timers.
 *
 * ```ts
 * const context = createContext({ port: 7681, mounts: [
 *   { mountpoint: '/', origin: './www', def: 'index.html', originProtocol: Mount.FILE },
 * ] });
 * await context.listening;
 * // ...
 * await context.destroy();
 * ```
 */
export class Context {
  readonly options: number;
  readonly limits: Readonly<HttpLimits>;
  /** @internal WebSocket settings vhosts start from. */
  readonly wsOptions: Partial<WsOptions>;
  readonly serverString: string | undefined;
  readonly maxConnections: number;
  /**
   * Resolves when every listen socket made so far is bound (and, with
   * `uid`/`gid`, privileges are dropped); rejects on the first bind error
   * or a failed privilege drop.
   */
  get listening(): Promise<void> {
    return Promise.all([...this.#vhosts.map((v) => v.listening), this.#privileges]).then(() => undefined);
  }
  /** TCP keepalive idle time in ms, 0 when off. */
  readonly keepaliveMs: number;
  #privileges: Promise<void> = Promise.resolve();
  #dropTo: { uid: number | string | undefined; gid: number | string | undefined } | null = null;

  /**
   * Drop to `uid`/`gid` once the listen sockets made so far are bound
   * (lws's `lws_finalize_startup`). Done by itself for a context that makes
   * its own vhost; with `Option.EXPLICIT_VHOSTS` call it after creating the
   * vhosts that need privileged ports. Rejects (and `listening` rejects)
   * when the switch fails, and the context is then destroyed, as lws
   * fails context creation: nothing goes on being served privileged.
   *
   * ```ts
   * const ctx = createContext({ options: Option.EXPLICIT_VHOSTS, uid: 'www-data', gid: 'www-data' });
   * ctx.createVhost({ port: 443, ... });
   * await ctx.finalizeStartup();
   * ```
   */
  finalizeStartup(): Promise<void> {
    const to = this.#dropTo;
    if (!to) return this.listening;
    this.#dropTo = null;
    const p = Promise.all(this.#vhosts.map((v) => v.listening)).then(() => dropPrivileges(to.uid, to.gid));
    // Surfaced through `listening` and the promise returned.
    p.catch((e: Error) => {
      log.err('%s: closing the context', e.message);
      void this.destroy();
    });
    this.#privileges = p;
    return p;
  }
  /** @internal */ readonly fileCache: FileCache;
  /**
   * The file operations FILE mounts read through (lws's `lws_get_fops`).
   * Wrap them (`{ ...context.fops, open(p, f) { log(p); return platformFops.open(p, f); } }`)
   * or replace them with a virtual file system; set before serving.
   */
  get fops(): FileOps {
    return this.#fops;
  }
  set fops(f: FileOps) {
    this.#fops = checkFops(f);
  }
  #fops: FileOps;
  #vhosts: Vhost[] = [];
  #listeners: Listener[] = [];
  #wsis = new Set<Wsi>();
  #writablePending = new Set<Wsi>();
  #writableScheduled = false;
  #timeoutWsis = new Set<Wsi>();
  #pingWsis = new Set<Wsi>();
  #sweep: NodeJS.Timeout | null = null;
  #destroyed = false;
  #destroying: Promise<void> | null = null;
  #plugins: readonly Plugin[];
  #warnUnknownPvo: boolean;

  /** @internal Use `createContext()`. */
  constructor(info: ContextCreationInfo) {
    if (info.pluginDirs && info.pluginDirs.length)
      throw new TypeError('pluginDirs are loaded asynchronously: use `await createContextAsync(info)`');
    const opts = info.options ?? 0;
    if ((opts & ~KNOWN_OPTIONS) !== 0) throw new RangeError(`context options: unknown option bits 0x${(opts & ~KNOWN_OPTIONS).toString(16)}`);
    this.options = opts;
    this.limits = resolveLimits(DEFAULT_HTTP_LIMITS, info.limits);
    this.serverString = info.serverString;
    this.wsOptions = { ...info.ws };
    this.maxConnections = info.maxConnections ?? Math.max(1, processFdLimit() - FD_RESERVE);
    this.#fops = checkFops(info.fops ?? platformFops);
    this.fileCache = new FileCache(info.fileCacheBytes ?? 8 * 1024 * 1024, info.fileCacheMaxFile ?? 64 * 1024);
    const ka = info.kaTime ?? 0;
    if (!Number.isFinite(ka) || ka < 0) throw new RangeError(`kaTime must be a number of seconds >= 0, got ${ka}`);
    for (const k of ['kaProbes', 'kaInterval'] as const) {
      const v = info[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new RangeError(`${k} must be an integer >= 0, got ${v}`);
    }
    this.keepaliveMs = Math.round(ka * 1000);
    this.#plugins = [...(info.plugins ?? [])];
    this.#warnUnknownPvo = info.warnUnknownPvo !== false;
    for (const pl of this.#plugins) pl.init?.(this);
    if (!(opts & Option.EXPLICIT_VHOSTS)) this.createVhost({ ...info, limits: undefined, ws: undefined });
    if (info.uid !== undefined || info.gid !== undefined) {
      this.#dropTo = { uid: info.uid, gid: info.gid };
      // With explicit vhosts they are made afterwards: finalizeStartup() drops, as lws_finalize_startup().
      if (!(opts & Option.EXPLICIT_VHOSTS)) void this.finalizeStartup();
    }
  }

  /** The plugins this context was made with (given and loaded). */
  get plugins(): readonly Plugin[] {
    return this.#plugins;
  }

  /**
   * @internal Put each port's vhosts in the order they have in `order`
   * (the first on a port is its default), as after a reload in config order.
   */
  orderVhosts(order: readonly Vhost[]): void {
    for (const l of this.#listeners) l.orderVhosts(order);
  }

  /** The vhosts, in creation order. */
  get vhosts(): readonly Vhost[] {
    return this.#vhosts;
  }

  /** The vhost named `name`. */
  getVhost(name: string): Vhost | undefined {
    return this.#vhosts.find((v) => v.name === name);
  }

  /** How many connections are open. */
  get connectionCount(): number {
    return this.#wsis.size;
  }

  /**
   * Add a vhost. If another vhost already listens on its port they share the
   * listen socket, and the Host header picks between them.
   */
  createVhost(info: VhostCreationInfo): Vhost {
    if (this.#destroyed) throw new Error('createVhost: the context has been destroyed');
    const protocols = vhostProtocols(info.protocols, info.pvo, this.#plugins);
    if (this.#plugins.length && this.#warnUnknownPvo) {
      for (const n of unknownPvoProtocols(protocols ?? [], info.pvo))
        log.warn('vhost %s: pvo names protocol "%s", which no plugin provides', info.vhostName ?? 'localhost', n);
    }
    const vh = new Vhost(this, { ...info, protocols });
    const port = vh.requestedPort;
    const at = vh.listenAt;
    const listens = port !== undefined || 'path' in at;
    let l: Listener | undefined;
    if (listens) {
      l = 'path' in at
        ? this.#listeners.find((x) => x.path === at.path)
        : port !== 0 ? this.#listeners.find((x) => x.path === undefined && x.port === port && x.iface === at.host) : undefined;
      // Before anything is started: a TLS mismatch with the port's other vhosts throws here.
      if (l) l.addVhost(vh);
    }
    this.#vhosts.push(vh);
    vh.initProtocols();
    if (listens) {
      if (!l) {
        l = new Listener(this, 'path' in at ? at : { port: port ?? 0, host: at.host }, vh.limits.txHighWater);
        this.#listeners.push(l);
        l.addVhost(vh);
      }
      vh.listener = l;
      const p = l.ready;
      p.catch(() => {}); // reported through log.err and the promise itself
      vh.setListening(p);
    }
    return vh;
  }

  /** @internal `vhost.destroy()`. */
  destroyVhost(vh: Vhost): Promise<void> {
    if (vh.destroyed) return Promise.resolve();
    vh.destroyInternal();
    const i = this.#vhosts.indexOf(vh);
    if (i >= 0) this.#vhosts.splice(i, 1);
    const l = vh.listener;
    if (l && l.removeVhost(vh)) {
      this.#listeners = this.#listeners.filter((x) => x !== l);
      return l.close();
    }
    return Promise.resolve();
  }

  /** @internal Socket settings every connection gets: TCP keepalive. */
  tuneSocket(socket: Socket): void {
    if (this.keepaliveMs > 0) socket.setKeepAlive(true, this.keepaliveMs);
  }

  /** @internal Wrap an accepted socket in a wsi bound to `vh`. */
  adoptSocket(socket: Socket, vh: Vhost, role: Role): Wsi | null {
    if (this.#destroyed) {
      socket.destroy();
      return null;
    }
    if (this.#wsis.size >= this.maxConnections) {
      log.warn('%s: connection limit %d reached, dropping %s', vh, this.maxConnections, socket.remoteAddress);
      socket.destroy();
      return null;
    }
    this.tuneSocket(socket);
    const wsi = new Wsi(this, vh, socket, role, vh.protocols[0]);
    this.#wsis.add(wsi);
    if (wsi.callProtocol(Reason.FILTER_NETWORK_CONNECTION, wsi.peerAddress)) return null;
    if (wsi.callProtocol(Reason.WSI_CREATE)) return null;
    if (wsi.callProtocol(Reason.SERVER_NEW_CLIENT_INSTANTIATED)) return null;
    return wsi;
  }

  /**
   * Open a client connection (WebSocket, HTTP or RAW) from this context;
   * see `clientConnect` for the details.
   *
   * ```ts
   * const wsi = context.clientConnect({ address: '127.0.0.1', port: 7681, protocol: 'lws-echo' });
   * ```
   */
  clientConnect(info: ClientConnectInfo): Wsi {
    return clientConnect({ ...info, context: this });
  }

  /** @internal Count a client wsi among the connections; false when it may not open. */
  adoptClientWsi(wsi: Wsi): boolean {
    if (this.#destroyed || this.#wsis.size >= this.maxConnections) return false;
    this.#wsis.add(wsi);
    return true;
  }

  /** @internal */
  liveWsis(): Iterable<Wsi> {
    return this.#wsis;
  }

  /** @internal A connection finished closing: WSI_DESTROY and bookkeeping. */
  wsiClosed(wsi: Wsi): void {
    if (!this.#wsis.delete(wsi)) return;
    this.#writablePending.delete(wsi);
    this.#timeoutWsis.delete(wsi);
    this.#pingWsis.delete(wsi);
    const p0 = wsi.vhost.protocols[0];
    wsi.callProtocol(Reason.WSI_DESTROY, undefined, p0);
  }

  /** @internal A wsi with no connection, for per-vhost protocol callbacks. */
  placeholderWsi(vh: Vhost, p: Protocol): Wsi {
    // The vhost's own protocol object, so per-vhost data keyed by it at
    // PROTOCOL_INIT is found again from real connections.
    const w = new Wsi(this, vh, null, NONE_ROLE, p, false);
    w.closed = true;
    return w;
  }

  /** @internal */
  reportCallbackError(p: Protocol, reason: Reason, e: unknown): void {
    log.err('protocol "%s" callback threw on reason %s: %s', p.name, Reason[reason] ?? reason,
      e instanceof Error ? e.stack ?? e.message : String(e));
  }

  // ---- writeable service ----

  /** @internal Deliver a WRITEABLE on a later turn, once the socket is not choked. */
  scheduleWritable(wsi: Wsi): void {
    this.#writablePending.add(wsi);
    if (!this.#writableScheduled) {
      this.#writableScheduled = true;
      setImmediate(this.#serviceWritable);
    }
  }

  #serviceWritable = (): void => {
    this.#writableScheduled = false;
    const batch = [...this.#writablePending];
    this.#writablePending.clear();
    for (const wsi of batch) {
      if (wsi.closed || !wsi.socket) continue;
      if (wsi.sendPipeChoked()) continue; // 'drain' reschedules it
      wsi.role.writable(wsi);
    }
  };

  /** @internal The socket drained: pending writable work may go on. */
  socketDrained(wsi: Wsi): void {
    if (!wsi.closed) this.scheduleWritable(wsi);
  }

  // ---- timeouts ----

  /** @internal */
  watchTimeout(wsi: Wsi): void {
    this.#timeoutWsis.add(wsi);
    this.#ensureSweep();
  }

  #ensureSweep(): void {
    if (!this.#sweep && !this.#destroyed) {
      this.#sweep = setInterval(this.#sweepTimeouts, 250);
      this.#sweep.unref();
    }
  }

  /** @internal WebSocket idle ping checks ride on the same sweep. */
  watchPing(wsi: Wsi): void {
    this.#pingWsis.add(wsi);
    this.#ensureSweep();
  }

  /** @internal */
  unwatchTimeout(wsi: Wsi): void {
    this.#timeoutWsis.delete(wsi);
  }

  #sweepTimeouts = (): void => {
    const now = Date.now();
    for (const wsi of this.#pingWsis) {
      if (wsi.closed || !wsi.ws) this.#pingWsis.delete(wsi);
      else wsi.ws.pingTick(now);
    }
    for (const wsi of this.#timeoutWsis) {
      if (wsi.timeoutReason === PendingTimeout.NO_PENDING) {
        this.#timeoutWsis.delete(wsi);
        continue;
      }
      if (wsi.timeoutAt > now) continue;
      const reason = wsi.timeoutReason;
      wsi.timeoutReason = PendingTimeout.NO_PENDING;
      this.#timeoutWsis.delete(wsi);
      log.info('wsi %d: timeout %s', wsi.id, PendingTimeout[reason] ?? reason);
      if (wsi.role.timeout) wsi.role.timeout(wsi, reason);
      else wsi.close(false);
    }
  };

  // ---- teardown ----

  /**
   * Close every connection (their close callbacks run), deliver
   * PROTOCOL_DESTROY on every vhost, close the listen sockets and stop every
   * timer, so nothing keeps the process alive. Resolves when the listen
   * sockets are closed.
   */
  destroy(): Promise<void> {
    if (this.#destroying) return this.#destroying;
    this.#destroyed = true;
    const closing = this.#listeners.map((l) => l.close());
    this.#listeners = [];
    for (const w of [...this.#wsis]) w.close(false);
    for (const vh of this.#vhosts) vh.destroyInternal();
    for (const pl of this.#plugins) {
      try {
        pl.destroy?.(this);
      } catch (e) {
        log.err('plugin %s: destroy threw: %s', pl.name, (e as Error).message);
      }
    }
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = null;
    this.#timeoutWsis.clear();
    this.#pingWsis.clear();
    this.#writablePending.clear();
    this.fileCache.clear();
    this.#destroying = Promise.all(closing).then(() => undefined);
    return this.#destroying;
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }
}

/** Make a context (and, unless `Option.EXPLICIT_VHOSTS`, its default vhost). */
export function createContext(info: ContextCreationInfo = {}): Context {
  return new Context(info);
}

/**
 * `createContext` after loading the plugins in `info.pluginDirs` (they
 * follow any `info.plugins`).
 *
 * ```ts
 * const context = await createContextAsync({ port: 7681, pluginDirs: ['./plugins'],
 *   pvo: { 'my-protocol': {} } });
 * ```
 */
export async function createContextAsync(info: ContextCreationInfo = {}): Promise<Context> {
  const loaded = info.pluginDirs && info.pluginDirs.length ? await loadPlugins(info.pluginDirs) : [];
  return new Context({ ...info, pluginDirs: undefined, plugins: [...(info.plugins ?? []), ...loaded] });
}
