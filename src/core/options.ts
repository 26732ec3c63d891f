/**
 * Context and vhost option bits, with lws's `LWS_SERVER_OPTION_*` values
 * (so numbers carried over from C or lwsws configs mean the same thing).
 * Only options tslws implements are listed; an unknown bit is refused.
 * Several TLS options include `DO_SSL_GLOBAL_INIT` (bit 12) as in lws; that
 * bit alone is accepted and does nothing (Node's TLS needs no global init).
 */
export const Option = {
  /** TLS: ask for a client certificate and refuse the connection unless it verifies against `sslCa*`. */
  REQUIRE_VALID_OPENSSL_CLIENT_CERT: (1 << 1) | (1 << 12),
  /** TLS: also accept clear-text HTTP on the TLS port (the first byte tells them apart). */
  ALLOW_NON_SSL_ON_SSL_PORT: (1 << 3) | (1 << 12),
  /** TLS: with REQUIRE_VALID_OPENSSL_CLIENT_CERT, still accept peers without a valid certificate (the verdict is reported to OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION). */
  PEER_CERT_NOT_REQUIRED: 1 << 7,
  /** Check UTF-8 in WebSocket text messages and close reasons (tslws always does unless `ws.validateUtf8` is false). */
  VALIDATE_UTF8: 1 << 8,
  /** TLS: use `ecdhCurve` (default prime256v1) for ECDHE, as lws's ECDH option. */
  SSL_ECDH: (1 << 9) | (1 << 12),
  /** TLS: answer clear-text requests on the TLS port with 301 to `https://<Host>/` (implies ALLOW_NON_SSL_ON_SSL_PORT). */
  REDIRECT_HTTP_TO_HTTPS: (1 << 11) | (1 << 3) | (1 << 12),
  /** Accepted for compatibility; Node's TLS needs no global initialisation. */
  DO_SSL_GLOBAL_INIT: 1 << 12,
  /**
   * A connection whose first bytes cannot begin a request the server knows
   * (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE, or the
   * HTTP/2 preface) becomes RAW, bound to the protocol whose pvo has `raw`
   * (else `default`, else the first): RAW_ADOPT, then what was read as RAW_RX.
   * On TLS it is the first bytes after the handshake.
   */
  FALLBACK_TO_RAW: 1 << 20,
  /** Every connection of the vhost is RAW from the start (after the handshake on TLS), bound as for FALLBACK_TO_RAW. */
  ONLY_RAW: 1 << 22,
  /** Do not make a vhost from the context info: call `context.createVhost()`. */
  EXPLICIT_VHOSTS: 1 << 13,
  /** Listen on the UNIX domain socket whose path is `iface` (`@name` for the abstract namespace). */
  UNIX_SOCK: 1 << 14,
  /** TLS: send `Strict-Transport-Security: max-age=15768000 ; includeSubDomains` on TLS responses. */
  STS: 1 << 15,
  /** TLS: make the vhost's TLS context even without certificate files; user code fills it at OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS. */
  CREATE_VHOST_SSL_CTX: 1 << 24,
} as const;
export type OptionBits = number;

export const KNOWN_OPTIONS = Object.values(Option).reduce((a, b) => a | b, 0);

/** True when every bit of `option` is set in `options` (lws's `lws_check_opt`). */
export function hasOption(options: number, option: number): boolean {
  return (options & option) === option;
}
