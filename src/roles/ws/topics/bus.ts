/**
 * The bus between processes for topics: what a vhost's topics need from a
 * transport that carries publishes to the same vhost in other processes
 * (the SMP services over IPC; later, other machines). Transport-neutral:
 * it speaks in vhost names, topic names and bytes, nothing of sockets.
 */

/**
 * Where a message stands in a topic's history: the history's `epoch` (it
 * changes when the history is lost and begun again) and the message's
 * `offset` in it. Offsets of one epoch grow with each message; they are
 * compared only within an epoch.
 */
export interface TopicPosition {
  readonly epoch: string;
  readonly offset: string;
}

/**
 * Why messages of a topic may be missing for a subscriber (TOPIC_GAP):
 * - `disconnected`: the bus lost its link and the topic keeps no history:
 *   messages published meanwhile may not have arrived;
 * - `epoch`: the history was lost and begun again (or the position given
 *   to resume from is not one of it);
 * - `trimmed`: the history no longer holds every message after the position;
 * - `too-far`: more messages were missed than one replay gives (`replayLimit`);
 * - `no-history`: the topic keeps no history (or no bus is attached), so a
 *   resume cannot be served;
 * - `unavailable`: the history could not be read in time;
 * - `overflow`: more live messages came while the replay was read than the
 *   connection's queue bound: the resume was given up.
 */
export type TopicGapCause = 'disconnected' | 'epoch' | 'trimmed' | 'too-far' | 'no-history' | 'unavailable' | 'overflow';

/** What a bus tells of a message it delivers, when it knows. */
export interface TopicBusMeta {
  /** The message's place in the topic's history, for a topic that keeps one. */
  position?: TopicPosition;
  /** For a publish of this very process that comes back in history order: the `origin` given to `publish`. */
  origin?: number;
}

/** A message that came over the bus: a publish made in another process (or this one's, in history order). */
export type TopicBusHandler = (topic: string, payload: Uint8Array, binary: boolean, meta?: TopicBusMeta) => void;

/** The bus tells of a topic whose messages may be missing for every subscriber here. */
export type TopicBusGapHandler = (topic: string, cause: TopicGapCause) => void;

/** One message of a replay from a topic's history. */
export interface TopicReplayMessage {
  payload: Uint8Array;
  binary: boolean;
  position: TopicPosition;
}

/** What a replay found: the messages after the position, oldest first, and the gap if it could not give them all. */
export interface TopicReplay {
  messages: TopicReplayMessage[];
  gap: TopicGapCause | null;
}

/**
 * A transport carrying topic publishes between processes serving the same
 * vhosts (matched by vhost name). Attach one with `vhost.attachTopicBus`;
 * the vhost then:
 *
 * - calls `subscribe` when a topic gains its first subscriber on the vhost
 *   and `unsubscribe` when it loses its last (and, on attach, `subscribe`
 *   for every topic already wanted; on detach, `unsubscribe` for each), so a
 *   process says once per topic whether it wants it;
 * - calls `publish` once for every `vhost.publish` / `wsi.publish` made in
 *   this process, whether or not it has local subscribers, after delivering
 *   it locally;
 * - registers with `onMessage` the handler the bus calls for each publish
 *   that came from another process: it is delivered to this process's
 *   subscribers only and never given back to `publish`.
 *
 * An implementation should keep the messages of one publishing process in
 * the order they were published, should not deliver a message back to the
 * process that published it, should bound what it holds for a process that
 * cannot keep up (counting what it drops), and must not throw from its
 * methods (the caller is inside a publish or a subscribe).
 */
export interface TopicBus {
  /**
   * A publish made in this process, to be carried to the other processes
   * that want `topic`. `origin` is given only for a topic the bus delivers
   * in history order (`ordersLocally`): the bus hands it back in the
   * message's meta when the publish comes back to this process.
   */
  publish(vhostName: string, topic: string, payload: Uint8Array, binary: boolean, origin?: number): void;
  /** This process has its first subscriber to `topic` on `vhostName`. */
  subscribe(vhostName: string, topic: string): void;
  /** This process has no subscriber to `topic` on `vhostName` any more. */
  unsubscribe(vhostName: string, topic: string): void;
  /** Where messages for `vhostName` from other processes go; `null` when the vhost detaches. */
  onMessage(vhostName: string, handler: TopicBusHandler | null): void;
  /** Optional: where the bus reports topics whose messages may be missing here (TOPIC_GAP to their subscribers). */
  onGap?(vhostName: string, handler: TopicBusGapHandler | null): void;
  /**
   * Optional: asked before a publish is delivered anywhere. An Error
   * refuses it (`publish` throws it: nothing is delivered); null accepts.
   */
  admit?(vhostName: string, topic: string, bytes: number): Error | null;
  /**
   * Optional: true for a topic whose history the bus keeps. Such a
   * publish is not delivered locally at once: the bus gives it its
   * position and brings it back through `onMessage`, in the history's
   * order, with the `origin` it was given, so every process delivers the
   * topic's messages in one order and each with its position.
   */
  ordersLocally?(vhostName: string, topic: string): boolean;
  /**
   * Optional: the messages of `topic` after `since`, for a subscriber
   * resuming (`wsi.subscribe(topic, { since })`). Called after
   * `subscribe`; `done` is called once, later, and every message after
   * the last one it gives arrives through `onMessage` (some may arrive
   * there too before `done`: the caller drops those it already has).
   */
  replay?(vhostName: string, topic: string, since: TopicPosition, done: (r: TopicReplay) => void): void;
  /** Optional: a label of this process on the bus (a node name), for protocols that show where a message came from. */
  readonly node?: string;
}
