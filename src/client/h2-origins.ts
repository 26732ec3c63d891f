import type { Socket } from 'node:net';
import { Wsi } from '../core/wsi.js';
import type { Vhost } from '../core/vhost.js';
import { log } from '../core/log.js';
import { registerVhostFeature } from '../core/features.js';
import { wireSocket, unwireSocket } from '../core/transport.js';
import type { H2ClientConn, H2ClientEvents } from '../roles/h2/client-conn.js';
import { resolveH2ClientOptions, type H2ClientOptions } from '../roles/h2/client-options.js';
import { startH2Client } from '../roles/h2/role-h2-client.js';
import type { ClientConn } from './client-conn.js';
import { sendOnStream } from './h2-request.js';
import { openSocket } from './connect.js';

declare module '../core/vhost.js' {
  interface VhostCreationInfo {
    /** Limits of the HTTP/2 connections this vhost's client requests share; each absent field keeps its default. */
    h2Client?: Partial<H2ClientOptions>;
  }
}

/** How long an origin whose ALPN chose HTTP/1.1 is asked straight in HTTP/1.1 (no waiting on one another). */
const H1_MEMORY_MS = 60_000;

interface Waiter {
  wsi: Wsi;
  c: ClientConn;
}

/** One origin's HTTP/2 connection, the request opening it, and the requests waiting for a stream. */
class Origin {
  conn: H2ClientConn | null = null;
  opener: Wsi | null = null;
  waiting: Waiter[] = [];
  h1Until = 0;
  dispatchQueued = false;
}

/** What `join` tells the request: sent from here later, open the socket (offering h2), or go HTTP/1.1. */
export type JoinResult = 'joined' | 'open' | 'h1';

/**
 * The HTTP/2 connections of a vhost's client requests, one per origin
 * (address, port, TLS settings): lws's queued transactions. A request to
 * an origin whose connection is still being opened waits for it and then
 * becomes a stream on it instead of opening a connection of its own.
 */
export class H2Origins {
  #map = new Map<string, Origin>();

  constructor(readonly opts: Readonly<H2ClientOptions>) {}

  /** A request that may go over HTTP/2 to the origin `key`. */
  join(wsi: Wsi, c: ClientConn, key: string): JoinResult {
    let o = this.#map.get(key);
    if (o && o.h1Until > Date.now()) return 'h1';
    if (!o) this.#map.set(key, (o = new Origin()));
    if (o.conn && !o.conn.usable) o.conn = null;
    if (!o.conn && !o.opener) {
      o.opener = wsi;
      const origin = o;
      c.onFail = (why) => this.#openerFailed(key, origin, why);
      return 'open';
    }
    if (o.waiting.length >= this.opts.maxQueued) {
      c.fail(wsi, `more than ${this.opts.maxQueued} requests waiting for an HTTP/2 stream to ${c.address}:${c.port} (h2Client.maxQueued)`);
      return 'joined';
    }
    o.waiting.push({ wsi, c });
    // Its connection is up (or being opened by another request): what is left is the server's answer.
    if (o.conn) c.phase = 'handshake';
    // Never inside clientConnect: the user gets the wsi before any callback.
    if (o.conn) this.#dispatchSoon(o);
    return 'joined';
  }

