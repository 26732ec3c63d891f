import type { Socket } from 'node:net';
import type { Role } from '../../core/role.js';
import type { Wsi } from '../../core/wsi.js';
import { PendingTimeout } from '../../core/timeouts.js';

/**
 * A proxied WebSocket after its 101: bytes pass through unchanged both
 * ways, each side paused while the other cannot take more.
 */
export function startTunnel(wsi: Wsi, upstream: Socket, leftover: Buffer | null): void {
  const role: Role = {
    name: 'proxy-tunnel',
    rx(w, buf) {
      if (buf.length && !upstream.write(buf)) w.rxFlowControl(false);
    },
    writable() {
      if (upstream.isPaused()) upstream.resume();
    },
    write() {
      return -1; // nothing of ours travels in a tunnel
    },
    timeout(w) {
      w.close(false);
    },
    peerEnded() {
      upstream.end();
    },
    closing() {
      upstream.destroy();
    },
  };
  wsi.h1 = null;
  wsi.role = role;
  // A tunnel may idle as long as its ends like; TCP tells us when they go.
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  upstream.on('data', (d: Buffer) => {
    const s = wsi.socket;
    if (!s || wsi.closed) return;
    if (!s.write(d)) upstream.pause(); // 'drain' brings writable() above
  });
  upstream.on('drain', () => wsi.rxFlowControl(true));
  upstream.on('end', () => wsi.close());
  upstream.on('error', () => wsi.close(false));
  upstream.on('close', () => wsi.close());
  if (leftover && leftover.length) role.rx(wsi, leftover);
}
