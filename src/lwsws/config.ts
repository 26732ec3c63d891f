/**
 * Reading an lwsws config directory: `conf`, then every file in `conf.d/`
 * in name order (dotfiles and names with `~` skipped). As lwsws does, the
 * `global` sections of all files are read first (scalars: last one wins;
 * `plugin-dir` and `reject-service-keywords` accumulate), then the
 * `vhosts` of all files, one vhost per array element, in read order.
 * An unknown key is a ConfigError (with the nearest known key as a
 * suggestion), as are a bad value and a missing required key, each
 * naming the file, the line and the key. Keys lwsws has and tslws does
 * not implement are warned about and ignored.
 */
import { MAX_SMP } from '../smp/smp.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigWarning } from './errors.js';
import { parseConfigText, type JEntry, type JNode, type ParseLimits } from './jsonc.js';
import { Reader } from './values.js';
import type { GlobalConfig, LwswsConfig, MountConfig, OriginScheme, PubsubConfig, VhostConfig } from './model.js';
import { GLOBAL_KEYS, MOUNT_KEYS, PUBSUB_KEYS, TOP_KEYS, VHOST_KEYS, isUnimplemented, unknownKeyMessage, type SectionKeys } from './keys.js';

export interface ReadConfigOptions extends ParseLimits {
  /** What `_lws_ddir_` stands for in vhost values. */
  dataDir: string;
  /** Most files read from conf.d; default 256. */
  maxFiles?: number;
  /** Largest config file in bytes; default 1 MiB. */
  maxFileBytes?: number;
}

/** A key no case of a section's reader took: warned about when lwsws has it, else refused. */
function otherKey(r: Reader, section: SectionKeys, x: JEntry, warnings: ConfigWarning[]): void {
  if (isUnimplemented(section, x.key)) warnings.push({ file: r.file, line: x.line, key: x.key, message: 'not supported by tslws, ignored' });
  else r.fail(x, x.key, unknownKeyMessage(section, x.key));
}

function configFiles(dir: string, maxFiles: number): string[] {
  const files = [join(dir, 'conf')];
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, 'conf.d'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(join(dir, 'conf.d'), 0, undefined, (e as Error).message);
  }
  names = names.filter((n) => !n.startsWith('.') && !n.includes('~')).sort();
  if (names.length > maxFiles) throw new ConfigError(join(dir, 'conf.d'), 0, undefined, `more than ${maxFiles} files`);
  for (const n of names) files.push(join(dir, 'conf.d', n));
  return files;
}

/** One config file's text; a file that is not regular or is too large is not read. */
function readConfigFile(file: string, maxBytes: number): string {
  const cannot = (why: string) => new ConfigError(file, 0, undefined, `cannot read: ${why}`);
  let buf: Buffer;
  try {
    // Checked before reading: a FIFO must not block, a huge file is not read.
    const st = statSync(file);
    if (!st.isFile()) throw cannot('not a regular file');
    if (st.size > maxBytes) throw cannot(`larger than ${maxBytes} bytes`);
    buf = readFileSync(file);
  } catch (e) {
    throw e instanceof ConfigError ? e : cannot((e as Error).message);
  }
  if (buf.length > maxBytes) throw cannot(`larger than ${maxBytes} bytes`);
  return buf.toString('utf8').replace(/^\uFEFF/, '');
}

/** Read and check a whole config directory. */
export function readConfigDir(dir: string, opts: ReadConfigOptions, warnings: ConfigWarning[] = []): LwswsConfig {
  const maxBytes = opts.maxFileBytes ?? 1024 * 1024;
  const files = configFiles(dir, opts.maxFiles ?? 256);
  const parsed: { file: string; root: JNode }[] = [];
  for (const file of files) parsed.push({ file, root: parseConfigText(readConfigFile(file, maxBytes), file, opts) });
  const global: GlobalConfig = { countThreads: 1, initSsl: false, pluginDirs: [], rejectServiceKeywords: [] };
  const vhosts: VhostConfig[] = [];
  for (const { file, root } of parsed) {
    if (root.kind !== 'object') continue;
    const r: Reader = new Reader(file, opts.dataDir);
    for (const e of root.entries) {
      if (e.key === 'global') readGlobal(r, e, global, warnings);
      else if (e.key !== 'vhosts') otherKey(r, TOP_KEYS, e, warnings);
    }
  }
  for (const { file, root } of parsed) {
    if (root.kind !== 'object') continue;
    const r: Reader = new Reader(file, opts.dataDir);
    for (const e of root.entries) {
      if (e.key !== 'vhosts') continue;
      const list = e.value;
      if (list.kind !== 'array') return r.fail(list, 'vhosts', 'must be an array of vhost objects');
      for (const item of list.items) {
        if (item.kind !== 'object') r.fail(item, 'vhosts', 'each vhost must be an object');
        vhosts.push(readVhost(r, item.line, item.entries, warnings));
      }
    }
  }
  if (!vhosts.length) throw new ConfigError(files[files.length - 1], 0, 'vhosts', 'need at least one vhost');
  return { files, global, vhosts };
}

