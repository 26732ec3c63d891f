/**
 * Names and message format of the Redis topic bus.
 *
 * A topic of a vhost is one channel, `<prefix>:{<vhost>/<topic>}` (both
 * names percent-encoded), and with history two keys beside it: the stream
 * `…:history` and its epoch `…:epoch`. The braces are a hash tag: in a
 * cluster the channel and both keys fall in one slot, so the publish
 * script may touch them together.
 *
 * A message on the channel is a header line and the payload:
 * `T1 <node> <origin> <0|1> <epoch|-> <offset|->\n<payload bytes>`.
 */
import type { TopicPosition } from '../roles/ws/topics/bus.js';

/** The channel and keys of one topic of one vhost. */
export interface TopicNames {
  readonly channel: string;
  readonly stream: string;
  readonly epoch: string;
}

export function topicNames(prefix: string, vhostName: string, topic: string): TopicNames {
  const channel = `${prefix}:{${encodeURIComponent(vhostName)}/${encodeURIComponent(topic)}}`;
  return { channel, stream: `${channel}:history`, epoch: `${channel}:epoch` };
}

/** A message read from a channel. */
export interface BusMessage {
  node: string;
  origin: number;
  binary: boolean;
  position: TopicPosition | null;
  payload: Buffer;
}

/** The header of a message published without history (the script builds the one with history). */
export function encodeMessage(node: string, binary: boolean, payload: Uint8Array): Buffer {
  const head = Buffer.from(`T1 ${node} 0 ${binary ? 1 : 0} - -\n`);
  return Buffer.concat([head, payload]);
}

/** Parse a channel message; null for one this bus did not write. */
export function decodeMessage(m: Buffer): BusMessage | null {
  const nl = m.indexOf(10);
  if (nl < 0 || nl > 512) return null;
  const f = m.toString('latin1', 0, nl).split(' ');
  if (f.length !== 6 || f[0] !== 'T1') return null;
  const [, node, origin, bin, epoch, offset] = f as [string, string, string, string, string, string];
  return {
    node,
    origin: Number(origin) || 0,
    binary: bin === '1',
    position: epoch === '-' ? null : { epoch, offset },
    payload: m.subarray(nl + 1),
  };
}
