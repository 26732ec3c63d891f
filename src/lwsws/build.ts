/**
 * An lwsws configuration turned into what the library creates: context
 * settings and one VhostCreationInfo per vhost. Mount kinds the library
 * does not serve in this build are dropped with a warning rather than
 * refusing to start, so a config written for lws still brings up the rest.
 */
import { statSync } from 'node:fs';
import { Mount, resolveMounts, type HttpMount } from '../http/mount.js';
import type { VhostCreationInfo } from '../core/vhost.js';
import type { ContextCreationInfo } from '../core/context.js';
import { Option } from '../core/options.js';
import type { Protocol } from '../core/protocols.js';
import type { ConfigWarning } from './errors.js';
import { ConfigError } from './errors.js';
import type { GlobalConfig, LwswsConfig, MountConfig, OriginScheme, VhostConfig } from './model.js';

const KIND: Record<OriginScheme, Mount> = {
  file: Mount.FILE, cgi: Mount.CGI, http: Mount.HTTP, https: Mount.HTTPS, callback: Mount.CALLBACK,
  'redir-http': Mount.REDIR_HTTP, 'redir-https': Mount.REDIR_HTTPS,
};

/** Mount keys whose effect this build has; the others are warned about. */
const MOUNT_KEYS_WITHOUT_EFFECT: ReadonlyArray<[keyof MountConfig, string, string]> = [
  ['interpret', 'interpret', 'interpret'], ['boundProtocol', 'origin (second, callback://)', 'origin'],
];

/** Access control this build cannot enforce: such a mount is left out rather than served open. */
const ACCESS_KEYS: ReadonlyArray<[keyof MountConfig, string]> = [['authMask', 'auth-mask']];

/** What one vhost becomes, with what lwsws does around it. */
export interface BuiltVhost {
  config: VhostConfig;
  info: VhostCreationInfo;
  /** Identity for reload: equal keys mean an unchanged vhost. */
  key: string;
}

export function contextInfo(g: GlobalConfig): ContextCreationInfo {
  return {
    options: Option.EXPLICIT_VHOSTS | Option.VALIDATE_UTF8,
    serverString: g.serverString,
    ...(g.ipLimitWsi !== undefined ? { ipLimitWsi: g.ipLimitWsi } : {}),
    ...(g.ipLimitAh !== undefined ? { ipLimitAh: g.ipLimitAh } : {}),
    countThreads: g.countThreads,
    // lwsws warns about pvo protocols no plugin provides itself, with the file and line.
    warnUnknownPvo: false,
    // … and reports a port it cannot listen on, at the vhost's "port".
    logListenErrors: false,
  };
}

