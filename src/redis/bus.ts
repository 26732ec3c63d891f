/**
 * A `TopicBus` on Redis: the vhosts of many processes, on many machines,
 * share their topics through one Redis server.
 *
 * - Fan-out is pub/sub (PUBLISH / SUBSCRIBE, or SPUBLISH / SSUBSCRIBE when
 *   `sharded`): one channel subscription per vhost topic per process,
 *   made on the topic's first local subscriber and dropped on its last.
 *   On a Redis Cluster (`cluster`) both connections are node-redis cluster
 *   clients: a topic's commands and subscription go to its slot's node.
 * - A message carries the publishing process's node label; a process
 *   drops its own messages, except on topics with history, whose every
 *   message (its own too) it delivers from Redis in the stream's order.
 * - With history a publish is one script: XADD to the topic's stream
 *   (MAXLEN ~ N) and PUBLISH of the message with its epoch and offset.
 * - Publishes wait in a bounded outbox while Redis is unreachable;
 *   commands on the wire stay in it until Redis answers, and are sent
 *   again after a reconnect.
 * - After the subscriber connection comes back, every topic wanted here
 *   catches up from the last position seen (history) or its subscribers
 *   are told a gap may have occurred (no history).
 */
import { randomBytes } from 'node:crypto';
import { log } from '../core/log.js';
import { ErrorCode, stateError } from '../core/errors.js';
import type {
  TopicBus, TopicBusGapHandler, TopicBusHandler, TopicGapCause, TopicPosition, TopicReplay, TopicReplayMessage,
} from '../roles/ws/topics/bus.js';
import { comparePositions } from '../roles/ws/topics/position.js';
import type { RedisClusterLike, RedisModuleLike } from './client.js';
import { clusterLink, singleLink, type BusLink } from './link.js';
import type { ResolvedRedisOptions } from './options.js';
import { decodeMessage, encodeMessage, topicNames, type BusMessage, type TopicNames } from './wire.js';
import { PUBLISH_SCRIPT, REPLAY_SCRIPT, TIP_SCRIPT } from './scripts.js';

/** Counters of a Redis topic bus (`bus.stats()`). */
export interface RedisBusStats {
  /** Publishes Redis accepted. */
  sent: number;
  /** Messages from Redis delivered to this process's subscribers. */
  received: number;
  /** Publishes refused (outbox full) or rejected by Redis. */
  dropped: number;
  /** Publishes waiting in the outbox now (unsent, or sent and not yet answered). */
  buffered: number;
  /** Connections to Redis made again after being lost. */
  reconnects: number;
  /** Both connections (commands, subscriptions) are up. */
  connected: boolean;
}

/** RESP bulk strings as Buffers: payloads are bytes. */
const AS_BUFFERS = { typeMapping: { 36: Buffer } };

interface Outgoing {
  readonly names: TopicNames;
  readonly history: number;
  readonly binary: boolean;
  readonly payload: Uint8Array;
  readonly origin: number;
}

/** One vhost topic this process wants. */
interface Wanted {
  readonly vhost: string;
  readonly topic: string;
  readonly names: TopicNames;
  readonly history: number;
  /** The channel subscription is confirmed. */
  confirmed: boolean;
  /** …and with history, the tip read: messages published from now on come back here. */
  ready: boolean;
  /** The last position delivered here (history); epoch '' while the topic had no history yet. */
  last: TopicPosition | null;
  /** Live messages held while a catch-up is read. */
  catching: BusMessage[] | null;
  /** A catch-up waits for the command connection. */
  pendingCatchUp: boolean;
  readonly waiters: Array<() => void>;
  /** What the subscriber connection calls with this channel's messages. */
  readonly listener: (m: Buffer) => void;
}

/** How long an unsent subscription waits before it is sent again. */
const RESUBSCRIBE_MS = 250;

function clientOffline(e: unknown): boolean {
  // node-redis's ClientOfflineError: nothing was sent (a cluster client
  // before it knows the cluster), so nothing will be repeated either.
  return e instanceof Error && (e.constructor.name === 'ClientOfflineError' || e.message === 'The client is offline');
}

const OFFSET_RE = /^\d{1,20}-\d{1,20}$/;

