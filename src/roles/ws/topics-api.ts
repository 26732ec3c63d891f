/** Topics: the publish / subscribe calls of vhosts and WebSocket connections. */
import { Wsi } from '../../core/wsi.js';
import { Vhost } from '../../core/vhost.js';
import { Reason } from '../../core/reasons.js';
import { extendApi, registerVhostFeature } from '../../core/features.js';
import { wsOf } from './wsi-api.js';
import { ErrorCode, rangeError, typeError } from '../../core/errors.js';
import { resolveTopicsOptions, type TopicsOptions } from './topics/options.js';
import type { TopicStats } from './topics/published.js';
import {
  TopicConn, attachBus, busOf, checkTopic, createRegistry, listen, publish, registryOf, subscribe, unsubscribe,
  type PublishOptions, type PublishResult, type SubscribeOptions, type TopicDropReport, type TopicGapReport, type TopicListener,
  type TopicSubscribersChange,
} from './topics/registry.js';
import type { TopicBus, TopicPosition } from './topics/bus.js';

declare module '../../core/protocols.js' {
  interface ReasonInput {
    /** The topic, and 1 when it gained its first subscriber, 0 when it lost its last. */
    [Reason.TOPIC_SUBSCRIBERS]: TopicSubscribersChange;
    /** What was dropped, by which policy, and whether the connection closes for it. */
    [Reason.TOPIC_DROPPED]: TopicDropReport;
    /** The topic, why messages may be missing, and the position a resume asked for (or null). */
    [Reason.TOPIC_GAP]: TopicGapReport;
  }
}

declare module '../../core/vhost.js' {
  interface VhostCreationInfo {
    /** Bounds of each connection's queue of published messages, and what happens past them. */
    topics?: TopicsOptions;
  }
  interface Vhost {
    /**
     * Send a message to every connection of this vhost subscribed to
     * `topic` (see `wsi.subscribe`). The frame is built once and shared;
     * each subscriber queues it and writes it from its writeable path, in
     * order with what it writes itself. A string is text, bytes binary
     * unless `binary` says otherwise. Returns what happened: subscribers,
     * queued, over their bound, dropped and closed by the topic's
     * `overflow` policy (each drop is also reported to the subscriber's
     * protocol with TOPIC_DROPPED).
     *
     * ```ts
     * const r = vhost.publish('prices', JSON.stringify(tick));
     * if (r.dropped) console.warn(`${r.dropped} subscribers fell behind`);
     * ```
     */
    publish(topic: string, data: string | Uint8Array, opts?: PublishOptions): PublishResult;
    /**
     * How many connections of this vhost subscribe to `topic`.
     *
     * ```ts
     * if (vhost.subscriberCount('prices') === 0) stopFeed();
     * ```
     */
    subscriberCount(topic: string): number;
    /**
     * The topics with at least one subscriber on this vhost.
     *
     * ```ts
     * for (const t of vhost.topicNames()) console.log(t, vhost.subscriberCount(t));
     * ```
     */
    topicNames(): string[];
    /**
     * Counters of this vhost's publishes since it was made: plain frames
     * built (one per publish, whatever the number of subscribers), shared
     * and per-connection compressions, messages queued and dropped,
     * connections closed by an overflow policy.
     *
     * ```ts
     * const { framesBuilt, dropped } = vhost.topicStats();
     * ```
     */
    topicStats(): TopicStats;
    /**
     * Carry this vhost's topics to other processes serving a vhost of the
     * same name through `bus` (null detaches). From then on each publish
     * made here is delivered to local subscribers and handed to the bus
     * once; publishes the bus brings from elsewhere reach local subscribers
     * only. The bus is told the topics wanted here (first and last
     * subscriber). With `countThreads` above 1 every service attaches its
     * IPC bus by itself; see `TopicBus` for writing another.
     *
     * ```ts
     * vhost.attachTopicBus(myRedisBus);
     * ```
     */
    attachTopicBus(bus: TopicBus | null): void;
    /** The bus attached to this vhost (`attachTopicBus`), or null. */
    readonly topicBus: TopicBus | null;
    /**
     * A subscriber of the server's own: `listener` is called with every
     * message delivered on this vhost for `topic` (published here, or
     * brought by the bus), with its position when the topic keeps a
     * history. It counts as a subscriber: the bus is asked for the topic
     * while a listener or a connection wants it. Returns false when it was
     * already listening.
     *
     * ```ts
     * vhost.onTopic('strokes', (payload) => ring.push(payload));
     * ```
     */
    onTopic(topic: string, listener: TopicListener): boolean;
    /**
     * Remove a listener added with `onTopic`. Returns false when it was not listening.
     *
     * ```ts
     * vhost.offTopic('strokes', onStroke);
     * ```
     */
    offTopic(topic: string, listener: TopicListener): boolean;
  }
}

