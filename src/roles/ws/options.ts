/** WebSocket settings of a vhost, each with a default. */
export interface WsOptions {
  /** Largest frame payload accepted: 1009 past it. */
  maxFrameSize: number;
  /** Largest message (all its fragments) accepted: 1009 past it. */
  maxMessageSize: number;
  /** Check text messages and close reasons are UTF-8 (1007 otherwise). */
  validateUtf8: boolean;
  /** Ping a connection idle this many seconds and close it if no pong comes in as long; 0 is off. */
  pingPongSecs: number;
}

export const DEFAULT_WS_OPTIONS: Readonly<WsOptions> = Object.freeze({
  maxFrameSize: 64 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
  validateUtf8: true,
  pingPongSecs: 0,
});
