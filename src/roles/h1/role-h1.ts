import type { Role } from '../../core/role.js';
import type { Wsi } from '../../core/wsi.js';
import type { Listener } from '../listen/listen.js';
import { H1Conn } from './conn.js';

/** The HTTP/1.x server role: every call lands on the wsi's H1Conn. */
export const h1Role: Role = {
  name: 'h1',
  rx(wsi, buf) {
    wsi.h1?.rx(buf);
  },
  writable(wsi) {
    wsi.h1?.writable();
  },
  write(wsi, buf, flags) {
    return wsi.h1 ? wsi.h1.write(buf, flags) : -1;
  },
  timeout(wsi, reason) {
    if (wsi.h1) wsi.h1.timeout(reason);
    else wsi.close(false);
  },
  peerEnded(wsi) {
    wsi.h1?.peerEnded();
  },
  closing(wsi) {
    wsi.h1?.closing();
  },
};

/** Give a freshly accepted connection its HTTP/1 state. */
export function startH1(wsi: Wsi, listener: Listener): void {
  if (wsi.closed) return;
  wsi.h1 = new H1Conn(wsi, listener);
  wsi.h1.start();
}
