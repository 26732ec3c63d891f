import type { Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import type { Wsi } from '../core/wsi.js';

/** TLS settings of a client connection (lws's `LCCSCF_*` flags). */
export interface ClientSslOptions {
  /** Accept a self-signed server certificate (`LCCSCF_ALLOW_SELFSIGNED`). */
  allowSelfSigned?: boolean;
  /** Do not check the certificate's name against `host` (`LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK`). */
  skipHostnameCheck?: boolean;
  /** Trusted CA certificates (PEM) instead of the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * What `clientConnect` needs, after lws's `struct lws_client_connect_info`.
 *
 * - `method` absent: WebSocket (ws:// or wss://);
 *   `'GET'`, `'POST'` …: a plain HTTP request; `'RAW'`: a raw TCP/TLS socket.
 * - Events go to `localProtocolName` on `vhost` (default: the vhost's first
 *   protocol), connection errors included.
 */
export interface ClientConnectInfo {
  /** The context, for the function form `clientConnect(info)`; `context.clientConnect` fills it. */
  context?: Context;
  /** Host name, IPv4 or IPv6 address to connect to. */
  address: string;
  port: number;
  /** Request path, default `/`. */
  path?: string;
  /** `Host:` value; default `address[:port]`. */
  host?: string;
  /** `Origin:` value; `http://` is put in front unless it has a scheme. Absent: no Origin. */
  origin?: string;
  /** WebSocket subprotocols to offer, as a comma-separated list. */
  protocol?: string;
  /** TLS: `true` verifies the server as Node does by default. */
  ssl?: boolean | ClientSslOptions;
  /** undefined (WebSocket), an HTTP method, or `'RAW'`. */
  method?: string;
  /** Name of the protocol on `vhost` whose callback gets this connection's events. */
  localProtocolName?: string;
  /** The vhost the connection belongs to; default the context's first. */
  vhost?: Vhost;
  /** The connection's `user` value; default what the protocol's `createSessionData` makes. */
  userdata?: unknown;
  /** Filled with the new wsi before any callback can fire (lws's `pwsi`). */
  pwsi?: { wsi?: Wsi };
  /** Seconds to establish (TCP, TLS and the server's answer); default 5. */
  connectTimeoutSecs?: number;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /**
   * HTTP client: the request body's length. A `content-length` header is
   * sent and CLIENT_HTTP_WRITEABLE is delivered until that many bytes have
   * been written with `Write.HTTP` (ask for more with `callbackOnWritable()`),
   * or `Write.HTTP_FINAL` ends it.
   */
  bodyLength?: number;
}

/**
 * The input of CLIENT_APPEND_HANDSHAKE_HEADER: add request headers before
 * the request goes out (lws hands a `char **p` to write into).
 *
 * ```ts
 * case Reason.CLIENT_APPEND_HANDSHAKE_HEADER:
 *   (input as ClientHeaderAppender).add('x-token', 'abc');
 *   break;
 * ```
 */
export interface ClientHeaderAppender {
  /** Add one header; throws TypeError on a bad name or value, RangeError past the size bound. */
  add(name: string, value: string): void;
}
