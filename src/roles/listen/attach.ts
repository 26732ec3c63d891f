/**
 * Sharing a port with `node:http` / `node:https` (and so Express, fastify
 * and anything built on them): the server answers its ordinary requests,
 * and the WebSocket upgrades it hands over through its `upgrade` event are
 * served by a tslws vhost, with its protocols, extensions and limits.
 *
 * Node has already parsed the request head by then, so it is written out
 * again from what Node kept (method, raw URL, version, `rawHeaders` in
 * order) and fed to the vhost's HTTP/1.1 parser before the socket's own
 * bytes: tslws does the handshake as if it had read the request itself.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Vhost, type VhostCreationInfo } from '../../core/vhost.js';
import type { Wsi } from '../../core/wsi.js';
import { extendApi, registerVhostFeature } from '../../core/features.js';
import { ErrorCode, stateError, typeError } from '../../core/errors.js';
import { wireSocket } from '../../core/transport.js';
import { log } from '../../core/log.js';
import { startH1 } from '../h1/role-h1.js';
import { selectorFor } from './adopt-socket.js';

/** A `node:http` or `node:https` server (Express's `app.listen()` and fastify's `fastify.server` are one). */
export type UpgradeServer = HttpServer | HttpsServer;

/** Which upgrades `attachToServer` gives to tslws. */
export interface AttachOptions {
  /** The vhost that serves them (its protocols, pvo, extensions and limits). */
  vhost: Vhost;
  /**
   * The request path (without the query) tslws takes, exactly (`'/ws'`),
   * or a test of the request; default every upgrade. The others are left
   * to the server (see `attachToServer`).
   */
  path?: string | ((pathname: string, req: IncomingMessage) => boolean);
}

/** An `attachToServer` in effect. */
export interface Attachment {
  readonly server: UpgradeServer;
  readonly vhost: Vhost;
  /** Stop taking upgrades (connections already taken stay open); once the last is detached, the server's `upgrade` listener goes too. */
  detach(): void;
}

declare module '../../core/vhost.js' {
  interface Vhost {
    /**
     * Serve a WebSocket upgrade that a `node:http` / `node:https` server
     * emitted (its `upgrade` event): the handshake, subprotocol choice,
     * extensions and limits are this vhost's. The socket is tslws's from
     * then on. Returns its wsi, or null when it may not open
     * (`maxConnections`, its address's `ipLimitWsi`, a
     * FILTER_NETWORK_CONNECTION refusal; the socket is destroyed).
     *
     * @example
     * server.on('upgrade', (req, socket, head) => {
     *   if (req.url === '/ws') vhost.handleUpgrade(req, socket, head);
     * });
     */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head?: Uint8Array): Wsi | null;
  }

  interface VhostCreationInfo {
    /**
     * A `node:http` / `node:https` server (Express, fastify …) whose
     * WebSocket upgrades this vhost serves, as `attachToServer(server,
     * { vhost, path: serverPath })` does, from when the vhost starts until
     * it is destroyed. The vhost needs no `port` of its own.
     */
    server?: UpgradeServer;
    /** With `server`: the one request path taken (`'/ws'`); default every upgrade. */
    serverPath?: string;
  }
}

function isRequest(r: unknown): r is IncomingMessage {
  const q = r as IncomingMessage | null;
  return !!q && typeof q === 'object' && typeof q.method === 'string' && typeof q.url === 'string' &&
    typeof q.httpVersion === 'string' && Array.isArray(q.rawHeaders) && !!q.headers && typeof q.headers === 'object';
}

function isDuplex(s: unknown): s is Duplex {
  const d = s as Duplex | null;
  return !!d && typeof d.on === 'function' && typeof d.write === 'function' && typeof d.pause === 'function' &&
    typeof d.resume === 'function' && typeof d.end === 'function' && typeof d.destroy === 'function';
}

