import type { Vhost, VhostSelector } from '../../core/vhost.js';

/**
 * The vhost for a Host header value (or an SNI name) among `vhosts`, the
 * vhosts of one listen socket, as lws matches it: strip `:port`, an exact
 * name first, then a parent-domain match (`cats.abc.com` → `abc.com`),
 * else the port's first vhost.
 */
export function selectVhost(vhosts: readonly Vhost[], host: string | undefined): Vhost {
  if (!host || vhosts.length === 1) return vhosts[0];
  return matchVhost(vhosts, host) ?? vhosts[0];
}

/** The vhost `host` names by the rules of `selectVhost`, or null when it names none (no fallback). */
export function matchVhost(vhosts: readonly Vhost[], host: string | undefined): Vhost | null {
  if (!host) return null;
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
  return null;
}

/**
 * On TLS the handshake settled the vhost (by SNI, or the port's default
 * without it). An HTTP/2 request whose `:authority` names another vhost of
 * the port came on the wrong connection — typically a browser reusing a
 * connection for another name its certificate also covers (RFC 9113
 * 9.1.1) — and is answered 421 Misdirected Request so the client retries
 * on a connection of its own, rather than being served by the wrong vhost.
 * A name that matches no vhost of the port is served by the connection's.
 */
export function misdirected(vhosts: VhostSelector, connVhost: Vhost, host: string | undefined): boolean {
  const m = vhosts.matchVhost(host);
  return m !== null && m !== connVhost;
}
