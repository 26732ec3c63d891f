/**
 * Topics on a vhost: who subscribes to what, and each subscriber's queue
 * of published messages, written from its writeable path.
 *
 * Everything a publish needs to reach another process later (a bus) is
 * here: `publish` takes a topic and bytes, and TOPIC_SUBSCRIBERS says when
 * a vhost starts and stops caring about a topic.
 */
import type { Wsi } from '../../../core/wsi.js';
import { pushIndexed, removeIndexed, type Indexed } from '../../../core/indexed-list.js';
import type { Vhost } from '../../../core/vhost.js';
import { Reason } from '../../../core/reasons.js';
import { ErrorCode, rangeError, stateError, typeError } from '../../../core/errors.js';
import { Op, CloseStatus } from '../frame.js';
import type { WsConn } from '../conn.js';
import { PublishedMessage, newTopicStats, type TopicStats } from './published.js';
import { resolveTopicsOptions, type ResolvedBounds, type ResolvedTopicsOptions, type TopicOverflow } from './options.js';
import type { TopicBus, TopicBusMeta, TopicGapCause, TopicPosition, TopicReplay } from './bus.js';
import { comparePositions } from './position.js';

/** `input` of TOPIC_DROPPED: published messages a connection will not get. */
export interface TopicDropReport {
  /** The topic of the publish that found the queue at its bound. */
  topic: string;
  /** The policy that acted. */
  policy: TopicOverflow;
  /** Messages dropped now (for `drop-oldest`, those that made room, and the new one if room could not be made). */
  messages: number;
  /** Their payload bytes. */
  bytes: number;
  /** True when the policy closes the connection (`close-1008`, `close-1013`): the queue was dropped with it. */
  closing: boolean;
  /** Messages dropped for this connection since it opened, these included. */
  totalDropped: number;
}

/** `input` of TOPIC_SUBSCRIBERS: a topic gained its first subscriber (1) or lost its last (0). */
export interface TopicSubscribersChange {
  topic: string;
  /** 1 when the topic has just gained its first subscriber on the vhost, 0 when it lost its last. */
  subscribers: 0 | 1;
}

/** `input` of TOPIC_GAP: messages of a topic that may be missing for this connection. */
export interface TopicGapReport {
  topic: string;
  /** Why (see `TopicGapCause`). */
  cause: TopicGapCause;
  /** The position a resume asked for, or null when the gap is not a resume's. */
  since: TopicPosition | null;
}

/** Options of `wsi.subscribe`. */
export interface SubscribeOptions {
  /**
   * Resume: the position of the last message of this topic the client
   * got (`wsi.topicPosition`, kept by the client). The messages after it
   * are sent from the topic's history before the live ones, each once, in
   * order; what cannot be given is reported with TOPIC_GAP. Needs a bus
   * that keeps the topic's history (a Redis bus with `history`).
   */
  since?: TopicPosition;
}

/**
 * A subscriber of the server's own (`vhost.onTopic`): called with every
 * message delivered on the vhost for its topic, local or from the bus.
 */
export type TopicListener = (payload: Buffer, binary: boolean, position: TopicPosition | null) => void;

/** Options of `publish`. */
export interface PublishOptions {
  /** Send as binary (true) or text (false). Default: text for a string, binary for bytes. */
  binary?: boolean;
  /** A connection that does not get this message (usually the one it came from). */
  exceptWsi?: Wsi;
}

/** What one `publish` did. */
export interface PublishResult {
  /** Subscribers the message was for (the excepted one and closed ones left out). */
  subscribers: number;
  /** Connections that queued it. */
  queued: number;
  /** Connections whose queue was at its bound: their policy acted. */
  overBound: number;
  /** Messages dropped by those policies (each one reported with TOPIC_DROPPED). */
  dropped: number;
  /** Connections closed by those policies. */
  closed: number;
  /**
   * True when the bus keeps the topic's history and delivers it here too,
   * in the history's order (`TopicBus.ordersLocally`): nothing was
   * delivered yet, the counts above are 0.
   */
  deferred?: boolean;
}

/** Origins kept for publishes waiting to come back from an ordering bus (each names the connection they skip). */
const MAX_ORIGINS = 65536;

/**
 * One connection's subscription to one topic: its entry in the topic's
 * list. Not a `Set<Wsi>` per topic: a long-lived Set whose members come
 * and go keeps old members alive through young-generation collections
 * (see `core/indexed-list.ts`), and a connection may be in many topics,
 * so the index lives here, not on the wsi. A topic's list is a plain
 * array, as small as a topic of one subscriber can be.
 */
