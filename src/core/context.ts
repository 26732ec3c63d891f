import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Vhost, type VhostCreationInfo } from './vhost.js';
import { Wsi, destroySocket } from './wsi.js';
import { IndexedList, type Indexed } from './indexed-list.js';
import { Reason } from './reasons.js';
import type { Protocol } from './protocols.js';
import { NO_ROLE, type Transport } from './role.js';
import { log } from './log.js';
import { dropPrivileges } from './privileges.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits, resolveLimits } from './limits.js';
import { Option, KNOWN_OPTIONS } from './options.js';
import { TimerList } from './timers.js';
import { PollTable } from './poll-events.js';
import { contextFeatureList, roleList, vhostFeatureList } from './features.js';
import { ErrorCode, rangeError, stateError, typeError } from './errors.js';
import { peerAddressOf } from './peer.js';
import { LocalPeerTable, type PeerTable } from './peer-table.js';
import { channels } from './diagnostics.js';

/** An ended socket finishing its last bytes (the timer that cuts it off is held by its close listener). */
interface Lingering extends Indexed {
  readonly socket: Socket;
}

/** Default of `ContextCreationInfo.writeableAfterRead`. */
const WRITEABLE_AFTER_READ = 4;

/**
 * What a context is made from; the vhost fields make the default vhost.
 * The layers above core add their own fields (plugins, fops, ws …).
 */
export interface ContextCreationInfo extends VhostCreationInfo {
  /** `Option.*` bits; `Option.EXPLICIT_VHOSTS` skips the default vhost. */
  options?: number;
  /**
   * Most connections at once. Default: the process's open-file limit less a
   * reserve of 32, as lws sizes itself from the fd limit. Connections past
   * it are closed on accept (`context.refusedConnections` counts them).
   * Streams inside a connection do not count; a closed connection whose
   * socket is still finishing its last bytes does, until the socket is gone.
   */
  maxConnections?: number;
  /**
   * Most connections at once from one peer address (lws's `ip_limit_wsi`),
   * a hard limit: a connection past it is closed as soon as it is
   * accepted. Every connection counts (HTTP/1, HTTP/2, WebSocket, RAW,
   * TLS or not); an IPv4 peer reaching an IPv6 socket counts as its IPv4
   * address. Clients behind one NAT share an address: be generous.
   * 0 or absent: no limit.
   */
  ipLimitWsi?: number;
  /**
   * Most connections of one peer address reading an HTTP/1 request head
   * at once (lws's `ip_limit_ah`), a soft limit: the others wait, their
   * socket not read, until one of that address's heads is complete, then
   * go on in the order they came. Their `headerTimeoutSecs` runs all the
   * while. Only HTTP/1 heads count: HTTP/2 requests, whose heads arrive
   * whole, and RAW connections never wait.
   * 0 or absent: no limit.
   */
  ipLimitAh?: number;
  /**
   * How many connections a turn of Node's event loop serves their
   * WRITEABLE right after the read during which they asked for it
   * (`callbackOnWritable()` from RECEIVE), so the peer gets its answer
   * while other connections are read. The others, and every WRITEABLE
   * asked for elsewhere, come in the loop's check phase, all together.
   * Default 4; 0 sends every WRITEABLE through the check phase (more
   * messages per read when peers pipeline, more latency when they wait).
   */
  writeableAfterRead?: number;
  /**
   * @internal The table that counts peers for the limits, instead of this
   * process's own (an SMP service asks the primary, which sees every
   * service's connections).
   */
  peerTable?: PeerTable;
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
  /**
   * Deliver ADD_POLL_FD, DEL_POLL_FD, CHANGE_MODE_POLL_FD, LOCK_POLL and
   * UNLOCK_POLL to protocols[0] as Node's loop starts, changes and stops
   * watching each connection's socket (lws's external-poll callbacks).
   * Off by default: they cost a callback per change.
   */
  pollEvents?: boolean;
  /** Group (id or name) to switch to once the listen sockets are bound. */
  gid?: number | string;
  /** User (id or name) to switch to once the listen sockets are bound. */
  uid?: number | string;
}

const FD_RESERVE = 32;

