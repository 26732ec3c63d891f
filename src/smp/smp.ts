/**
 * SMP: a context served by several service processes (lws's
 * `count_threads`). lws runs one service thread per event loop and lets
 * each accept on the shared listen socket; Node cannot give a socket to a
 * worker thread, so tslws's services are processes running the same
 * program. The first process (the primary) binds every listen socket and
 * hands each accepted connection, unread, to the service with the fewest
 * live connections; a service binds nothing and serves what it is handed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { Context, defaultMaxConnections, type ContextCreationInfo } from '../core/context.js';
import { Wsi } from '../core/wsi.js';
import { extendApi, registerContextFeature, registerVhostFeature } from '../core/features.js';
import { ErrorCode, rangeError, stateError, typeError } from '../core/errors.js';
import { log } from '../core/log.js';
import { Option } from '../core/options.js';
import { peerAddressOf } from '../core/peer.js';
import { LocalPeerTable, type PeerTable } from '../core/peer-table.js';
import type { Listener } from '../roles/listen/listen.js';
import { serveHanded, setAcceptMode } from '../roles/listen/listen-feature.js';
import type { Vhost } from '../core/vhost.js';
import type { TopicBus, TopicBusHandler } from '../roles/ws/topics/bus.js';
// Loaded for `vhost.attachTopicBus`: a service carries its topics to the others.
import '../roles/ws/topics-api.js';

import { MAX_SMP } from './max.js';

export { MAX_SMP };

declare module '../core/context.js' {
  interface ContextCreationInfo {
    /**
     * Serve from this many service processes (lws's `count_threads`; at
     * most 32). 1 or absent: this process serves, as usual. More: this
     * process (the primary) runs the program again that many times
     * (`process.argv`, with an environment variable saying which service
     * it is), binds the listen sockets and hands each connection to the
     * least-loaded service; the same `createContext` call in a service
     * makes a context that serves them. See README "SMP".
     */
    countThreads?: number;
    /**
     * Most connections each service holds at once (lws's
     * `fd_limit_per_thread`). Default: the context's limit
     * (`maxConnections`, else the open-file limit) shared between the
     * services.
     */
    fdLimitPerThread?: number;
  }

  interface Context {
    /**
     * Which service process this is, 0 to `countThreads - 1` (lws's thread
     * service index); -1 in the primary of a context with `countThreads`
     * above 1, which serves no connection itself; 0 in a context served
     * by its own process.
     */
    readonly tsi: number;
    /** How many service processes the context is served by: `countThreads`, 1 when its own process serves it. */
    readonly countThreads: number;
    /**
     * Counters of the topic bus between the services (README "SMP"): in a
     * service, the publishes it sent to the primary, those it received
     * from the others, those it dropped because too many were in flight;
     * in the primary, the same summed over the services (sent: forwarded
     * to a service, received: from a service, dropped: not forwarded to a
     * service that had too many in flight). Null in a context served by
     * its own process.
     *
     * ```ts
     * const s = context.topicBusStats;
     * if (s?.dropped) console.warn(`${s.dropped} publishes did not reach the other services`);
     * ```
     */
    readonly topicBusStats: TopicBusStats | null;
  }
}

/** Counters of the topic bus between SMP services (`context.topicBusStats`). */
export interface TopicBusStats {
  /** Publishes sent over IPC (a service: to the primary; the primary: forwarded to services). */
  sent: number;
  /** Publishes received over IPC (a service: from other services; the primary: from services). */
  received: number;
  /** Publishes not sent because the bound of messages in flight was reached. */
  dropped: number;
  /** Messages sent and not yet written to the IPC channel. */
  inFlight: number;
}

/** One service's answer to a gather (`gatherSmpReports`). */
export interface SmpReport {
  /** The service's index. */
  readonly tsi: number;
  /** What its reporter returned (JSON data), null if it has none or it threw. */
  readonly report: unknown;
}

/** Every service's report of one name, gathered by the primary. */
export interface SmpGathered {
  /** The primary's own report (its reporter, if one is registered there), else null. */
  readonly primary: unknown;
  /** The services that answered in time, by index. */
  readonly services: readonly SmpReport[];
  /** The services that did not (not ready, restarting, too slow). */
  readonly missing: readonly number[];
}

/** What the primary knows of one service (`smpServiceStates`). */
export interface SmpServiceState {
  readonly tsi: number;
  /** Its process, 0 while none runs. */
  readonly pid: number;
  /** Taking connections now. */
  readonly ready: boolean;
  /** Connections handed to it and not yet reported closed. */
  readonly connections: number;
  /** Times it was started again after it died. */
  readonly restarts: number;
}

const reporters = new Map<string, (context: Context) => unknown>();

/**
 * Give the report `name` of this process when a gather asks for it: in
 * each service (its part) and in the primary (its own part). Data only:
 * it crosses the IPC channel as JSON. Registered once per process, at
 * module load.
 */
export function registerSmpReporter(name: string, report: (context: Context) => unknown): void {
  reporters.set(name, report);
}

function runReporter(name: string, context: Context): unknown {
  const r = reporters.get(name);
  if (!r) return null;
  try {
    return r(context) ?? null;
  } catch (e) {
    log.err('smp: report "%s": %s', name, (e as Error).message);
    return null;
  }
}

