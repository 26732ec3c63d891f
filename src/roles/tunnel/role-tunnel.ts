import type { Socket } from 'node:net';
import type { Wsi } from '../../core/wsi.js';
import { roleTransition, type RoleOps } from '../../core/role.js';
import { PendingTimeout } from '../../core/timeouts.js';

/**
 * A proxied WebSocket after its 101: bytes pass through unchanged both
 * ways, each side paused while the other cannot take more.
 */
const tunnelRole: RoleOps<Socket> = {
  name: 'proxy-tunnel',
  rx(w, upstream, buf) {
    if (buf.length && !upstream.write(buf)) w.rxFlowControl(false);
  },
  writable(_w, upstream) {
    if (upstream.isPaused()) upstream.resume();
  },
  write() {
    return -1; // nothing of ours travels in a tunnel
  },
  timeout(w) {
    w.close(false);
  },
  peerEnded(_w, upstream) {
    upstream.end();
  },
  closing(_w, upstream) {
    upstream.destroy();
  },
};

/** Join `wsi`'s connection to `upstream`; `leftover` is what the client sent after its request. */
export function startTunnel(wsi: Wsi, upstream: Socket, leftover: Buffer | null): void {
  roleTransition(wsi, tunnelRole, upstream);
  // A tunnel may idle as long as its ends like; TCP tells us when they go.
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  upstream.on('data', (d: Buffer) => {
    const t = wsi.transport;
    if (!t || wsi.closed) return;
    if (!t.write(d)) upstream.pause(); // the drain brings writable() above
  });
  upstream.on('drain', () => wsi.rxFlowControl(true));
  upstream.on('end', () => wsi.close());
  upstream.on('error', () => wsi.close(false));
  upstream.on('close', () => wsi.close());
  if (leftover && leftover.length) tunnelRole.rx(wsi, upstream, leftover);
}
