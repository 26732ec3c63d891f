import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import type { Context } from '../../core/context.js';
import type { Vhost } from '../../core/vhost.js';
import type { Wsi } from '../../core/wsi.js';
import { roleTransition } from '../../core/role.js';
import { wireSocket } from '../../core/transport.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { ErrorCode, stateError } from '../../core/errors.js';
import { startHttp } from './start-http.js';
import { startTlsAccept, tlsAcceptRole, type TlsListener } from '../../tls/accept.js';
import { tlsSniffRole } from './tls-sniff.js';
import { selectVhost, matchVhost } from './select-vhost.js';

/** Where a listen socket is: a TCP port on an address, or a UNIX domain socket path. */
export type ListenAddress = { port: number; host: string | undefined } | { path: string };

/**
 * How a context's listen sockets take connections when they are not
 * served where they are accepted (several service processes):
 * `hand-off` binds and gives every accepted socket, unread and paused, to
 * `take` (the listen sockets are ready once `ready` is too); `receive`
 * binds nothing: sockets come from elsewhere through `serveHanded`.
 */
export type AcceptMode =
  | { kind: 'hand-off'; take(socket: Socket, listener: Listener): void; ready: Promise<void> }
  | { kind: 'receive' };

/**
 * One listen socket and the vhosts sharing it. Accepting a connection makes
 * a wsi in the h1 role on the port's first vhost; the Host header may move
 * it to another vhost of the same port once it is read.
 */
export class Listener implements TlsListener {
  readonly server: Server;
  readonly vhosts: Vhost[] = [];
  readonly ready: Promise<void>;
  /** The UNIX socket path, when this is not a TCP listener. */
  readonly path: string | undefined;
  readonly iface: string | undefined;
  #port: number;

  /** The same for the same listen address in every process of a program: how a handed-over socket finds its listener. */
  readonly key: string;
  readonly #mode: AcceptMode | undefined;

