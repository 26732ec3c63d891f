/** Making a Redis topic bus and attaching it to a context's vhosts. */
import { Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import { ErrorCode, typeError } from '../core/errors.js';
import { extendApi, registerContextFeature, registerVhostFeature } from '../core/features.js';
import '../roles/ws/topics-api.js';
import { RedisTopicBus, type RedisBusStats } from './bus.js';

declare module '../core/context.js' {
  interface Context {
    /**
     * Counters of the Redis topic bus attached with `attachRedisTopicBus`
     * (`bus.stats()`): publishes `sent`, messages `received`, `dropped`,
     * `buffered` now, `reconnects`, `connected`. Null without one.
     *
     * ```ts
     * const s = context.redisBusStats;
     * if (s && !s.connected) console.warn(`${s.buffered} publishes wait for Redis`);
     * ```
     */
    readonly redisBusStats: RedisBusStats | null;
  }
}
import { loadRedis } from './client.js';
import { resolveRedisOptions, type RedisTopicBusOptions } from './options.js';

/**
 * Load the `redis` package (an optional peer dependency: TSLWS_REDIS_CLIENT_MISSING
 * when it is not installed) and make a bus on `options.url`. It connects in
 * the background and keeps reconnecting: the promise does not wait for
 * Redis (`bus.whenConnected()` does), so a server starts while Redis is
 * down and serves its local subscribers meanwhile.
 *
 * ```ts
 * const bus = await createRedisTopicBus({ url: 'redis://10.0.0.5:6379', history: 500 });
 * attachRedisTopicBus(context, bus);
 * ```
 */
export async function createRedisTopicBus(options: RedisTopicBusOptions): Promise<RedisTopicBus> {
  const o = resolveRedisOptions(options);
  const mod = await loadRedis(o.loader);
  return new RedisTopicBus(mod, o);
}

const contextBuses = new WeakMap<Context, RedisTopicBus>();

/**
 * Attach `bus` to every vhost of `context` (`vhost.attachTopicBus`), and
 * to those made later, so their topics span every process attached to the
 * same Redis; the bus is closed when the context is destroyed. In an SMP
 * service it takes the place of the IPC bus.
 *
 * ```ts
 * attachRedisTopicBus(context, await createRedisTopicBus({ url }));
 * ```
 */
export function attachRedisTopicBus(context: Context, bus: RedisTopicBus): void {
  if (!(bus instanceof RedisTopicBus)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'attachRedisTopicBus: bus is what createRedisTopicBus made');
  contextBuses.set(context, bus);
  for (const vh of context.vhosts) vh.attachTopicBus(bus);
}

registerVhostFeature({
  name: 'redis-topic-bus',
  // After the SMP IPC bus (95): a context on Redis uses Redis alone.
  order: 96,
  create(vh: Vhost) {
    const bus = contextBuses.get(vh.context);
    if (bus) vh.attachTopicBus(bus);
  },
});

extendApi(Context, {
  get redisBusStats(): RedisBusStats | null {
    return contextBuses.get(this)?.stats() ?? null;
  },
});

registerContextFeature({
  name: 'redis-topic-bus',
  order: 96,
  destroy(context: Context) {
    contextBuses.get(context)?.close();
    contextBuses.delete(context);
  },
});
