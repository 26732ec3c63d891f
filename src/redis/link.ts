/**
 * One connection of the bus (commands, or subscriptions) over either kind
 * of node-redis client: a single server's, or a cluster's, whose commands
 * go to the node owning their first key's slot. The bus speaks to this
 * and not to the clients, whose calls and events differ.
 */
import type { RedisBufferListener, RedisClientLike, RedisClusterLike } from './client.js';

/** What the bus asks of a connection. */
export interface BusLink {
  readonly isReady: boolean;
  /** `fn` runs each time the link becomes usable: first connected, and after every reconnection. */
  onReady(fn: () => void): void;
  onError(fn: (e: Error) => void): void;
  start(): void;
  /** A command whose keys (and channel) all share the slot of `key`. */
  send(key: string, args: ReadonlyArray<string | Buffer>, options?: { typeMapping?: Record<number, unknown> }): Promise<unknown>;
  subscribe(channel: string, listener: RedisBufferListener, sharded: boolean): Promise<void>;
  unsubscribe(channel: string, sharded: boolean): Promise<void>;
  destroy(): void;
}

/** A link over a single server's client, which reconnects (and subscribes again) by itself. */
export function singleLink(c: RedisClientLike): BusLink {
  const errors: Array<(e: Error) => void> = [];
  c.on('error', (e: Error) => {
    for (const fn of errors) fn(e);
  });
  return {
    get isReady() { return c.isReady; },
    onReady: (fn) => { c.on('ready', fn); },
    onError: (fn) => { errors.push(fn); },
    start: () => {
      c.connect().catch((e: Error) => {
        for (const fn of errors) fn(e);
      });
    },
    send: (_key, args, options) => c.sendCommand(args, options),
    subscribe: (ch, l, sharded) => (sharded ? c.sSubscribe(ch, l, true) : c.subscribe(ch, l, true)),
    unsubscribe: (ch, sharded) => (sharded ? c.sUnsubscribe(ch) : c.unsubscribe(ch)),
    destroy: () => c.destroy(),
  };
}

/**
 * A link over a cluster client. Its node clients reconnect by themselves
 * and subscribe again; the cluster says so with `node-reconnecting` then
 * `node-ready`, which is when the bus must catch up. Discovering the
 * cluster at the start is not retried by node-redis: the link retries it
 * with the bus's backoff.
 */
export function clusterLink(c: RedisClusterLike, retryDelay: (attempt: number) => number): BusLink {
  const ready: Array<() => void> = [];
  const errors: Array<(e: Error) => void> = [];
  let timer: NodeJS.Timeout | null = null;
  let destroyed = false;
  let up = false;
  let lost = false;
  let attempt = 0;
  const fire = (): void => {
    for (const fn of ready) fn();
  };
  const fail = (e: Error): void => {
    for (const fn of errors) fn(e);
  };
  c.on('error', fail);
  c.on('node-error', fail);
  c.on('node-reconnecting', () => { lost = true; });
  c.on('node-ready', () => {
    // A node client back after a loss: what passed meanwhile is caught up.
    if (up && lost) {
      lost = false;
      fire();
    }
  });
  const connect = (): void => {
    c.connect().then(() => {
      if (destroyed) return;
      up = true;
      fire();
    }, (e: Error) => {
      if (destroyed) return;
      fail(e);
      timer = setTimeout(() => {
        timer = null;
        connect();
      }, retryDelay(attempt++));
    });
  };
  return {
    get isReady() { return up && c.isReady; },
    onReady: (fn) => { ready.push(fn); },
    onError: (fn) => { errors.push(fn); },
    start: connect,
    send: (key, args, options) => c.sendCommand(key, false, args, options),
    subscribe: (ch, l) => c.sSubscribe(ch, l, true),
    unsubscribe: (ch) => c.sUnsubscribe(ch),
    destroy: () => {
      destroyed = true;
      if (timer) clearTimeout(timer);
      c.destroy();
    },
  };
}
