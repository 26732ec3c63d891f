import type { Socket } from 'node:net';
import { NO_ROLE, type RoleOps } from '../../core/role.js';
import { unwireSocket } from '../../core/transport.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { startH1 } from '../h1/role-h1.js';
import { startRaw } from '../raw/start-raw.js';
import { hasOption, Option } from '../../core/options.js';
import { startTlsOn } from './listen.js';
import type { TlsListener } from '../../tls/accept.js';

const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * A connection on a TLS port that also takes clear text: the first byte
 * says which, a TLS handshake record or an HTTP request.
 */
export const tlsSniffRole: RoleOps<TlsListener> = {
  ...(NO_ROLE as unknown as RoleOps<TlsListener>),
  name: 'tls-sniff',
  rx(wsi, listener, buf) {
    if (!buf.length) return;
    const socket = wsi.socket as Socket;
    if (buf[0] === TLS_HANDSHAKE_RECORD) {
      unwireSocket(socket);
      socket.pause();
      socket.unshift(buf);
      startTlsOn(wsi, socket, listener);
      return;
    }
    wsi.setTimeout(PendingTimeout.NO_PENDING, 0);
    if (hasOption(wsi.vhost.options, Option.ONLY_RAW)) {
      startRaw(wsi, buf);
      return;
    }
    startH1(wsi, listener);
    wsi.deliverRx(buf);
  },
};