interface Subscription extends Indexed {
  readonly wsi: Wsi;
}

/** The topics of one vhost. */
export class TopicRegistry {
  readonly subscribers = new Map<string, Subscription[]>();
  readonly stats: TopicStats = newTopicStats();
  /** The bus to other processes serving this vhost, if one is attached. */
  bus: TopicBus | null = null;
  /** The server's own subscribers (`vhost.onTopic`), per topic. */
  readonly listeners = new Map<string, Set<TopicListener>>();
  /** Publishes given to an ordering bus with a connection to skip, by origin number. */
  readonly origins = new Map<number, Wsi>();
  #origin = 0;
  constructor(readonly vhost: Vhost, readonly opts: ResolvedTopicsOptions) {}

  /** A number for a publish that must skip `wsi` when it comes back from the bus. */
  originFor(wsi: Wsi): number {
    const n = ++this.#origin;
    this.origins.set(n, wsi);
    // A publish whose topic lost its last subscriber here never comes back: forget the oldest.
    if (this.origins.size > MAX_ORIGINS) this.origins.delete(this.origins.keys().next().value as number);
    return n;
  }

  /** Connections and listeners of `topic` here. */
  wanted(topic: string): number {
    return (this.subscribers.get(topic)?.length ?? 0) + (this.listeners.get(topic)?.size ?? 0);
  }

  /** The bounds that apply to a publish to `topic`. */
  boundsOf(topic: string): ResolvedBounds {
    return this.opts.perTopic.get(topic) ?? this.opts.bounds;
  }

  notify(topic: string, subscribers: 0 | 1): void {
    const vh = this.vhost;
    // The bus first: a protocol that publishes from this callback finds the topic wanted elsewhere already.
    if (this.bus) {
      if (subscribers) this.bus.subscribe(vh.name, topic);
      else this.bus.unsubscribe(vh.name, topic);
    }
    vh.callVhostProtocol(vh.protocols[0], Reason.TOPIC_SUBSCRIBERS, { topic, subscribers });
  }
}

const registries = new WeakMap<Vhost, TopicRegistry>();

/** Made when the vhost is made, from its `topics` settings. */
export function createRegistry(vh: Vhost, opts: ResolvedTopicsOptions): void {
  registries.set(vh, new TopicRegistry(vh, opts));
}

/** The topics of `vh` (a vhost made before the feature loaded gets the defaults). */
export function registryOf(vh: Vhost): TopicRegistry {
  let r = registries.get(vh);
  if (!r) registries.set(vh, (r = new TopicRegistry(vh, resolveTopicsOptions(undefined))));
  return r;
}

/** Check a topic name: a non-empty string of at most `maxTopicLength` UTF-8 bytes. */
export function checkTopic(reg: TopicRegistry, topic: unknown, where: string): string {
  if (typeof topic !== 'string') throw typeError(ErrorCode.INVALID_ARGUMENT, `${where}: a topic is a string, got ${topic === null ? 'null' : typeof topic}`);
  const n = Buffer.byteLength(topic);
  if (n === 0 || n > reg.opts.maxTopicLength)
    throw rangeError(ErrorCode.INVALID_ARGUMENT, `${where}: a topic is 1 to ${reg.opts.maxTopicLength} bytes of UTF-8, got ${n}`);
  return topic;
}

/**
 * One connection's side of topics: what it subscribes to, and the
 * published messages waiting for it, oldest first. They are written from
 * the writeable path while the connection is not choked, before its own
 * WRITEABLE, and before any message it writes itself: messages leave in
 * the order they were made.
 */
export class TopicConn {
  /** The topics it subscribes to, with its entry in each topic's list. */
  readonly subs = new Map<string, Subscription>();
  // Both made on first use: most subscribers never resume and most topics keep no history,
  // and an empty Map costs more than the rest of this object (memory per subscriber).
  /** The position of the last message of each topic queued for (or written to) the connection (topics with history). */
  positions: Map<string, TopicPosition> | null = null;
  /** Topics being resumed: the live messages held until the replay is in, and whether they overflowed. */
  resuming: Map<string, { held: PublishedMessage[]; overflow: boolean }> | null = null;
  #queue: PublishedMessage[] = [];
  // The number each waiting message was given (the count of publishes
  // queued for this connection when it came), for holdAfter.
  #seqs: number[] = [];
  #seq = 0;
  #gate = Infinity;
  #bytes = 0;
  #dropped = 0;

