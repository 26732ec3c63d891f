import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Vhost, type VhostCreationInfo } from './vhost.js';
import { Wsi } from './wsi.js';
import { Reason } from './reasons.js';
import type { Protocol } from './protocols.js';
import { NO_ROLE, type Transport } from './role.js';
import { log } from './log.js';
import { dropPrivileges } from './privileges.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits, resolveLimits } from './limits.js';
import { Option, KNOWN_OPTIONS } from './options.js';
import { TimerList } from './timers.js';
import { contextFeatureList, roleList, vhostFeatureList } from './features.js';
import { ErrorCode, rangeError, stateError } from './errors.js';
import { channels } from './diagnostics.js';

/**
 * What a context is made from; the vhost fields make the default vhost.
 * The layers above core add their own fields (plugins, fops, ws …).
 */
export interface ContextCreationInfo extends VhostCreationInfo {
  /** `Option.*` bits; `Option.EXPLICIT_VHOSTS` skips the default vhost. */
  options?: number;
  /**
   * Most connections at once. Default: the process's open-file limit less a
   * reserve, as lws sizes itself from the fd limit. Connections past it are
   * closed on accept. Streams inside a connection do not count.
   */
  maxConnections?: number;
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
  /** The `Option.*` bits the context was made with. */
  readonly options: number;
  /** The HTTP limits every vhost starts from (a vhost's own `limits` override them). */
  readonly limits: Readonly<HttpLimits>;
  /** Most connections at once; new ones past it are closed on accept (streams inside a connection do not count). */
  readonly maxConnections: number;
  /** TCP keepalive idle time in ms, 0 when off. */
  readonly keepaliveMs: number;
  /** @internal Every wait of every connection: timeouts, pings, silences, lingering closes. */
  readonly timers = new TimerList();
  #privileges: Promise<void> = Promise.resolve();
  #dropTo: { uid: number | string | undefined; gid: number | string | undefined } | null = null;
  #vhosts: Vhost[] = [];
  #wsis = new Set<Wsi>();
  #roots = 0;
  #lingering = new Set<Socket>();
  #writablePending = new Set<Wsi>();
  #writableScheduled = false;
  #destroyed = false;
  #destroying: Promise<void> | null = null;

