import type { Wsi } from '../../core/wsi.js';
import type { VhostSelector } from '../../core/vhost.js';
import { roleTransition, type RoleOps } from '../../core/role.js';
import { registerRole } from '../../core/features.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { H2Conn } from './conn.js';
import { h2OptionsOf } from './vhost-h2.js';

/** The HTTP/2 server role (RFC 9113): the connection; its streams are child wsis in `h2StreamRole`. */
export const h2Role: RoleOps<H2Conn> = {
  name: 'h2',
  rx(_wsi, c, buf) {
    c.rx(buf);
  },
  writable(_wsi, c) {
    c.writable();
  },
  write() {
    return -1; // nothing is written on the connection itself: its streams write
  },
  drain(_wsi, c) {
    return c.goingAway();
  },
  quiesce(_wsi, c) {
    return c.goingAway();
  },
  closing(_wsi, c) {
    c.closing();
  },
};

registerRole(h2Role as RoleOps);

/**
 * A connection starts speaking HTTP/2 (ALPN chose `h2`, or the client
 * sent the preface in clear text); `initial` is what was read already.
 */
export function startH2(wsi: Wsi, vhosts: VhostSelector, initial: Buffer | null = null): void {
  if (wsi.closed) return;
  const c = new H2Conn(wsi, vhosts, h2OptionsOf(wsi.vhost));
  roleTransition(wsi, h2Role, c);
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  c.start();
  if (initial && initial.length) wsi.deliverRx(initial);
}
