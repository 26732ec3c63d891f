import type { RoleOps } from '../../core/role.js';
import { registerRole } from '../../core/features.js';
import { Reason } from '../../core/reasons.js';

/**
 * RAW: bytes in are RAW_RX, bytes out are written as given (`Write.HTTP`
 * or any kind), no framing at all. The same role serves a RAW client
 * socket and a server connection that became RAW.
 */
export const rawRole: RoleOps<null> = {
  name: 'raw',
  rx(wsi, _s, buf) {
    wsi.callProtocol(Reason.RAW_RX, buf);
  },
  writable(wsi) {
    wsi.deliverWriteable(Reason.RAW_WRITEABLE);
  },
  write(wsi, _s, buf) {
    const t = wsi.transport;
    if (!t || t.destroyed) return -1;
    t.write(buf);
    return buf.length;
  },
  peerEnded(wsi) {
    wsi.close();
  },
  closing(wsi) {
    wsi.callProtocol(Reason.RAW_CLOSE);
  },
};

registerRole(rawRole as RoleOps);
