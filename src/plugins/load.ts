/**
 * Loading plugins at run time, as lws scans its plugin directories: every
 * `.js` / `.mjs` module in a directory that exports `plugin` (or a default
 * export) shaped like a `Plugin` is taken. Modules that export no plugin
 * are helpers of the plugins beside them and are skipped quietly.
 *
 * ```ts
 * import { loadPlugins, createContext } from 'tslws';
 * const plugins = await loadPlugins(['/usr/local/lib/tslws-plugins']);
 * const context = createContext({ port: 7681, plugins });
 * ```
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { log } from '../core/log.js';
import { ErrorCode, rangeError, typeError } from '../core/errors.js';
import type { Plugin } from './plugin.js';

export interface LoadPluginsOptions {
  /** Most modules imported from one directory; default 256. */
  maxFilesPerDir?: number;
  /** Most directories scanned; default 10, as lws's plugin_dirs. */
  maxDirs?: number;
}

/** True when `v` has a plugin's shape: a name and protocols with names and callbacks. */
export function isPlugin(v: unknown): v is Plugin {
  if (!v || typeof v !== 'object') return false;
  const p = v as { name?: unknown; protocols?: unknown; init?: unknown; destroy?: unknown };
  if (typeof p.name !== 'string' || !Array.isArray(p.protocols)) return false;
  if (p.init !== undefined && typeof p.init !== 'function') return false;
  if (p.destroy !== undefined && typeof p.destroy !== 'function') return false;
  return p.protocols.every((x: unknown) => !!x && typeof (x as { name?: unknown }).name === 'string' &&
    typeof (x as { callback?: unknown }).callback === 'function');
}

function isModuleFile(name: string): boolean {
  // Editor backups and dotfiles are skipped, as lws skips names with `~`.
  if (name.startsWith('.') || name.includes('~')) return false;
  if (name.endsWith('.d.ts') || name.endsWith('.test.js')) return false;
  return name.endsWith('.js') || name.endsWith('.mjs');
}

/**
 * Import the plugins found in `dirs`, in directory order then file name
 * order. A module that fails to import is logged and skipped, as lws skips
 * a plugin that fails to load; a missing directory is logged likewise.
 * Throws (code `TSLWS_PLUGIN`) only when `dirs` is not an array of paths
 * or lists more than `maxDirs` directories.
 */
export async function loadPlugins(dirs: readonly string[], opts: LoadPluginsOptions = {}): Promise<Plugin[]> {
  const maxFiles = opts.maxFilesPerDir ?? 256;
  const maxDirs = opts.maxDirs ?? 10;
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string')) {
    const got = Array.isArray(dirs) ? 'an array with a non-string entry' : typeof dirs === 'string' ? JSON.stringify(dirs) : typeof dirs;
    throw typeError(ErrorCode.PLUGIN, `loadPlugins: dirs must be an array of directory paths, as loadPlugins([dir]); got ${got}`);
  }
  if (dirs.length > maxDirs) throw rangeError(ErrorCode.PLUGIN, `loadPlugins: at most ${maxDirs} plugin directories (maxDirs), got ${dirs.length}`);
  const out: Plugin[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter(isModuleFile).sort();
    } catch (e) {
      log.err('plugin dir %s: %s', dir, (e as Error).message);
      continue;
    }
    if (names.length > maxFiles) {
      log.warn('plugin dir %s: %d modules, only the first %d are loaded (maxFilesPerDir)', dir, names.length, maxFiles);
      names = names.slice(0, maxFiles);
    }
    for (const name of names) {
      const file = resolve(join(dir, name));
      let mod: Record<string, unknown>;
      try {
        mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      } catch (e) {
        log.err('plugin %s failed to load: %s', file, (e as Error).message);
        continue;
      }
      const p = mod.plugin ?? mod.default;
      if (!isPlugin(p)) {
        log.debug('plugin dir: %s exports no plugin', file);
        continue;
      }
      log.info('plugin %s: %s (%s)', file, p.name, p.protocols.map((x) => x.name).join(', '));
      out.push(p);
    }
  }
  return out;
}
