/**
 * The HTTP/2 server role is loaded by the first connection that speaks
 * it, not with the library: a server that never sees HTTP/2 does not
 * carry that code (a fifth of the server's) in its heap, where it would
 * push a small server past the size at which V8 starts marking the old
 * generation incrementally. Until the role is loaded the connection reads
 * nothing; what it had read already goes to the role first.
 */
import type { Wsi } from '../../core/wsi.js';
import type { VhostSelector } from '../../core/vhost.js';
import { log } from '../../core/log.js';

type RoleModule = typeof import('./role-h2.js');

let role: RoleModule | null = null;
let loading: Promise<RoleModule> | null = null;

function loadH2Role(): Promise<RoleModule> {
  loading ??= import('./role-h2.js').then((m) => (role = m));
  return loading;
}

/**
 * A connection starts speaking HTTP/2 (ALPN chose `h2`, or the client
 * sent the preface in clear text); `initial` is what was read already.
 */
export function startH2(wsi: Wsi, vhosts: VhostSelector, initial: Buffer | null = null): void {
  if (role) {
    role.startH2(wsi, vhosts, initial);
    return;
  }
  wsi.rxFlowControl(false);
  loadH2Role().then(
    (m) => {
      if (wsi.closed) return;
      // Re-enabled first: what arrived meanwhile is delivered on the next turn, after `initial`.
      wsi.rxFlowControl(true);
      m.startH2(wsi, vhosts, initial);
    },
    (e: unknown) => {
      log.err('wsi %d: the HTTP/2 role could not be loaded: %s', wsi.id, e instanceof Error ? e.message : String(e));
      wsi.close(false);
    },
  );
}
