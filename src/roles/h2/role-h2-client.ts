import type { Wsi } from '../../core/wsi.js';
import type { Socket } from 'node:net';
import { roleTransition, type RoleOps } from '../../core/role.js';
import { registerRole } from '../../core/features.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { H2ClientConn, type H2ClientEvents } from './client-conn.js';
import type { H2ClientOptions } from './client-options.js';

/** The HTTP/2 client connection role: its streams are the requests' wsis, children of this one. */
export const h2ClientRole: RoleOps<H2ClientConn> = {
  name: 'h2-client',
  rx(_wsi, c, buf) {
    c.rx(buf);
  },
  writable(_wsi, c) {
    c.writable();
  },
  write() {
    return -1; // the streams write, never the connection itself
  },
  peerEnded(_wsi, c) {
    c.lost('HTTP/2 connection closed by the server');
  },
  transportError(_wsi, c, e) {
    c.lost(`HTTP/2 connection failed: ${e.message}`);
    return true;
  },
  goingAway(_wsi, c) {
    c.goingAway();
  },
  closing(_wsi, c) {
    c.closing();
  },
};

registerRole(h2ClientRole as RoleOps);

/** A client socket (TLS with ALPN `h2`, or clear text by prior knowledge) starts speaking HTTP/2. */
export function startH2Client(wsi: Wsi, opts: Readonly<H2ClientOptions>, events: H2ClientEvents): H2ClientConn {
  const c = new H2ClientConn(wsi, opts, events);
  roleTransition(wsi, h2ClientRole, c);
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  const sock = wsi.socket as Socket | null;
  // Frames are small and answer one another (credit, ACKs): none may wait for Nagle.
  sock?.setNoDelay(true);
  sock?.ref();
  c.start();
  return c;
}