function isReplyError(e: unknown): boolean {
  // node-redis's ErrorReply: Redis answered with an error, the connection is fine.
  return e instanceof Error && e.constructor.name === 'ErrorReply';
}

function str(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('latin1') : String(v ?? '');
}

/** Parse XRANGE entries `[id, [field, value, …]]` into replay messages. */
function entries(raw: unknown, epoch: string): Array<TopicReplayMessage & { node: string; origin: number }> {
  const out: Array<TopicReplayMessage & { node: string; origin: number }> = [];
  if (!Array.isArray(raw)) return out;
  for (const e of raw) {
    if (!Array.isArray(e) || e.length < 2 || !Array.isArray(e[1])) continue;
    const fields = e[1] as unknown[];
    const f: Record<string, unknown> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[str(fields[i])] = fields[i + 1];
    const d = f.d;
    out.push({
      payload: Buffer.isBuffer(d) ? d : Buffer.from(str(d)),
      binary: str(f.b) === '1',
      position: { epoch, offset: str(e[0]) },
      node: str(f.n),
      origin: Number(str(f.o)) || 0,
    });
  }
  return out;
}

/** The user and password of a seed URL, for the node clients of a cluster. */
function clusterAuth(url: string): Record<string, string> {
  const u = new URL(url);
  const out: Record<string, string> = {};
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  return out;
}

function clusterTls(url: string): { tls?: true } {
  return url.startsWith('rediss:') ? { tls: true } : {};
}

export class RedisTopicBus implements TopicBus {
  /** This process's label on the bus. */
  readonly node: string;
  readonly #o: ResolvedRedisOptions;
  readonly #cmd: BusLink;
  readonly #sub: BusLink;
  readonly #handlers = new Map<string, TopicBusHandler>();
  readonly #gapHandlers = new Map<string, TopicBusGapHandler>();
  /** Wanted topics by channel. */
  readonly #wanted = new Map<string, Wanted>();
  readonly #outbox: Outgoing[] = [];
  #outBytes = 0;
  /** Outbox entries (from the front) sent and not yet answered. */
  #inFlight = 0;
  /** Bumped when the command connection is lost: answers for older sends are ignored. */
  #gen = 0;
  #sent = 0;
  #received = 0;
  #dropped = 0;
  #reconnects = 0;
  #cmdUpBefore = false;
  #subUpBefore = false;
  #closed = false;
  #downSince = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #cmdWaiters: Array<() => void> = [];

