import type { Wsi } from '../../core/wsi.js';
import type { Vhost } from '../../core/vhost.js';
import type { Protocol } from '../../core/protocols.js';
import { roleTransition } from '../../core/role.js';
import { Reason } from '../../core/reasons.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { rawRole } from './role-raw.js';

/**
 * The protocol RAW connections of a vhost are bound to, as lws chooses it:
 * the one whose pvo has `raw`, else the one whose pvo has `default`, else
 * the first.
 */
export function rawProtocolOf(vh: Vhost): Protocol {
  return vh.protocols.find((p) => vh.protocolOptions(p).raw !== undefined) ??
    vh.protocols.find((p) => vh.protocolOptions(p).default !== undefined) ??
    vh.protocols[0];
}

/**
 * A server connection becomes RAW: bound to `protocol` (the vhost's raw
 * protocol unless given) with fresh session data, RAW_ADOPT, then
 * `readbuf` (bytes already read from the peer) as RAW_RX. Nothing times a
 * RAW connection out but what its protocol asks for (`wsi.setTimeout`).
 * The protocol it was bound to before hears HTTP_DROP_PROTOCOL, to free
 * the session it made at accept.
 */
export function startRaw(wsi: Wsi, readbuf: Buffer | null, protocol: Protocol = rawProtocolOf(wsi.vhost)): void {
  if (wsi.closed) return;
  wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
  roleTransition(wsi, rawRole, null);
  if (wsi.protocol !== protocol) {
    if (wsi.callProtocol(Reason.HTTP_DROP_PROTOCOL)) return;
    wsi.protocol = protocol;
    wsi.user = protocol.createSessionData ? protocol.createSessionData() : undefined;
  }
  log.info('wsi %d (%s): RAW, protocol %s', wsi.id, wsi.peerAddress, protocol.name);
  if (wsi.callProtocol(Reason.RAW_ADOPT)) return;
  if (readbuf && readbuf.length) wsi.deliverRx(readbuf);
}
