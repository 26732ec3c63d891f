/**
 * `tslws/redis`: topics across processes and machines through Redis.
 *
 * ```ts
 * import { createRedisTopicBus } from 'tslws/redis';
 * const bus = await createRedisTopicBus({ url: 'redis://127.0.0.1:6379', history: 1000 });
 * vhost.attachTopicBus(bus);
 * ```
 */
import '../setup.js';
export { createRedisTopicBus, attachRedisTopicBus } from './create.js';
export { RedisTopicBus, type RedisBusStats } from './bus.js';
export type { RedisTopicBusOptions, RedisHistory } from './options.js';
export type { RedisClientLike, RedisClusterLike, RedisModuleLike, RedisBufferListener } from './client.js';
export { topicNames, type TopicNames } from './wire.js';