/** The request head as the peer sent it (near enough: Node kept the names' case and order, not the whitespace). */
function requestBytes(req: IncomingMessage, head: Uint8Array | undefined): Buffer {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const h = req.rawHeaders;
  for (let i = 0; i + 1 < h.length; i += 2) text += `${h[i]}: ${h[i + 1]}\r\n`;
  text += '\r\n';
  // Node decoded the head as latin1: encoding it back the same way gives the peer's bytes.
  const bytes = Buffer.from(text, 'latin1');
  return head && head.length ? Buffer.concat([bytes, head]) : bytes;
}

extendApi(Vhost, {
  handleUpgrade(this: Vhost, req: IncomingMessage, socket: Duplex, head?: Uint8Array): Wsi | null {
    if (!isRequest(req)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'handleUpgrade: req must be the http.IncomingMessage of the upgrade event');
    if (!isDuplex(socket)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'handleUpgrade: socket must be the net.Socket or tls.TLSSocket of the upgrade event');
    if (head !== undefined && !(head instanceof Uint8Array)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'handleUpgrade: head must be a Buffer or Uint8Array');
    if (typeof req.headers.upgrade !== 'string') {
      throw typeError(ErrorCode.NOT_UPGRADE, `handleUpgrade: ${req.method} ${req.url} has no Upgrade header; ordinary requests stay with the server`);
    }
    if (this.destroyed || socket.destroyed) {
      socket.destroy();
      if (this.destroyed) throw stateError(ErrorCode.DESTROYED, `handleUpgrade: vhost ${this.name} is destroyed`);
      return null;
    }
    const s = socket as Socket;
    // The server's idle timeout (server.timeout) would still fire on a socket it no longer reads.
    if (typeof s.setTimeout === 'function') s.setTimeout(0);
    const wsi = this.context.adoptSocket(s, this);
    if (!wsi) return null;
    // HTTP/1.1 at once, even on a TLS vhost: an https server's socket is
    // already a TLSSocket past its handshake, and a plain server's bytes are
    // plain; a second handshake would be wrong either way.
    wireSocket(wsi, s);
    startH1(wsi, selectorFor(this));
    wsi.deliverRx(requestBytes(req, head));
    if (s.isPaused()) s.resume();
    return wsi;
  },
});

