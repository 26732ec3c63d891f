/**
 * `lws-mirror-protocol`, lws's shared-canvas demo: every piece of every
 * message a member sends is sent, as TEXT, to every member of its mirror
 * instance (the sender included), in the same order for all.
 *
 * - Instances are chosen by the URL argument `?mirror=NAME` (default the
 *   empty name), at most `max-instances` (3) per vhost; an upgrade naming a
 *   new instance past that is closed at ESTABLISHED with 1008. An instance
 *   goes away with its last member. Names longer than 64 characters are cut.
 * - Each instance holds a ring of 32 message slots; each member reads it
 *   through its own tail, one message per write, only while its socket is
 *   not choked, so a slow member is served at its own pace.
 * - When fewer than 4 slots are free, reading stops on every member (rx
 *   flow control: TCP pushes back on the senders); it resumes once the
 *   slowest reader has freed 21 slots. Nothing is dropped.
 * - Slow-reader cull: when the member holding the oldest tail makes no
 *   progress for `slow-reader-secs` (3) while messages wait, it is closed
 *   with 1008 so the others can go on. `0` turns this off.
 * - A received piece is at most rxBufferSize (4096) bytes; a larger
 *   message is mirrored as several messages, as lws does.
 *
 * Per-vhost options (pvo, under `lws-mirror-protocol`): `max-instances`,
 * `slow-reader-secs`.
 *
 * With a topic bus that names its node attached to the vhost (lwsws's
 * `pubsub`, `lws-test-server --redis`: a Redis bus),
 * an instance spans every process on the bus: what a member sends is
 * published to the topic `lws-mirror/NAME`, prefixed with `n NODE;` (the
 * process's node label, which the test page shows and a plain lws client
 * ignores), and every process inserts what the topic brings, its own
 * included, into its instance's ring. Order is per origin: the messages of
 * one process reach every process in the order it sent them; those of two
 * processes may interleave differently in each. Back-pressure stays local:
 * a full ring pauses this process's members; messages from elsewhere that
 * find it full wait in a bounded overflow, past which they are dropped
 * (and logged).
 *
 * ```ts
 * import { createContext, callbackHttpDummy, mirrorProtocol } from 'tslws';
 * createContext({ port: 7681, protocols: [{ name: 'http', callback: callbackHttpDummy }, mirrorProtocol],
 *   pvo: { 'lws-mirror-protocol': { 'slow-reader-secs': '10' } } });
 * // ws://localhost:7681/?mirror=room1 with subprotocol lws-mirror-protocol
 * ```
 */
import type { CallbackArgs, Protocol, PvoOptions } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { log } from '../core/log.js';
import type { Plugin } from './plugin.js';
import { pvoNumber } from './pvo.js';
import { MirrorInstance, type MirrorMember } from './mirror-instance.js';
import '../roles/ws/topics-api.js';
import type { TopicListener } from '../roles/ws/topics/registry.js';

export { MIRROR_RING_SLOTS, MIRROR_RXFLOW_MIN, MIRROR_RXFLOW_RESUME } from './mirror-instance.js';

const NAME_MAX = 64;

interface MirrorSession {
  member: MirrorMember | null;
}

/** An instance's link to the topic bus: the topic it publishes to and the listener that fills its ring. */
interface Spanning {
  readonly topic: string;
  readonly listener: TopicListener;
  /** `n NODE;`, put before each message from this process. */
  readonly label: Buffer;
}

const spans = new WeakMap<MirrorInstance, Spanning>();

/** The topic of an instance on the bus. */
export function mirrorTopic(name: string): string {
  return `lws-mirror/${name}`;
}

interface MirrorVhost {
  readonly instances: Map<string, MirrorInstance>;
  readonly maxInstances: number;
  readonly cullMs: number;
}

function vhostData(wsi: Wsi): MirrorVhost | undefined {
  return wsi.vhost.protocolVhPriv<MirrorVhost>(wsi.protocol);
}

function init(wsi: Wsi, options: PvoOptions | undefined): void {
  const data: MirrorVhost = {
    instances: new Map(),
    maxInstances: pvoNumber(options, 'max-instances', 3, 1),
    cullMs: pvoNumber(options, 'slow-reader-secs', 3) * 1000,
  };
  wsi.vhost.setProtocolVhPriv(wsi.protocol, data);
}

