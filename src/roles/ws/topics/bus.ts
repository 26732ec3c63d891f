/**
 * The bus between processes for topics: what a vhost's topics need from a
 * transport that carries publishes to the same vhost in other processes
 * (the SMP services over IPC; later, other machines). Transport-neutral:
 * it speaks in vhost names, topic names and bytes, nothing of sockets.
 */

/** A message that came over the bus: a publish made in another process. */
export type TopicBusHandler = (topic: string, payload: Uint8Array, binary: boolean) => void;

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
  /** A publish made in this process, to be carried to the other processes that want `topic`. */
  publish(vhostName: string, topic: string, payload: Uint8Array, binary: boolean): void;
  /** This process has its first subscriber to `topic` on `vhostName`. */
  subscribe(vhostName: string, topic: string): void;
  /** This process has no subscriber to `topic` on `vhostName` any more. */
  unsubscribe(vhostName: string, topic: string): void;
  /** Where messages for `vhostName` from other processes go; `null` when the vhost detaches. */
  onMessage(vhostName: string, handler: TopicBusHandler | null): void;
}
