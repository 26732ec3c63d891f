import { ErrorCode, rangeError, typeError } from '../../../core/errors.js';

/**
 * What happens when a publish finds a subscriber's queue of published
 * messages at its bound:
 * - `close-1008`: the queue is dropped and the connection closed with 1008
 *   (policy violation), the default: a reader that never catches up would
 *   otherwise hold memory for ever;
 * - `close-1013`: the same with 1013 (try again later);
 * - `drop-oldest`: the oldest waiting messages of the same topic make room;
 * - `drop-new`: the new message is not queued for that subscriber.
 * Every dropped message is counted and reported (TOPIC_DROPPED).
 */
export type TopicOverflow = 'close-1008' | 'close-1013' | 'drop-oldest' | 'drop-new';

/** How many published messages may wait for one connection, and what happens past that. */
export interface TopicQueueBounds {
  /** Bytes of published payload waiting for one connection. Default 1 MiB. */
  maxQueueBytes?: number;
  /** Published messages waiting for one connection. Default 1024. */
  maxQueueMessages?: number;
  /** What a publish does to a connection at its bound. Default `close-1008`. */
  overflow?: TopicOverflow;
}

/** The `topics` settings of a vhost. */
export interface TopicsOptions extends TopicQueueBounds {
  /** Longest topic name, in UTF-8 bytes. Default 256. */
  maxTopicLength?: number;
  /** Bounds of particular topics (by exact name), over the vhost's. */
  perTopic?: Readonly<Record<string, TopicQueueBounds>>;
}

/** Bounds with every default filled in. */
export type ResolvedBounds = Readonly<Required<TopicQueueBounds>>;

/** `topics` settings with every default filled in. */
export interface ResolvedTopicsOptions {
  readonly bounds: ResolvedBounds;
  readonly maxTopicLength: number;
  readonly perTopic: ReadonlyMap<string, ResolvedBounds>;
}

const OVERFLOWS: readonly TopicOverflow[] = ['close-1008', 'close-1013', 'drop-oldest', 'drop-new'];
const BOUND_KEYS = ['maxQueueBytes', 'maxQueueMessages', 'overflow'];
const KEYS = [...BOUND_KEYS, 'maxTopicLength', 'perTopic'];

export const DEFAULT_TOPIC_BOUNDS: ResolvedBounds = Object.freeze({
  maxQueueBytes: 1 << 20,
  maxQueueMessages: 1024,
  overflow: 'close-1008',
});

function positiveInt(where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw rangeError(ErrorCode.INVALID_OPTION, `${where} must be a positive integer, got ${String(v)}`);
  return v;
}

function resolveBounds(where: string, o: unknown, base: ResolvedBounds, keys: readonly string[]): ResolvedBounds {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw typeError(ErrorCode.INVALID_OPTION, `${where} must be an object`);
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown option ${where}.${k}; known: ${keys.join(', ')}`);
  }
  const u = o as TopicQueueBounds;
  if (u.overflow !== undefined && !OVERFLOWS.includes(u.overflow))
    throw typeError(ErrorCode.INVALID_OPTION, `${where}.overflow must be one of ${OVERFLOWS.join(', ')}, got ${String(u.overflow)}`);
  return Object.freeze({
    maxQueueBytes: u.maxQueueBytes === undefined ? base.maxQueueBytes : positiveInt(`${where}.maxQueueBytes`, u.maxQueueBytes),
    maxQueueMessages: u.maxQueueMessages === undefined ? base.maxQueueMessages : positiveInt(`${where}.maxQueueMessages`, u.maxQueueMessages),
    overflow: u.overflow ?? base.overflow,
  });
}

/** Check a vhost's `topics` settings and fill in the defaults. */
export function resolveTopicsOptions(o: TopicsOptions | undefined): ResolvedTopicsOptions {
  const where = 'topics';
  const bounds = resolveBounds(where, o ?? {}, DEFAULT_TOPIC_BOUNDS, KEYS);
  const maxTopicLength = o?.maxTopicLength === undefined ? 256 : positiveInt(`${where}.maxTopicLength`, o.maxTopicLength);
  const perTopic = new Map<string, ResolvedBounds>();
  if (o?.perTopic !== undefined) {
    if (typeof o.perTopic !== 'object' || o.perTopic === null) throw typeError(ErrorCode.INVALID_OPTION, `${where}.perTopic must be an object of topic names`);
    for (const [name, b] of Object.entries(o.perTopic)) perTopic.set(name, resolveBounds(`${where}.perTopic[${JSON.stringify(name)}]`, b, bounds, BOUND_KEYS));
  }
  return { bounds, maxTopicLength, perTopic };
}