  constructor(readonly ws: WsConn) {}

  /** Published messages waiting. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Their payload bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Messages dropped for this connection since it opened. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Publishes queued for this connection since it opened: a mark for `holdAfter`. */
  get published(): number {
    return this.#seq;
  }

  /**
   * Write no published message queued after `mark` (a value of `published`)
   * until the hold moves on; null lifts it. For protocols that queue sends
   * of their own: publishes made after such a send wait for it.
   */
  holdAfter(mark: number | null): void {
    const g = mark === null ? Infinity : mark;
    const raised = g > this.#gate;
    this.#gate = g;
    const wsi = this.ws.wsi;
    if (raised && this.#queue.length && !wsi.closed) wsi.context.scheduleWritable(wsi);
  }

  /** Queue a publish for this connection, or let the policy act when the queue is at its bound. */
  enqueue(reg: TopicRegistry, msg: PublishedMessage, b: ResolvedBounds, res: PublishResult): void {
    const wsi = this.ws.wsi;
    const size = msg.size;
    const q = this.#queue;
    // A message is always queued when nothing waits, whatever its size:
    // otherwise a large one could never be delivered at all.
    const over = (): boolean => q.length > 0 && (this.#bytes + size > b.maxQueueBytes || q.length + 1 > b.maxQueueMessages);
    if (over()) {
      res.overBound++;
      if (b.overflow === 'drop-new') {
        this.#drop(reg, msg.topic, b.overflow, 1, size, false, res);
        return;
      }
      if (b.overflow === 'drop-oldest') {
        // Only the same topic makes room: one busy topic cannot push out another's messages.
        let n = 0;
        let bytes = 0;
        for (let i = 0; i < q.length && over();) {
          const m = q[i] as PublishedMessage;
          if (m.topic !== msg.topic) {
            i++;
            continue;
          }
          q.splice(i, 1);
          this.#seqs.splice(i, 1);
          this.#bytes -= m.size;
          n++;
          bytes += m.size;
        }
        if (over()) {
          this.#drop(reg, msg.topic, b.overflow, n + 1, bytes + size, false, res);
          return;
        }
        this.#drop(reg, msg.topic, b.overflow, n, bytes, false, res);
        if (wsi.closed) return;
      } else {
        // close-1008 / close-1013: what waits goes with the connection.
        const n = q.length + 1;
        const bytes = this.#bytes + size;
        this.discard();
        res.closed++;
        reg.stats.closed++;
        this.#drop(reg, msg.topic, b.overflow, n, bytes, true, res);
        if (!wsi.closed) {
          const code = b.overflow === 'close-1013' ? 1013 : CloseStatus.POLICY_VIOLATION;
          this.ws.sender.setCloseReason(code, Buffer.from('subscriber too slow'), true);
          wsi.close();
        }
        return;
      }
    }
    q.push(msg);
    // Taken when queued: whatever the connection writes after reading it leaves after this message.
    if (msg.position) (this.positions ??= new Map()).set(msg.topic, msg.position);
    this.#seqs.push(++this.#seq);
    this.#bytes += size;
    res.queued++;
    reg.stats.queued++;
    // Subscribers without context takeover share one compression, started now.
    const pmd = this.ws.pmd;
    if (pmd && pmd.agreement.txNoContextTakeover && size >= pmd.threshold) msg.compressedFor(pmd);
    if (q.length === 1) wsi.context.scheduleWritable(wsi);
  }

  #drop(reg: TopicRegistry, topic: string, policy: TopicOverflow, messages: number, bytes: number, closing: boolean, res: PublishResult): void {
    if (messages === 0) return;
    this.#dropped += messages;
    res.dropped += messages;
    reg.stats.dropped += messages;
    const report: TopicDropReport = { topic, policy, messages, bytes, closing, totalDropped: this.#dropped };
    this.ws.wsi.callProtocol(Reason.TOPIC_DROPPED, report);
  }

  /**
   * Hand waiting messages to the sender, oldest first: all of them
   * (`all`: a write of the connection's own is about to follow, or it is
   * closing), or while the connection is not choked. Never inside a
   * fragmented message of the connection's own, nor past the hold
   * (`holdAfter`) unless `closing`. True when none wait.
   */
  flush(all: boolean, closing = false): boolean {
    const s = this.ws.sender;
    const wsi = this.ws.wsi;
    const q = this.#queue;
    const seqs = this.#seqs;
    const gate = closing ? Infinity : this.#gate;
    let i = 0;
    while (i < q.length && (seqs[i] as number) <= gate && !s.inMessage && (all || !wsi.sendPipeChoked())) {
      const m = q[i++] as PublishedMessage;
      this.#bytes -= m.size;
      if (!s.sendPublished(m)) {
        this.discard();
        return true;
      }
    }
    if (i === q.length) {
      this.#queue = [];
      this.#seqs = [];
    } else if (i > 0) {
      this.#queue = q.slice(i);
      this.#seqs = seqs.slice(i);
    }
    return this.#queue.length === 0;
  }

  /** True when the oldest waiting message is held back by `holdAfter`. */
  get held(): boolean {
    return this.#queue.length > 0 && (this.#seqs[0] as number) > this.#gate;
  }

  /** Drop what waits (the connection is going). */
  discard(): void {
    this.#queue = [];
    this.#seqs = [];
    this.#bytes = 0;
  }
}

/** The topics state of a server WebSocket, made on first use. */
function topicConnOf(wsi: Wsi, ws: WsConn | null, where: string): TopicConn {
  if (!ws) throw stateError(ErrorCode.NOT_WEBSOCKET, `${where}: connection ${wsi.id} is not a WebSocket (role ${wsi.roleName})`);
  if (!ws.side.isServer) throw stateError(ErrorCode.NOT_WEBSOCKET, `${where}: connection ${wsi.id} is a WebSocket client; only server connections subscribe`);
  return (ws.topics ??= new TopicConn(ws));
}

function checkSince(since: unknown): TopicPosition {
  const ok = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && v.length <= 128;
  if (typeof since !== 'object' || since === null || !ok((since as TopicPosition).epoch) || !ok((since as TopicPosition).offset))
    throw typeError(ErrorCode.INVALID_ARGUMENT, 'subscribe: since is { epoch, offset }, two strings of 1 to 128 characters (a value of wsi.topicPosition)');
  const p = since as TopicPosition;
  return { epoch: p.epoch, offset: p.offset };
}

export function subscribe(wsi: Wsi, ws: WsConn | null, topic: string, opts?: SubscribeOptions): boolean {
  const reg = registryOf(wsi.vhost);
  checkTopic(reg, topic, 'subscribe');
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'subscribe: options must be an object');
  const since = opts?.since === undefined ? null : checkSince(opts.since);
  const tc = topicConnOf(wsi, ws, 'subscribe');
  if (wsi.closed || tc.subs.has(topic)) return false;
  const list = reg.subscribers.get(topic);
  // A topic's first subscriber makes an array of one (an empty one pushed to would reserve 16 slots).
  const sub: Subscription = { wsi, listIdx: list ? -1 : 0 };
  tc.subs.set(topic, sub);
  if (list) pushIndexed(list, sub);
  else reg.subscribers.set(topic, [sub]);
  if (since) (tc.resuming ??= new Map()).set(topic, { held: [], overflow: false });
  if (reg.wanted(topic) === 1) reg.notify(topic, 1);
  if (since) startResume(reg, wsi, tc, topic, since);
  return true;
}

/** Ask the bus for what `wsi` missed of `topic` since `since`; live messages wait meanwhile. */
function startResume(reg: TopicRegistry, wsi: Wsi, tc: TopicConn, topic: string, since: TopicPosition): void {
  const bus = reg.bus;
  const done = (r: TopicReplay): void => finishResume(reg, wsi, tc, topic, since, r);
  if (!bus?.replay) {
    queueMicrotask(() => done({ messages: [], gap: 'no-history' }));
    return;
  }
  bus.replay(reg.vhost.name, topic, since, done);
}

function finishResume(reg: TopicRegistry, wsi: Wsi, tc: TopicConn, topic: string, since: TopicPosition, r: TopicReplay): void {
  const state = tc.resuming?.get(topic);
  if (!state) return;
  tc.resuming?.delete(topic);
  if (wsi.closed || !tc.subs.has(topic)) return;
  const gap = state.overflow ? 'overflow' : r.gap;
  if (gap) reportGap(wsi, { topic, cause: gap, since });
  if (wsi.closed) return;
  const res: PublishResult = { subscribers: 0, queued: 0, overBound: 0, dropped: 0, closed: 0 };
  const b = reg.boundsOf(topic);
  // Held live messages up to the last one given (or the position resumed from) are not sent twice.
  let last: TopicPosition = since;
  for (const m of r.messages) {
    if (wsi.closed) return;
    tc.enqueue(reg, new PublishedMessage(topic, m.binary ? Op.BINARY : Op.TEXT, m.payload, reg.stats, m.position), b, res);
    last = m.position;
  }
  for (const m of state.held) {
    if (wsi.closed) return;
    // Live messages the replay already gave (same epoch, offset not past the last given) are not sent twice.
    if (m.position && m.position.epoch === last.epoch && comparePositions(m.position.offset, last.offset) <= 0) continue;
    tc.enqueue(reg, m, b, res);
  }
}

function reportGap(wsi: Wsi, report: TopicGapReport): void {
  if (wsi.callProtocol(Reason.TOPIC_GAP, report) !== 0 && !wsi.closed) wsi.close();
}

export function unsubscribe(wsi: Wsi, ws: WsConn | null, topic: string): boolean {
  const reg = registryOf(wsi.vhost);
  checkTopic(reg, topic, 'unsubscribe');
  const tc = topicConnOf(wsi, ws, 'unsubscribe');
  const sub = tc.subs.get(topic);
  if (!sub) return false;
  tc.subs.delete(topic);
  leave(reg, tc, topic, sub);
  return true;
}

function leave(reg: TopicRegistry, tc: TopicConn, topic: string, sub: Subscription): void {
  tc.resuming?.delete(topic);
  const list = reg.subscribers.get(topic);
  if (!list || !removeIndexed(list, sub)) return;
  if (list.length === 0) reg.subscribers.delete(topic);
  if (reg.wanted(topic) === 0) reg.notify(topic, 0);
}

/**
 * Add (or with null, remove) a server-side subscriber of `topic`: it
 * counts as a subscriber for the bus and TOPIC_SUBSCRIBERS, and is called
 * with every message delivered on the vhost for the topic.
 */
export function listen(vh: Vhost, topic: string, listener: TopicListener, on: boolean): boolean {
  const reg = registryOf(vh);
  checkTopic(reg, topic, on ? 'onTopic' : 'offTopic');
  if (typeof listener !== 'function') throw typeError(ErrorCode.INVALID_ARGUMENT, `${on ? 'onTopic' : 'offTopic'}: a listener is a function`);
  let set = reg.listeners.get(topic);
  if (on) {
    if (set?.has(listener)) return false;
    if (!set) reg.listeners.set(topic, (set = new Set()));
    set.add(listener);
    if (reg.wanted(topic) === 1) reg.notify(topic, 1);
    return true;
  }
  if (!set?.delete(listener)) return false;
  if (set.size === 0) reg.listeners.delete(topic);
  if (reg.wanted(topic) === 0) reg.notify(topic, 0);
  return true;
}

/** The connection is closing: it leaves every topic. */
export function leaveAll(wsi: Wsi, tc: TopicConn): void {
  if (tc.subs.size === 0) return;
  const reg = registryOf(wsi.vhost);
  const subs = [...tc.subs];
  tc.subs.clear();
  for (const [t, sub] of subs) leave(reg, tc, t, sub);
}

/** The connections of `ws` state `wsOf` finds; given so this module needs no role lookup. */
export type WsLookup = (wsi: Wsi) => WsConn | null;

export function publish(vh: Vhost, lookup: WsLookup, topic: string, data: string | Uint8Array, opts: PublishOptions | undefined, where: string): PublishResult {
  const reg = registryOf(vh);
  checkTopic(reg, topic, where);
  if (typeof data !== 'string' && !(data instanceof Uint8Array))
    throw typeError(ErrorCode.INVALID_ARGUMENT, `${where}: data is a string or bytes (Buffer, Uint8Array)`);
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw typeError(ErrorCode.INVALID_ARGUMENT, `${where}: options must be an object`);
  if (opts?.binary !== undefined && typeof opts.binary !== 'boolean') throw typeError(ErrorCode.INVALID_ARGUMENT, `${where}: binary must be a boolean`);
  const binary = opts?.binary ?? typeof data !== 'string';
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const bus = reg.bus;
  if (bus) {
    // Refused by the bus (its buffer is full): nothing is delivered anywhere, so no process has it.
    const refused = bus.admit?.(vh.name, topic, payload.length) ?? null;
    if (refused) throw refused;
    if (bus.ordersLocally?.(vh.name, topic)) {
      const except = opts?.exceptWsi;
      const origin = except && reg.wanted(topic) > 0 ? reg.originFor(except) : undefined;
      bus.publish(vh.name, topic, payload, binary, origin);
      return { subscribers: 0, queued: 0, overBound: 0, dropped: 0, closed: 0, deferred: true };
    }
  }
  const res = deliver(reg, lookup, topic, payload, binary, opts?.exceptWsi, null);
  // Once per publish, whatever the local subscribers: other processes may have theirs.
  bus?.publish(vh.name, topic, payload, binary);
  return res;
}

/** Queue a message for this vhost's subscribers to `topic` (but `except`); nothing goes to the bus. */
function deliver(reg: TopicRegistry, lookup: WsLookup, topic: string, payload: Uint8Array, binary: boolean, except: Wsi | undefined,
  position: TopicPosition | null): PublishResult {
  const res: PublishResult = { subscribers: 0, queued: 0, overBound: 0, dropped: 0, closed: 0 };
  const listeners = reg.listeners.get(topic);
  if (listeners) {
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    for (const fn of [...listeners]) fn(buf, binary, position);
  }
  const list = reg.subscribers.get(topic);
  if (!list) return res;
  // A snapshot: a policy may close a subscriber (and so unsubscribe it) while we go.
  const targets: WsConn[] = [];
  for (let i = 0; i < list.length; i++) {
    const w = list[i].wsi;
    if (w === except || w.closed) continue;
    const ws = lookup(w);
    if (ws?.topics) targets.push(ws);
  }
  res.subscribers = targets.length;
  if (targets.length === 0) return res;
  reg.stats.publishes++;
  const msg = new PublishedMessage(topic, binary ? Op.BINARY : Op.TEXT, payload, reg.stats, position);
  const b = reg.boundsOf(topic);
  for (const ws of targets) {
    if (ws.wsi.closed) continue;
    const tc = ws.topics as TopicConn;
    const resuming = tc.resuming?.get(topic);
    if (resuming) {
      // Held until the replay is in; a resume that would hold more than the queue's bound is given up.
      if (resuming.held.length < b.maxQueueMessages) resuming.held.push(msg);
      else resuming.overflow = true;
      continue;
    }
    tc.enqueue(reg, msg, b, res);
  }
  return res;
}

/**
 * Attach `bus` to `vh` (null detaches): the topics already wanted here are
 * subscribed on it, and what it brings is delivered to local subscribers
 * only. A bus already attached is detached first (its topics unsubscribed).
 */
export function attachBus(vh: Vhost, lookup: WsLookup, bus: TopicBus | null): void {
  const reg = registryOf(vh);
  const old = reg.bus;
  if (old === bus) return;
  if (old) {
    reg.bus = null;
    old.onMessage(vh.name, null);
    old.onGap?.(vh.name, null);
    for (const t of wantedTopics(reg)) old.unsubscribe(vh.name, t);
    reg.origins.clear();
  }
  if (!bus) return;
  reg.bus = bus;
  bus.onMessage(vh.name, (topic: string, payload: Uint8Array, binary: boolean, meta?: TopicBusMeta) => {
    // A message for a vhost that has since detached, or a name too long for this one, is not ours to deliver.
    if (reg.bus !== bus || typeof topic !== 'string' || topic.length === 0) return;
    let except: Wsi | undefined;
    if (meta?.origin !== undefined) {
      except = reg.origins.get(meta.origin);
      reg.origins.delete(meta.origin);
    }
    deliver(reg, lookup, topic, payload, binary, except, meta?.position ?? null);
  });
  bus.onGap?.(vh.name, (topic, cause) => {
    if (reg.bus !== bus) return;
    for (const { wsi: w } of [...(reg.subscribers.get(topic) ?? [])]) if (!w.closed) reportGap(w, { topic, cause, since: null });
  });
  for (const t of wantedTopics(reg)) bus.subscribe(vh.name, t);
}

/** Every topic with a subscriber here, connection or listener. */
function wantedTopics(reg: TopicRegistry): string[] {
  return [...new Set([...reg.subscribers.keys(), ...reg.listeners.keys()])];
}

/** The bus attached to `vh`, or null. */
export function busOf(vh: Vhost): TopicBus | null {
  return registries.get(vh)?.bus ?? null;
}
