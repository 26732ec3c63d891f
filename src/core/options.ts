/**
 * Context and vhost option bits, after lws's `LWS_SERVER_OPTION_*`.
 * Only options tslws implements are listed; an unknown bit is refused.
 */
export const Option = {
  /** Do not make a vhost from the context info: call `context.createVhost()`. */
  EXPLICIT_VHOSTS: 1 << 13,
  /** Switch connections whose first bytes are not an HTTP method to RAW. */
  FALLBACK_TO_RAW: 1 << 24,
  /** Check UTF-8 in WebSocket text messages and close reasons. */
  VALIDATE_UTF8: 1 << 22,
} as const;
export type OptionBits = number;

export const KNOWN_OPTIONS = Object.values(Option).reduce((a, b) => a | b, 0);