  /** The opener's socket speaks HTTP/2: it becomes the origin's connection, and the opener its first stream. */
  upgraded(wsi: Wsi, c: ClientConn, socket: Socket, key: string): void {
    let o = this.#map.get(key);
    if (!o) this.#map.set(key, (o = new Origin()));
    o.opener = null;
    c.onFail = null;
    unwireSocket(socket);
    socket.off('error', c.noteError);
    wsi.setTransport(null);
    const cw = new Wsi(wsi.context, wsi.vhost, wsi.vhost.protocols[0], socket, null, false);
    if (!wsi.context.adoptClientWsi(cw)) {
      socket.destroy();
      c.fail(wsi, `connection limit ${wsi.context.maxConnections} reached`);
      return;
    }
    wireSocket(cw, socket);
    c.phase = 'handshake';
    o.waiting.unshift({ wsi, c });
    log.debug('client wsi %d: HTTP/2 connection (wsi %d) to %s:%d', wsi.id, cw.id, c.address, c.port);
    o.conn = startH2Client(cw, this.opts, this.#events(key, o));
  }

  /** The opener's socket speaks HTTP/1.1: the origin is remembered as such, and the waiting requests open their own. */
  chose1(key: string, c: ClientConn): void {
    const o = this.#map.get(key);
    c.onFail = null;
    if (!o) return;
    o.opener = null;
    o.h1Until = Date.now() + H1_MEMORY_MS;
    for (const w of o.waiting.splice(0)) if (!w.wsi.closed) openSocket(w.wsi, w.c);
  }

  /**
   * A request refused before the server processed it (GOAWAY, REFUSED_STREAM)
   * or left waiting when its connection went: sent once more, from the start.
   */
  retry(wsi: Wsi, c: ClientConn, why: string): void {
    if (c.h2Retried || c.settled || wsi.closed) {
      c.fail(wsi, why);
      return;
    }
    c.h2Retried = true;
    c.h2 = null;
    c.phase = 'tcp';
    c.uploadLeft = -1;
    wsi.context.reparentWsi(wsi, null);
    wsi.setTransport(null);
    wsi.wantWritable = false;
    log.info('client wsi %d: %s; sending the request again', wsi.id, why);
    openSocket(wsi, c);
  }

  clear(): void {
    this.#map.clear();
  }

  #openerFailed(key: string, o: Origin, why: string): void {
    o.opener = null;
    // They were going to the same place the same way: they fail for the same reason.
    for (const w of o.waiting.splice(0)) w.c.fail(w.wsi, why);
    if (!o.conn && this.#map.get(key) === o) this.#map.delete(key);
  }

  #events(key: string, o: Origin): H2ClientEvents {
    return {
      ready: () => this.#dispatch(o),
      room: () => this.#dispatch(o),
      gone: (conn, why) => {
        if (o.conn !== conn) return;
        o.conn = null;
        for (const w of o.waiting.splice(0)) if (!w.wsi.closed) this.retry(w.wsi, w.c, why);
        // Nothing left to remember about this origin.
        if (!o.conn && !o.opener && !o.waiting.length && this.#map.get(key) === o) this.#map.delete(key);
      },
    };
  }

  #dispatchSoon(o: Origin): void {
    if (o.dispatchQueued) return;
    o.dispatchQueued = true;
    setImmediate(() => {
      o.dispatchQueued = false;
      this.#dispatch(o);
    });
  }

  /** Waiting requests become streams while the connection has room. */
  #dispatch(o: Origin): void {
    const conn = o.conn;
    if (!conn || !conn.ready) return;
    while (o.waiting.length && conn.canOpen) {
      const { wsi, c } = o.waiting.shift() as Waiter;
      if (wsi.closed || c.settled) continue;
      if (c.kind === 'WS' && !conn.connectProtocol) {
        if (c.info.http2 === 'require') c.fail(wsi, 'HS: the server does not take WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)');
        else {
          c.noH2 = true;
          openSocket(wsi, c);
        }
        continue;
      }
      sendOnStream(wsi, c, conn);
    }
  }
}

const origins = new WeakMap<Vhost, H2Origins>();

/** The HTTP/2 client connections of a vhost. */
export function originsOf(vh: Vhost): H2Origins {
  let o = origins.get(vh);
  if (!o) origins.set(vh, (o = new H2Origins(resolveH2ClientOptions(undefined))));
  return o;
}

/** How a request may use HTTP/2: not at all, offered by ALPN on TLS, or by prior knowledge in clear text. */
export function h2Mode(c: ClientConn, tls: boolean): 'off' | 'alpn' | 'prior' {
  if (c.kind === 'RAW' || c.noH2) return 'off';
  const m = c.info.http2 ?? (c.kind === 'WS' ? 'forbid' : 'prefer');
  if (m === 'forbid') return 'off';
  if (tls) return 'alpn';
  return m === 'require' ? 'prior' : 'off';
}

registerVhostFeature({
  name: 'h2-client',
  order: 51,
  create(vh, info) {
    origins.set(vh, new H2Origins(Object.freeze(resolveH2ClientOptions(info.h2Client))));
  },
  destroy(vh) {
    origins.get(vh)?.clear();
  },
});
