import type { Wsi } from '../../core/wsi.js';
import type { HttpRequest } from '../../http/request.js';
import type { ResolvedMount } from '../../http/mount.js';

/**
 * Headers that never become HTTP_* variables: framing ones have their own,
 * `Proxy` must not become HTTP_PROXY (httpoxy), and credentials stay out
 * of the program's environment (RFC 3875 4.1.18).
 */
const SKIPPED = new Set(['content-type', 'content-length', 'proxy', 'connection', 'transfer-encoding', 'authorization', 'proxy-authorization']);

/**
 * The environment of a CGI program: RFC 3875's meta-variables, lws's
 * extras (REQUEST_URI, SCRIPT_PATH, USER_AGENT, HTTPS, a fixed PATH), one
 * HTTP_* variable per request header, then the mount's `cgienv`. Nothing
 * is inherited from the server's own environment.
 */
export function cgiEnv(wsi: Wsi, req: HttpRequest, m: ResolvedMount, script: string, path: string, localPort: number): Record<string, string> {
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'tslws',
    SERVER_PROTOCOL: req.version === 20 ? 'HTTP/2.0' : req.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1',
    REQUEST_METHOD: req.method,
    REQUEST_URI: req.target,
    QUERY_STRING: req.query,
    SCRIPT_NAME: m.mpLen === 1 ? '' : m.mountpoint,
    SCRIPT_PATH: script,
    PATH_INFO: path.slice(m.mpLen === 1 ? 0 : m.mpLen),
    REMOTE_ADDR: wsi.peerAddress,
    REMOTE_PORT: String(wsi.peerPort),
    PATH: '/bin:/usr/bin:/usr/local/bin:/var/www/cgi-bin',
  };
  const host = req.first('host') ?? wsi.vhost.name;
  const hm = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  env.SERVER_NAME = hm ? hm[1] : host;
  env.SERVER_PORT = String(localPort || (hm?.[2] ?? ''));
  if (wsi.isSsl()) env.HTTPS = 'ON';
  const ct = req.first('content-type');
  if (ct !== undefined) env.CONTENT_TYPE = ct;
  const cl = req.first('content-length');
  if (cl !== undefined) env.CONTENT_LENGTH = cl;
  const ua = req.first('user-agent');
  if (ua !== undefined) env.USER_AGENT = ua; // lws's spelling, beside HTTP_USER_AGENT
  for (const [name] of req.headers) {
    if (SKIPPED.has(name)) continue;
    const key = 'HTTP_' + name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    if (env[key] === undefined) env[key] = req.header(name) ?? '';
  }
  for (const [k, v] of Object.entries(m.cgienv ?? {})) env[k] = String(v);
  return env;
}
