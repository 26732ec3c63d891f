/**
 * `vhost.adoptSocket()`: a connection user code accepted itself (its own
 * `net.Server`, a socket handed over by another process, a duplex stream)
 * served by a vhost exactly as if its listen socket had accepted it
 * (lws's `lws_adopt_socket_vhost` / `lws_adopt_socket_readbuf`).
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { Vhost } from '../../core/vhost.js';
import type { Wsi } from '../../core/wsi.js';
import { extendApi } from '../../core/features.js';
import { ErrorCode, stateError, typeError } from '../../core/errors.js';
import { wireSocket } from '../../core/transport.js';
import type { TlsListener } from '../../tls/accept.js';
import { listenerOf } from './listen-feature.js';
import { serveConnection } from './listen.js';
import { startHttp } from './start-http.js';
import { matchVhost } from './select-vhost.js';
import { startRaw } from '../raw/start-raw.js';

/** How an adopted connection is served. */
export interface AdoptSocketOptions {
  /**
   * Bytes already read from the connection (to peek at what it is), in
   * the order they came: they are read again before anything new.
   */
  readbuf?: Uint8Array;
  /**
   * `'http'` (the default): served as the vhost's listen socket would
   * serve it: HTTP/1.1, WebSocket upgrades, HTTP/2 (by ALPN on a TLS
   * socket, or prior knowledge), FALLBACK_TO_RAW and ONLY_RAW; on a TLS
   * vhost a plain socket is given the TLS handshake first. `'raw'`: RAW at
   * once, RAW_ADOPT then the bytes as RAW_RX, no TLS added.
   */
  as?: 'http' | 'raw';
  /** For `as: 'raw'`: the protocol to bind (by name); default the vhost's raw protocol (pvo `raw`, else `default`, else the first). */
  protocol?: string;
}

declare module '../../core/vhost.js' {
  interface Vhost {
    /**
     * Serve a connection accepted elsewhere on this vhost: a `net.Socket`,
     * a `tls.TLSSocket` whose handshake is done, or another duplex stream.
     * Returns its wsi, or null when it may not open (`maxConnections`, its
     * address's `ipLimitWsi`, the context draining, a FILTER_NETWORK_CONNECTION refusal; the socket
     * is destroyed).
     *
     * @example
     * // Look at the first bytes, then hand the connection over with them.
     * net.createServer((s) => s.once('data', (b) => { s.pause(); vhost.adoptSocket(s, { readbuf: b }); })).listen(8000);
     */
    adoptSocket(socket: Duplex, options?: AdoptSocketOptions): Wsi | null;
  }
}

/** The vhosts an adopted connection may move to: its listen socket's, or this vhost alone. @internal */
export function selectorFor(vh: Vhost): TlsListener {
  const l = listenerOf(vh);
  if (l) return l;
  return {
    selectVhost: () => vh,
    matchVhost: (name) => matchVhost([vh], name),
    defaultVhost: () => (vh.destroyed ? undefined : vh),
    get anyRequestsCert() {
      return !!vh.tls?.requestCert;
    },
  };
}

function isDuplex(s: unknown): s is Duplex {
  const d = s as Duplex | null;
  return !!d && typeof d.on === 'function' && typeof d.write === 'function' && typeof d.pause === 'function' &&
    typeof d.resume === 'function' && typeof d.end === 'function' && typeof d.destroy === 'function';
}

extendApi(Vhost, {
  adoptSocket(this: Vhost, socket: Duplex, options: AdoptSocketOptions = {}): Wsi | null {
    if (!isDuplex(socket)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'adoptSocket: a net.Socket, tls.TLSSocket or duplex stream is needed');
    const as = options.as ?? 'http';
    if (as !== 'http' && as !== 'raw') throw typeError(ErrorCode.INVALID_ARGUMENT, `adoptSocket: as must be 'http' or 'raw', got ${JSON.stringify(as)}`);
    const rb = options.readbuf;
    if (rb !== undefined && !(rb instanceof Uint8Array)) throw typeError(ErrorCode.INVALID_ARGUMENT, 'adoptSocket: readbuf must be a Buffer or Uint8Array');
    const protocol = options.protocol === undefined ? undefined : this.protocolByName(options.protocol);
    if (options.protocol !== undefined && !protocol) {
      throw typeError(ErrorCode.INVALID_ARGUMENT, `adoptSocket: vhost ${this.name} has no protocol ${JSON.stringify(options.protocol)}`);
    }
    if (this.destroyed || socket.destroyed) {
      socket.destroy();
      if (this.destroyed) throw stateError(ErrorCode.DESTROYED, `adoptSocket: vhost ${this.name} is destroyed`);
      return null;
    }
    const s = socket as Socket;
    const wsi = this.context.adoptSocket(s, this);
    if (!wsi) return null;
    const readbuf = rb && rb.length ? Buffer.from(rb.buffer, rb.byteOffset, rb.byteLength) : null;
    const vhosts = selectorFor(this);
    if (as === 'raw') {
      wireSocket(wsi, s);
      startRaw(wsi, readbuf, protocol);
      if (s.isPaused()) s.resume();
      return wsi;
    }
    if (s instanceof TLSSocket && s.encrypted) {
      // Already TLS (the user's tls.Server did the handshake): HTTP over it, h2 if ALPN chose it.
      wireSocket(wsi, s);
      startHttp(wsi, vhosts);
      if (readbuf) wsi.deliverRx(readbuf);
      if (s.isPaused()) s.resume();
      return wsi;
    }
    // Exactly as the listen socket would: the peeked bytes go back in front
    // of the stream, so a TLS handshake or the first-byte sniffing sees them.
    if (readbuf) s.unshift(readbuf);
    serveConnection(wsi, s, vhosts);
    // A TLS socket now reads the stream itself (buffered bytes included): resuming it here would steal them.
    const tlsOwnsIt = !!this.tls && !this.tls.allowNonTls;
    if (!tlsOwnsIt && s.isPaused()) s.resume();
    return wsi;
  },
});
