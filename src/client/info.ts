import type { Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import type { Wsi } from '../core/wsi.js';
import type { PerMessageDeflateOptions } from '../roles/ws/options.js';

/** TLS settings of a client connection (lws's `LCCSCF_*` flags). */
export interface ClientSslOptions {
  /** Accept a self-signed server certificate (`LCCSCF_ALLOW_SELFSIGNED`). */
  allowSelfSigned?: boolean;
  /** Do not check the certificate's name against `host` (`LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK`). */
  skipHostnameCheck?: boolean;
  /**
   * Accept a server certificate whose validity has ended (`LCCSCF_ALLOW_EXPIRED`).
   * Only CERT_HAS_EXPIRED is let through: a certificate that is not yet
   * valid, or expired and failing some other check, is still refused.
   */
  allowExpired?: boolean;
  /** Trusted CA certificates (PEM) instead of the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Our client certificate (PEM, leaf first), for servers that ask for one. */
  cert?: string | Buffer;
  /** The private key of `cert` (PEM). */
  key?: string | Buffer;
  /** Decrypts `key` when it is encrypted. */
  passphrase?: string;
  /**
   * Certificate revocation lists (PEM). With a CRL every certificate in the
   * server's chain must be covered by one, so give the CRLs of each CA.
   */
  crl?: string | Buffer | Array<string | Buffer>;
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
  /**
   * WebSocket: offer permessage-deflate (RFC 7692), `true` with the
   * defaults or with settings (`serverNoContextTakeover` asks the server
   * to reset, `clientMaxWindowBits` limits our window …). Default off.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * HTTP client: seconds the response body may stall (lws's HTTP_CONTENT
   * timeout), counted again from each piece that arrives; default 20. It
   * does not run while the body waits unread on the user. On expiry the
   * connection closes: CLOSED_CLIENT_HTTP without COMPLETED_CLIENT_HTTP
   * (the response was established, so no CLIENT_CONNECTION_ERROR).
   */
  bodyTimeoutSecs?: number;
  /**
   * HTTP client: follow up to this many redirects (301, 302, 303, 307,
   * 308 with a Location); default 0, the 3xx is delivered as it is. The
   * same wsi makes the next request, so the user sees one
   * ESTABLISHED_CLIENT_HTTP, for the final answer. 303 turns the request
   * into a GET without a body; the others keep the method, and an upload
   * gets CLIENT_HTTP_WRITEABLE again from the start. More redirects than
   * allowed, or https:// to http://, is a CLIENT_CONNECTION_ERROR.
   */
  followRedirects?: number;
  /**
   * HTTP client: keep the connection after a cleanly framed response and
   * reuse it for the next `keepAlive` request to the same address, port
   * and TLS settings from this vhost (limits `clientKeepAliveMax`,
   * `clientKeepAliveSecs`). A request sent on a reused connection that
   * the server had meanwhile closed is retried once on a new one. Default
   * false: one connection per request.
   */
  keepAlive?: boolean;
  /**
   * HTTP/2 (lws's `alpn` and `LCCSCF_H2_PRIOR_KNOWLEDGE`). `'prefer'`: on
   * TLS, offer `h2,http/1.1` by ALPN and use what the server chooses; in
   * clear text, HTTP/1.1. `'require'`: HTTP/2 only — on TLS the server
   * must choose `h2`, in clear text it is spoken by prior knowledge;
   * anything else is a CLIENT_CONNECTION_ERROR. `'forbid'`: HTTP/1.1 only.
   *
   * Requests to the same origin (address, port, TLS settings, vhost) share
   * one HTTP/2 connection as streams; one made while that connection is
   * still being opened waits for it (limits: the vhost's `h2Client`). The
   * callbacks are those of HTTP/1.1.
   *
   * A WebSocket goes over HTTP/2 (RFC 8441 extended CONNECT) only when
   * the server allows it (SETTINGS_ENABLE_CONNECT_PROTOCOL); with
   * `'prefer'` it falls back to its own HTTP/1.1 connection otherwise,
   * with `'require'` it fails. Default: `'prefer'` for HTTP requests,
   * `'forbid'` for WebSockets (a server without RFC 8441 would cost a
   * second connection).
   */
  http2?: 'prefer' | 'require' | 'forbid';
}

/**
 * The input of CLIENT_APPEND_HANDSHAKE_HEADER: add request headers before
 * the request goes out (lws hands a `char **p` to write into).
 *
 * ```ts
 * case Reason.CLIENT_APPEND_HANDSHAKE_HEADER:
 *   input.add('x-token', 'abc'); // input: ClientHeaderAppender
 *   break;
 * ```
 */
export interface ClientHeaderAppender {
  /** Add one header; throws TypeError on a bad name or value, RangeError past the size bound. */
  add(name: string, value: string): void;
}