/**
 * The report `name` of every service of `context`'s server (and of its
 * primary), gathered by the primary: each service answers within 2 s or
 * is listed as missing. From a context served by its own process, its
 * own report. Rejects with `TSLWS_SMP` when the primary does not answer.
 */
export function gatherSmpReports(context: Context, name: string): Promise<SmpGathered> {
  const side = services.get(context);
  if (side) return side.gather(name);
  if (primaries.has(context)) return Promise.reject(stateError(ErrorCode.SMP, 'gatherSmpReports: the primary serves no connection; ask from a service'));
  return Promise.resolve({ primary: null, services: [{ tsi: 0, report: runReporter(name, context) }], missing: [] });
}

/** In the primary of an SMP context: what it knows of each service; null elsewhere. */
export function smpServiceStates(context: Context): SmpServiceState[] | null {
  return primaries.get(context)?.states() ?? null;
}

declare module '../core/wsi.js' {
  interface Wsi {
    /** The index of the service process serving this connection (`context.tsi`). */
    readonly tsi: number;
  }
}

const ENV_TSI = 'TSLWS_SMP_TSI';
const ENV_COUNT = 'TSLWS_SMP_COUNT';

/** A restart is delayed 100 ms, doubled per quick death, at most this. */
const MAX_RESTART_MS = 5000;
/** A service up this long before it dies is restarted after the first delay again. */
const STABLE_MS = 10_000;
/** Sockets held while no service is ready (starting, restarting); more are refused. */
const MAX_QUEUED = 1024;
/** How long `destroy()` waits for services to exit before killing them. */
const DESTROY_WAIT_MS = 5000;
/** How long a service waits for the listen address of a handed socket to be made (vhosts made after the context). */
const UNKNOWN_KEY_WAIT_MS = 10_000;

/** How long the primary waits for the services' reports of one gather. */
const GATHER_WAIT_MS = 2000;
/** How long a service waits for the primary's answer to a gather. */
const GATHER_ANSWER_MS = 4000;

/**
 * Publishes of the topic bus in flight over one IPC channel (sent, not yet
 * written): past this a publish is dropped and counted, so a service that
 * cannot keep up holds no unbounded queue in the process feeding it.
 */
export const TOPIC_BUS_MAX_IN_FLIGHT = 1024;

/**
 * A publish over IPC. The channel is JSON (socket handles ride on it), so
 * the payload goes as base64; the primary forwards it without decoding.
 */
interface BusPub { tslws: 'smp'; t: 'pub'; v: string; topic: string; data: string; bin: boolean }

/** Messages between the primary and a service; `tslws` tells them apart from the program's own. */
type ToService =
  | BusPub
  | { tslws: 'smp'; t: 'conn'; key: string; port: number }
  // ipLimitAh: the head `id` may be read now.
  | { tslws: 'smp'; t: 'ahGo'; id: number }
  // Asked for this service's report `name` (gather `gid`); the gathered reports, for the service that asked (`id`).
  | { tslws: 'smp'; t: 'collect'; gid: number; name: string }
  | { tslws: 'smp'; t: 'gathered'; id: number; primary: unknown; services: SmpReport[]; missing: number[] }
  | { tslws: 'smp'; t: 'drain'; timeoutSecs: number }
  | { tslws: 'smp'; t: 'destroy' };
// `peers`: the addresses of the closed connections that had one, for the primary's ipLimitWsi table.
type ToPrimary =
  | { tslws: 'smp'; t: 'ready' }
  | { tslws: 'smp'; t: 'stopping' }
  | { tslws: 'smp'; t: 'closed'; n: number; peers: string[] }
  | BusPub
  // The service's first (sub) or last (unsub) subscriber to a topic of a vhost.
  | { tslws: 'smp'; t: 'sub' | 'unsub'; v: string; topic: string }
  // ipLimitAh across the services: a head of `addr` wants to be read (ah), is read or gone (ahEnd).
  | { tslws: 'smp'; t: 'ah' | 'ahEnd'; addr: string; id: number }
  // Every service's report `name`, please (id: the asker's); a service's report for gather `gid`.
  | { tslws: 'smp'; t: 'gather'; id: number; name: string }
  | { tslws: 'smp'; t: 'report'; gid: number; report: unknown };

/**
 * The bound of messages in flight on one channel, with a counted drop
 * logged once per burst (when dropping starts; the count when it stops).
 */
class InFlight {
  inFlight = 0;
  sent = 0;
  dropped = 0;
  #burst = 0;
  /** Which channel: calls back from a channel since replaced are not counted. */
  #gen = 0;
  constructor(readonly what: string) {}

  /** The channel was replaced (a service restarted): what was in flight on the old one is gone. */
  reset(): void {
    this.#gen++;
    this.inFlight = 0;
  }