function readGlobal(r: Reader, e: JEntry, g: GlobalConfig, warnings: ConfigWarning[]): void {
  for (const x of r.object(e)) {
    switch (x.key) {
      case 'uid': g.uid = r.int(x); break;
      case 'gid': g.gid = r.int(x); break;
      case 'username': g.uid = r.str(x); break;
      case 'groupname': g.gid = r.str(x); break;
      case 'count-threads':
        // Each is a service process (see README "SMP"), at most lws's LWS_MAX_SMP.
        g.countThreads = r.int(x, 1, MAX_SMP);
        break;
      case 'init-ssl': g.initSsl = r.bool(x); break;
      case 'server-string': g.serverString = r.str(x); break;
      case 'default-alpn': g.defaultAlpn = r.alpnList(x); break;
      case 'plugin-dir': g.pluginDirs.push(r.str(x)); break;
      case 'ws-pingpong-secs': g.wsPingPongSecs = r.int(x); break;
      case 'timeout-secs': g.timeoutSecs = r.int(x, 1); break;
      case 'ip-limit-wsi': g.ipLimitWsi = r.int(x); break;
      case 'ip-limit-ah': g.ipLimitAh = r.int(x); break;
      case 'pubsub': g.pubsub = readPubsub(r, x, warnings); break;
      case 'reject-service-keywords':
        for (const k of r.listOfObjects(x)) {
          const v = r.str(k);
          const m = /^\s*(\d{3})\s*(.*)$/.exec(v);
          if (!m) r.fail(k, k.key, 'reject-service-keywords values are "CODE text", e.g. "404 Not Found"');
          g.rejectServiceKeywords.unshift({ substring: k.key, status: Number(m[1]), text: m[2] });
        }
        break;
      default:
        otherKey(r, GLOBAL_KEYS, x, warnings);
    }
  }
}

function readPubsub(r: Reader, e: JEntry, warnings: ConfigWarning[]): PubsubConfig {
  const p: PubsubConfig = { redis: '', history: 0, sharded: false, cluster: false };
  let shardedAt: JEntry | null = null;
  for (const x of r.object(e)) {
    switch (x.key) {
      case 'redis':
        p.redis = r.str(x);
        if (!/^rediss?:\/\/[^/\s]+/.test(p.redis)) r.fail(x, x.key, 'is redis://host:port (or rediss://)');
        break;
      case 'history': p.history = r.int(x); break;
      case 'node':
        p.node = r.str(x);
        if (!/^[A-Za-z0-9._:@-]{1,64}$/.test(p.node)) r.fail(x, x.key, 'is 1 to 64 letters, digits or . _ - : @');
        break;
      case 'prefix': p.prefix = r.str(x); break;
      case 'sharded':
        p.sharded = r.bool(x);
        shardedAt = x;
        break;
      case 'cluster':
        p.cluster = r.bool(x);
        break;
      case 'max-buffered': p.maxBuffered = r.int(x, 1); break;
      default: otherKey(r, PUBSUB_KEYS, x, warnings);
    }
  }
  if (!p.redis) r.fail(e, 'pubsub', 'needs "redis": "redis://host:port"');
  if (p.cluster) {
    if (shardedAt && !p.sharded) r.fail(shardedAt, 'sharded', 'cannot be off with "cluster": a Redis Cluster needs sharded pub/sub');
    p.sharded = true;
  }
  return p;
}