declare module '../../core/wsi.js' {
  interface Wsi {
    /**
     * Subscribe this server WebSocket to `topic` of its vhost: messages
     * published to it (`vhost.publish`, `wsi.publish`) are sent to this
     * connection. Returns false when it already was subscribed, or is
     * closed. A topic is a string of 1 to `topics.maxTopicLength` (256)
     * bytes. Throws TSLWS_NOT_WEBSOCKET on a connection that is not a
     * server WebSocket. A closing connection leaves its topics.
     *
     * ```ts
     * case Reason.ESTABLISHED:
     *   wsi.subscribe('room/' + wsi.getUrlArgByName('room'));
     * ```
     *
     * With `{ since }` (a position the client kept from `topicPosition`)
     * it resumes: the messages after that position are sent from the
     * topic's history first, then the live ones, each once and in order;
     * what cannot be given is reported with TOPIC_GAP.
     *
     * ```ts
     * wsi.subscribe('chat', { since: { epoch, offset } });
     * ```
     */
    subscribe(topic: string, opts?: SubscribeOptions): boolean;
    /**
     * Stop receiving `topic`; messages published before still arrive.
     * Returns false when it was not subscribed.
     *
     * ```ts
     * wsi.unsubscribe('room/lobby');
     * ```
     */
    unsubscribe(topic: string): boolean;
    /**
     * Is this connection subscribed to `topic`? (False on a connection that
     * is not a WebSocket.)
     *
     * ```ts
     * if (!wsi.isSubscribed('news')) wsi.subscribe('news');
     * ```
     */
    isSubscribed(topic: string): boolean;
    /**
     * The topics this connection subscribes to, in the order it subscribed.
     *
     * ```ts
     * console.log(wsi.topics()); // ['news', 'room/lobby']
     * ```
     */
    topics(): string[];
    /**
     * Publish to `topic` of this connection's vhost, to every subscriber
     * but this connection (`vhost.publish` with `exceptWsi`).
     *
     * ```ts
     * case Reason.RECEIVE:
     *   wsi.publish('room/lobby', Buffer.from(input), { binary: wsi.frameIsBinary() });
     * ```
     */
    publish(topic: string, data: string | Uint8Array, opts?: Omit<PublishOptions, 'exceptWsi'>): PublishResult;
    /**
     * Published messages waiting for this connection (`messages`, payload
     * `bytes`), those dropped for it since it opened (`dropped`), and those
     * queued for it since it opened (`published`, a mark for
     * `holdPublishedAfter`).
     *
     * ```ts
     * if (wsi.topicQueue().messages > 100) console.log('slow reader', wsi.peerAddress);
     * ```
     */
    topicQueue(): { messages: number; bytes: number; dropped: number; published: number };
    /**
     * The position in `topic`'s history of the last message of it queued
     * for (or written to) this connection, or null (no such message yet,
     * or the topic keeps no history). A message the protocol writes after
     * reading it leaves after every one of them (a write sends the queued
     * published messages first), so a position sent that way tells the
     * client exactly where it stands; it gives it back to
     * `subscribe(topic, { since })` when it reconnects.
     *
     * ```ts
     * const p = wsi.topicPosition('chat');
     * if (p) wsi.write(Buffer.from(JSON.stringify({ pos: p })), Write.TEXT);
     * ```
     */
    topicPosition(topic: string): TopicPosition | null;
    /**
     * For a protocol that queues sends of its own and writes them later
     * from WRITEABLE: published messages queued after `mark` (a value of
     * `topicQueue().published` taken when the send was queued) are not
     * written until the hold moves past them; `null` lifts it. So a
     * publish made after a send leaves after it, as the message layer's
     * `send` and `publish` do. Held messages still count against the
     * queue's bounds.
     *
     * ```ts
     * queue.push({ data, mark: wsi.topicQueue().published });
     * wsi.holdPublishedAfter(queue[0].mark);   // before writing queue[0]
     * ```
     */
    holdPublishedAfter(mark: number | null): void;
  }
}