interface ServerHook {
  /** In the order attached: the first that matches takes the upgrade. */
  readonly list: { a: Attachment; match: (req: IncomingMessage) => boolean }[];
  readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** One `upgrade` listener per server, whatever number of vhosts and paths it serves, so "another listener" means the app's. */
const hooks = new WeakMap<UpgradeServer, ServerHook>();
const byVhost = new WeakMap<Vhost, Set<Attachment>>();
/** The `server` creation option, attached when the vhost starts. */
const startInfo = new WeakMap<Vhost, { server: UpgradeServer; path: string | undefined }>();

function pathnameOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * An upgrade no attachment takes, on a server with no other `upgrade`
 * listener: before tslws was attached Node would have given it to the
 * `request` listeners as an ordinary request (Express's routes and 404,
 * fastify's), so it still goes there; with none, 404.
 */
function leaveToServer(server: UpgradeServer, req: IncomingMessage, socket: Duplex): void {
  if (server.listenerCount('upgrade') > 1) return; // the app's own listener answers it
  const s = socket as Socket;
  if (s.destroyed) return;
  if (server.listenerCount('request') === 0) {
    s.end(`HTTP/1.1 404 ${STATUS_CODES[404]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    return;
  }
  const res = new ServerResponse(req);
  // Node no longer parses this socket, so no second request can follow on it.
  res.shouldKeepAlive = false;
  res.assignSocket(s);
  res.on('finish', () => {
    res.detachSocket(s);
    s.end();
  });
  // Node ends an upgrade request's body only for its upgrade listeners; a request handler waits for the end.
  if (!req.readableEnded) req.push(null);
  server.emit('request', req, res);
}

function hookServer(server: UpgradeServer): ServerHook {
  let hook = hooks.get(server);
  if (hook) return hook;
  const list: ServerHook['list'] = [];
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const a = list.find((x) => x.match(req))?.a;
    if (!a) {
      leaveToServer(server, req, socket);
      return;
    }
    try {
      a.vhost.handleUpgrade(req, socket, head);
    } catch (e) {
      // Thrown from an event listener it would take the whole server down.
      log.warn('%s: upgrade of %s not served: %s', a.vhost, req.url, (e as Error).message);
      socket.destroy();
    }
  };
  hook = { list, onUpgrade };
  hooks.set(server, hook);
  server.on('upgrade', onUpgrade);
  return hook;
}

function isServer(s: unknown): s is UpgradeServer {
  const x = s as UpgradeServer | null;
  return !!x && typeof x.on === 'function' && typeof x.removeListener === 'function' && typeof x.listenerCount === 'function' &&
    typeof x.emit === 'function' && typeof x.listen === 'function';
}

function matcherFor(path: AttachOptions['path'], where: string): (req: IncomingMessage) => boolean {
  if (path === undefined) return () => true;
  if (typeof path === 'function') return (req) => path(pathnameOf(req.url ?? '/'), req);
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw typeError(ErrorCode.INVALID_ARGUMENT, `${where}: path must be a string starting with '/' or a function, got ${JSON.stringify(path)}`);
  }
  return (req) => pathnameOf(req.url ?? '/') === path;
}

/**
 * Let `vhost` serve the WebSocket upgrades of a `node:http` / `node:https`
 * server (an Express or fastify app's) on the server's port, while the
 * server answers everything else. Upgrades whose path does not match are
 * left to the server: to its own `upgrade` listeners if it has any, else
 * to its `request` listeners as the ordinary requests they were before
 * (Express's and fastify's routes, their 404), else answered 404.
 *
 * @example
 * const server = app.listen(3000); // Express
 * attachToServer(server, { vhost: ctx.vhosts[0], path: '/ws' });
 */
export function attachToServer(server: UpgradeServer, options: AttachOptions): Attachment {
  if (!isServer(server)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'attachToServer: server must be a node:http or node:https server');
  const vhost = options?.vhost;
  if (!(vhost instanceof Vhost)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'attachToServer: options.vhost must be a tslws Vhost');
  if (vhost.destroyed) throw stateError(ErrorCode.DESTROYED, `attachToServer: vhost ${vhost.name} is destroyed`);
  const match = matcherFor(options.path, 'attachToServer');
  const hook = hookServer(server);
  const a: Attachment = {
    server,
    vhost,
    detach() {
      const i = hook.list.findIndex((x) => x.a === a);
      if (i < 0) return;
      hook.list.splice(i, 1);
      byVhost.get(vhost)?.delete(a);
      if (hook.list.length === 0) {
        server.removeListener('upgrade', hook.onUpgrade);
        hooks.delete(server);
      }
    },
  };
  hook.list.push({ a, match });
  let mine = byVhost.get(vhost);
  if (!mine) byVhost.set(vhost, (mine = new Set()));
  mine.add(a);
  return a;
}

registerVhostFeature({
  name: 'attach',
  order: 95,
  create(vh: Vhost, info: VhostCreationInfo) {
    if (info.server === undefined) {
      if (info.serverPath !== undefined) throw typeError(ErrorCode.INVALID_OPTION, 'serverPath is given without server');
      return;
    }
    if (!isServer(info.server)) throw typeError(ErrorCode.INVALID_OPTION, 'server must be a node:http or node:https server');
    if (info.serverPath !== undefined) matcherFor(info.serverPath, 'serverPath');
    startInfo.set(vh, { server: info.server, path: info.serverPath });
  },
  start(vh) {
    const info = startInfo.get(vh);
    if (info) attachToServer(info.server, { vhost: vh, path: info.path });
  },
  destroy(vh) {
    for (const a of [...(byVhost.get(vh) ?? [])]) a.detach();
  },
});