function readVhost(r: Reader, line: number, entries: readonly JEntry[], warnings: ConfigWarning[]): VhostConfig {
  // Every vhost starts from the defaults: nothing is inherited from the one before.
  const v: VhostConfig = {
    file: r.file, line, keyLines: {}, name: 'default', port: 0, unixSocket: false, sts: false, headers: {}, allowNonTls: false,
    redirectHttp: false, onlyRaw: false, fallbackRaw: false, enableClientSsl: false, mounts: [], pvo: {}, pvoLines: {},
  };
  let sawPort = false;
  const warn = (x: JEntry, message: string) => warnings.push({ file: r.file, line: x.line, key: x.key, message });
  for (const x of entries) {
    v.keyLines[x.key] = x.line;
    switch (x.key) {
      case 'name': v.name = r.str(x, true); break;
      case 'port': v.port = r.int(x, 0, 65535); sawPort = true; break;
      case 'interface': v.iface = r.str(x, true); break;
      case 'unix-socket': v.unixSocket = r.bool(x); break;
      case 'host-ssl-key': v.sslKey = r.str(x, true); break;
      case 'host-ssl-cert': v.sslCert = r.str(x, true); break;
      case 'host-ssl-ca': v.sslCa = r.str(x, true); break;
      case 'access-log': v.accessLog = r.str(x, true); break;
      case 'keepalive_timeout': case 'keepalive-timeout': v.keepaliveTimeout = r.int(x); break;
      case 'keeplive-timeout':
        warn(x, 'misspelt in lws\'s README: the key is "keepalive_timeout" (taken anyway)');
        v.keepaliveTimeout = r.int(x);
        break;
      case 'ciphers': v.ciphers = r.str(x, true); break;
      case 'ecdh-curve': v.ecdhCurve = r.str(x, true); break;
      case 'sts': v.sts = r.bool(x); break;
      case 'allow-non-tls': v.allowNonTls = r.bool(x); break;
      case 'redirect-http': v.redirectHttp = r.bool(x); break;
      case 'onlyraw': case 'apply-listen-accept': v.onlyRaw = r.bool(x); break;
      case 'rawonly':
        warn(x, 'misspelt in lws\'s README: the key is "onlyraw" (taken anyway)');
        v.onlyRaw = r.bool(x);
        break;
      case 'fallback-listen-accept': v.fallbackRaw = r.bool(x); break;
      case 'listen-accept-role': {
        const role = r.str(x, true);
        if (role !== 'raw-skt') r.fail(x, x.key, `role "${role}" is not offered: tslws binds accepted connections as "raw-skt" only`);
        break;
      }
      case 'enable-client-ssl': v.enableClientSsl = r.bool(x); break;
      case 'client-ssl-key': v.clientSslKey = r.str(x, true); break;
      case 'client-ssl-cert': v.clientSslCert = r.str(x, true); break;
      case 'client-ssl-ca': v.clientSslCa = r.str(x, true); break;
      case 'client-ssl-ciphers': v.clientSslCiphers = r.str(x, true); break;
      case 'alpn': v.alpn = r.alpnList(x, true); break;
      case 'headers':
        for (const h of r.listOfObjects(x)) {
          const name = h.key.replace(/:$/, '');
          if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) r.fail(h, h.key, 'is not a valid header name');
          const val = r.str(h, true);
          if (/[\r\n\0]/.test(val)) r.fail(h, h.key, 'header values may not hold CR, LF or NUL');
          v.headers[name] = val;
        }
        break;
      case 'mounts': {
        if (x.value.kind !== 'array') r.fail(x.value, 'mounts', 'must be an array of mount objects');
        for (const m of x.value.items) {
          if (m.kind !== 'object') r.fail(m, 'mounts', 'each mount must be an object');
          v.mounts.push(readMount(r, m.line, m.entries, warnings));
        }
        break;
      }
      case 'ws-protocols':
        for (const p of r.listOfObjects(x)) {
          // As in lws, a protocol is enabled by its `{`: a bare string value enables nothing.
          if (p.value.kind !== 'object') {
            warn(p, 'a protocol is enabled by an object value ({} or {"status": "ok"}); this one is not, so it is not enabled');
            continue;
          }
          v.pvo[p.key] = r.stringMap(p.value.entries, true);
          v.pvoLines[p.key] = { line: p.line, options: Object.fromEntries(p.value.entries.map((o) => [o.key, o.line])) };
        }
        break;
      default:
        otherKey(r, VHOST_KEYS, x, warnings);
    }
  }
  if (!sawPort || v.port === 0) throw new ConfigError(r.file, v.keyLines.port ?? line, 'port', `vhost "${v.name}": port required (non-zero)`);
  if (v.unixSocket && !v.iface) throw new ConfigError(r.file, line, 'interface', `vhost "${v.name}": unix-socket needs "interface" set to the socket path`);
  return v;
}