registerVhostFeature({
  name: 'topics',
  order: 41,
  create(vh: Vhost, info) {
    createRegistry(vh, resolveTopicsOptions(info.topics));
  },
  destroy(vh: Vhost) {
    // The bus outlives the vhost (it serves the others): it must stop calling into this one.
    attachBus(vh, wsOf, null);
  },
});

extendApi(Vhost, {
  publish(topic: string, data: string | Uint8Array, opts?: PublishOptions): PublishResult {
    return publish(this, wsOf, topic, data, opts, 'publish');
  },
  subscriberCount(topic: string): number {
    const reg = registryOf(this);
    return reg.subscribers.get(checkTopic(reg, topic, 'subscriberCount'))?.length ?? 0;
  },
  topicNames(): string[] {
    return [...registryOf(this).subscribers.keys()];
  },
  topicStats(): TopicStats {
    return { ...registryOf(this).stats };
  },
  attachTopicBus(bus: TopicBus | null): void {
    if (bus !== null && (typeof bus !== 'object' || typeof bus.publish !== 'function' || typeof bus.subscribe !== 'function'
      || typeof bus.unsubscribe !== 'function' || typeof bus.onMessage !== 'function'))
      throw typeError(ErrorCode.INVALID_ARGUMENT, 'attachTopicBus: a bus has publish, subscribe, unsubscribe and onMessage methods, or is null');
    attachBus(this, wsOf, bus);
  },
  get topicBus(): TopicBus | null {
    return busOf(this);
  },
  onTopic(topic: string, listener: TopicListener): boolean {
    return listen(this, topic, listener, true);
  },
  offTopic(topic: string, listener: TopicListener): boolean {
    return listen(this, topic, listener, false);
  },
});

extendApi(Wsi, {
  subscribe(topic: string, opts?: SubscribeOptions): boolean {
    return subscribe(this, wsOf(this), topic, opts);
  },
  unsubscribe(topic: string): boolean {
    return unsubscribe(this, wsOf(this), topic);
  },
  isSubscribed(topic: string): boolean {
    return wsOf(this)?.topics?.subs.has(topic) ?? false;
  },
  topics(): string[] {
    return [...(wsOf(this)?.topics?.subs.keys() ?? [])];
  },
  publish(topic: string, data: string | Uint8Array, opts?: Omit<PublishOptions, 'exceptWsi'>): PublishResult {
    return publish(this.vhost, wsOf, topic, data, { ...opts, exceptWsi: this }, 'wsi.publish');
  },
  topicQueue(): { messages: number; bytes: number; dropped: number; published: number } {
    const tc = wsOf(this)?.topics;
    return { messages: tc?.pending ?? 0, bytes: tc?.bytes ?? 0, dropped: tc?.dropped ?? 0, published: tc?.published ?? 0 };
  },
  topicPosition(topic: string): TopicPosition | null {
    return wsOf(this)?.topics?.positions?.get(topic) ?? null;
  },
  holdPublishedAfter(mark: number | null): void {
    if (mark !== null && (typeof mark !== 'number' || !(mark >= 0)))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `holdPublishedAfter: mark is a value of topicQueue().published or null, got ${String(mark)}`);
    const ws = wsOf(this);
    // Made now if need be: a hold set before the first subscribe must hold what comes after it.
    if (ws && ws.side.isServer && !this.closed) (ws.topics ??= new TopicConn(ws)).holdAfter(mark);
  },
});
