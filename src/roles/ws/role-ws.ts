import type { Role } from '../../core/role.js';

/** The WebSocket role: every call lands on the wsi's WsConn. */
export const wsRole: Role = {
  name: 'ws',
  rx(wsi, buf) {
    wsi.ws?.rx(buf);
  },
  writable(wsi) {
    wsi.ws?.writable();
  },
  write(wsi, buf, flags) {
    return wsi.ws ? wsi.ws.write(buf, flags) : -1;
  },
  timeout(wsi, reason) {
    if (wsi.ws) wsi.ws.timeout(reason);
    else wsi.close(false);
  },
  peerEnded(wsi) {
    wsi.ws?.peerEnded();
  },
  closing(wsi, flush) {
    return wsi.ws?.closing(flush);
  },
};