  /** @internal Use `createContext()`. */
  constructor(info: ContextCreationInfo) {
    const opts = info.options ?? 0;
    if ((opts & ~KNOWN_OPTIONS) !== 0)
      throw rangeError(ErrorCode.UNKNOWN_OPTION, `context options: unknown option bits 0x${(opts & ~KNOWN_OPTIONS).toString(16)}`);
    this.options = opts;
    this.limits = resolveLimits(DEFAULT_HTTP_LIMITS, info.limits);
    this.maxConnections = info.maxConnections ?? Math.max(1, processFdLimit() - FD_RESERVE);
    const ka = info.kaTime ?? 0;
    if (!Number.isFinite(ka) || ka < 0) throw rangeError(ErrorCode.INVALID_OPTION, `kaTime must be a number of seconds >= 0, got ${ka}`);
    for (const k of ['kaProbes', 'kaInterval'] as const) {
      const v = info[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw rangeError(ErrorCode.INVALID_OPTION, `${k} must be an integer >= 0, got ${v}`);
    }
    this.keepaliveMs = Math.round(ka * 1000);
    for (const f of contextFeatureList()) f.create?.(this, info);
    if (!(opts & Option.EXPLICIT_VHOSTS)) this.createVhost({ ...info, limits: undefined });
    if (info.uid !== undefined || info.gid !== undefined) {
      this.#dropTo = { uid: info.uid, gid: info.gid };
      // With explicit vhosts they are made afterwards: finalizeStartup() drops, as lws_finalize_startup().
      if (!(opts & Option.EXPLICIT_VHOSTS)) void this.finalizeStartup();
    }
  }

  /**
   * Resolves when every listen socket made so far is bound (and, with
   * `uid`/`gid`, privileges are dropped); rejects on the first bind error
   * or a failed privilege drop.
   */
  get listening(): Promise<void> {
    return Promise.all([...this.#vhosts.map((v) => v.listening), this.#privileges]).then(() => undefined);
  }

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

  /** The vhosts, in creation order. */
  get vhosts(): readonly Vhost[] {
    return this.#vhosts;
  }

  /** The vhost named `name`. */
  getVhost(name: string): Vhost | undefined {
    return this.#vhosts.find((v) => v.name === name);
  }

  /** How many connections (and streams inside them) are open. */
  get connectionCount(): number {
    return this.#wsis.size;
  }

  /**
   * Add a vhost. If another vhost already listens on its port they share the
   * listen socket, and the Host header picks between them.
   */
  createVhost(info: VhostCreationInfo): Vhost {
    if (this.#destroyed) throw stateError(ErrorCode.DESTROYED, 'createVhost: the context has been destroyed');
    const features = vhostFeatureList();
    let i = info;
    for (const f of features) if (f.prepare) i = f.prepare(this, i);
    const vh = new Vhost(this, i);
    // A feature that throws (a TLS port shared with a clear-text vhost …) refuses the vhost before anything runs.
    for (const f of features) f.create?.(vh, i);
    this.#vhosts.push(vh);
    for (const r of roleList()) r.vhostInit?.(vh);
    vh.initProtocols();
    for (const f of features) f.start?.(vh);
    return vh;
  }

  /** @internal `vhost.destroy()`. */
  destroyVhost(vh: Vhost): Promise<void> {
    if (vh.destroyed) return Promise.resolve();
    const waits = this.#destroyVhost(vh);
    const i = this.#vhosts.indexOf(vh);
    if (i >= 0) this.#vhosts.splice(i, 1);
    return Promise.all(waits).then(() => undefined);
  }

  /** Destroy a vhost; connections draining gracefully delay its second half (and the promise). */
  #destroyVhost(vh: Vhost): Promise<void>[] {
    const draining = vh.beginDestroy();
    if (!draining) return [];
    const finish = (): Promise<void>[] => {
      vh.endDestroy();
      for (const r of roleList()) r.vhostDestroy?.(vh);
      const waits: Promise<void>[] = [];
      for (const f of vhostFeatureList()) {
        const p = f.destroy?.(vh);
        if (p) waits.push(p);
      }
      return waits;
    };
    if (!draining.length) return finish();
    return [this.#untilClosed(draining).then(() => Promise.all(finish())).then(() => undefined)];
  }

  #closeWaiters = new Map<Wsi, Array<() => void>>();

  /** Resolves when every one of `wsis` has closed (each has its own bound). */
  #untilClosed(wsis: Wsi[]): Promise<void> {
    const wait = (w: Wsi) => new Promise<void>((r) => {
      const list = this.#closeWaiters.get(w);
      if (list) list.push(r);
      else this.#closeWaiters.set(w, [r]);
    });
    return Promise.all(wsis.map((w) => (w.closed ? undefined : wait(w)))).then(() => undefined);
  }

  /** @internal Socket settings every connection gets: TCP keepalive. */
  tuneSocket(socket: Socket): void {
    // An adopted stream may be a socket of another kind (a pipe) or no socket at all.
    if (this.keepaliveMs > 0 && typeof socket.setKeepAlive === 'function') socket.setKeepAlive(true, this.keepaliveMs);
  }

  /**
   * @internal Wrap an accepted socket in a wsi bound to `vh`, with no role
   * yet: the caller moves it to the role that reads it. Null when the
   * connection may not open (limit, destroyed, refused by a filter).
   */
  adoptSocket(socket: Socket, vh: Vhost): Wsi | null {
    if (this.#destroyed || this.#draining) {
      socket.destroy();
      return null;
    }
    if (this.#roots >= this.maxConnections) {
      log.warn('%s: connection limit %d reached, dropping %s', vh, this.maxConnections, socket.remoteAddress);
      socket.destroy();
      return null;
    }
    this.tuneSocket(socket);
    const wsi = new Wsi(this, vh, vh.protocols[0], socket);
    this.#add(wsi, false);
    if (wsi.callProtocol(Reason.FILTER_NETWORK_CONNECTION, wsi.peerAddress)) return null;
    if (wsi.callProtocol(Reason.WSI_CREATE)) return null;
    if (wsi.callProtocol(Reason.SERVER_NEW_CLIENT_INSTANTIATED)) return null;
    return wsi;
  }

  /** @internal Count a client wsi among the connections; false when it may not open (the caller reports why). */
  adoptClientWsi(wsi: Wsi): boolean {
    return this.adoptWsi(wsi, true);
  }

  /** @internal Count a connection made outside a listen socket (a client, an adopted descriptor); false when it may not open. */
  adoptWsi(wsi: Wsi, client = false): boolean {
    if (this.#destroyed || this.#roots >= this.maxConnections) return false;
    this.#add(wsi, client);
    return true;
  }

  /**
   * @internal A stream inside `parent`'s connection (an HTTP/2 stream, a
   * multiplexed channel): a wsi of its own whose bytes go through
   * `transport`, which the parent's role provides. It has no role yet.
   */
  newChildWsi(parent: Wsi, protocol: Protocol, transport: Transport, vh: Vhost = parent.vhost): Wsi | null {
    if (this.#destroyed || parent.closed) return null;
    const wsi = new Wsi(this, vh, protocol, transport, parent);
    this.#wsis.add(wsi);
    parent.addChild(wsi);
    return wsi;
  }

  #add(wsi: Wsi, client: boolean): void {
    this.#wsis.add(wsi);
    this.#roots++;
    // Every root connection joins here, whichever way it came: one place to announce it.
    if (channels.connectionOpen.hasSubscribers) {
      channels.connectionOpen.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, role: wsi.roleName, peerAddress: wsi.peerAddress, client });
    }
  }

  /** @internal */
  liveWsis(): Iterable<Wsi> {
    return this.#wsis;
  }

  /** @internal A connection finished closing: WSI_DESTROY and bookkeeping. */
  wsiClosed(wsi: Wsi): void {
    if (!this.#wsis.delete(wsi)) return;
    if (!wsi.parent) {
      this.#roots--;
      if (channels.connectionClose.hasSubscribers) {
        const s = wsi.socket;
        channels.connectionClose.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, role: wsi.roleName, peerAddress: wsi.peerAddress,
          bytesIn: s?.bytesRead ?? 0, bytesOut: s?.bytesWritten ?? 0 });
      }
    }
    const waiters = this.#closeWaiters.get(wsi);
    if (waiters) {
      this.#closeWaiters.delete(wsi);
      for (const w of waiters) w();
    }
    this.#writablePending.delete(wsi);
    const p0 = wsi.vhost.protocols[0];
    wsi.callProtocol(Reason.WSI_DESTROY, undefined, p0);
  }

  /** @internal A wsi with no connection, for per-vhost protocol callbacks. */
  placeholderWsi(vh: Vhost, p: Protocol): Wsi {
    // The vhost's own protocol object, so per-vhost data keyed by it at
    // PROTOCOL_INIT is found again from real connections.
    const w = new Wsi(this, vh, p, null, null, false);
    w.setRole(NO_ROLE, null);
    w.closed = true;
    return w;
  }

  /** @internal A protocol callback threw on `wsi` (a per-vhost call's placeholder too): logged, and told to `tslws:error`. */
  reportCallbackError(p: Protocol, reason: Reason, e: unknown, wsi: Wsi): void {
    log.err('protocol "%s" callback threw on reason %s: %s', p.name, Reason[reason] ?? reason,
      e instanceof Error ? e.stack ?? e.message : String(e));
    if (channels.error.hasSubscribers) {
      channels.error.publish({ kind: 'callback', wsi, id: wsi.id, vhost: wsi.vhost.name, protocol: p.name, reason, error: e });
    }
  }

  /** @internal An ended socket finishing its last bytes: destroyed after `ms`, or with the context. */
  lingerSocket(s: Socket, ms: number): void {
    if (this.#destroyed) {
      s.destroy();
      return;
    }
    const t = this.timers.timer((x: Socket) => x.destroy(), s);
    t.start(ms);
    this.#lingering.add(s);
    s.once('close', () => {
      t.stop();
      this.#lingering.delete(s);
    });
  }

  // ---- writeable service ----

  /** @internal Deliver a WRITEABLE on a later turn, once the connection is not choked. */
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
      if (wsi.closed) continue;
      // A choked connection is brought back by its drain (a socket's
      // 'drain', a stream's credit, a compressor catching up).
      if (wsi.sendPipeChoked()) continue;
      wsi.serviceWritable();
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
    const waits: Promise<void>[] = [];
    const features = contextFeatureList();
    for (const f of features) {
      const p = f.stop?.(this);
      if (p) waits.push(p);
    }
    // Connections that can finish gracefully (HTTP/2 streams after GOAWAY) get their bound; the rest close now.
    const draining: Wsi[] = [];
    for (const w of [...this.#wsis]) if (!w.parent && !w.closed && !w.drain()) w.close(false);
    for (const w of this.#wsis) if (!w.parent && !w.closed) draining.push(w);
    const finish = (): Promise<void> => {
      for (const w of [...this.#wsis]) if (!w.parent) w.close(false);
      for (const vh of this.#vhosts) waits.push(...this.#destroyVhost(vh));
      for (const f of features) {
        try {
          f.destroy?.(this);
        } catch (e) {
          log.err('%s: destroy failed: %s', f.name, (e as Error).message);
        }
      }
      for (const s of this.#lingering) s.destroy();
      this.#lingering.clear();
      this.timers.close();
      this.#writablePending.clear();
      return Promise.all(waits).then(() => undefined);
    };
    this.#destroying = draining.length ? this.#untilClosed(draining).then(finish) : finish();
    return this.#destroying;
  }

  #draining: Promise<void> | null = null;

  /**
   * Stop gracefully: nothing new is accepted (the listen sockets close,
   * adopted sockets are refused), HTTP exchanges in flight finish and
   * their connections close after the response (idle keep-alive ones at
   * once), HTTP/2 connections send GOAWAY and finish their open streams,
   * WebSockets close with 1001 "going away", other connections (RAW,
   * tunnels) close with what they have queued sent. Whatever is still open
   * after `timeoutSecs` (default 30) is closed, and the context is
   * destroyed; the promise resolves then.
   *
   * ```ts
   * process.once('SIGTERM', () => context.drain({ timeoutSecs: 10 }).then(() => process.exit(0)));
   * ```
   */
  drain(options: { timeoutSecs?: number } = {}): Promise<void> {
    if (this.#draining) return this.#draining;
    if (this.#destroying) return this.#destroying;
    const secs = options.timeoutSecs ?? 30;
    if (typeof secs !== 'number' || !Number.isFinite(secs) || secs < 0 || secs * 1000 > 2 ** 31 - 1)
      throw rangeError(ErrorCode.INVALID_OPTION, `drain: timeoutSecs must be a number of seconds from 0 to about 24.8 days, got ${String(secs)}`);
    const features = contextFeatureList();
    const stopped: Promise<void>[] = [];
    for (const f of features) {
      const p = f.stop?.(this);
      if (p) stopped.push(p.catch(() => undefined));
    }
    const waiting: Wsi[] = [];
    for (const w of [...this.#wsis]) {
      if (w.parent || w.closed) continue;
      w.goingAway();
      if (w.quiesce()) waiting.push(w);
      else w.close();
    }
    log.notice('draining: %d connections finishing, at most %d s', waiting.length, secs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, secs * 1000);
    });
    this.#draining = Promise.race([this.#untilClosed(waiting), deadline])
      .then(() => {
        clearTimeout(timer);
        return this.destroy();
      });
    return this.#draining;
  }

  /** True once `drain()` was called. */
  get draining(): boolean {
    return this.#draining !== null;
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
