/**
 * A WebSocket server of whole messages: one protocol on a vhost of its own,
 * whose connections are `MessageSocket`s.
 */
import { ClientSet } from './client-set.js';
import { EventEmitter } from 'node:events';
import { createContext, type Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import type { Wsi } from '../core/wsi.js';
import type { CallbackArgs, Protocol } from '../core/protocols.js';
import { Reason } from '../core/reasons.js';
import { callbackHttpDummy } from '../http/dummy.js';
import { Write } from '../core/write.js';
import type { AddressInfo } from 'node:net';
import type { PerMessageDeflateOptions, PublishOptions, PublishResult, TopicsOptions, UpgradeServer, VhostTlsInfo } from '../index.js';
import { ErrorCode, rangeError, stateError, typeError } from '../core/errors.js';
import { MessageSocket, libraryWsLimits, resolveMessageOptions, type MessageOptions, type ResolvedMessageOptions } from './message-socket.js';
import { urlQuery } from './url-query.js';

/** What the `upgrade` hook sees of an upgrade request. */
export interface UpgradeRequest {
  /** The decoded path, without the query. */
  path: string;
  /** The query arguments, decoded. */
  query: URLSearchParams;
  /** Every request header as `[lower-case name, value]`, in arrival order. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** The subprotocol that will be answered ('' when none was asked for). */
  protocol: string;
  peerAddress: string;
  peerPort: number;
  /** The `Origin` header, or undefined. */
  origin: string | undefined;
}

/** An `upgrade` hook's refusal: the HTTP status sent instead of 101, with optional headers. */
export interface UpgradeRefusal {
  status: number;
  headers?: Readonly<Record<string, string>>;
}

/** Options of `createWebSocketServer`. */
export interface WebSocketServerOptions extends MessageOptions {
  /**
   * TCP port to listen on; 0 picks a free one (read `server.port` after
   * 'listening'). Leave it out with `server`.
   */
  port?: number;
  /** Address or interface to listen on; default all. Not with `server`. */
  iface?: string;
  /**
   * A `node:http` or `node:https` server (an Express app's `app.listen()`,
   * fastify's `fastify.server`) whose WebSocket upgrades this server takes,
   * on that server's port, as `ws`'s `new WebSocketServer({ server })`:
   * with `path`, only upgrades to that path, the others and every ordinary
   * request staying the server's. 'listening' follows the server's; `close()`
   * leaves the server open. Instead of `port`.
   */
  server?: UpgradeServer;
  /**
   * An existing context to add the server's vhost to (it listens on
   * `port`, sharing the port with the context's other vhosts there when
   * `vhostName` differs). Default: a context of the server's own, destroyed
   * by `close()`.
   */
  context?: Context;
  /** The vhost's name (Host / SNI); default `localhost`. */
  vhostName?: string;
  /**
   * Only upgrades to this path (exactly, without the query) are accepted;
   * others get 404, or with `server` are left to that server. Default: any path.
   */
  path?: string;
  /**
   * The subprotocol to answer when the client offers it; upgrades that offer
   * none are accepted too. Default `tslws-message` (only seen by clients
   * asking for it).
   */
  protocol?: string;
  /**
   * Serve wss://: the vhost's TLS settings (`sslCert` and `sslPrivateKey`
   * as PEM, or the `…Filepath` forms; see "TLS settings (per vhost)").
   * Default: plain ws://. Not with `server` (a `node:https` server does the TLS).
   */
  tls?: VhostTlsInfo;
  /** Accept permessage-deflate offers: `true` with the defaults, or settings. Default off. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Called for every upgrade before the 101: `true` accepts, `false`
   * refuses with 403, `{ status, headers }` refuses with that status. It is
   * synchronous: the lws callback that carries the decision
   * (FILTER_PROTOCOL_CONNECTION) must answer before it returns, so the
   * decision cannot wait for I/O; a hook that throws refuses with 500.
   */
  upgrade?: (req: UpgradeRequest) => boolean | UpgradeRefusal;
  /** Closes the server (as `close()`) when aborted. */
  signal?: AbortSignal;
  /** Bounds of each socket's queue of published messages and the overflow policy (see "Topics"). Default 1 MiB, 1024 messages, `close-1008`. */
  topics?: TopicsOptions;
}

/** Events of a `WebSocketServer`. */
export interface WebSocketServerEvents {
  connection: [socket: MessageSocket];
  listening: [];
  close: [];
  error: [err: Error];
  /** A topic gained its first subscriber (1) or lost its last (0). */
  subscribers: [topic: string, subscribers: 0 | 1];
}

interface Session {
  socket: MessageSocket | null;
}

const DEFAULT_PROTOCOL = 'tslws-message';

/**
 * A server of `MessageSocket`s (see `createWebSocketServer`).
 */
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  readonly context: Context;
  readonly vhost: Vhost;
  /** The open connections (a read-only set: `size`, `has`, `forEach`, `for…of`). */
  readonly clients = new ClientSet();
  readonly #ownContext: boolean;
  readonly #iface: string | undefined;
  readonly #server: UpgradeServer | undefined;
  #closing: Promise<void> | null = null;
  #listening = false;

  /** @internal Use `createWebSocketServer`. */
  constructor(o: WebSocketServerOptions) {
    super();
    const where = 'createWebSocketServer';
    const server = o.server;
    if (server !== undefined) {
      if (server === null || typeof server !== 'object' || typeof server.on !== 'function' || typeof server.listen !== 'function')
        throw typeError(ErrorCode.INVALID_OPTION, `${where}: server must be a node:http or node:https server`);
      // Each of these would be a second place to listen, or a second TLS layer.
      for (const k of ['port', 'iface', 'tls'] as const)
        if (o[k] !== undefined) throw typeError(ErrorCode.INVALID_OPTION, `${where}: ${k} cannot be given with server (the server listens${k === 'tls' ? ' and does the TLS' : ''})`);
    } else if (o.port === undefined || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw rangeError(ErrorCode.INVALID_OPTION, `${where}: port must be an integer 0..65535 (or give server), got ${String(o.port)}`);
    }
    if (o.path !== undefined && (typeof o.path !== 'string' || !o.path.startsWith('/')))
      throw typeError(ErrorCode.INVALID_OPTION, `${where}: path must start with /, got ${String(o.path)}`);
    if (o.upgrade !== undefined && typeof o.upgrade !== 'function') throw typeError(ErrorCode.INVALID_OPTION, `${where}: upgrade must be a function`);
    const mo = resolveMessageOptions(where, o);
    const name = o.protocol ?? DEFAULT_PROTOCOL;
    const protocol = this.#protocol(name, mo, o);
    const vinfo = {
      ...o.tls,
      // With a server the vhost does not listen: the server hands it its upgrades.
      ...(server ? { server, serverPath: o.path } : { port: o.port, iface: o.iface }),
      vhostName: o.vhostName,
      protocols: [{
        name: 'http',
        callback: (...[wsi, reason, user, input]: CallbackArgs): number => {
          // First and last subscribers of a topic come to protocols[0]: they become the server's event.
          if (reason === Reason.TOPIC_SUBSCRIBERS) {
            this.emit('subscribers', input.topic, input.subscribers);
            return 0;
          }
          return callbackHttpDummy(wsi, reason, user, input);
        },
      }, protocol],
      topics: o.topics,
      // Upgrades asking for no subprotocol land here too.
      pvo: { [name]: { default: '1' } },
      ws: { ...libraryWsLimits(mo), perMessageDeflate: o.perMessageDeflate ?? false },
    };
    this.#iface = o.iface;
    this.#server = server;
    if (o.context) {
      this.#ownContext = false;
      this.context = o.context;
      this.vhost = o.context.createVhost(vinfo);
    } else {
      this.#ownContext = true;
      this.context = createContext(vinfo);
      this.vhost = this.context.vhosts[0] as Vhost;
    }
    // A shared context's other vhosts are not this server's business.
    (this.#ownContext ? this.context.listening : this.vhost.listening).then(
      () => {
        const ready = (): void => {
          this.#listening = true;
          this.emit('listening');
        };
        if (!server || server.listening) ready();
        // A server made to listen later: its 'listening' is ours, unless we were closed meanwhile.
        else server.once('listening', () => {
          if (!this.#closing) ready();
        });
      },
      (e: unknown) => {
        this.emit('error', asError(e, 'listen'));
        void this.close();
      },
    );
    const signal = o.signal;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => void this.close());
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** The port listened on (with `server`, that server's), known after 'listening'; else undefined. */
  get port(): number | undefined {
    if (this.#server) return this.#serverAddress()?.port;
    return this.vhost.port;
  }

  /** Where the server listens (with `server`, that server's address), as `net.Server.address()` says it, or null before 'listening'. */
  address(): { address: string; port: number } | null {
    if (!this.#listening) return null;
    if (this.#server) {
      const a = this.#serverAddress();
      return a ? { address: a.address, port: a.port } : null;
    }
    const port = this.vhost.port;
    if (port === undefined) return null;
    return { address: this.#iface ?? '::', port };
  }

  #serverAddress(): AddressInfo | null {
    // A server on a UNIX socket has a path for an address, and no port.
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a : null;
  }

  /**
   * Send a message to every socket subscribed to `topic`
   * (`socket.subscribe`). It is framed once for all of them, and each
   * socket sends it in order with its own `send()`s. A string is text,
   * bytes binary unless `{ binary: false }`; `exceptWsi` skips one
   * connection. Returns `{ subscribers, queued, overBound, dropped, closed }`;
   * sockets whose queue overflowed also get a 'drop' event.
   *
   * ```ts
   * const r = server.publish('news', 'extra!');
   * if (r.dropped) console.warn(r.dropped, 'slow subscribers');
   * ```
   */
  publish(topic: string, data: string | Uint8Array, opts?: PublishOptions): PublishResult {
    return this.vhost.publish(topic, data, opts);
  }

  /**
   * How many sockets subscribe to `topic`.
   *
   * ```ts
   * server.subscriberCount('news'); // 3
   * ```
   */
  subscriberCount(topic: string): number {
    return this.vhost.subscriberCount(topic);
  }

  /**
   * Close every connection with 1001 and stop listening; resolves when
   * done. Connections that do not finish their close within `closeTimeout`
   * are cut. With `server`, upgrades are no longer taken, and the server
   * itself stays open.
   *
   * ```ts
   * await server.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const waits: Promise<void>[] = [];
      for (const s of this.clients) {
        waits.push(new Promise((resolve) => s.once('close', () => resolve())));
        s.close(1001, 'server closing');
      }
      await Promise.all(waits);
      if (this.#ownContext) await this.context.destroy();
      else await this.context.destroyVhost(this.vhost);
      this.emit('close');
    })();
    return this.#closing;
  }

  #protocol(name: string, mo: ResolvedMessageOptions, o: WebSocketServerOptions): Protocol<Session> {
    const upgrade = o.upgrade;
    const path = o.path;
    // Methods here are closures over the server: one protocol per server.
    const onUpgrade = (wsi: Wsi, chosen: string): number => {
      if (this.#closing) return wsi.returnHttpStatus(503) || -1;
      if (path !== undefined && wsi.uri !== path) return wsi.returnHttpStatus(404) || -1;
      if (!upgrade) return 0;
      const headers = wsi.hdrList();
      const query = urlQuery(wsi);
      let verdict: boolean | UpgradeRefusal;
      try {
        verdict = upgrade({
          path: wsi.uri ?? '/', query, headers, protocol: wsi.hdrCopy('sec-websocket-protocol') === undefined ? '' : chosen,
          peerAddress: wsi.peerAddress, peerPort: wsi.peerPort, origin: wsi.hdrCopy('origin'),
        });
      } catch (e) {
        this.emit('error', asError(e, 'the upgrade hook'));
        return wsi.returnHttpStatus(500) || -1;
      }
      if (verdict === true) return 0;
      if (verdict === false) return -1; // 403
      return refuse(wsi, verdict);
    };
    return {
      name,
      // RECEIVE pieces this large keep the number of callbacks per message low.
      rxBufferSize: 64 * 1024,
      createSessionData: () => ({ socket: null }),
      callback: (...[wsi, reason, user, input]: CallbackArgs<Session>): number => {
        switch (reason) {
          case Reason.FILTER_PROTOCOL_CONNECTION:
            return onUpgrade(wsi, input);
          case Reason.ESTABLISHED: {
            const s = new MessageSocket(mo);
            user.socket = s;
            s.attach(wsi, wsi.hdrCopy('sec-websocket-protocol') === undefined ? '' : name);
            this.clients.add(s);
            s.once('close', () => this.clients.delete(s));
            this.emit('connection', s);
            return 0;
          }
          case Reason.CLOSED:
          case Reason.WSI_DESTROY:
            user?.socket?.closed();
            return 0;
          default:
            return user?.socket ? user.socket.handle(wsi, reason, input) : 0;
        }
      },
    };
  }
}

/** `e` if it is an Error, else a coded one saying what `where` threw. */
function asError(e: unknown, where: string): Error {
  return e instanceof Error ? e : stateError(ErrorCode.INVALID_OPTION, `${where} threw ${String(e)}`);
}

/** Refuse an upgrade with `r.status` and its headers. */
function refuse(wsi: Wsi, r: UpgradeRefusal): number {
  const status = r.status;
  if (!Number.isInteger(status) || status < 400 || status > 599) return wsi.returnHttpStatus(500) || -1;
  if (!r.headers) return wsi.returnHttpStatus(status) || -1;
  wsi.addHttpHeaderStatus(status);
  for (const [k, v] of Object.entries(r.headers)) wsi.addHttpHeaderByName(k.toLowerCase(), v);
  wsi.addHttpHeaderContentLength(0);
  wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
  return -1;
}

/**
 * Start a WebSocket server whose connections deliver whole messages.
 *
 * ```ts
 * const server = createWebSocketServer({ port: 7681 });
 * server.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
 * // or on the port of an existing node:http server (an Express app's), for one path:
 * const wss = createWebSocketServer({ server: app.listen(3000), path: '/ws' });
 * ```
 */
export function createWebSocketServer(options: WebSocketServerOptions): WebSocketServer {
  if (options === null || typeof options !== 'object') throw typeError(ErrorCode.INVALID_OPTION, 'createWebSocketServer: options must be an object');
  return new WebSocketServer(options);
}
