/** The settings of a Redis topic bus, checked and with their defaults. */
import { hostname } from 'node:os';
import { ErrorCode, rangeError, typeError } from '../core/errors.js';
import type { RedisModuleLike } from './client.js';

/** How many messages a topic's history keeps: one number for every topic, or per vhost and topic (0: none). */
export type RedisHistory = number | ((vhostName: string, topic: string) => number);

/** Options of `createRedisTopicBus`. */
export interface RedisTopicBusOptions {
  /** The server: `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Start of every channel and key this bus uses, so several deployments can share a server. Default `tslws`. */
  prefix?: string;
  /** This process's label on the bus (letters, digits, `.`, `_`, `-`, `:`, `@`; at most 64). Default `<hostname>-<pid>`. */
  node?: string;
  /**
   * Use sharded pub/sub (SPUBLISH / SSUBSCRIBE), as a Redis Cluster
   * needs: a topic's channel and keys share one hash slot. On by itself
   * with `cluster`; alone, it uses them on a single server. Default false.
   */
  sharded?: boolean;
  /**
   * Connect to a Redis Cluster (node-redis `createCluster`): `url` is a
   * seed node, and a list adds more seeds (`redis://host:port` each), so
   * the bus can start while one of them is down. Both connections follow
   * the cluster's slots: a topic's publishes, history and subscription go
   * to the node owning its slot. Implies `sharded` (`sharded: false` with
   * it is refused). Default false.
   */
  cluster?: boolean | readonly string[];
  /**
   * Keep the last N messages of each topic in a Redis stream, so a
   * subscriber can resume from a position (`wsi.subscribe(topic, { since })`)
   * and a reconnecting process catches up. Default 0 (none).
   */
  history?: RedisHistory;
  /** Publishes that may wait while Redis is unreachable; past this `publish` throws TSLWS_TOPIC_BUS_FULL. Default 10000. */
  maxBufferedMessages?: number;
  /** Their payload bytes. Default 16 MiB. */
  maxBufferedBytes?: number;
  /** First delay before reconnecting, doubled per failed attempt. Default 100 ms. */
  reconnectMinMs?: number;
  /** Longest delay between attempts. Default 5000 ms. */
  reconnectMaxMs?: number;
  /** How long one connection attempt may take. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Most messages one replay gives; a subscriber further behind is told of a gap (`too-far`). Default 10000. */
  replayLimit?: number;
  /** How long a replay may take before the subscriber is told of a gap (`unavailable`) and goes on live. Default 5000 ms. */
  replayTimeoutMs?: number;
  /** How the `redis` package is loaded (default `import('redis')`); for bundlers and tests. */
  loader?: () => Promise<RedisModuleLike>;
}

/** Options with every default filled in. */
export interface ResolvedRedisOptions {
  readonly url: string;
  readonly prefix: string;
  readonly node: string;
  readonly sharded: boolean;
  /** The seed URLs of a Redis Cluster (`url` first); null for a single server. */
  readonly cluster: readonly string[] | null;
  readonly history: (vhostName: string, topic: string) => number;
  readonly maxBufferedMessages: number;
  readonly maxBufferedBytes: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
  readonly replayLimit: number;
  readonly replayTimeoutMs: number;
  readonly loader: (() => Promise<RedisModuleLike>) | null;
}

const KEYS = ['url', 'prefix', 'node', 'sharded', 'cluster', 'history', 'maxBufferedMessages', 'maxBufferedBytes', 'reconnectMinMs',
  'reconnectMaxMs', 'connectTimeoutMs', 'replayLimit', 'replayTimeoutMs', 'loader'];

const NODE_RE = /^[A-Za-z0-9._:@-]{1,64}$/;

function int(o: Record<string, unknown>, k: string, dflt: number, min: number): number {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw rangeError(ErrorCode.INVALID_OPTION, `redis bus: ${k} must be an integer of at least ${min}, got ${String(v)}`);
  return v;
}

/** The default node label: the host name and pid, with anything a label cannot hold replaced. */
export function defaultNode(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(-64);
}

const URL_RE = /^rediss?:\/\/[^/\s]+/;