  /** Send with `send` (which calls back once written) unless the bound is reached. */
  send(send: (done: (err: Error | null) => void) => void): void {
    if (this.inFlight >= TOPIC_BUS_MAX_IN_FLIGHT) {
      this.dropped++;
      if (this.#burst++ === 0) log.warn('topic bus: %s cannot keep up (%d publishes in flight): dropping', this.what, this.inFlight);
      return;
    }
    if (this.#burst) {
      log.warn('topic bus: %s: %d publishes dropped', this.what, this.#burst);
      this.#burst = 0;
    }
    this.inFlight++;
    this.sent++;
    const gen = this.#gen;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (gen === this.#gen) this.inFlight--;
    };
    try {
      send(finish);
    } catch {
      // the channel is gone: nothing will call back
      finish();
    }
  }
}

/** Key of a topic of a vhost in the primary's tables. */
function topicKey(v: string, topic: string): string {
  return `${v}\u0000${topic}`;
}

function isSmpMessage(m: unknown): m is { tslws: 'smp'; t: string } {
  return typeof m === 'object' && m !== null && (m as { tslws?: unknown }).tslws === 'smp';
}

/**
 * This process's place, read once when the module loads and taken out of
 * the environment (as node:cluster does with its own), so programs this
 * one starts do not take themselves for services.
 */
const serviceEnv = ((): { tsi: number; count: number } | null => {
  const t = process.env[ENV_TSI];
  const c = process.env[ENV_COUNT];
  delete process.env[ENV_TSI];
  delete process.env[ENV_COUNT];
  if (t === undefined || c === undefined || typeof process.send !== 'function') return null;
  const tsi = Number(t);
  const count = Number(c);
  if (!Number.isInteger(tsi) || !Number.isInteger(count) || tsi < 0 || tsi >= count) return null;
  return { tsi, count };
})();

/** True in a service process of a program whose context has `countThreads` above 1. */
export function isSmpService(): boolean {
  return serviceEnv !== null;
}

interface SmpState {
  readonly tsi: number;
  readonly count: number;
}
const states = new WeakMap<Context, SmpState>();
/** The context of this process that takes part in SMP: one per process at a time. */
let smpContext: Context | null = null;

function validate(info: ContextCreationInfo): number {
  const n = info.countThreads;
  if (n !== undefined) {
    if (typeof n !== 'number') throw typeError(ErrorCode.INVALID_OPTION, `countThreads must be a number, got ${typeof n}`);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SMP)
      throw rangeError(ErrorCode.INVALID_OPTION, `countThreads must be an integer from 1 to ${MAX_SMP}, got ${n}`);
  }
  const f = info.fdLimitPerThread;
  if (f !== undefined) {
    if (typeof f !== 'number') throw typeError(ErrorCode.INVALID_OPTION, `fdLimitPerThread must be a number, got ${typeof f}`);
    if (!Number.isInteger(f) || f < 1) throw rangeError(ErrorCode.INVALID_OPTION, `fdLimitPerThread must be an integer >= 1, got ${f}`);
  }
  return n ?? 1;
}

// ---- the primary ----

interface Service {
  readonly tsi: number;
  child: ChildProcess | null;
  ready: boolean;
  /** Connections handed over and not yet reported closed. */
  live: number;
  startedAt: number;
  restartMs: number;
  restartTimer: NodeJS.Timeout | null;
  everReady: boolean;
  /** Addresses of its live connections (for ipLimitWsi), so a service that dies gives them back. */
  peers: Map<string, number>;
  /** The vhost topics it has subscribers to (topicKey): only those are forwarded to it. */
  topics: Set<string>;
  /** Publishes forwarded to it, bounded. */
  bus: InFlight;
  /** Publishes it sent. */
  busReceived: number;
  /** ipLimitAh: its heads held or waiting in the primary's table, by its id for them. */
  heads: Map<number, { addr: string; ready: () => void }>;
  restarts: number;
}

/** A gather in progress in the primary: the reports `name` asked by `from` (its id). */
interface Gather {
  readonly from: Service;
  readonly fromChild: ChildProcess;
  readonly id: number;
  readonly name: string;
  readonly want: Set<number>;
  readonly got: SmpReport[];
  timer: NodeJS.Timeout | null;
}

class Primary {
  readonly #services: Service[] = [];
  /** ipLimitWsi across every service: the primary accepts, so it counts. */
  readonly #peerTable: LocalPeerTable | null;
  readonly #gathers = new Map<number, Gather>();
  #gatherIds = 0;
  readonly #queue: Array<{ socket: Socket; listener: Listener }> = [];
  #stopping: Promise<void> | null = null;
  /** Where ties start: equally loaded services take turns. */
  #next = 0;
  #readyResolve!: () => void;
  #readyReject!: (e: Error) => void;
  readonly ready: Promise<void>;

  constructor(readonly ctx: Context, readonly count: number, readonly program: string, readonly args: readonly string[]) {
    // Both limits for the whole server: connections counted at accept, heads as the services ask.
    this.#peerTable = ctx.ipLimitWsi > 0 || ctx.ipLimitAh > 0 ? new LocalPeerTable(ctx.ipLimitWsi, ctx.ipLimitAh) : null;
    this.ready = new Promise<void>((res, rej) => {
      this.#readyResolve = res;
      this.#readyReject = rej;
    });
    this.ready.catch(() => {}); // reported through context.listening
  }