function mountInfo(m: MountConfig, v: VhostConfig, warnings: ConfigWarning[]): HttpMount | null {
  const base: HttpMount = {
    mountpoint: m.mountpoint,
    origin: m.target,
    originProtocol: KIND[m.scheme],
    ...(m.def !== undefined ? { def: m.def } : {}),
    ...(m.cacheMaxAge !== undefined ? { cacheMaxAge: m.cacheMaxAge } : {}),
    ...(m.cacheReuse !== undefined ? { cacheReusable: m.cacheReuse } : {}),
    ...(m.cacheRevalidate !== undefined ? { cacheRevalidate: m.cacheRevalidate } : {}),
    ...(m.cacheIntermediaries !== undefined ? { cacheIntermediaries: m.cacheIntermediaries } : {}),
    ...(m.extraMimetypes ? { extraMimetypes: m.extraMimetypes } : {}),
    ...(m.scheme === 'cgi' && m.cgiTimeout !== undefined ? { cgiTimeout: m.cgiTimeout } : {}),
    ...(m.scheme === 'cgi' && Object.keys(m.cgiEnv).length ? { cgienv: m.cgiEnv } : {}),
    ...(m.basicAuth !== undefined ? { basicAuthLoginFile: m.basicAuth } : {}),
  };
  const at = (key: string) => ({ file: v.file, line: m.keyLines[key] ?? m.line, key });
  for (const [k, name] of ACCESS_KEYS) {
    if (m[k] !== undefined) {
      warnings.push({ ...at(name), message: `mount ${m.mountpoint}: access control is not supported by this build yet; ` +
        'the mount is left out rather than served unprotected' });
      return null;
    }
  }
  try {
    resolveMounts([base]);
  } catch (e) {
    const msg = (e as Error).message;
    if (/not supported/.test(msg)) {
      warnings.push({ ...at('origin'), message: `mount ${m.mountpoint} (${m.origin}): ${msg}; the mount is left out` });
      return null;
    }
    throw new ConfigError(v.file, m.line, 'mounts', msg, { cause: e });
  }
  if (m.scheme === 'file') {
    // Refused now rather than answering 404 to every request later. lws
    // does not check; a zip file is a valid origin too.
    let why: string | undefined;
    try {
      const st = statSync(m.target);
      if (!st.isDirectory() && !st.isFile()) why = 'is neither a directory nor a file';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`;
    }
    if (why !== undefined) {
      const a = at('origin');
      throw new ConfigError(a.file, a.line, 'origin', `mount ${m.mountpoint}: origin ${m.target} ${why}`);
    }
  }
  for (const [k, name, written] of MOUNT_KEYS_WITHOUT_EFFECT) {
    if (m[k] !== undefined) warnings.push({ ...at(written), key: name, message: `mount ${m.mountpoint}: not supported by this build yet, ignored` });
  }
  if (m.cgiTimeout !== undefined && m.scheme !== 'cgi')
    warnings.push({ ...at('cgi-timeout'), message: `mount ${m.mountpoint}: only CGI mounts have a timeout, ignored` });
  if (Object.keys(m.cgiEnv).length && m.scheme !== 'cgi') {
    const key = m.keyLines.pmo !== undefined ? 'pmo' : 'cgi-env';
    warnings.push({ ...at(key), message: `mount ${m.mountpoint}: per-mount options reach only CGI programs in this build, ignored` });
  }
  if (m.scheme === 'callback' && !Object.hasOwn(v.pvo, m.target))
    warnings.push({ ...at('origin'), message: `mount ${m.mountpoint}: protocol "${m.target}" is not enabled on vhost "${v.name}" (list it in "ws-protocols")` });
  return base;
}

/** The vhost infos for `config`, in config order. */
export function buildVhosts(config: LwswsConfig, http: Protocol, warnings: ConfigWarning[]): BuiltVhost[] {
  const g = config.global;
  return config.vhosts.map((v) => {
    const warn = (key: string, message: string) => warnings.push({ file: v.file, line: v.keyLines[key] ?? v.line, key, message });
    let options = 0;
    if (v.unixSocket) options |= Option.UNIX_SOCK;
    if (v.sts) options |= Option.STS;
    if (v.onlyRaw) options |= Option.ONLY_RAW;
    if (v.fallbackRaw) options |= Option.FALLBACK_TO_RAW;
    const tls = v.sslCert !== undefined && g.initSsl;
    if (v.sslCert !== undefined && !g.initSsl)
      warn('host-ssl-cert', `vhost "${v.name}": ignored because global "init-ssl" is not on (the vhost serves clear text, as lwsws does)`);
    if (tls && v.allowNonTls) options |= Option.ALLOW_NON_SSL_ON_SSL_PORT;
    if (tls && v.redirectHttp) options |= Option.REDIRECT_HTTP_TO_HTTPS;
    if (!tls) {
      for (const [on, key] of [[v.allowNonTls, 'allow-non-tls'], [v.redirectHttp, 'redirect-http'], [v.ciphers, 'ciphers'],
        [v.ecdhCurve, 'ecdh-curve'], [v.sts, 'sts'], [v.alpn, 'alpn']] as const) if (on) warn(key, `vhost "${v.name}": has no effect without TLS`);
    }
    // As lws: the vhost's own list, else the global default-alpn, else the library's (h2,http/1.1).
    const alpn = tls ? (v.alpn ?? g.defaultAlpn) : undefined;
    if (v.clientSslCiphers !== undefined) warn('client-ssl-ciphers', 'not supported by tslws (Node picks client ciphers), ignored');
    const mounts = v.mounts.map((m) => mountInfo(m, v, warnings)).filter((m): m is HttpMount => m !== null);
    const limits: VhostCreationInfo['limits'] = {
      ...(v.keepaliveTimeout !== undefined ? { keepaliveTimeoutSecs: v.keepaliveTimeout } : {}),
      ...(g.timeoutSecs !== undefined ? { timeoutSecs: g.timeoutSecs, headerTimeoutSecs: g.timeoutSecs } : {}),
    };
    const info: VhostCreationInfo = {
      vhostName: v.name,
      port: v.port,
      ...(v.iface !== undefined ? { iface: v.iface } : {}),
      options,
      protocols: [http],
      pvo: v.pvo,
      mounts,
      headers: v.headers,
      ...(g.serverString !== undefined ? { serverString: g.serverString } : {}),
      limits,
      // lwsws offers permessage-deflate on every vhost, as lws's lwsws does.
      ws: { perMessageDeflate: true, ...(g.wsPingPongSecs ? { pingPongSecs: g.wsPingPongSecs } : {}) },
      ...(tls ? {
        sslCertFilepath: v.sslCert,
        ...(v.sslKey !== undefined ? { sslPrivateKeyFilepath: v.sslKey } : {}),
        ...(v.sslCa !== undefined ? { sslCaFilepath: v.sslCa } : {}),
        ...(v.ciphers !== undefined ? { sslCipherList: v.ciphers } : {}),
        ...(v.ecdhCurve !== undefined ? { ecdhCurve: v.ecdhCurve } : {}),
        ...(alpn !== undefined ? { alpn: alpn.join(',') } : {}),
      } : {}),
    };
    // Everything that shapes the vhost, without where it was written.
    const { file: _f, line: _l, keyLines: _k, pvoLines: _p, mounts: ms, ...rest } = v;
    const shape = { ...rest, mounts: ms.map(({ line: _ml, keyLines: _mk, ...m }) => m) };
    const key = JSON.stringify({ shape, tls, alpn, server: g.serverString, timeout: g.timeoutSecs, ping: g.wsPingPongSecs,
      reject: g.rejectServiceKeywords });
    return { config: v, info, key };
  });
}