/** `cluster`: false or absent, true (the url alone), or more seed URLs; null when not a cluster. */
function resolveCluster(url: string, c: unknown): readonly string[] | null {
  if (c === undefined || c === false) return null;
  if (c === true) return [url];
  if (!Array.isArray(c) || c.length > 64)
    throw typeError(ErrorCode.INVALID_OPTION, `redis bus: cluster must be true or a list of at most 64 seed URLs, got ${String(c)}`);
  for (const u of c as unknown[]) {
    if (typeof u !== 'string' || !URL_RE.test(u))
      throw typeError(ErrorCode.INVALID_OPTION, `redis bus: each cluster seed must be redis://host:port (or rediss://), got ${String(u)}`);
  }
  return [url, ...(c as string[]).filter((u) => u !== url)];
}

/** Check the options of `createRedisTopicBus` and fill in the defaults. */
export function resolveRedisOptions(o: RedisTopicBusOptions): ResolvedRedisOptions {
  if (typeof o !== 'object' || o === null) throw typeError(ErrorCode.INVALID_OPTION, 'redis bus: options must be an object with at least url');
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw typeError(ErrorCode.UNKNOWN_OPTION, `redis bus: unknown option ${k}; known: ${KEYS.join(', ')}`);
  const r = o as unknown as Record<string, unknown>;
  if (typeof o.url !== 'string' || !URL_RE.test(o.url))
    throw typeError(ErrorCode.INVALID_OPTION, `redis bus: url must be redis://host:port (or rediss://), got ${String(o.url)}`);
  const prefix = o.prefix ?? 'tslws';
  if (typeof prefix !== 'string' || !/^[^\s{}]{1,64}$/.test(prefix))
    throw typeError(ErrorCode.INVALID_OPTION, `redis bus: prefix must be 1 to 64 characters without spaces or braces, got ${String(prefix)}`);
  const node = o.node ?? defaultNode();
  if (typeof node !== 'string' || !NODE_RE.test(node))
    throw typeError(ErrorCode.INVALID_OPTION, `redis bus: node must be 1 to 64 letters, digits or . _ - : @, got ${String(node)}`);
  if (o.sharded !== undefined && typeof o.sharded !== 'boolean') throw typeError(ErrorCode.INVALID_OPTION, 'redis bus: sharded must be a boolean');
  const cluster = resolveCluster(o.url, o.cluster);
  if (cluster && o.sharded === false)
    throw typeError(ErrorCode.INVALID_OPTION, 'redis bus: a Redis Cluster needs sharded pub/sub: leave sharded out (or true) with cluster');
  let history: (v: string, t: string) => number;
  if (typeof o.history === 'function') {
    const fn = o.history;
    // A bad answer from the user's function means no history, not a throw inside a publish.
    history = (v, t) => {
      const n = fn(v, t);
      return Number.isInteger(n) && n > 0 ? n : 0;
    };
  } else {
    const n = int(r, 'history', 0, 0);
    history = () => n;
  }
  const reconnectMinMs = int(r, 'reconnectMinMs', 100, 1);
  const reconnectMaxMs = int(r, 'reconnectMaxMs', 5000, 1);
  if (reconnectMaxMs < reconnectMinMs) throw rangeError(ErrorCode.INVALID_OPTION, `redis bus: reconnectMaxMs (${reconnectMaxMs}) is below reconnectMinMs (${reconnectMinMs})`);
  if (o.loader !== undefined && typeof o.loader !== 'function') throw typeError(ErrorCode.INVALID_OPTION, 'redis bus: loader must be a function returning the redis module');
  return {
    url: o.url,
    prefix,
    node,
    sharded: cluster !== null || (o.sharded ?? false),
    cluster,
    history,
    maxBufferedMessages: int(r, 'maxBufferedMessages', 10_000, 1),
    maxBufferedBytes: int(r, 'maxBufferedBytes', 16 << 20, 1),
    reconnectMinMs,
    reconnectMaxMs,
    connectTimeoutMs: int(r, 'connectTimeoutMs', 5000, 1),
    replayLimit: int(r, 'replayLimit', 10_000, 1),
    replayTimeoutMs: int(r, 'replayTimeoutMs', 5000, 1),
    loader: o.loader ?? null,
  };
}
