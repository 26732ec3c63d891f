import type { RoleOps } from '../../core/role.js';
import { registerRole } from '../../core/features.js';
import { Reason } from '../../core/reasons.js';

/**
 * An adopted descriptor (a FIFO, a pipe, a tty, a file): bytes read are
 * RAW_RX_FILE, WRITEABLE is RAW_WRITEABLE_FILE, the end (end of file, the
 * last writer gone, an error or a close) is one RAW_CLOSE_FILE.
 */
export interface RawFileState {
  /** The descriptor is read: its end closes the wsi (a write-only one ends only when closed). */
  reads: boolean;
}

export const rawFileRole: RoleOps<RawFileState> = {
  name: 'raw-file',
  rx(wsi, _s, buf) {
    wsi.callProtocol(Reason.RAW_RX_FILE, buf);
  },
  writable(wsi) {
    wsi.deliverWriteable(Reason.RAW_WRITEABLE_FILE);
  },
  write(wsi, _s, buf) {
    const t = wsi.transport;
    if (!t || t.destroyed || !t.writable) return -1;
    t.write(buf);
    return buf.length;
  },
  peerEnded(wsi, s) {
    if (s.reads) wsi.close();
  },
  closing(wsi) {
    wsi.callProtocol(Reason.RAW_CLOSE_FILE);
    // Nothing left to write: the descriptor is closed now rather than lingering like a socket.
    const t = wsi.transport;
    if (t && !t.destroyed && t.writableLength === 0) t.destroy();
  },
};

registerRole(rawFileRole as RoleOps);