  constructor(readonly context: Context, where: ListenAddress, highWaterMark: number, logErrors = true, mode?: AcceptMode) {
    this.path = 'path' in where ? where.path : undefined;
    this.iface = 'host' in where ? where.host : undefined;
    this.#port = 'port' in where ? where.port : 0;
    this.#mode = mode;
    const label = this.path !== undefined ? `unix:${this.path}` : `${this.iface ?? '*'}:${this.#port}`;
    this.key = label;
    // Handed-off sockets must not be read here: bytes read before the
    // hand-over would be lost with the handle.
    this.server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark, pauseOnConnect: mode?.kind === 'hand-off' },
      (s) => this.#accept(s));
    if (mode?.kind === 'receive') {
      this.ready = Promise.resolve();
      return;
    }
    const bound = new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException & { address?: string }) => {
        const err = listenError(label, e);
        if (logErrors) log.err('%s', err.message);
        reject(err);
      };
      this.server.once('error', onError);
      const done = () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => log.err('listen socket %s: %s', label, e.message));
        const a = this.server.address();
        if (a && typeof a === 'object') this.#port = a.port;
        log.notice('listening on %s for %s', this.path !== undefined ? label : `${this.iface ?? '*'}:${this.#port}`,
          this.vhosts.map((v) => v.name + (v.tls ? ' (tls)' : '')).join(', '));
        resolve();
      };
      if (this.path !== undefined) {
        removeStaleSocket(this.path);
        this.server.listen({ path: this.path.startsWith('@') ? '\0' + this.path.slice(1) : this.path }, done);
      } else {
        this.server.listen({ port: this.#port, host: this.iface }, done);
      }
    });
    this.ready = mode?.kind === 'hand-off' ? Promise.all([bound, mode.ready]).then(() => undefined) : bound;
  }

  get port(): number {
    return this.#port;
  }

  get anyRequestsCert(): boolean {
    return this.vhosts.some((v) => !v.destroyed && v.tls?.requestCert);
  }

  defaultVhost(): Vhost | undefined {
    return this.vhosts.find((v) => !v.destroyed);
  }

  /** Add a vhost to this port; every vhost of a port is TLS or none is. */
  addVhost(vh: Vhost): void {
    const other = this.vhosts.find((v) => !v.destroyed);
    if (other && !!other.tls !== !!vh.tls)
      throw stateError(ErrorCode.INVALID_OPTION, `vhost ${vh.name}: port ${this.path ?? this.#port} is served ${other.tls ? 'with' : 'without'} TLS by vhost ${other.name}; ` +
        'vhosts sharing a port must all have TLS certificates or none');
    this.vhosts.push(vh);
  }

  /**
   * Put this port's vhosts in the order they have in `order` (its first is
   * the port's default); vhosts not in it keep their order, after them.
   */
  orderVhosts(order: readonly Vhost[]): void {
    const at = (v: Vhost) => {
      const i = order.indexOf(v);
      return i < 0 ? order.length : i;
    };
    this.vhosts.sort((a, b) => at(a) - at(b));
  }

  /** Take a vhost off this port; true when none is left (the listen socket may go). */
  removeVhost(vh: Vhost): boolean {
    const i = this.vhosts.indexOf(vh);
    if (i >= 0) this.vhosts.splice(i, 1);
    return this.vhosts.length === 0;
  }

  /** The vhost a Host header or SNI name selects on this port (see `selectVhost`). */
  selectVhost(host: string | undefined): Vhost {
    return selectVhost(this.vhosts, host);
  }

  matchVhost(host: string | undefined): Vhost | null {
    return matchVhost(this.vhosts, host);
  }

  #accept(socket: Socket): void {
    if (this.#mode?.kind === 'hand-off') {
      this.#mode.take(socket, this);
      return;
    }
    const vh = this.defaultVhost();
    if (!vh) {
      socket.destroy();
      return;
    }
    const wsi = this.context.adoptSocket(socket, vh);
    if (wsi) serveConnection(wsi, socket, this);
  }

  /**
   * Serve a socket this listen address accepted in another process, as if
   * accepted here; `port` is the port it was bound to there (a port 0
   * listener learns its port so). Null when it may not open.
   */
  serveHanded(socket: Socket, port: number): Wsi | null {
    if (this.#mode?.kind === 'receive' && this.path === undefined && port > 0) this.#port = port;
    const vh = this.defaultVhost();
    if (!vh) {
      socket.destroy();
      return null;
    }
    socket.setNoDelay(true);
    const wsi = this.context.adoptSocket(socket, vh);
    if (!wsi) return null;
    serveConnection(wsi, socket, this);
    // A TLS socket reads the stream itself once its handshake starts; resuming here would steal its bytes.
    if (!(vh.tls && !vh.tls.allowNonTls) && socket.isPaused()) socket.resume();
    return wsi;
  }

  close(): Promise<void> {
    if (this.#mode?.kind === 'receive') return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Serve a connection that has just been accepted (or adopted) on its
 * vhost, from its first byte: HTTP (and what HTTP turns into), TLS first
 * on a TLS vhost, or the sniffing of the first byte on a TLS port that
 * also takes clear text. `vhosts` are the vhosts the connection may move
 * to (SNI, Host).
 */
export function serveConnection(wsi: Wsi, socket: Socket, vhosts: TlsListener): void {
  const vh = wsi.vhost;
  if (!vh.tls) {
    wireSocket(wsi, socket);
    startHttp(wsi, vhosts);
    return;
  }
  if (vh.tls.allowNonTls) {
    // The first byte says which: a TLS handshake record, or clear text.
    roleTransition(wsi, tlsSniffRole, vhosts);
    wireSocket(wsi, socket);
    wsi.setTimeout(PendingTimeout.SSL_ACCEPT, vh.limits.tlsAcceptTimeoutSecs);
    return;
  }
  startTlsOn(wsi, socket, vhosts);
}

/** Begin the TLS handshake on a socket `wsi` holds; HTTP (or RAW) starts once it is done. */
export function startTlsOn(wsi: Wsi, socket: Socket, vhosts: TlsListener): void {
  roleTransition(wsi, tlsAcceptRole, null);
  // The TLS socket owns the connection now; the raw one only needs an
  // error sink so a late error cannot go unhandled.
  socket.on('error', () => {});
  const t = startTlsAccept(wsi, socket, vhosts, (w) => startHttp(w, vhosts));
  if (t) wireSocket(wsi, t);
}

function removeStaleSocket(path: string): void {
  if (path.startsWith('@')) return;
  try {
    // Only a socket left by an earlier run is removed, never a file.
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // nothing there
  }
}

/**
 * Node's error with its message made `cannot listen on *:7681: address
 * already in use (EADDRINUSE)`: Node's own repeats the syscall and gives
 * `:::7681` for "every address"; the place is said once, as the listen
 * notice says it. The error stays Node's (`code`, `errno`, `address` …).
 */
function listenError(label: string, e: NodeJS.ErrnoException & { address?: string }): Error {
  let why = e.message;
  if (e.code) {
    const prefix = `${e.syscall ?? 'listen'} ${e.code}: `;
    if (why.startsWith(prefix)) why = why.slice(prefix.length);
    // Node appends the address (and port) it tried: the label says it.
    if (e.address !== undefined) {
      const at = why.lastIndexOf(` ${e.address}`);
      if (at > 0) why = why.slice(0, at);
    }
    why += ` (${e.code})`;
  }
  e.message = `cannot listen on ${label}: ${why}`;
  return e;
}
