/**
 * Why a connection is waiting, after lws's `enum pending_timeout`. Every wait
 * has one of these names so that a log line says what was not answered.
 */
export enum PendingTimeout {
  NO_PENDING = 0,
  AWAITING_PROXY_RESPONSE = 1,
  AWAITING_CONNECT_RESPONSE = 2,
  ESTABLISH_WITH_SERVER = 3,
  AWAITING_SERVER_RESPONSE = 4,
  AWAITING_PING = 5,
  CLOSE_ACK = 6,
  AWAITING_EXTENSION_CONNECT_RESPONSE = 7,
  SENT_CLIENT_HANDSHAKE = 8,
  SSL_ACCEPT = 9,
  HTTP_CONTENT = 10,
  AWAITING_CLIENT_HS_SEND = 11,
  FLUSH_STORED_SEND_BEFORE_CLOSE = 12,
  SHUTDOWN_FLUSH = 13,
  CGI = 14,
  HTTP_KEEPALIVE_IDLE = 15,
  WS_PONG_CHECK_SEND_PING = 16,
  WS_PONG_CHECK_GET_PONG = 17,
  CLIENT_ISSUE_PAYLOAD = 18,
  /** A returned non-zero from SSL_INFO: the connection closes at the next check. */
  KILLED_BY_SSL_INFO = 22,
  CLOSE_SEND = 24,
  HOLDING_AH = 25,
  /** Waiting for the request line and headers to arrive. */
  AWAITING_HEADERS = 26,
  /** First value free for user-defined reasons. */
  USER_BASE = 1000,
}

/** `wsi.setTimeout(reason, TO_KILL_ASYNC)`: close at the next check. */
export const TO_KILL_ASYNC = -1;
/** `wsi.setTimeout(reason, TO_KILL_SYNC)`: close now. */
export const TO_KILL_SYNC = -2;
