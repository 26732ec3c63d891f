import type { Vhost } from '../../core/vhost.js';

/**
 * The vhost for a Host header value (or an SNI name) among `vhosts`, the
 * vhosts of one listen socket, as lws matches it: strip `:port`, an exact
 * name first, then a parent-domain match (`cats.abc.com` → `abc.com`),
 * else the port's first vhost.
 */
export function selectVhost(vhosts: readonly Vhost[], host: string | undefined): Vhost {
  const first = vhosts[0];
  if (!host || vhosts.length === 1) return first;
  let h = host.toLowerCase();
  if (h.startsWith('[')) {
    const e = h.indexOf(']');
    h = e > 0 ? h.slice(1, e) : h;
  } else {
    const c = h.lastIndexOf(':');
    if (c >= 0 && h.indexOf(':') === c) h = h.slice(0, c);
  }
  for (const v of vhosts) if (!v.destroyed && v.name.toLowerCase() === h) return v;
  for (const v of vhosts) {
    const n = v.name.toLowerCase();
    if (!v.destroyed && h.length > n.length && h.endsWith(n) && h.charCodeAt(h.length - n.length - 1) === 46) return v;
  }
  return first;
}
