import type { Wsi } from '../../core/wsi.js';
import type { VhostSelector } from '../../core/vhost.js';
import { roleTransition, type RoleOps } from '../../core/role.js';
import { registerRole } from '../../core/features.js';
import { H1Conn } from './conn.js';

/** The HTTP/1.x server role. */
export const h1Role: RoleOps<H1Conn> = {
  name: 'h1',
  rx(_wsi, h1, buf) {
    h1.rx(buf);
  },
  writable(_wsi, h1) {
    h1.writable();
  },
  write(_wsi, h1, buf, flags) {
    return h1.exchange.write(buf, flags);
  },
  timeout(_wsi, h1, reason) {
    h1.timeout(reason);
  },
  peerEnded(_wsi, h1) {
    h1.peerEnded();
  },
  quiesce(_wsi, h1) {
    return h1.quiesce();
  },
  callbackThrew(_wsi, h1) {
    h1.callbackThrew();
  },
  closing(_wsi, h1) {
    h1.closing();
  },
};

registerRole(h1Role as RoleOps);

/** A connection starts reading HTTP/1 requests; `vhosts` picks the vhost a Host header names. */
export function startH1(wsi: Wsi, vhosts: VhostSelector): void {
  if (wsi.closed) return;
  const h1 = new H1Conn(wsi, vhosts);
  roleTransition(wsi, h1Role, h1);
  h1.start();
}
