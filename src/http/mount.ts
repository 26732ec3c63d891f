import { proxyTarget } from './proxy-target.js';
import { ErrorCode, rangeError, typeError } from '../core/errors.js';

/**
 * Mounts: parts of a vhost's URL space served by something other than user
 * code (after lws's `struct lws_http_mount`).
 */
export enum Mount {
  /** Reverse proxy to an http:// origin. */
  HTTP = 0,
  /** Reverse proxy to an https:// origin. */
  HTTPS = 1,
  /** A directory served from the file system. */
  FILE = 2,
  /** A CGI program. */
  CGI = 3,
  /** Redirect to an http:// URL. */
  REDIR_HTTP = 4,
  /** Redirect to an https:// URL. */
  REDIR_HTTPS = 5,
  /** Bind the connection to the protocol named by `origin`. */
  CALLBACK = 6,
}

export interface HttpMount {
  /** Where in the URL space, e.g. `/` or `/docs`. */
  readonly mountpoint: string;
  /** A directory for FILE, a URL (`host/path` or `https://host/path`) for redirects. */
  readonly origin: string;
  readonly originProtocol: Mount;
  /** File served for the mountpoint itself and for directories; default `index.html`. */
  readonly def?: string;
  /** Seconds a cache may keep responses; with `cacheReusable` becomes `max-age`. */
  readonly cacheMaxAge?: number;
  /** May caches keep the response at all? Without it: `no-store`. */
  readonly cacheReusable?: boolean;
  /** Must caches revalidate (`must-revalidate`)? */
  readonly cacheRevalidate?: boolean;
  /** May shared caches keep it (`public` rather than `private`)? */
  readonly cacheIntermediaries?: boolean;
  /**
   * More mime types by suffix, e.g. `{ '.zip': 'application/zip' }`; `'*'`
   * matches any file the built-in table does not know, and an empty value
   * sends no content-type.
   */
  readonly extraMimetypes?: Readonly<Record<string, string>>;
  /** CGI: extra environment variables for the program (lws's `cgienv`). */
  readonly cgienv?: Readonly<Record<string, string>>;
  /** CGI: seconds the program may go without producing output before it is killed; default 5. */
  readonly cgiTimeout?: number;
  /** HTTP/HTTPS proxy: seconds to wait for the upstream to connect and answer, and between pieces of its body; default 10. */
  readonly proxyTimeout?: number;
  /** HTTPS proxy: how to check the upstream's certificate (default: the system's CAs, strictly). */
  readonly proxyTls?: { readonly ca?: string | Uint8Array; readonly rejectUnauthorized?: boolean };
  /**
   * A file of `user:password` lines (lws's `basic_auth_login_file`): every
   * request under the mount, WebSocket upgrades included, needs HTTP Basic
   * credentials listed there, else 401 with a Basic challenge. The file is
   * read again when it changes. Use it over TLS: Basic sends the password.
   */
  readonly basicAuthLoginFile?: string;
}

/** The kinds this build serves; others are refused at vhost creation. */
const SUPPORTED = new Set([Mount.FILE, Mount.REDIR_HTTP, Mount.REDIR_HTTPS, Mount.CALLBACK, Mount.CGI, Mount.HTTP, Mount.HTTPS]);

/** A mount checked and prepared for matching. @internal */
export interface ResolvedMount extends HttpMount {
  readonly mpLen: number;
}

/** Check mounts and order them longest mountpoint first. @internal */
export function resolveMounts(mounts: readonly HttpMount[] | undefined): ResolvedMount[] {
  const out: ResolvedMount[] = [];
  for (const m of mounts ?? []) {
    if (typeof m.mountpoint !== 'string' || !m.mountpoint.startsWith('/'))
      throw typeError(ErrorCode.INVALID_OPTION, `mount: mountpoint must start with "/", got ${JSON.stringify(m.mountpoint)}`);
    if (typeof m.origin !== 'string' || m.origin === '')
      throw typeError(ErrorCode.INVALID_OPTION, `mount ${m.mountpoint}: origin is required`);
    if (!SUPPORTED.has(m.originProtocol))
      throw typeError(ErrorCode.INVALID_OPTION, `mount ${m.mountpoint}: origin protocol ${Mount[m.originProtocol] ?? m.originProtocol} is not supported by this version of tslws (supported: FILE, REDIR_HTTP, REDIR_HTTPS, CALLBACK, CGI, HTTP, HTTPS)`);
    if (m.cgiTimeout !== undefined && (typeof m.cgiTimeout !== 'number' || !(m.cgiTimeout > 0)))
      throw rangeError(ErrorCode.INVALID_OPTION, `mount ${m.mountpoint}: cgiTimeout must be a positive number of seconds, got ${String(m.cgiTimeout)}`);
    if (m.proxyTimeout !== undefined && (typeof m.proxyTimeout !== 'number' || !(m.proxyTimeout > 0)))
      throw rangeError(ErrorCode.INVALID_OPTION, `mount ${m.mountpoint}: proxyTimeout must be a positive number of seconds, got ${String(m.proxyTimeout)}`);
    if (m.originProtocol === Mount.HTTP || m.originProtocol === Mount.HTTPS) proxyTarget(m.origin, m.originProtocol === Mount.HTTPS);
    if (m.basicAuthLoginFile !== undefined && (typeof m.basicAuthLoginFile !== 'string' || m.basicAuthLoginFile === ''))
      throw typeError(ErrorCode.INVALID_OPTION, `mount ${m.mountpoint}: basicAuthLoginFile must be the path of a user:password file`);
    let mp = m.mountpoint;
    while (mp.length > 1 && mp.endsWith('/')) mp = mp.slice(0, -1);
    out.push({ ...m, mountpoint: mp, mpLen: mp.length });
  }
  out.sort((a, b) => b.mpLen - a.mpLen);
  return out;
}

/**
 * Does `m` cover requests made with `method`? FILE and redirect mounts
 * take GET and HEAD; CGI and CALLBACK mounts take every method, as in lws,
 * and so do proxy mounts (lws 2.4 proxies only GET). @internal
 */
export function mountTakesMethod(m: ResolvedMount, method: string): boolean {
  if (m.originProtocol !== Mount.FILE && m.originProtocol !== Mount.REDIR_HTTP && m.originProtocol !== Mount.REDIR_HTTPS) return true;
  return method === 'GET' || method === 'HEAD';
}

/** The origin with lwsws's scheme prefix (`callback://`, `cgi://`) removed. @internal */
export function bareOrigin(m: HttpMount): string {
  return m.origin.replace(/^(callback|cgi|file):\/\//i, '');
}

/**
 * The mount for a path: the longest mountpoint that is the whole path or is
 * followed by `/` in it. @internal
 */
export function matchMount(mounts: readonly ResolvedMount[], path: string): ResolvedMount | undefined {
  for (const m of mounts) {
    if (m.mpLen === 1) return m;
    if (path.startsWith(m.mountpoint) && (path.length === m.mpLen || path.charCodeAt(m.mpLen) === 47)) return m;
  }
  return undefined;
}
