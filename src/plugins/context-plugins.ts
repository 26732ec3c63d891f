/**
 * Plugins on a context: their `init` and `destroy`, and which of their
 * protocols each vhost gets (see `vhostProtocols`).
 */
import { Context, type ContextCreationInfo } from '../core/context.js';
import { extendApi, registerContextFeature, registerVhostFeature } from '../core/features.js';
import { log } from '../core/log.js';
import { ErrorCode, typeError } from '../core/errors.js';
import type { Plugin } from './plugin.js';
import { isPlugin, loadPlugins } from './load.js';
import { vhostProtocols, unknownPvoProtocols } from './enable.js';

declare module '../core/context.js' {
  interface ContextCreationInfo {
    /**
     * Plugins whose protocols join every vhost that enables them (by naming
     * them in its `pvo`; a vhost with no pvo at all gets them all, as in lws).
     * An entry that is not shaped like a `Plugin` throws `TSLWS_PLUGIN`.
     */
    plugins?: readonly Plugin[];
    /**
     * Directories to load more plugins from at run time (lws's
     * `plugin_dirs`). Loading is asynchronous: use `createContextAsync`.
     */
    pluginDirs?: readonly string[];
    /**
     * Warn when a vhost's `pvo` names a protocol no plugin provides; default
     * true. Off for a caller that reports those itself (lwsws does, with the
     * config file and line), so each is warned about once.
     */
    warnUnknownPvo?: boolean;
  }
  interface Context {
    /** The plugins this context was made with (given and loaded). */
    readonly plugins: readonly Plugin[];
  }
}

interface State {
  plugins: readonly Plugin[];
  warnUnknownPvo: boolean;
}

const states = new WeakMap<Context, State>();
const NONE: readonly Plugin[] = Object.freeze([]);

registerContextFeature({
  name: 'plugins',
  order: 10,
  create(ctx, info) {
    if (info.pluginDirs && info.pluginDirs.length)
      throw typeError(ErrorCode.INVALID_OPTION, 'pluginDirs are loaded asynchronously: use `await createContextAsync(info)`');
    if (info.plugins !== undefined && !Array.isArray(info.plugins))
      throw typeError(ErrorCode.INVALID_OPTION, 'plugins must be an array of plugins, e.g. `plugins: [echoPlugin]`');
    const plugins = [...(info.plugins ?? [])];
    plugins.forEach((pl, i) => {
      if (!isPlugin(pl))
        throw typeError(ErrorCode.PLUGIN, `plugins[${i}] is not a plugin: a plugin is { name, protocols: [{ name, callback }, …], init?, destroy? }`);
    });
    states.set(ctx, { plugins, warnUnknownPvo: info.warnUnknownPvo !== false });
    for (const pl of plugins) pl.init?.(ctx);
  },
  destroy(ctx) {
    for (const pl of states.get(ctx)?.plugins ?? NONE) {
      try {
        pl.destroy?.(ctx);
      } catch (e) {
        log.err('plugin %s: destroy threw: %s', pl.name, (e as Error).message);
      }
    }
  },
});

registerVhostFeature({
  name: 'plugins',
  order: 10,
  prepare(ctx, info) {
    const st = states.get(ctx);
    if (!st || !st.plugins.length) return info;
    const protocols = vhostProtocols(info.protocols, info.pvo, st.plugins);
    if (st.warnUnknownPvo) {
      for (const n of unknownPvoProtocols(protocols ?? [], info.pvo))
        log.warn('vhost %s: pvo names protocol "%s", which no plugin provides', info.vhostName ?? 'localhost', n);
    }
    return { ...info, protocols };
  },
});

extendApi(Context, {
  get plugins(): readonly Plugin[] {
    return states.get(this)?.plugins ?? NONE;
  },
});

/**
 * `createContext` after loading the plugins in `info.pluginDirs` (they
 * follow any `info.plugins`).
 *
 * ```ts
 * const context = await createContextAsync({ port: 7681, pluginDirs: ['./plugins'],
 *   pvo: { 'my-protocol': {} } });
 * ```
 */
export async function createContextAsync(info: ContextCreationInfo = {}): Promise<Context> {
  const loaded = info.pluginDirs && info.pluginDirs.length ? await loadPlugins(info.pluginDirs) : [];
  return new Context({ ...info, pluginDirs: undefined, plugins: [...(info.plugins ?? []), ...loaded] });
}