  /** Start the services (once the context is made: a context that failed to be made starts none). */
  startAll(): void {
    if (this.#stopping) return;
    for (let i = 0; i < this.count; i++) {
      const s: Service = {
        tsi: i, child: null, ready: false, live: 0, startedAt: 0, restartMs: 100, restartTimer: null, everReady: false, peers: new Map(),
        topics: new Set(), bus: new InFlight(`service ${i}`), busReceived: 0, heads: new Map(), restarts: 0,
      };
      this.#services.push(s);
      this.#start(s);
    }
  }

  #start(s: Service): void {
    s.restartTimer = null;
    s.startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = fork(this.program, [...this.args], {
        env: { ...process.env, [ENV_TSI]: String(s.tsi), [ENV_COUNT]: String(this.count) },
        execArgv: process.execArgv,
        serialization: 'json',
      });
    } catch (e) {
      log.err('service %d: cannot start: %s', s.tsi, (e as Error).message);
      this.#exited(s, null, null, null);
      return;
    }
    s.child = child;
    child.on('error', (e) => log.err('service %d (pid %d): %s', s.tsi, child.pid ?? 0, e.message));
    child.on('message', (m: unknown) => {
      if (s.child !== child || !isSmpMessage(m)) return;
      const msg = m as ToPrimary;
      if (msg.t === 'ready') {
        s.ready = true;
        if (!s.everReady) {
          s.everReady = true;
          if (this.#services.every((x) => x.everReady)) this.#readyResolve();
        }
        log.notice('service %d (pid %d) ready', s.tsi, child.pid ?? 0);
        this.#flush();
      } else if (msg.t === 'stopping') {
        // Draining or destroyed: it refuses what it is handed, so nothing more goes to it.
        s.ready = false;
      } else if (msg.t === 'closed') {
        s.live = Math.max(0, s.live - msg.n);
        if (Array.isArray(msg.peers)) for (const a of msg.peers) this.#peerGone(s, a);
      } else if (msg.t === 'sub' || msg.t === 'unsub') {
        if (typeof msg.v !== 'string' || typeof msg.topic !== 'string') return;
        if (msg.t === 'sub') s.topics.add(topicKey(msg.v, msg.topic));
        else s.topics.delete(topicKey(msg.v, msg.topic));
      } else if (msg.t === 'pub') {
        this.#forward(s, msg);
      } else if (msg.t === 'ah') {
        this.#headBegins(s, child, msg.addr, msg.id);
      } else if (msg.t === 'ahEnd') {
        this.#headEnds(s, msg.id);
      } else if (msg.t === 'gather') {
        this.#gather(s, child, msg.id, msg.name);
      } else if (msg.t === 'report') {
        this.#report(s, msg.gid, msg.report);
      }
    });
    child.on('exit', (code, signal) => this.#exited(s, child, code, signal));
  }

  /**
   * A publish from `from`: to every other service with a subscriber to its
   * topic, in the order it came (one channel per service keeps each
   * publisher's order), never back to `from`.
   */
  #forward(from: Service, msg: BusPub): void {
    if (typeof msg.v !== 'string' || typeof msg.topic !== 'string' || typeof msg.data !== 'string') return;
    from.busReceived++;
    const key = topicKey(msg.v, msg.topic);
    const out: ToService = { tslws: 'smp', t: 'pub', v: msg.v, topic: msg.topic, data: msg.data, bin: msg.bin === true };
    for (const s of this.#services) {
      if (s === from || !s.topics.has(key)) continue;
      const child = s.child;
      if (!child?.connected) continue;
      s.bus.send((done) => child.send(out, done));
    }
  }

