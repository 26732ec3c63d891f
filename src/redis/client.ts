/**
 * The part of the `redis` package (node-redis) this bus uses, and its
 * loading. The package is an optional peer dependency: it is imported
 * here only, when a bus is made, so tslws itself needs nothing installed.
 */
import { ErrorCode, stateError, type TslwsError } from '../core/errors.js';

/** A pub/sub listener in buffer mode. */
export type RedisBufferListener = (message: Buffer, channel: Buffer) => void;

/** The calls of a node-redis client this bus makes. */
export interface RedisClientLike {
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  readonly isReady: boolean;
  sendCommand(args: ReadonlyArray<string | Buffer>, options?: { typeMapping?: Record<number, unknown> }): Promise<unknown>;
  subscribe(channel: string, listener: RedisBufferListener, bufferMode: true): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  sSubscribe(channel: string, listener: RedisBufferListener, bufferMode: true): Promise<void>;
  sUnsubscribe(channel: string): Promise<void>;
  destroy(): void;
}

/** The calls of a node-redis cluster client (`createCluster`) this bus makes: commands are routed by their first key. */
export interface RedisClusterLike {
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  readonly isReady: boolean;
  sendCommand(firstKey: string | undefined, isReadonly: boolean, args: ReadonlyArray<string | Buffer>,
    options?: { typeMapping?: Record<number, unknown> }): Promise<unknown>;
  sSubscribe(channel: string, listener: RedisBufferListener, bufferMode: true): Promise<void>;
  sUnsubscribe(channel: string): Promise<void>;
  destroy(): void;
}

/** What the bus needs of the `redis` module; `createCluster` only with the `cluster` option. */
export interface RedisModuleLike {
  createClient(options: Record<string, unknown>): RedisClientLike;
  createCluster?(options: Record<string, unknown>): RedisClusterLike;
}

// A variable, not a literal: the compiler must not need the package's types, users need not have it.
const PACKAGE = 'redis';

/** Import the `redis` package, or fail with TSLWS_REDIS_CLIENT_MISSING saying how to get it. */
export async function loadRedis(loader: (() => Promise<RedisModuleLike>) | null): Promise<RedisModuleLike> {
  let mod: unknown;
  try {
    mod = loader ? await loader() : await import(PACKAGE);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const missing = err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND';
    const ex: TslwsError = stateError(ErrorCode.REDIS_CLIENT_MISSING, missing
      ? "the Redis topic bus needs the optional 'redis' package (node-redis 5 or 6): install it with `npm install redis`"
      : `the Redis topic bus could not load the 'redis' package: ${err?.message ?? String(e)}`);
    (ex as Error).cause = e;
    throw ex;
  }
  const m = mod as Partial<RedisModuleLike> & { default?: Partial<RedisModuleLike> };
  const createClient = m.createClient ?? m.default?.createClient;
  if (typeof createClient !== 'function')
    throw stateError(ErrorCode.REDIS_CLIENT_MISSING, "the 'redis' package loaded has no createClient: node-redis 5 or 6 is needed");
  const createCluster = m.createCluster ?? m.default?.createCluster;
  return typeof createCluster === 'function' ? { createClient, createCluster } : { createClient };
}
