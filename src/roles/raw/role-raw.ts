import type { Role } from '../../core/role.js';
import { Reason } from '../../core/reasons.js';

/**
 * A RAW client socket (`method: 'RAW'`): bytes in are RAW_RX, bytes out
 * are written as given (`Write.HTTP` or any kind), no framing at all.
 */
export const rawClientRole: Role = {
  name: 'raw-client',
  rx(wsi, buf) {
    wsi.callProtocol(Reason.RAW_RX, buf);
  },
  writable(wsi) {
    if (!wsi.wantWritable) return;
    wsi.wantWritable = false;
    wsi.inWritable = true;
    try {
      wsi.callProtocol(Reason.RAW_WRITEABLE);
    } finally {
      wsi.inWritable = false;
    }
  },
  write(wsi, buf) {
    const s = wsi.socket;
    if (!s || s.destroyed) return -1;
    s.write(buf);
    return buf.length;
  },
  peerEnded(wsi) {
    wsi.close();
  },
  closing(wsi) {
    wsi.callProtocol(Reason.RAW_CLOSE);
  },
};