  /**
   * ipLimitAh over every service: a head of `addr` is read once the
   * primary's table gives it a place (at once when the address is under
   * the limit), and the service says when it is done with it.
   */
  #headBegins(s: Service, child: ChildProcess, addr: unknown, id: unknown): void {
    if (typeof addr !== 'string' || typeof id !== 'number' || s.heads.has(id)) return;
    const go = (): void => {
      if (s.child !== child || !child.connected) return;
      try {
        child.send({ tslws: 'smp', t: 'ahGo', id } satisfies ToService);
      } catch {
        // the channel went away: its 'exit' gives the place back
      }
    };
    const table = this.#peerTable;
    if (!table || this.ctx.ipLimitAh <= 0) {
      go();
      return;
    }
    s.heads.set(id, { addr, ready: go });
    if (table.beginHead(addr, go)) go();
  }

  #headEnds(s: Service, id: unknown): void {
    if (typeof id !== 'number') return;
    const h = s.heads.get(id);
    if (!h) return;
    s.heads.delete(id);
    this.#peerTable?.endHead(h.addr, h.ready);
  }

  /** A service asks for every service's report `name`: ask the ready ones, answer with what comes within the bound. */
  #gather(from: Service, fromChild: ChildProcess, id: unknown, name: unknown): void {
    if (typeof id !== 'number' || typeof name !== 'string') return;
    const gid = ++this.#gatherIds;
    const g: Gather = { from, fromChild, id, name, want: new Set(), got: [], timer: null };
    this.#gathers.set(gid, g);
    const msg: ToService = { tslws: 'smp', t: 'collect', gid, name };
    for (const s of this.#services) {
      const child = s.child;
      if (!s.ready || !child?.connected) continue;
      try {
        child.send(msg);
        g.want.add(s.tsi);
      } catch {
        // gone: listed as missing
      }
    }
    if (!g.want.size) this.#gathered(gid);
    else g.timer = setTimeout(() => this.#gathered(gid), GATHER_WAIT_MS);
  }

  #report(s: Service, gid: unknown, report: unknown): void {
    const g = typeof gid === 'number' ? this.#gathers.get(gid) : undefined;
    if (!g || !g.want.delete(s.tsi)) return;
    g.got.push({ tsi: s.tsi, report: report ?? null });
    if (!g.want.size) this.#gathered(gid as number);
  }

  #gathered(gid: number): void {
    const g = this.#gathers.get(gid);
    if (!g) return;
    this.#gathers.delete(gid);
    if (g.timer) clearTimeout(g.timer);
    if (g.from.child !== g.fromChild || !g.fromChild.connected) return;
    const services = g.got.sort((a, b) => a.tsi - b.tsi);
    const missing = this.#services.map((s) => s.tsi).filter((t) => !services.some((r) => r.tsi === t));
    const msg: ToService = { tslws: 'smp', t: 'gathered', id: g.id, primary: runReporter(g.name, this.ctx), services, missing };
    try {
      g.fromChild.send(msg);
    } catch {
      // the asker went away
    }
  }

  /** What the primary knows of each service. */
  states(): SmpServiceState[] {
    return this.#services.map((s) => ({ tsi: s.tsi, pid: s.child?.pid ?? 0, ready: s.ready, connections: s.live, restarts: s.restarts }));
  }

  /** Bus counters summed over the services. */
  busStats(): TopicBusStats {
    const st: TopicBusStats = { sent: 0, received: 0, dropped: 0, inFlight: 0 };
    for (const s of this.#services) {
      st.sent += s.bus.sent;
      st.received += s.busReceived;
      st.dropped += s.bus.dropped;
      st.inFlight += s.bus.inFlight;
    }
    return st;
  }

  #exited(s: Service, child: ChildProcess | null, code: number | null, signal: NodeJS.Signals | null): void {
    if (child && s.child !== child) return;
    s.child = null;
    s.ready = false;
    // A restarted service subscribes afresh; the old process's channel is gone with what was in flight on it.
    s.topics.clear();
    s.bus.reset();
    const lost = s.live;
    s.live = 0;
    for (const [a, n] of s.peers) for (let i = 0; i < n; i++) this.#peerTable?.remove(a);
    s.peers.clear();
    // Its heads read or waiting: their places go to the other services' connections.
    const heads = [...s.heads.values()];
    s.heads.clear();
    for (const h of heads) this.#peerTable?.endHead(h.addr, h.ready);
    if (this.#stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code ?? '?'}`;
    if (!s.everReady) {
      this.#readyReject(stateError(ErrorCode.SMP, `service ${s.tsi} exited (${how}) before it was ready`));
    }
    // A service that ran a while is not failing at start: begin again from the first delay.
    if (Date.now() - s.startedAt >= STABLE_MS) s.restartMs = 100;
    const delay = s.restartMs;
    s.restarts++;
    s.restartMs = Math.min(MAX_RESTART_MS, s.restartMs * 2);
    log.err('service %d (pid %d) exited (%s), %d connections lost; restarting in %d ms', s.tsi, child?.pid ?? 0, how, lost, delay);
    s.restartTimer = setTimeout(() => this.#start(s), delay);
  }

  /** The least-loaded ready service; ties go round in turn. */
  #pick(): Service | null {
    let best: Service | null = null;
    for (let k = 0; k < this.#services.length; k++) {
      const s = this.#services[(this.#next + k) % this.#services.length];
      if (!s.ready || !s.child?.connected) continue;
      if (!best || s.live < best.live) best = s;
    }
    if (best) this.#next = (best.tsi + 1) % this.#services.length;
    return best;
  }

  /** A socket the listen socket accepted (paused, nothing read). */
  take = (socket: Socket, listener: Listener): void => {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {}); // a reset while it waits must not throw in the primary
    const addr = this.#peerTable ? peerAddressOf(socket.remoteAddress) : '';
    if (addr && !this.#peerTable!.tryAdd(addr)) {
      this.ctx.noteRefusedPeer(addr);
      socket.destroy();
      return;
    }
    if (addr) {
      // Given back when it closes, whether it waited here or was handed over.
      const queuedGone = () => {
        if (!(socket as Socket & { [kHanded]?: Service })[kHanded]) this.#peerTable?.remove(addr);
      };
      socket.once('close', queuedGone);
    }
    const s = this.#pick();
    if (!s) {
      if (this.#queue.length >= MAX_QUEUED) {
        log.warn('no service ready and %d connections waiting: dropping %s', MAX_QUEUED, socket.remoteAddress);
        socket.destroy();
      } else this.#queue.push({ socket, listener });
      return;
    }
    this.#send(s, socket, listener);
  };

  #send(s: Service, socket: Socket, listener: Listener): void {
    const child = s.child;
    if (!child) {
      socket.destroy();
      return;
    }
    const msg: ToService = { tslws: 'smp', t: 'conn', key: listener.key, port: listener.port };
    s.live++;
    const addr = this.#peerTable ? peerAddressOf(socket.remoteAddress) : '';
    if (addr) {
      // From here the service reports its close; the primary's copy of the socket closes once sent.
      (socket as Socket & { [kHanded]?: Service })[kHanded] = s;
      s.peers.set(addr, (s.peers.get(addr) ?? 0) + 1);
    }
    try {
      child.send(msg, socket, (err) => {
        if (!err) return;
        if (s.child === child) s.live = Math.max(0, s.live - 1);
        if (addr) this.#peerGone(s, addr);
        socket.destroy();
      });
    } catch {
      if (s.child === child) s.live = Math.max(0, s.live - 1);
      if (addr) this.#peerGone(s, addr);
      socket.destroy();
    }
  }

  /** A connection `s` was handed closed (or never arrived): its address's place is free. */
  #peerGone(s: Service, addr: string): void {
    const n = s.peers.get(addr);
    if (!n) return;
    if (n === 1) s.peers.delete(addr);
    else s.peers.set(addr, n - 1);
    this.#peerTable?.remove(addr);
    this.ctx.notePeerClosed(addr);
  }

  #flush(): void {
    while (this.#queue.length) {
      const s = this.#pick();
      if (!s) return;
      const q = this.#queue.shift()!;
      if (q.socket.destroyed) continue;
      this.#send(s, q.socket, q.listener);
    }
  }

  /**
   * Stop the services: drain (`timeoutSecs`) or destroy; resolves when
   * every one has exited, killing those still there after the bound.
   */
  stop(drain: { timeoutSecs: number } | undefined): Promise<void> {
    if (this.#stopping) return this.#stopping;
    for (const q of this.#queue.splice(0)) q.socket.destroy();
    for (const g of this.#gathers.values()) if (g.timer) clearTimeout(g.timer);
    this.#gathers.clear();
    const waits: Promise<void>[] = [];
    const boundMs = drain ? drain.timeoutSecs * 1000 + 2000 : DESTROY_WAIT_MS;
    for (const s of this.#services) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      s.restartTimer = null;
      const child = s.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      waits.push(new Promise<void>((resolve) => {
        const killer = setTimeout(() => {
          log.warn('service %d (pid %d) still running after %d ms: killing it', s.tsi, child.pid ?? 0, boundMs);
          child.kill('SIGKILL');
        }, boundMs);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
      }));
      const msg: ToService = drain ? { tslws: 'smp', t: 'drain', timeoutSecs: drain.timeoutSecs } : { tslws: 'smp', t: 'destroy' };
      try {
        if (child.connected) child.send(msg);
      } catch {
        // the channel went away: the signal below still stops it
      }
      child.kill('SIGTERM');
    }
    this.#stopping = Promise.all(waits).then(() => undefined);
    return this.#stopping;
  }
}

const primaries = new WeakMap<Context, Primary>();
/** On a socket handed to a service: which one (its close is then the service's to report). */
const kHanded = Symbol('tslws.smp.handed');

// ---- a service ----

function ignoreError(): void {}

/** A message to the primary; nothing if it is gone ('disconnect' stops this service). */
function sendToPrimary(m: ToPrimary): void {
  try {
    if (process.connected) process.send?.(m);
  } catch {
    // the primary is gone: 'disconnect' stops this service
  }
}

/**
 * The topic bus of a service: publishes go to the primary, which forwards
 * them to the services that want them; what it forwards here is delivered
 * to this service's subscribers. One subscription per vhost topic per
 * process (the vhost reports first and last subscriber).
 */
class IpcTopicBus implements TopicBus {
  readonly #handlers = new Map<string, TopicBusHandler>();
  readonly #out = new InFlight('this service');
  #received = 0;

  publish(vhostName: string, topic: string, payload: Uint8Array, binary: boolean): void {
    if (!process.connected || !process.send) return;
    const send = process.send.bind(process);
    const data = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
    const m: ToPrimary = { tslws: 'smp', t: 'pub', v: vhostName, topic, data, bin: binary };
    this.#out.send((done) => send(m, done));
  }

  subscribe(vhostName: string, topic: string): void {
    sendToPrimary({ tslws: 'smp', t: 'sub', v: vhostName, topic });
  }

  unsubscribe(vhostName: string, topic: string): void {
    sendToPrimary({ tslws: 'smp', t: 'unsub', v: vhostName, topic });
  }

  onMessage(vhostName: string, handler: TopicBusHandler | null): void {
    if (handler) this.#handlers.set(vhostName, handler);
    else this.#handlers.delete(vhostName);
  }

  /** A publish another service made, forwarded by the primary. */
  received(m: BusPub): void {
    if (typeof m.v !== 'string' || typeof m.topic !== 'string' || typeof m.data !== 'string') return;
    const h = this.#handlers.get(m.v);
    if (!h) return;
    this.#received++;
    try {
      h(m.topic, Buffer.from(m.data, 'base64'), m.bin === true);
    } catch (e) {
      // From the IPC message event: a throw would end the service and every connection it serves.
      log.err('topic bus: delivering a publish to "%s": %s', m.topic, (e as Error).message);
    }
  }

  stats(): TopicBusStats {
    return { sent: this.#out.sent, received: this.#received, dropped: this.#out.dropped, inFlight: this.#out.inFlight };
  }
}

/**
 * ipLimitAh in a service: the primary holds the table for every service,
 * so each head asks it for a place (one IPC round trip per request head,
 * paid only when the limit is set) and says when it is read. Connections
 * are counted by the primary at accept (ipLimitWsi), so here they always fit.
 */
class IpcPeerTable implements PeerTable {
  #ids = 0;
  readonly #byReady = new Map<() => void, number>();
  readonly #byId = new Map<number, () => void>();

  get size(): number {
    return this.#byId.size;
  }

  tryAdd(): boolean {
    return true;
  }

  remove(): void {
    // the primary counts closes from the service's reports
  }

  beginHead(addr: string, ready: () => void): boolean {
    if (!process.connected) return true; // no primary to ask: the service is stopping
    const id = ++this.#ids;
    this.#byReady.set(ready, id);
    this.#byId.set(id, ready);
    sendToPrimary({ tslws: 'smp', t: 'ah', addr, id });
    return false;
  }

  endHead(addr: string, ready: () => void): void {
    const id = this.#byReady.get(ready);
    if (id === undefined) return;
    this.#byReady.delete(ready);
    this.#byId.delete(id);
    sendToPrimary({ tslws: 'smp', t: 'ahEnd', addr, id });
  }

  /** The primary gave head `id` its place. */
  go(id: number): void {
    this.#byId.get(id)?.();
  }
}


/** The service side: takes the sockets the primary hands over, reports closes, stops when told. */
class ServiceSide {
  readonly bus = new IpcTopicBus();

  #closed = 0;
  #closedPeers: string[] = [];
  #gatherIds = 0;
  readonly #gathers = new Map<number, { resolve: (g: SmpGathered) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #reportScheduled = false;
  #stopping = false;

  constructor(readonly context: Context) {
    process.on('message', this.#onMessage);
    process.on('SIGTERM', this.#onTerm);
    process.on('disconnect', this.#onOrphaned);
    // After the constructor: the default vhost (if any) is made by then.
    setImmediate(() => sendToPrimary({ tslws: 'smp', t: 'ready' }));
  }

  #onMessage = (m: unknown, handle: unknown): void => {
    if (!isSmpMessage(m)) return;
    const msg = m as ToService;
    if (msg.t === 'conn') {
      const socket = handle as Socket | undefined;
      if (!socket || typeof socket.destroy !== 'function') return;
      // The address now: a closed socket may no longer say it.
      const addr = peerAddressOf(socket.remoteAddress);
      socket.once('close', () => this.#countClose(addr));
      this.#serve(msg.key, msg.port, socket, Date.now());
    } else if (msg.t === 'pub') {
      if (!this.context.destroyed) this.bus.received(msg);
    } else if (msg.t === 'ahGo') {
      const peers = this.context.peerTable;
      if (peers instanceof IpcPeerTable && typeof msg.id === 'number') peers.go(msg.id);
    } else if (msg.t === 'collect') {
      if (typeof msg.gid === 'number' && typeof msg.name === 'string')
        sendToPrimary({ tslws: 'smp', t: 'report', gid: msg.gid, report: runReporter(msg.name, this.context) });
    } else if (msg.t === 'gathered') {
      const g = typeof msg.id === 'number' ? this.#gathers.get(msg.id) : undefined;
      if (!g) return;
      this.#gathers.delete(msg.id);
      clearTimeout(g.timer);
      g.resolve({ primary: msg.primary ?? null, services: Array.isArray(msg.services) ? msg.services : [], missing: Array.isArray(msg.missing) ? msg.missing : [] });
    } else if (msg.t === 'drain') {
      this.#stop(msg.timeoutSecs);
    } else if (msg.t === 'destroy') {
      this.#stop(null);
    }
  };

  /** Every service's report `name`, through the primary. */
  gather(name: string): Promise<SmpGathered> {
    if (!process.connected) return Promise.reject(stateError(ErrorCode.SMP, 'gatherSmpReports: the primary is gone'));
    const id = ++this.#gatherIds;
    return new Promise<SmpGathered>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#gathers.delete(id);
        reject(stateError(ErrorCode.SMP, `gatherSmpReports: no answer from the primary in ${GATHER_ANSWER_MS} ms`));
      }, GATHER_ANSWER_MS);
      this.#gathers.set(id, { resolve, reject, timer });
      sendToPrimary({ tslws: 'smp', t: 'gather', id, name });
    });
  }

  #serve(key: string, port: number, socket: Socket, since: number): void {
    if (socket.destroyed) return;
    if (this.context.destroyed || this.context.draining) {
      socket.destroy();
      return;
    }
    socket.off('error', ignoreError);
    const r = serveHanded(this.context, key, socket, port);
    if (r !== undefined) return;
    // Until it is served nothing else listens: a reset must not end the process.
    socket.on('error', ignoreError);
    // Vhosts made after the context (EXPLICIT_VHOSTS) may not be there yet.
    if (Date.now() - since > UNKNOWN_KEY_WAIT_MS) {
      log.err('service: no vhost listens on %s here; closing the connection', key);
      socket.destroy();
      return;
    }
    socket.pause();
    setTimeout(() => this.#serve(key, port, socket, since), 20);
  }

  #countClose = (addr: string): void => {
    this.#closed++;
    if (addr) this.#closedPeers.push(addr);
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    setImmediate(() => {
      this.#reportScheduled = false;
      const n = this.#closed;
      const peers = this.#closedPeers;
      this.#closed = 0;
      this.#closedPeers = [];
      if (n) sendToPrimary({ tslws: 'smp', t: 'closed', n, peers });
    });
  };

  #onTerm = (): void => {
    this.#stop(30);
  };

  /** The primary is gone (killed): nothing more comes, so only a short drain. */
  #onOrphaned = (): void => {
    this.#stop(5);
  };

  /** Drain (`secs`) or destroy, then end the process: it exists to serve this context. */
  #stop(secs: number | null): void {
    if (this.#stopping) return;
    this.#stopping = true;
    sendToPrimary({ tslws: 'smp', t: 'stopping' });
    const done = secs === null ? this.context.destroy() : this.context.drain({ timeoutSecs: secs });
    done.then(
      () => process.exit(0),
      (e: Error) => {
        log.err('service %d: %s', states.get(this.context)?.tsi ?? -1, e.message);
        process.exit(1);
      },
    );
  }

  /** The context was destroyed: let the process end by itself. */
  detach(): void {
    for (const g of this.#gathers.values()) {
      clearTimeout(g.timer);
      g.reject(stateError(ErrorCode.SMP, 'gatherSmpReports: the context was destroyed'));
    }
    this.#gathers.clear();
    process.off('message', this.#onMessage);
    process.off('SIGTERM', this.#onTerm);
    process.off('disconnect', this.#onOrphaned);
    if (!this.#stopping && process.connected) process.disconnect();
  }
}

const services = new WeakMap<Context, ServiceSide>();

registerContextFeature({
  name: 'smp',
  // Before listen (90): the accept mode is set before the first listen socket is made.
  order: 5,
  prepare(info) {
    const n = validate(info);
    // One process: its one service thread's limit, as lws takes fd_limit_per_thread with one thread.
    if (n === 1) return info.fdLimitPerThread === undefined ? info : { ...info, maxConnections: info.fdLimitPerThread };
    if (!serviceEnv) return info;
    // A service's share of the limit: its own, or the whole shared as lws shares the fds between its threads.
    const total = info.maxConnections ?? defaultMaxConnections();
    const per = info.fdLimitPerThread ?? Math.max(1, Math.floor(total / serviceEnv.count));
    // The peer limits hold across the services: the primary, which accepts, counts connections (ipLimitWsi)
    // and gives the places to read heads (ipLimitAh).
    return { ...info, maxConnections: per, ipLimitWsi: 0, ...(info.ipLimitAh ? { peerTable: new IpcPeerTable() } : {}) };
  },
  create(ctx, info) {
    const n = validate(info);
    if (n === 1) {
      states.set(ctx, { tsi: 0, count: 1 });
      return;
    }
    if (smpContext && !smpContext.destroyed) {
      throw stateError(ErrorCode.INVALID_OPTION, 'countThreads: another context of this process is already served by service processes; destroy it first');
    }
    if (serviceEnv) {
      states.set(ctx, { tsi: serviceEnv.tsi, count: serviceEnv.count });
      smpContext = ctx;
      setAcceptMode(ctx, { kind: 'receive' });
      services.set(ctx, new ServiceSide(ctx));
      return;
    }
    const program = process.argv[1];
    if (!program) throw stateError(ErrorCode.SMP, 'countThreads: the services run this program again, but it was not started from a file');
    states.set(ctx, { tsi: -1, count: n });
    smpContext = ctx;
    // The primary accepts and hands out; the user's protocols run in the services only.
    ctx.runsProtocols = false;
    const p = new Primary(ctx, n, program, process.argv.slice(2));
    primaries.set(ctx, p);
    setAcceptMode(ctx, { kind: 'hand-off', take: p.take, ready: p.ready });
    // On the next turn: if making the context's own vhost threw (a bad port, TLS files), no service is left behind.
    setImmediate(() => {
      const failed = !(ctx.options & Option.EXPLICIT_VHOSTS) && ctx.vhosts.length === 0;
      if (failed || ctx.destroyed) {
        if (smpContext === ctx) smpContext = null;
        return;
      }
      p.startAll();
    });
  },
  stop(ctx, drain) {
    return primaries.get(ctx)?.stop(drain);
  },
  destroy(ctx) {
    services.get(ctx)?.detach();
    services.delete(ctx);
    if (smpContext === ctx) smpContext = null;
  },
});

extendApi(Context, {
  get tsi(): number {
    return states.get(this)?.tsi ?? 0;
  },
  get countThreads(): number {
    return states.get(this)?.count ?? 1;
  },
  get topicBusStats(): TopicBusStats | null {
    return services.get(this)?.bus.stats() ?? primaries.get(this)?.busStats() ?? null;
  },
});

registerVhostFeature({
  name: 'smp-topic-bus',
  // After topics (41): the vhost's topics exist when the bus is attached.
  order: 95,
  create(vh: Vhost) {
    const side = services.get(vh.context);
    if (side) vh.attachTopicBus(side.bus);
  },
});

extendApi(Wsi, {
  get tsi(): number {
    return this.context.tsi;
  },
});
