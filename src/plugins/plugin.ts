/**
 * The shape of a protocol plugin: one or more protocols plus optional
 * per-context setup and teardown, as lws's `init_protocol_*` /
 * `destroy_protocol_*` pair. lwsws loads plugin modules from a directory at
 * run time; an application can import the same modules statically. Every
 * plugin module exports `plugin` and its protocol(s) by name.
 *
 * ```ts
 * import { createContext, callbackHttpDummy, dumbIncrementPlugin } from 'tslws';
 * const http = { name: 'http-only', callback: callbackHttpDummy };
 * const context = createContext({ port: 7681, protocols: [http, ...dumbIncrementPlugin.protocols] });
 * ```
 */
import type { Context } from '../core/context.js';
import type { Protocol } from '../core/protocols.js';

export interface Plugin {
  /** The plugin's name, e.g. `protocol_dumb_increment`, for logs and lwsws. */
  readonly name: string;
  /** The protocols it offers; a vhost enables them by listing them (or their pvo). */
  readonly protocols: readonly Protocol[];
  /** Called once per context before any vhost uses the protocols. */
  init?(context: Context): void;
  /** Called once per context after every vhost has had PROTOCOL_DESTROY. */
  destroy?(context: Context): void;
}