/** A count option: a whole number from `min`; absent is 0. */
function countOption(name: string, v: unknown, min: number): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number') throw typeError(ErrorCode.INVALID_OPTION, `${name} must be a number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < min)
    throw rangeError(ErrorCode.INVALID_OPTION, `${name} must be a whole number >= ${min}${min === 0 ? ' (0: no limit)' : ''}, got ${v}`);
  return v;
}

/** @internal The connection limit a context takes by default: the open-file limit less a reserve. */
export function defaultMaxConnections(): number {
  return Math.max(1, processFdLimit() - FD_RESERVE);
}

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
  /** Most connections at once from one peer address; 0: no limit. See `ContextCreationInfo.ipLimitWsi`. */
  readonly ipLimitWsi: number;
  /** Most connections of one peer address reading a request head at once; 0: no limit. See `ContextCreationInfo.ipLimitAh`. */
  readonly ipLimitAh: number;
  /** Connections per turn served their WRITEABLE right after their read. See `ContextCreationInfo.writeableAfterRead`. */
  readonly writeableAfterRead: number;
  /**
   * @internal Connections per peer address, when a peer limit is set (null
   * otherwise: nothing is counted). Every accepted connection with an IP
   * address is counted here, and its head parses ask it for a place.
   */
  readonly peerTable: PeerTable | null;
  /**
   * @internal False in a process that holds vhosts without serving them
   * (an SMP primary, which only accepts and hands sockets out): no
   * protocol callback runs there, not even PROTOCOL_INIT.
   */
  runsProtocols = true;
  /** TCP keepalive idle time in ms, 0 when off. */
  readonly keepaliveMs: number;
  /** @internal Every wait of every connection: timeouts, pings, silences, lingering closes. */
  readonly timers = new TimerList();
  /** @internal The poll table reported to protocols[0], with `pollEvents`. */
  readonly poll: PollTable | null;
  #privileges: Promise<void> = Promise.resolve();
  #dropTo: { uid: number | string | undefined; gid: number | string | undefined } | null = null;
  #vhosts: Vhost[] = [];
  #wsis = new IndexedList<Wsi>();
  #roots = 0;
  #refused = 0;
  #refusedPeer = 0;
  /** Refused at maxConnections since the last root connection closed (a burst is logged once). */
  #refusedBurst = 0;
  /** Per address refused at ipLimitWsi since one of its connections last closed; each has connections, so this stays bounded. */
  #peerBursts = new Map<string, number>();
  /** Ended sockets finishing their last bytes. */
  #lingering = new IndexedList<Lingering>();
  // Connections owed a WRITEABLE: flags on the wsi and a list swapped with
  // a spare each pass, not a Set. A Set whose table is in the old
  // generation reallocates it there on every clear or shrink, one per
  // message served: the old space grew by that alone into mark-compacts
  // (bench/README.md, "Tables in the old generation").
  #writableList: Wsi[] = [];
  #writableSpare: Wsi[] = [];
  #writableScheduled = false;
  #destroyed = false;
  #destroying: Promise<void> | null = null;

  /** @internal Use `createContext()`. */
  constructor(info: ContextCreationInfo) {
    for (const f of contextFeatureList()) if (f.prepare) info = f.prepare(info);
    const opts = info.options ?? 0;
    if ((opts & ~KNOWN_OPTIONS) !== 0)
      throw rangeError(ErrorCode.UNKNOWN_OPTION, `context options: unknown option bits 0x${(opts & ~KNOWN_OPTIONS).toString(16)}`);
    this.options = opts;
    this.limits = resolveLimits(DEFAULT_HTTP_LIMITS, info.limits);
    this.maxConnections = info.maxConnections === undefined ? defaultMaxConnections()
      : countOption('maxConnections', info.maxConnections, 1);
    this.ipLimitWsi = countOption('ipLimitWsi', info.ipLimitWsi, 0);
    this.ipLimitAh = countOption('ipLimitAh', info.ipLimitAh, 0);
    this.writeableAfterRead = info.writeableAfterRead === undefined ? WRITEABLE_AFTER_READ
      : countOption('writeableAfterRead', info.writeableAfterRead, 0);
    // Without a limit there is nothing to enforce: no table, no cost per connection.
    this.peerTable = info.peerTable ?? (this.ipLimitWsi || this.ipLimitAh ? new LocalPeerTable(this.ipLimitWsi, this.ipLimitAh) : null);
    const ka = info.kaTime ?? 0;
    if (!Number.isFinite(ka) || ka < 0) throw rangeError(ErrorCode.INVALID_OPTION, `kaTime must be a number of seconds >= 0, got ${ka}`);
    for (const k of ['kaProbes', 'kaInterval'] as const) {
      const v = info[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw rangeError(ErrorCode.INVALID_OPTION, `${k} must be an integer >= 0, got ${v}`);
    }
    this.keepaliveMs = Math.round(ka * 1000);
    if (info.pollEvents !== undefined && typeof info.pollEvents !== 'boolean')
      throw rangeError(ErrorCode.INVALID_OPTION, `pollEvents must be true or false, got ${String(info.pollEvents)}`);
    this.poll = info.pollEvents ? new PollTable() : null;
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
   * How many connections were closed on accept because `maxConnections`
   * were open, since the context was made.
   */
  get refusedConnections(): number {
    return this.#refused;
  }

  /**
   * How many connections were closed on accept because their address had
   * `ipLimitWsi` connections open, since the context was made.
   */
  get refusedPeerConnections(): number {
    return this.#refusedPeer;
  }

  /** @internal A connection from `addr` was refused at ipLimitWsi elsewhere (a primary handing connections out). */
  noteRefusedPeer(addr: string): void {
    this.#refusedPeer++;
    const n = this.#peerBursts.get(addr) ?? 0;
    this.#peerBursts.set(addr, n + 1);
    if (n === 0) log.warn('%s has %d connections (ipLimitWsi): closing its new ones until one ends', addr, this.ipLimitWsi);
  }

  /** @internal A connection from `addr` counted elsewhere closed: end its refusal burst. */
  notePeerClosed(addr: string): void {
    const n = this.#peerBursts.get(addr);
    if (n === undefined) return;
    this.#peerBursts.delete(addr);
    log.notice('%s: %d connections were closed on accept (ipLimitWsi %d)', addr, n, this.ipLimitWsi);
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
    if (this.#atConnectionLimit()) {
      this.#refused++;
      // Once per burst: a flood must not turn into a flood of log lines.
      if (this.#refusedBurst++ === 0)
        log.warn('%s: connection limit %d reached: closing new connections until one ends', vh, this.maxConnections);
      socket.destroy();
      return null;
    }
    // An unknown address (a UNIX socket, a stream that is not a socket) is not counted.
    const peers = this.peerTable;
    const addr = peers ? peerAddressOf(socket.remoteAddress) : '';
    if (peers && addr && !peers.tryAdd(addr)) {
      this.noteRefusedPeer(addr);
      socket.destroy();
      return null;
    }
    this.tuneSocket(socket);
    const wsi = new Wsi(this, vh, vh.protocols[0], socket);
    if (addr) wsi.peerKey = addr;
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

  /**
   * @internal A client connection becomes a stream inside `parent`'s
   * connection, or (null) a connection of its own again: counted as such.
   */
  reparentWsi(wsi: Wsi, parent: Wsi | null): void {
    if (wsi.parent === parent) return;
    if (!wsi.parent) {
      this.#roots--;
      this.poll?.remove(wsi);
    } else if (!parent) this.#roots++;
    wsi.setParent(parent);
  }

  /** @internal Count a connection made outside a listen socket (a client, an adopted descriptor); false when it may not open. */
  adoptWsi(wsi: Wsi, client = false): boolean {
    if (this.#destroyed || this.#atConnectionLimit()) return false;
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

  /**
   * Are `maxConnections` descriptors taken? A closed connection whose
   * socket still lingers (finishing its last bytes, for a bounded time)
   * holds its descriptor, so it counts until the socket is gone: the
   * limit is there to keep accepts from running the process out of them.
   */
  #atConnectionLimit(): boolean {
    return this.#roots + this.#lingering.size >= this.maxConnections;
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
      if (this.#refusedBurst) {
        log.notice('connection limit %d: %d connections were closed on accept', this.maxConnections, this.#refusedBurst);
        this.#refusedBurst = 0;
      }
      if (channels.connectionClose.hasSubscribers) {
        const s = wsi.socket;
        channels.connectionClose.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, role: wsi.roleName, peerAddress: wsi.peerAddress,
          bytesIn: s?.bytesRead ?? 0, bytesOut: s?.bytesWritten ?? 0 });
      }
    }
    const addr = wsi.peerKey;
    if (addr !== null) {
      wsi.peerKey = null;
      this.peerTable?.remove(addr);
      this.notePeerClosed(addr);
    }
    const waiters = this.#closeWaiters.get(wsi);
    if (waiters) {
      this.#closeWaiters.delete(wsi);
      for (const w of waiters) w();
    }
    wsi.writablePending = false;
    if (!wsi.parent) this.poll?.remove(wsi);
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
    const t = this.timers.timer(destroySocket, s);
    t.start(ms);
    const l: Lingering = { socket: s, listIdx: -1 };
    this.#lingering.add(l);
    // A socket closes once: a plain listener, without once()'s wrapper.
    s.on('close', () => {
      t.stop();
      this.#lingering.delete(l);
    });
  }

  // ---- writeable service ----

  /** @internal Deliver a WRITEABLE on a later turn, once the connection is not choked. */
  scheduleWritable(wsi: Wsi): void {
    wsi.writablePending = true;
    if (!wsi.writableListed) {
      wsi.writableListed = true;
      this.#writableList.push(wsi);
    }
    if (!this.#writableScheduled) {
      this.#writableScheduled = true;
      setImmediate(this.#serviceWritable);
    }
  }

  /**
   * @internal Deliver `wsi`'s pending WRITEABLE now instead of on the
   * loop's next check phase (a connection that has just been read from).
   */
  writableNow(wsi: Wsi): void {
    // Past a few in one turn, many connections are ready at once: they are
    // served together in the check phase, where a busy server does more per
    // turn of the loop than by answering each read as it comes. A pending
    // wsi means that check phase is scheduled, and it starts the count again.
    if (this.#writableNowThisTurn >= this.writeableAfterRead || !wsi.writablePending || wsi.closed) return;
    // Stays listed: the pass skips it unless it asks again.
    wsi.writablePending = false;
    this.#writableNowThisTurn++;
    // A choked connection is brought back by its drain, as below.
    if (!wsi.sendPipeChoked()) wsi.serviceWritable();
  }

  #writableNowThisTurn = 0;

  #serviceWritable = (): void => {
    this.#writableScheduled = false;
    this.#writableNowThisTurn = 0;
    // Those asking during the pass are served on the next one.
    const batch = this.#writableList;
    this.#writableList = this.#writableSpare;
    let i = 0;
    try {
      while (i < batch.length) {
        const wsi = batch[i++];
        wsi.writableListed = false;
        if (!wsi.writablePending) continue;
        wsi.writablePending = false;
        if (wsi.closed) continue;
        // A choked connection is brought back by its drain (a socket's
        // 'drain', a stream's credit, a compressor catching up).
        if (wsi.sendPipeChoked()) continue;
        wsi.serviceWritable();
      }
    } finally {
      // Should a WRITEABLE throw past its guard, the rest wait for the next pass.
      for (; i < batch.length; i++) {
        const wsi = batch[i];
        wsi.writableListed = false;
        if (wsi.writablePending) this.scheduleWritable(wsi);
      }
      batch.length = 0;
      this.#writableSpare = batch;
    }
  };

  /**
   * How many connections have work to do that no network event will
   * start: a WRITEABLE asked for and not yet delivered, or data read and
   * held that is delivered once rx flow control allows (lws's "forced
   * service", `lws_service_adjust_timeout()`). Node's loop runs that work
   * by itself on its next turn; the count is for code that fits tslws into
   * another scheduler and wants to know whether a turn is owed.
   *
   * ```ts
   * if (context.servicePending() > 0) setImmediate(nextStep); // tslws has work this turn
   * ```
   */
  servicePending(): number {
    let n = 0;
    const wsis = this.#wsis;
    for (let i = 0; i < wsis.size; i++) {
      const w = wsis.at(i);
      if (w.closed) continue;
      if (w.writablePending || (w.heldRx !== null && w.rxFlowOn)) n++;
    }
    return n;
  }

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
      for (const l of this.#lingering) l.socket.destroy();
      this.#lingering.clear();
      this.timers.close();
      for (const w of this.#writableList) w.writablePending = w.writableListed = false;
      this.#writableList.length = 0;
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
      const p = f.stop?.(this, { timeoutSecs: secs });
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