const SCHEMES: ReadonlyArray<[string, OriginScheme]> = [
  ['file://', 'file'], ['cgi://', 'cgi'], ['http://', 'http'], ['https://', 'https'], ['callback://', 'callback'],
  ['>http://', 'redir-http'], ['>https://', 'redir-https'],
];

function readMount(r: Reader, line: number, entries: readonly JEntry[], warnings: ConfigWarning[]): MountConfig {
  const m: Partial<MountConfig> & { cgiEnv: Record<string, string>; keyLines: Record<string, number> } = { line, keyLines: {}, cgiEnv: {} };
  for (const x of entries) {
    // A second origin (callback://) must not move where the first was written.
    if (!(x.key === 'origin' && m.keyLines.origin !== undefined)) m.keyLines[x.key] = x.line;
    switch (x.key) {
      case 'mountpoint': {
        const mp = r.str(x, true);
        if (!mp.startsWith('/')) r.fail(x, x.key, `must start with "/", got ${JSON.stringify(mp)}`);
        m.mountpoint = mp;
        break;
      }
      case 'origin': {
        let o = r.str(x, true);
        if (/^\^https?:\/\//i.test(o)) {
          warnings.push({ file: r.file, line: x.line, key: x.key,
            message: `lws's README writes redirects as "^http(s)://"; its parser (and tslws) reads ">http(s)://" (taken anyway)` });
          o = '>' + o.slice(1);
        }
        const hit = SCHEMES.find(([p]) => o.toLowerCase().startsWith(p));
        if (!hit) r.fail(x, x.key, `unknown origin scheme in ${JSON.stringify(o)} (file://, cgi://, http://, https://, callback://, >http://, >https://)`);
        if (m.origin !== undefined) {
          // A later callback:// only binds a protocol to the mount, as in lws.
          if (hit[1] !== 'callback') r.fail(x, x.key, 'given twice; only a callback:// origin may follow the first');
          m.boundProtocol = o.slice(hit[0].length);
          break;
        }
        m.origin = o;
        m.scheme = hit[1];
        m.target = hit[1] === 'redir-http' || hit[1] === 'redir-https' ? o.slice(1) : o.slice(hit[0].length);
        if (m.target === '') r.fail(x, x.key, 'names nothing after its scheme');
        break;
      }
      case 'protocol': break; // listed by lws's parser and ignored there too
      case 'default': m.def = r.str(x, true); break;
      case 'cache-max-age': m.cacheMaxAge = r.int(x); break;
      case 'cache-reuse': m.cacheReuse = r.bool(x); break;
      case 'cache-revalidate': m.cacheRevalidate = r.bool(x); break;
      case 'cache-intermediaries': m.cacheIntermediaries = r.bool(x); break;
      case 'cgi-timeout': m.cgiTimeout = r.int(x, 1); break;
      case 'cgi-env': case 'pmo':
        Object.assign(m.cgiEnv, r.stringMap(r.listOfObjects(x), true));
        break;
      case 'extra-mimetypes': m.extraMimetypes = r.stringMap(r.object(x)); break;
      case 'interpret': m.interpret = r.stringMap(r.object(x)); break;
      case 'basic-auth': m.basicAuth = r.str(x, true); break;
      case 'auth-mask': m.authMask = r.int(x); break;
      default:
        otherKey(r, MOUNT_KEYS, x, warnings);
    }
  }
  if (m.mountpoint === undefined) throw new ConfigError(r.file, line, 'mountpoint', 'mount without a mountpoint');
  if (m.origin === undefined) throw new ConfigError(r.file, line, 'origin', `mount ${m.mountpoint} without an origin`);
  return m as MountConfig;
}
