/**
 * What a `wsi.write()` carries, as lws's `enum lws_write_protocol`.
 * Flags (`NO_FIN`, `H2_STREAM_END`) combine with `|`.
 */
export enum Write {
  TEXT = 0,
  BINARY = 1,
  CONTINUATION = 2,
  HTTP = 3,
  PING = 5,
  PONG = 6,
  HTTP_FINAL = 7,
  HTTP_HEADERS = 8,
  HTTP_HEADERS_CONTINUATION = 9,
  /** The message continues in a later write (WebSocket fragmentation). */
  NO_FIN = 0x40,
  /** Ends the HTTP/2 stream; on HTTP/1 it marks the body as complete. */
  H2_STREAM_END = 0x80,
}

/**
 * Bytes a `wsi.writeLent()` payload must have before it in its buffer, for
 * the frame header (lws's `LWS_PRE`): allocate `LWS_PRE + n` bytes and
 * write the payload at `LWS_PRE`.
 */
export const LWS_PRE = 16;

/** The low bits of a write's flags name its kind; the rest are modifiers. */
export const WRITE_KIND_MASK = 0x3f;
