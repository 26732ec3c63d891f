import { ErrorCode, typeError } from '../core/errors.js';

/** Where a proxy mount sends requests. */
export interface ProxyTarget {
  https: boolean;
  host: string;
  port: number;
  /** Path prefix on the upstream, without a trailing `/`. */
  base: string;
}

/** Parse a proxy mount's origin: `host[:port][/path]`, with or without its scheme. */
export function proxyTarget(origin: string, https: boolean): ProxyTarget {
  const bare = origin.replace(/^[a-z]+:\/\//i, '');
  let u: URL;
  try {
    u = new URL(`${https ? 'https' : 'http'}://${bare}`);
  } catch {
    throw typeError(ErrorCode.INVALID_OPTION, `mount: proxy origin ${JSON.stringify(origin)} is not host[:port][/path]`);
  }
  if (u.search || u.hash || u.username) throw typeError(ErrorCode.INVALID_OPTION, `mount: proxy origin ${JSON.stringify(origin)} must be host[:port][/path] only`);
  return {
    https,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : https ? 443 : 80,
    base: u.pathname.replace(/\/+$/, ''),
  };
}