  /** @internal Made by `createRedisTopicBus`. */
  constructor(mod: RedisModuleLike, o: ResolvedRedisOptions) {
    this.#o = o;
    this.node = o.node;
    const reconnectStrategy = (retries: number): number => {
      const base = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(retries, 20));
      // Jitter, so the processes of a fleet do not all knock at the same instant.
      return Math.max(1, Math.round(base * (0.75 + Math.random() * 0.25)));
    };
    const socket = { reconnectStrategy, connectTimeout: o.connectTimeoutMs };
    // Publishes wait in the bus's own bounded outbox, not in the client's.
    const cmdOptions = { disableOfflineQueue: true, pingInterval: 10_000 };
    const seeds = o.cluster;
    if (seeds) {
      const createCluster = mod.createCluster;
      if (typeof createCluster !== 'function')
        throw stateError(ErrorCode.REDIS_CLIENT_MISSING, "the 'redis' package loaded has no createCluster: node-redis 5 or 6 is needed for a Redis Cluster");
      const cluster = (defaults: Record<string, unknown>): RedisClusterLike => createCluster({
        rootNodes: seeds.map((url) => ({ url })),
        // Node clients are made for the addresses the cluster announces: they take the seed's credentials and TLS.
        defaults: { ...clusterAuth(o.url), ...defaults, socket: { ...socket, ...clusterTls(o.url) }, RESP: 2 },
        RESP: 2,
      });
      this.#cmd = clusterLink(cluster(cmdOptions), reconnectStrategy);
      this.#sub = clusterLink(cluster({}), reconnectStrategy);
    } else {
      const base = { url: o.url, socket, RESP: 2 };
      this.#cmd = singleLink(mod.createClient({ ...base, ...cmdOptions }));
      this.#sub = singleLink(mod.createClient({ ...base }));
    }
    this.#cmd.onError((e: Error) => this.#linkError('commands', e));
    this.#sub.onError((e: Error) => this.#linkError('subscriptions', e));
    this.#cmd.onReady(() => this.#cmdReady());
    this.#sub.onReady(() => this.#subReady());
    this.#cmd.start();
    this.#sub.start();
  }

  /** Counters: publishes sent, messages received, dropped, waiting in the outbox; reconnections. */
  stats(): RedisBusStats {
    return {
      sent: this.#sent, received: this.#received, dropped: this.#dropped, buffered: this.#outbox.length,
      reconnects: this.#reconnects, connected: this.#cmd.isReady && this.#sub.isReady,
    };
  }

  /** Resolves true once both connections are up, false if `timeoutMs` passes first (or the bus is closed). */
  whenConnected(timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
      const t0 = Date.now();
      const check = (): void => {
        if (this.#closed) resolve(false);
        else if (this.#cmd.isReady && this.#sub.isReady) resolve(true);
        else if (Date.now() - t0 >= timeoutMs) resolve(false);
        else this.#after(20, check);
      };
      check();
    });
  }

  /** The names of a topic's channel and keys on this bus. */
  namesOf(vhostName: string, topic: string): TopicNames {
    return topicNames(this.#o.prefix, vhostName, topic);
  }

  /** Close both connections; what waits in the outbox is dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#dropped += this.#outbox.length;
    this.#outbox.length = 0;
    this.#outBytes = 0;
    for (const w of this.#wanted.values()) for (const fn of w.waiters.splice(0)) fn();
    this.#wanted.clear();
    this.#cmd.destroy();
    this.#sub.destroy();
  }

  // ---- TopicBus ----

  admit(_vhostName: string, _topic: string, bytes: number): Error | null {
    if (this.#closed) return stateError(ErrorCode.TOPIC_BUS_FULL, 'topic bus: the Redis bus is closed: publish refused');
    if (this.#outbox.length + 1 > this.#o.maxBufferedMessages || this.#outBytes + bytes > this.#o.maxBufferedBytes) {
      this.#dropped++;
      return stateError(ErrorCode.TOPIC_BUS_FULL, `topic bus: ${this.#outbox.length} publishes (${this.#outBytes} bytes) wait for Redis at ${this.#o.url}, `
        + `the bound (maxBufferedMessages ${this.#o.maxBufferedMessages}, maxBufferedBytes ${this.#o.maxBufferedBytes}): publish refused`);
    }
    return null;
  }

  ordersLocally(vhostName: string, topic: string): boolean {
    return this.#o.history(vhostName, topic) > 0;
  }

  publish(vhostName: string, topic: string, payload: Uint8Array, binary: boolean, origin?: number): void {
    if (this.#closed) return;
    // Asked by admit already when it comes from a vhost; a direct caller over the bound loses the message, counted.
    if (this.#outbox.length + 1 > this.#o.maxBufferedMessages || this.#outBytes + payload.length > this.#o.maxBufferedBytes) {
      this.#dropped++;
      return;
    }
    const names = this.namesOf(vhostName, topic);
    this.#outbox.push({ names, history: this.#o.history(vhostName, topic), binary, payload, origin: origin ?? 0 });
    this.#outBytes += payload.length;
    this.#flush();
  }

  subscribe(vhostName: string, topic: string): void {
    if (this.#closed) return;
    const names = this.namesOf(vhostName, topic);
    if (this.#wanted.has(names.channel)) return;
    const w: Wanted = {
      vhost: vhostName, topic, names, history: this.#o.history(vhostName, topic), confirmed: false, ready: false, last: null, catching: null, pendingCatchUp: false, waiters: [],
      listener: (m: Buffer): void => this.#live(w, m),
    };
    this.#wanted.set(names.channel, w);
    this.#sendSubscribe(w);
  }

  #sendSubscribe(w: Wanted): void {
    const channel = w.names.channel;
    this.#sub.subscribe(channel, w.listener, this.#o.sharded).then(() => this.#subscribed(w), (e: Error) => {
      log.warn('redis bus: subscribing to %s: %s', channel, e.message);
      // A subscription the client took is repeated by it when it reconnects
      // (`ready` comes then); one it refused unsent is sent again here.
      if (clientOffline(e)) this.#resendLater(w);
    });
  }

  #resendLater(w: Wanted): void {
    setTimeout(() => {
      if (this.#closed || this.#wanted.get(w.names.channel) !== w) return;
      if (this.#sub.isReady) this.#sendSubscribe(w);
      else this.#resendLater(w);
    }, RESUBSCRIBE_MS).unref();
  }

  unsubscribe(vhostName: string, topic: string): void {
    const names = this.namesOf(vhostName, topic);
    const w = this.#wanted.get(names.channel);
    if (!w) return;
    this.#wanted.delete(names.channel);
    for (const fn of w.waiters.splice(0)) fn();
    if (this.#closed) return;
    const p = this.#sub.unsubscribe(names.channel, this.#o.sharded);
    p.catch(() => { /* gone with the connection: it is not subscribed again */ });
    // History publishes that waited for this subscription need not wait any more.
    this.#flush();
  }

  onMessage(vhostName: string, handler: TopicBusHandler | null): void {
    if (handler) this.#handlers.set(vhostName, handler);
    else this.#handlers.delete(vhostName);
  }

  onGap(vhostName: string, handler: TopicBusGapHandler | null): void {
    if (handler) this.#gapHandlers.set(vhostName, handler);
    else this.#gapHandlers.delete(vhostName);
  }

  replay(vhostName: string, topic: string, since: TopicPosition, done: (r: TopicReplay) => void): void {
    const w = this.#wanted.get(this.namesOf(vhostName, topic).channel);
    let finished = false;
    const finish = (r: TopicReplay): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.#timers.delete(timer);
      done(r);
    };
    const timer = setTimeout(() => finish({ messages: [], gap: 'unavailable' }), this.#o.replayTimeoutMs);
    this.#timers.add(timer);
    if (!w || w.history === 0 || this.#closed) {
      setImmediate(() => finish({ messages: [], gap: w && w.history === 0 ? 'no-history' : 'unavailable' }));
      return;
    }
    if (!OFFSET_RE.test(since.offset)) {
      setImmediate(() => finish({ messages: [], gap: 'epoch' }));
      return;
    }
    // Once the channel is subscribed, every message after what the range returns comes live.
    this.#whenReady(w, () => this.#whenCmd(() => {
      if (finished || this.#wanted.get(w.names.channel) !== w) return finish({ messages: [], gap: 'unavailable' });
      this.#range(w, since).then((r) => finish(r.replay), (e: Error) => {
        log.info('redis bus: replay of %s: %s', w.names.channel, e.message);
        finish({ messages: [], gap: 'unavailable' });
      });
    }));
  }

  /** Run `fn` once the command connection is up (at once if it is). */
  #whenCmd(fn: () => void): void {
    if (this.#cmd.isReady) fn();
    else this.#cmdWaiters.push(fn);
  }

  // ---- publishing ----

  #flush(): void {
    if (this.#closed || !this.#cmd.isReady) return;
    while (this.#inFlight < this.#outbox.length) {
      const e = this.#outbox[this.#inFlight] as Outgoing;
      // A history publish waits for this process's subscription, so it comes back here to be delivered.
      if (e.history > 0) {
        const w = this.#wanted.get(e.names.channel);
        if (w && !w.ready) break;
      }
      this.#inFlight++;
      const gen = this.#gen;
      this.#send(e).then(() => this.#answered(gen, null), (err: Error) => this.#answered(gen, err));
    }
  }

  #send(e: Outgoing): Promise<unknown> {
    const pub = this.#o.sharded ? 'SPUBLISH' : 'PUBLISH';
    const data = Buffer.isBuffer(e.payload) ? e.payload : Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength);
    // The channel and both keys share one slot (wire.ts): any of them routes the command.
    if (e.history === 0) return this.#cmd.send(e.names.channel, [pub, e.names.channel, encodeMessage(this.node, e.binary, data)]);
    return this.#cmd.send(e.names.stream, ['EVAL', PUBLISH_SCRIPT, '2', e.names.stream, e.names.epoch, randomBytes(8).toString('hex'),
      String(e.history), this.node, String(e.origin), e.binary ? '1' : '0', data, e.names.channel, pub]);
  }

  #answered(gen: number, err: Error | null): void {
    if (gen !== this.#gen) return;
    if (err && !isReplyError(err)) {
      // The connection went with commands on the wire: they are sent again, in order, when it is back.
      this.#gen++;
      this.#inFlight = 0;
      return;
    }
    const e = this.#outbox.shift() as Outgoing;
    this.#inFlight--;
    this.#outBytes -= e.payload.length;
    if (err) {
      this.#dropped++;
      log.warn('redis bus: Redis refused a publish to %s: %s', e.names.channel, err.message);
    } else this.#sent++;
    this.#flush();
  }

  // ---- subscriptions ----

  #subscribed(w: Wanted): void {
    if (this.#wanted.get(w.names.channel) !== w || w.ready) return;
    w.confirmed = true;
    if (w.history === 0) return this.#markReady(w);
    this.#cmdCall(w.names.stream, ['EVAL', TIP_SCRIPT, '2', w.names.stream, w.names.epoch]).then((r) => {
      if (this.#wanted.get(w.names.channel) !== w) return;
      const [epoch, offset] = (r as unknown[]).map(str) as [string, string];
      const tip: TopicPosition = { epoch, offset: offset || '0-0' };
      // Live messages seen meanwhile may be further on; the furthest is where a catch-up starts.
      if (!w.last || (w.last.epoch === tip.epoch && comparePositions(tip.offset, w.last.offset) > 0)) w.last = tip;
      this.#markReady(w);
    }, (e: Error) => {
      log.info('redis bus: reading the tip of %s: %s (again when connected)', w.names.stream, e.message);
    });
  }

  #markReady(w: Wanted): void {
    w.ready = true;
    for (const fn of w.waiters.splice(0)) fn();
    this.#flush();
  }

  #whenReady(w: Wanted, fn: () => void): void {
    if (w.ready) fn();
    else w.waiters.push(fn);
  }

  #live(w: Wanted, m: Buffer): void {
    if (this.#wanted.get(w.names.channel) !== w) return;
    const msg = decodeMessage(m);
    if (!msg) return;
    if (w.history === 0) {
      // Delivered here already when it was published.
      if (msg.node === this.node) return;
      this.#deliver(w, msg);
      return;
    }
    if (w.catching) {
      if (w.catching.length < this.#o.replayLimit) {
        w.catching.push(msg);
        return;
      }
      // Held too long (commands still down): go on live, telling the subscribers.
      w.pendingCatchUp = false;
      this.#gap(w, 'unavailable');
      this.#releaseHeld(w);
    }
    this.#deliverOrdered(w, msg);
  }

  /** Deliver a message of a topic with history, unless already delivered; a new epoch is a gap. */
  #deliverOrdered(w: Wanted, msg: BusMessage): void {
    const p = msg.position;
    if (p) {
      if (w.last && w.last.epoch === p.epoch && comparePositions(p.offset, w.last.offset) <= 0) return;
      if (w.last && w.last.epoch !== '' && w.last.epoch !== p.epoch) this.#gap(w, 'epoch');
      w.last = p;
    }
    this.#deliver(w, msg);
  }

  #deliver(w: Wanted, msg: BusMessage): void {
    const h = this.#handlers.get(w.vhost);
    if (!h) return;
    this.#received++;
    const own = msg.node === this.node && msg.origin > 0;
    try {
      h(w.topic, msg.payload, msg.binary, { position: msg.position ?? undefined, origin: own ? msg.origin : undefined });
    } catch (e) {
      log.err('redis bus: delivering a message of %s: %s', w.topic, (e as Error).message);
    }
  }

  #gap(w: Wanted, cause: TopicGapCause): void {
    const h = this.#gapHandlers.get(w.vhost);
    try {
      h?.(w.topic, cause);
    } catch (e) {
      log.err('redis bus: reporting a gap of %s: %s', w.topic, (e as Error).message);
    }
  }

  /** What came after `since` (or the new epoch's messages from its start), as one replay. */
  async #range(w: Wanted, since: TopicPosition): Promise<{ replay: TopicReplay; epoch: string }> {
    const limit = this.#o.replayLimit;
    const r = await this.#cmdCall(w.names.stream, ['EVAL', REPLAY_SCRIPT, '2', w.names.stream, w.names.epoch, since.epoch, since.offset, String(limit + 1)]) as unknown[];
    const epoch = str(r[0]);
    const same = Number(r[1]) === 1;
    // The position itself is gone: what followed it may be gone too (reported even when, by chance, it is not).
    const trimmed = same && comparePositions(str(r[2]), since.offset) > 0;
    const all = entries(r[3], epoch);
    let gap: TopicGapCause | null = null;
    // A history that had not begun (epoch '') has lost nothing when it begins.
    if (!same && since.epoch !== '') gap = 'epoch';
    else if (trimmed) gap = 'trimmed';
    if (all.length > limit) return { replay: { messages: [], gap: 'too-far' }, epoch };
    return { replay: { messages: all, gap }, epoch };
  }

  #cmdCall(key: string, args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    if (!this.#cmd.isReady) return Promise.reject(stateError(ErrorCode.TOPIC_BUS_FULL, 'redis bus: not connected'));
    return this.#cmd.send(key, args, AS_BUFFERS);
  }

  /** After the subscriber connection came back: catch up (history) or report the gap (none). */
  #resumeAll(): void {
    for (const w of this.#wanted.values()) {
      if (w.history === 0) {
        if (w.ready) this.#gap(w, 'disconnected');
        else this.#subscribed(w);
        continue;
      }
      if (!w.ready) {
        this.#subscribed(w);
        continue;
      }
      this.#catchUp(w);
    }
  }

  #catchUp(w: Wanted): void {
    const from = w.last;
    if (!from) {
      this.#gap(w, 'disconnected');
      return;
    }
    if (w.catching && !w.pendingCatchUp) return;
    w.catching ??= [];
    if (!this.#cmd.isReady) {
      // Live messages are held meanwhile, within the replay's bound.
      w.pendingCatchUp = true;
      return;
    }
    w.pendingCatchUp = false;
    this.#range(w, from).then(({ replay: r, epoch }) => {
      if (this.#wanted.get(w.names.channel) !== w) return;
      if (r.gap) this.#gap(w, r.gap);
      // Reported once: the new epoch's messages (from its start) follow without another gap.
      if (r.gap === 'epoch') w.last = { epoch, offset: '0-0' };
      for (const m of r.messages as Array<TopicReplayMessage & { node: string; origin: number }>) {
        this.#deliverOrdered(w, { node: m.node, origin: m.origin, binary: m.binary, position: m.position, payload: m.payload as Buffer });
      }
      this.#releaseHeld(w);
    }, (e: Error) => {
      if (this.#wanted.get(w.names.channel) !== w) return;
      if (!this.#cmd.isReady) {
        w.pendingCatchUp = true;
        return;
      }
      log.info('redis bus: catching up %s: %s', w.names.channel, e.message);
      this.#gap(w, 'unavailable');
      this.#releaseHeld(w);
    });
  }

  #releaseHeld(w: Wanted): void {
    const held = w.catching ?? [];
    w.catching = null;
    for (const m of held) this.#deliverOrdered(w, m);
  }

  // ---- connections ----

  #cmdReady(): void {
    if (this.#cmdUpBefore) this.#reconnects++;
    this.#cmdUpBefore = true;
    this.#upAgain();
    // The tips of topics subscribed while commands were down are read now.
    for (const w of this.#wanted.values()) {
      if (w.confirmed && !w.ready) this.#subscribed(w);
      else if (w.pendingCatchUp) this.#catchUp(w);
    }
    for (const fn of this.#cmdWaiters.splice(0)) fn();
    this.#flush();
  }

  #subReady(): void {
    const again = this.#subUpBefore;
    this.#subUpBefore = true;
    if (again) {
      this.#reconnects++;
      this.#resumeAll();
    }
    this.#upAgain();
  }

  #upAgain(): void {
    if (this.#downSince && this.#cmd.isReady && this.#sub.isReady) {
      log.notice('redis bus: connected to %s again after %d ms', this.#o.url, Date.now() - this.#downSince);
      this.#downSince = 0;
    }
  }

  #linkError(which: string, e: Error): void {
    if (this.#closed) return;
    // One line per outage, not one per attempt.
    if (!this.#downSince) {
      this.#downSince = Date.now();
      log.warn('redis bus: %s connection to %s: %s; reconnecting', which, this.#o.url, e?.message ?? String(e));
    }
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }
}
