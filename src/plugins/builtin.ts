/**
 * The plugins that ship with tslws, for finding one by name without
 * scanning a directory. `BUILTIN_PLUGIN_DIR` is the directory they live in
 * (exported for callers; lwsws does not scan it: it offers `BUILTIN_PLUGINS`
 * directly and scans only the configured `plugin-dir`s).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from './plugin.js';
import { plugin as dumbIncrement } from './dumb-increment.js';
import { plugin as mirror } from './mirror.js';
import { plugin as echo } from './echo.js';
import { plugin as serverStatus } from './server-status.js';
import { plugin as postDemo } from './post-demo.js';
import { plugin as rawTest } from './raw-test.js';
import { plugin as metrics } from './metrics.js';

/** Where the built-in plugin modules are. */
export const BUILTIN_PLUGIN_DIR: string = dirname(fileURLToPath(import.meta.url));

/** The built-in plugins imported statically. */
export const BUILTIN_PLUGINS: readonly Plugin[] = [dumbIncrement, mirror, echo, serverStatus, postDemo, rawTest, metrics];

/**
 * A built-in plugin by its plugin name (`protocol_lws_mirror`) or by the
 * name of a protocol it carries (`lws-mirror-protocol`).
 *
 * ```ts
 * const di = builtinPlugin('dumb-increment-protocol');
 * ```
 */
export function builtinPlugin(name: string): Plugin | undefined {
  return BUILTIN_PLUGINS.find((p) => p.name === name || p.protocols.some((x) => x.name === name));
}