function establish(wsi: Wsi, pss: MirrorSession): number {
  const vhd = vhostData(wsi);
  if (!vhd) return -1;
  const name = (wsi.getUrlArgByName('mirror') ?? '').slice(0, NAME_MAX);
  let mi = vhd.instances.get(name);
  if (!mi) {
    if (vhd.instances.size >= vhd.maxInstances) {
      log.notice('mirror: refusing instance "%s" from %s: %d instances already', name, wsi.peerAddress, vhd.instances.size);
      wsi.closeReason(1008, 'too many mirror instances');
      return -1;
    }
    mi = new MirrorInstance(name, vhd.cullMs);
    vhd.instances.set(name, mi);
    span(wsi, mi);
    log.info('mirror: created instance "%s"', name);
  }
  pss.member = mi.join(wsi);
  return 0;
}

/**
 * With a bus that labels its processes (the Redis one) on the vhost, the
 * instance listens to its topic: every process's messages fill the ring.
 * The SMP IPC bus names no node: there the mirror stays within a service.
 */
function span(wsi: Wsi, mi: MirrorInstance): void {
  const vh = wsi.vhost;
  const bus = vh.topicBus;
  if (!bus || bus.node === undefined) return;
  const node = (bus.node ?? '').replace(/[\s;]/g, '_');
  const s: Spanning = { topic: mirrorTopic(mi.name), listener: (payload) => mi.receive(payload), label: Buffer.from(node ? `n ${node};` : '') };
  spans.set(mi, s);
  vh.onTopic(s.topic, s.listener);
}

function unspan(wsi: Wsi, mi: MirrorInstance): void {
  const s = spans.get(mi);
  if (!s) return;
  spans.delete(mi);
  wsi.vhost.offTopic(s.topic, s.listener);
}

function receive(wsi: Wsi, mi: MirrorInstance, input: Uint8Array): void {
  const s = spans.get(mi);
  if (!s) {
    mi.receive(input);
    return;
  }
  const msg = Buffer.concat([s.label, input]);
  try {
    // Delivered to this process's ring through the listener too (at once, or in history order).
    wsi.vhost.publish(s.topic, msg);
  } catch (e) {
    // The bus refused it (Redis unreachable, its outbox full): the members here still get it.
    log.warn('mirror "%s": %s; mirrored in this process only', mi.name, (e as Error).message);
    mi.receive(msg);
  }
}

function closed(wsi: Wsi, pss: MirrorSession): void {
  const m = pss.member;
  if (!m) return;
  pss.member = null;
  const mi = m.instance;
  mi.leave(m);
  if (mi.members.size === 0) {
    unspan(wsi, mi);
    mi.destroy();
    const vhd = vhostData(wsi);
    if (vhd?.instances.get(mi.name) === mi) vhd.instances.delete(mi.name);
    log.info('mirror: instance "%s" freed', mi.name);
  }
}

function callback(...[wsi, reason, pss, input]: CallbackArgs<MirrorSession>): number {
  switch (reason) {
    case Reason.PROTOCOL_INIT:
      init(wsi, input);
      return 0;
    case Reason.PROTOCOL_DESTROY: {
      const vhd = vhostData(wsi);
      for (const mi of vhd?.instances.values() ?? []) {
        unspan(wsi, mi);
        mi.destroy();
      }
      vhd?.instances.clear();
      return 0;
    }
    case Reason.ESTABLISHED:
      return establish(wsi, pss);
    case Reason.CLOSED:
      closed(wsi, pss);
      return 0;
    case Reason.SERVER_WRITEABLE:
      return pss.member ? pss.member.instance.writable(pss.member) : 0;
    case Reason.RECEIVE:
      if (pss.member) receive(wsi, pss.member.instance, input);
      return 0;
    case Reason.CONFIRM_EXTENSION_OKAY:
      // As lws: no permessage-deflate here, the ring holds wire-sized pieces.
      return 1;
    default:
      return 0;
  }
}

/** The `lws-mirror-protocol` protocol (rxBufferSize 4096, as lws 4.x). */
export const mirrorProtocol: Protocol<MirrorSession> = {
  name: 'lws-mirror-protocol',
  callback,
  createSessionData: () => ({ member: null }),
  rxBufferSize: 4096,
  pvoOptions: ['max-instances', 'slow-reader-secs'],
};

/** The plugin carrying `lws-mirror-protocol`. */
export const plugin: Plugin = {
  name: 'protocol_lws_mirror',
  protocols: [mirrorProtocol],
};
