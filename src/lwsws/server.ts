/**
 * A running lwsws: one context built from a config directory, reloaded in
 * place. `reload()` re-reads the whole directory; vhosts whose settings are
 * unchanged keep running untouched (their connections live on), removed
 * ones are destroyed, changed ones are destroyed and created again, new
 * ones are created. A config that fails to load leaves the running one as
 * it is; a changed vhost whose new settings fail to come up is brought back
 * with its previous ones. Kept TLS vhosts re-read their certificate files.
 * The vhosts of a shared port stay in config order, so its first one stays
 * the default: an unchanged vhost that comes after a (re)created one on its
 * port is made again after it (its connections close, as a changed one's).
 * Context-wide settings (plugin dirs, uid/gid, count-threads) take effect
 * only at start.
 */
import { readFileSync } from 'node:fs';
import '../setup.js';
import { createContext, type Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import { log } from '../core/log.js';
import { loadPlugins } from '../plugins/load.js';
import { BUILTIN_PLUGINS } from '../plugins/builtin.js';
import type { Plugin } from '../plugins/plugin.js';
import { AccessLog, attachAccessLog } from '../http/access-log.js';
import { readConfigDir, type ReadConfigOptions } from './config.js';
import { buildVhosts, contextInfo, type BuiltVhost } from './build.js';
import { ConfigError, formatWarning, type ConfigWarning } from './errors.js';
import { lwswsHttpProtocol } from './http-protocol.js';
import { dropPrivileges } from '../core/privileges.js';
import { orderVhosts } from '../roles/listen/listen-feature.js';
import { resolveIds } from './ids.js';
import type { LwswsConfig, VhostConfig } from './model.js';
import { PVO_RESERVED, PVO_UNIMPLEMENTED, nearestKey } from './keys.js';
import { attachRedisTopicBus, createRedisTopicBus } from '../redis/create.js';
import type { RedisTopicBus } from '../redis/bus.js';

export interface LwswsOptions {
  /** The config directory (holds `conf` and `conf.d/`). */
  configDir: string;
  /** What `_lws_ddir_` stands for. */
  dataDir: string;
  /** Offer the built-in plugins (dumb-increment, mirror, echo, server-status, post-demo); default true. */
  builtinPlugins?: boolean;
  /** Limits on the config files (size, count, nesting, string length); each has a default. */
  configLimits?: Omit<ReadConfigOptions, 'dataDir'>;
  /** Longest wait for a removed vhost's connections to close on reload; default 5000 ms. */
  dropTimeoutMs?: number;
  /** Receives each config warning; default log.warn. */
  onWarning?: (w: ConfigWarning) => void;
}

interface Running {
  built: BuiltVhost;
  vhost: Vhost;
  accessLog: AccessLog | null;
}

export interface ReloadResult {
  created: string[];
  destroyed: string[];
  kept: string[];
  /** Vhosts whose new settings failed to come up; a changed one is brought back with its previous settings. */
  failed: string[];
}

export class LwswsServer {
  readonly context: Context;
  #opts: LwswsOptions;
  #running: Running[] = [];
  #pluginDirs: string;
  /** Numeric uid/gid the process drops to: access logs are given to them. */
  #owner: { uid?: number; gid?: number } | undefined;
  #bus: RedisTopicBus | null = null;

  private constructor(context: Context, opts: LwswsOptions, pluginDirs: string) {
    this.context = context;
    this.#opts = opts;
    this.#pluginDirs = pluginDirs;
  }

  /** Read the config, load plugins, create and bind every vhost. Throws ConfigError on a bad config. */
  static async start(opts: LwswsOptions): Promise<LwswsServer> {
    const warnings: ConfigWarning[] = [];
    const config = readConfigDir(opts.configDir, { ...opts.configLimits, dataDir: opts.dataDir }, warnings);
    const plugins = [...(opts.builtinPlugins === false ? [] : BUILTIN_PLUGINS), ...await loadPlugins(config.global.pluginDirs)];
    checkProtocols(config, plugins, warnings);
    const context = createContext({ ...contextInfo(config.global), plugins });
    const server = new LwswsServer(context, opts, JSON.stringify(config.global.pluginDirs));
    const ps = config.global.pubsub;
    // The processes that serve connections join the bus (with count-threads, each service; not the primary).
    if (ps && context.tsi >= 0) {
      try {
        server.#bus = await createRedisTopicBus({
          url: ps.redis, ...(ps.cluster ? { cluster: true } : { sharded: ps.sharded }),
          // The mirror keeps no history: its strokes must reach this process's members at once, Redis or not.
          history: ps.history > 0 ? (_v: string, t: string) => (t.startsWith('lws-mirror/') ? 0 : ps.history) : 0,
          ...(ps.node !== undefined ? { node: context.countThreads > 1 ? `${ps.node}.${context.tsi}` : ps.node } : {}),
          ...(ps.prefix !== undefined ? { prefix: ps.prefix } : {}),
          ...(ps.maxBuffered !== undefined ? { maxBufferedMessages: ps.maxBuffered } : {}),
        });
      } catch (e) {
        await context.destroy();
        throw e;
      }
      // Every vhost made from now on is attached (in place of the services' IPC bus, if any):
      // every process reaches the others through Redis.
      attachRedisTopicBus(context, server.#bus);
    }
    // Names become ids now, while /etc is surely readable: the access logs
    // are given to them, so a reopen on SIGHUP after the drop can write.
    const { uid, gid } = resolveIds(config.global.uid, config.global.gid);
    if (typeof uid === 'number' || typeof gid === 'number')
      server.#owner = { ...(typeof uid === 'number' ? { uid } : {}), ...(typeof gid === 'number' ? { gid } : {}) };
    try {
      const built = buildVhosts(config, lwswsHttpProtocol(config.global.rejectServiceKeywords), warnings);
      for (const w of warnings) server.#warn(w);
      for (const b of built) server.#running.push(await server.#create(b));
      await context.listening;
      // Only now: every listen socket is bound and every log file open.
      dropPrivileges(uid, gid);
    } catch (e) {
      await server.stop(1000);
      throw e;
    }
    return server;
  }

  #warn(w: ConfigWarning): void {
    if (this.#opts.onWarning) this.#opts.onWarning(w);
    else log.warn('%s', formatWarning(w));
  }

  async #create(b: BuiltVhost): Promise<Running> {
    const v = b.config;
    let vhost: Vhost;
    try {
      vhost = this.context.createVhost(b.info);
    } catch (e) {
      throw located(v, fileKeyNamedIn(v, (e as Error).message), e);
    }
    let accessLog: AccessLog | null = null;
    // What is being set up, for the key a failure is reported at.
    let step = 'enable-client-ssl';
    try {
      if (v.enableClientSsl) {
        const ca = readClientFile(v, 'client-ssl-ca', v.clientSslCa);
        const cert = readClientFile(v, 'client-ssl-cert', v.clientSslCert);
        const key = readClientFile(v, 'client-ssl-key', v.clientSslKey);
        vhost.initClientSsl({ ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) });
      }
      step = 'access-log';
      if (v.accessLog !== undefined) {
        const g = this.#owner;
        accessLog = new AccessLog(v.accessLog, g ? { owner: g } : {});
        await accessLog.ready();
        attachAccessLog(vhost, accessLog);
      }
      step = v.unixSocket ? 'interface' : 'port';
      await vhost.listening;
    } catch (e) {
      await vhost.destroy();
      await accessLog?.close();
      throw e instanceof ConfigError ? e : located(v, step, e);
    }
    // Info only: the listen socket's own notice and lwsws's status lines say it already.
    log.info('vhost %s on %s', v.name, v.unixSocket ? `unix:${v.iface}` : `${vhost.tls ? 'https' : 'http'}://${v.iface ?? '*'}:${vhost.port}`);
    return { built: b, vhost, accessLog };
  }

  async #drop(r: Running): Promise<void> {
    // A peer that never lets its socket close must not stall the reload.
    let t: NodeJS.Timeout | undefined;
    const bound = this.#opts.dropTimeoutMs ?? 5000;
    const late = await Promise.race([
      r.vhost.destroy().then(() => false),
      new Promise<boolean>((res) => (t = setTimeout(() => res(true), bound))),
    ]).finally(() => clearTimeout(t));
    if (late) log.warn('vhost %s: its connections did not close within %d ms; going on', r.built.config.name, bound);
    attachAccessLog(r.vhost, null);
    await r.accessLog?.close();
  }

  /** The Redis topic bus of the global `pubsub` section (null without one, and in an SMP primary). */
  get topicBus(): RedisTopicBus | null {
    return this.#bus;
  }

  /** The running vhosts with their config. */
  get vhosts(): ReadonlyArray<{ vhost: Vhost; name: string; file: string }> {
    return this.#running.map((r) => ({ vhost: r.vhost, name: r.built.config.name, file: r.built.config.file }));
  }

  /**
   * Re-read the config and apply the difference. Throws (leaving
   * everything running as it was) when the new config does not load.
   */
  async reload(): Promise<ReloadResult> {
    const warnings: ConfigWarning[] = [];
    const config = readConfigDir(this.#opts.configDir, { ...this.#opts.configLimits, dataDir: this.#opts.dataDir }, warnings);
    checkProtocols(config, this.context.plugins, warnings);
    if (JSON.stringify(config.global.pluginDirs) !== this.#pluginDirs)
      warnings.push({ file: config.files[0], line: 0, key: 'plugin-dir', message: 'plugin directories changed: restart lwsws to load them' });
    // The peer limits are the context's, and the context stays across a reload.
    for (const [key, now, next] of [['ip-limit-wsi', this.context.ipLimitWsi, config.global.ipLimitWsi ?? 0],
      ['ip-limit-ah', this.context.ipLimitAh, config.global.ipLimitAh ?? 0]] as const) {
      if (now !== next) warnings.push({ file: config.files[0], line: 0, key, message: `changed from ${now} to ${next}: restart lwsws to apply it` });
    }
    const built = buildVhosts(config, lwswsHttpProtocol(config.global.rejectServiceKeywords), warnings);
    for (const w of warnings) this.#warn(w);
    const wanted = new Map<string, number>();
    for (const b of built) wanted.set(b.key, (wanted.get(b.key) ?? 0) + 1);
    const result: ReloadResult = { created: [], destroyed: [], kept: [], failed: [] };
    const keep: Running[] = [];
    const dropped: Running[] = [];
    for (const r of this.#running) {
      const n = wanted.get(r.built.key) ?? 0;
      if (n > 0) {
        wanted.set(r.built.key, n - 1);
        keep.push(r);
        r.accessLog?.reopen();
        if (r.vhost.tls) {
          // New handshakes get the certificate files as they are now.
          try {
            r.vhost.reloadTls();
          } catch (e) {
            log.warn('reload: vhost %s: keeping its TLS certificates: %s', r.built.config.name, (e as Error).message);
          }
        }
        result.kept.push(r.built.config.name);
      } else {
        await this.#drop(r);
        dropped.push(r);
        result.destroyed.push(r.built.config.name);
      }
    }
    const kept = new Map<string, Running[]>();
    for (const r of keep) {
      const q = kept.get(r.built.key);
      if (q) q.push(r);
      else kept.set(r.built.key, [r]);
    }
    const next: Running[] = [];
    // #running holds every live vhost throughout (stop() destroys them all), in config order at the end.
    this.#running = [...keep];
    const settle = (r: Running) => {
      next.push(r);
      if (!this.#running.includes(r)) this.#running.push(r);
    };
    for (const b of built) {
      const r = kept.get(b.key)?.shift();
      if (r) {
        settle(r);
        continue;
      }
      // A vhost that fails to come up is reported; the others still start,
      // and a changed one comes back as it was.
      try {
        settle(await this.#create(b));
        result.created.push(b.config.name);
      } catch (e) {
        log.err('reload: %s', (e as Error).message);
        result.failed.push(b.config.name);
        const i = dropped.findIndex((d) => d.built.config.name === b.config.name);
        if (i < 0) continue;
        const old = dropped.splice(i, 1)[0].built;
        try {
          settle(await this.#create(old));
          log.warn('reload: vhost %s: serving its previous settings again', old.config.name);
        } catch (e2) {
          log.err('reload: vhost %s: its previous settings failed too: %s', old.config.name, (e2 as Error).message);
        }
      }
    }
    this.#running = next;
    // A vhost made now went last on its port: config order decides again
    // which vhost is first there, so the default.
    orderVhosts(this.context, next.map((r) => r.vhost));
    // Info only: the caller has the result (lwsws prints it).
    log.info('reload: %d vhosts kept, %d destroyed, %d created, %d failed', result.kept.length, result.destroyed.length,
      result.created.length, result.failed.length);
    return result;
  }

  /**
   * Stop gracefully (`context.drain`): nothing new is accepted, HTTP
   * exchanges in flight finish, HTTP/2 sends GOAWAY, WebSockets get 1001
   * "going away"; then the access logs are flushed. Resolves within
   * `boundMs` even if a socket lingers.
   */
  async stop(boundMs = 5000): Promise<void> {
    const done = (async () => {
      await this.context.drain({ timeoutSecs: Math.max(0, boundMs - 500) / 1000 });
      for (const r of this.#running) await r.accessLog?.close();
      this.#bus?.close();
    })();
    let t: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => (t = setTimeout(r, boundMs)));
    await Promise.race([done, bound]);
    clearTimeout(t);
  }
}

/**
 * Warn, with the place, about ws-protocols no plugin provides; refuse an
 * option a protocol does not read when it says which it reads.
 */
function checkProtocols(config: LwswsConfig, plugins: readonly Plugin[], warnings: ConfigWarning[]): void {
  const byName = new Map(plugins.flatMap((p) => p.protocols.map((x) => [x.name, x] as const)));
  for (const v of config.vhosts) {
    for (const [n, options] of Object.entries(v.pvo)) {
      const at = v.pvoLines[n];
      const p = byName.get(n);
      if (!p) {
        warnings.push({ file: v.file, line: at?.line ?? v.line, key: 'ws-protocols', message: `vhost "${v.name}": no plugin provides protocol "${n}"` });
        continue;
      }
      if (!p.pvoOptions) continue;
      const known = new Set([...p.pvoOptions, ...PVO_RESERVED]);
      for (const o of Object.keys(options)) {
        if (known.has(o)) continue;
        const line = at?.options[o] ?? at?.line ?? v.line;
        if (PVO_UNIMPLEMENTED.has(o)) {
          warnings.push({ file: v.file, line, key: o, message: `protocol "${n}": not supported by tslws, ignored` });
          continue;
        }
        const near = nearestKey(o, [...known, ...PVO_UNIMPLEMENTED]);
        const list = [...p.pvoOptions].map((k) => `"${k}"`).join(', ') || 'none of its own';
        throw new ConfigError(v.file, line, o, `protocol "${n}" has no option "${o}"` +
          (near !== undefined ? `; did you mean "${near}"?` : ` (it reads ${list}, besides "default", "status" and "raw")`));
      }
    }
  }
}

/** The file key (`host-ssl-cert` …) whose path a library error names, if any. */
function fileKeyNamedIn(v: VhostConfig, message: string): string | undefined {
  const files: Array<[string, string | undefined]> = [['host-ssl-cert', v.sslCert], ['host-ssl-key', v.sslKey], ['host-ssl-ca', v.sslCa]];
  // Longest first: one path may be the start of another (x.pem, x.pem.key).
  const named = files.filter(([, path]) => path !== undefined && message.includes(path));
  named.sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0));
  return named[0]?.[0];
}

/** A failure to bring up vhost `v`, reported at the line of `key` (the vhost's own line without one). */
function located(v: VhostConfig, key: string | undefined, e: unknown): ConfigError {
  let msg = e instanceof Error ? e.message : String(e);
  // The library names the vhost its own way; the config error names it once.
  const own = `vhost ${v.name}: `;
  if (msg.startsWith(own)) msg = msg.slice(own.length);
  const line = key !== undefined ? v.keyLines[key] ?? v.line : v.line;
  return new ConfigError(v.file, line, key, `vhost "${v.name}": ${msg}`, { cause: e });
}

/** Read a client-ssl-* file, a failure reported at its key. */
function readClientFile(v: VhostConfig, key: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw located(v, key, e);
  }
}
