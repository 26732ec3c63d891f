/**
 * Listen sockets for the vhosts that ask for one: vhosts on the same port
 * (or UNIX socket) share it, and the Host header or SNI picks between them.
 */
import type { Context } from '../../core/context.js';
import type { Vhost } from '../../core/vhost.js';
import { registerContextFeature, registerVhostFeature } from '../../core/features.js';
import type { Socket } from 'node:net';
import type { Wsi } from '../../core/wsi.js';
import { Listener, type AcceptMode } from './listen.js';

declare module '../../core/context.js' {
  interface ContextCreationInfo {
    /**
     * Log a failure to listen (a taken port, a refused address) at error
     * level; default true. Off for a caller that reports the rejection of
     * `listening` itself (the bins and lwsws do, lwsws with the config
     * file and line), so the failure is said once.
     */
    logListenErrors?: boolean;
  }
}

const listenersOf = new WeakMap<Context, Listener[]>();
/** Contexts whose listen failures are reported by their caller, not logged. */
const quietListen = new WeakSet<Context>();
const listenerOfVhost = new WeakMap<Vhost, Listener>();
const acceptModes = new WeakMap<Context, AcceptMode>();

/**
 * Have `ctx`'s listen sockets hand accepted sockets off, or bind nothing
 * and take sockets handed over (see `AcceptMode`). Set before the
 * context's first vhost is made (from a context feature's `create`).
 */
export function setAcceptMode(ctx: Context, mode: AcceptMode): void {
  acceptModes.set(ctx, mode);
}

/**
 * Serve a socket accepted by another process on the listen address `key`
 * (`Listener.key`) as `ctx`'s listener for it would. Undefined when `ctx`
 * has no such listener (yet: its vhosts may still be being made); else the
 * wsi, or null when it may not open.
 */
export function serveHanded(ctx: Context, key: string, socket: Socket, port: number): Wsi | null | undefined {
  const l = listeners(ctx).find((x) => x.key === key);
  return l ? l.serveHanded(socket, port) : undefined;
}

function listeners(ctx: Context): Listener[] {
  let l = listenersOf.get(ctx);
  if (!l) listenersOf.set(ctx, (l = []));
  return l;
}

/** The listen socket a vhost is served on, if it listens. */
export function listenerOf(vh: Vhost): Listener | undefined {
  return listenerOfVhost.get(vh);
}

/**
 * Put each port's vhosts in the order they have in `order` (the first on
 * a port is its default), as after a reload in config order.
 */
export function orderVhosts(ctx: Context, order: readonly Vhost[]): void {
  for (const l of listeners(ctx)) l.orderVhosts(order);
}

registerVhostFeature({
  name: 'listen',
  order: 90,
  create(vh) {
    if (!vh.listens) return;
    const at = vh.listenAt;
    const port = vh.requestedPort;
    const all = listeners(vh.context);
    let l = 'path' in at
      ? all.find((x) => x.path === at.path)
      : port !== 0 ? all.find((x) => x.path === undefined && x.port === port && x.iface === at.host) : undefined;
    // Before anything is started: a TLS mismatch with the port's other vhosts throws here.
    if (l) l.addVhost(vh);
    else {
      l = new Listener(vh.context, 'path' in at ? at : { port: port ?? 0, host: at.host }, vh.limits.txHighWater,
        !quietListen.has(vh.context), acceptModes.get(vh.context));
      all.push(l);
      l.addVhost(vh);
    }
    listenerOfVhost.set(vh, l);
  },
  start(vh) {
    const l = listenerOfVhost.get(vh);
    if (!l) return;
    const p = l.ready;
    p.catch(() => {}); // reported through the promise itself (and log.err unless the caller reports it)
    vh.setListening(p, () => l.port);
  },
  destroy(vh) {
    const l = listenerOfVhost.get(vh);
    if (!l || !l.removeVhost(vh)) return;
    const all = listeners(vh.context);
    const i = all.indexOf(l);
    if (i < 0) return; // already closed with the context
    all.splice(i, 1);
    return l.close();
  },
});

registerContextFeature({
  name: 'listen',
  order: 90,
  create(ctx, info) {
    if (info.logListenErrors === false) quietListen.add(ctx);
  },
  stop(ctx) {
    const all = listeners(ctx);
    listenersOf.set(ctx, []);
    return Promise.all(all.map((l) => l.close())).then(() => undefined);
  },
});
