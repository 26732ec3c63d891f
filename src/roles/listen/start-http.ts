import { TLSSocket } from 'node:tls';
import type { Wsi } from '../../core/wsi.js';
import type { VhostSelector } from '../../core/vhost.js';
import { startH1 } from '../h1/role-h1.js';
import { startH2 } from '../h2/start.js';
import { h2OptionsOf } from '../h2/vhost-h2.js';
import { startRaw } from '../raw/start-raw.js';
import { hasOption, Option } from '../../core/options.js';

/**
 * A connection starts serving HTTP: on TLS, HTTP/2 when ALPN chose `h2`
 * (and the vhost serves it), else HTTP/1.1 (whose first bytes may still
 * turn out to be HTTP/2's preface, in clear text); a vhost that serves
 * only HTTP/2 speaks it from the first byte. A vhost with ONLY_RAW makes
 * every connection RAW instead.
 */
export function startHttp(wsi: Wsi, vhosts: VhostSelector): void {
  if (hasOption(wsi.vhost.options, Option.ONLY_RAW)) {
    startRaw(wsi, null);
    return;
  }
  const s = wsi.socket;
  const o = h2OptionsOf(wsi.vhost);
  if (o.only || (s instanceof TLSSocket && s.alpnProtocol === 'h2' && o.enabled)) startH2(wsi, vhosts);
  else startH1(wsi, vhosts);
}
