import { createServer, type Server, type Socket } from 'node:net';
import type { Context } from '../../core/context.js';
import type { Vhost } from '../../core/vhost.js';
import type { Wsi } from '../../core/wsi.js';
import { log } from '../../core/log.js';
import { h1Role, startH1 } from '../h1/role-h1.js';

/**
 * One listen socket and the vhosts sharing it. Accepting a connection makes
 * a wsi in the h1 role on the port's first vhost; the Host header may move
 * it to another vhost of the same port once it is read.
 */
export class Listener {
  readonly server: Server;
  readonly vhosts: Vhost[] = [];
  readonly ready: Promise<void>;
  #port: number;

  constructor(readonly context: Context, port: number, readonly iface: string | undefined, highWaterMark: number) {
    this.#port = port;
    this.server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark, pauseOnConnect: false }, (s) => this.#accept(s));
    this.ready = new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        log.err('listen on %s:%d failed: %s', iface ?? '*', port, e.message);
        reject(e);
      };
      this.server.once('error', onError);
      this.server.listen({ port, host: iface }, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => log.err('listen socket %s:%d: %s', iface ?? '*', this.#port, e.message));
        const a = this.server.address();
        if (a && typeof a === 'object') this.#port = a.port;
        log.notice('listening on %s:%d for %s', iface ?? '*', this.#port, this.vhosts.map((v) => v.name).join(', '));
        resolve();
      });
    });
  }

  get port(): number {
    return this.#port;
  }

  addVhost(vh: Vhost): void {
    this.vhosts.push(vh);
  }

  /**
   * The vhost for a Host header value, as lws matches it: strip `:port`, an
   * exact name first, then a parent-domain match (`cats.abc.com` → `abc.com`),
   * else the port's first vhost.
   */
  selectVhost(host: string | undefined): Vhost {
    const first = this.vhosts[0];
    if (!host || this.vhosts.length === 1) return first;
    let h = host.toLowerCase();
    if (h.startsWith('[')) {
      const e = h.indexOf(']');
      h = e > 0 ? h.slice(1, e) : h;
    } else {
      const c = h.lastIndexOf(':');
      if (c >= 0 && h.indexOf(':') === c) h = h.slice(0, c);
    }
    for (const v of this.vhosts) if (!v.destroyed && v.name.toLowerCase() === h) return v;
    for (const v of this.vhosts) {
      const n = v.name.toLowerCase();
      if (!v.destroyed && h.length > n.length && h.endsWith(n) && h.charCodeAt(h.length - n.length - 1) === 46) return v;
    }
    return first;
  }

  #accept(socket: Socket): void {
    const vh = this.vhosts.find((v) => !v.destroyed);
    if (!vh) {
      socket.destroy();
      return;
    }
    const wsi = this.context.adoptSocket(socket, vh, h1Role);
    if (!wsi) return;
    wireSocket(wsi, socket);
    startH1(wsi, this);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// The socket's wsi, for the shared event handlers below.
const kWsi = Symbol('tslws.wsi');
type WiredSocket = Socket & { [kWsi]: Wsi };

// One set of handler functions for every socket (EventEmitter calls them
// with the socket as `this`) instead of five closures and their context per
// connection: about 350 bytes of heap less for each idle connection.
function onData(this: WiredSocket, buf: Buffer): void {
  this[kWsi].deliverRx(buf);
}
function onDrain(this: WiredSocket): void {
  const wsi = this[kWsi];
  wsi.context.socketDrained(wsi);
}
function onEnd(this: WiredSocket): void {
  const wsi = this[kWsi];
  wsi.peerEnded = true;
  if (wsi.closed) return;
  if (wsi.role.peerEnded) wsi.role.peerEnded(wsi);
  else wsi.close();
}
function onError(this: WiredSocket, e: Error): void {
  const wsi = this[kWsi];
  log.debug('wsi %d: socket error: %s', wsi.id, e.message);
  wsi.close(false);
}
function onClose(this: WiredSocket): void {
  this[kWsi].close(false);
}

/** Route a socket's events into its wsi. */
export function wireSocket(wsi: Wsi, socket: Socket): void {
  (socket as WiredSocket)[kWsi] = wsi;
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('close', onClose);
}
