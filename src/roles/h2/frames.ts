/**
 * HTTP/2 framing (RFC 9113 4, 6): frame types, flags, settings and error
 * codes, and the frames the server writes. Every frame is built in one
 * buffer (header and payload), except DATA, whose payload is written
 * after its 9-byte header so large bodies are not copied.
 */

export const FRAME_HEADER_LEN = 9;
/** The client connection preface (RFC 9113 3.4). */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export const enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** SETTINGS identifiers (RFC 9113 6.5.2, RFC 8441). */
export const enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
  ENABLE_CONNECT_PROTOCOL = 0x8,
}

/** Error codes (RFC 9113 7), as sent in RST_STREAM and GOAWAY. */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
export type H2ErrorCode = (typeof H2Error)[keyof typeof H2Error];

/** The name of an error code, for logs. */
export function h2ErrorName(code: number): string {
  for (const [k, v] of Object.entries(H2Error)) if (v === code) return k;
  return `0x${code.toString(16)}`;
}

/** The largest window and the largest stream id (31 bits). */
export const MAX_WINDOW = 0x7fffffff;
export const DEFAULT_WINDOW = 65535;
export const DEFAULT_MAX_FRAME = 16384;
export const MAX_MAX_FRAME = 0xffffff;

/** A frame's 9-byte header. */
export function frameHeader(len: number, type: number, flags: number, stream: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN);
  writeHeader(b, 0, len, type, flags, stream);
  return b;
}

function writeHeader(b: Buffer, at: number, len: number, type: number, flags: number, stream: number): void {
  b[at] = len >>> 16;
  b[at + 1] = (len >>> 8) & 0xff;
  b[at + 2] = len & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  b.writeUInt32BE(stream & MAX_WINDOW, at + 5);
}

/** A whole frame with `payload`, in one buffer. */
export function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN + payload.length);
  writeHeader(b, 0, payload.length, type, flags, stream);
  b.set(payload, FRAME_HEADER_LEN);
  return b;
}

/** SETTINGS with `values` (id → value), or an ACK when `values` is null. */
export function settingsFrame(values: ReadonlyArray<readonly [number, number]> | null): Buffer {
  if (!values) return frameHeader(0, FrameType.SETTINGS, Flag.ACK, 0);
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN + 6 * values.length);
  writeHeader(b, 0, 6 * values.length, FrameType.SETTINGS, 0, 0);
  let at = FRAME_HEADER_LEN;
  for (const [id, v] of values) {
    b.writeUInt16BE(id, at);
    b.writeUInt32BE(v >>> 0, at + 2);
    at += 6;
  }
  return b;
}

export function windowUpdateFrame(stream: number, increment: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN + 4);
  writeHeader(b, 0, 4, FrameType.WINDOW_UPDATE, 0, stream);
  b.writeUInt32BE(increment & MAX_WINDOW, FRAME_HEADER_LEN);
  return b;
}

export function rstStreamFrame(stream: number, code: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN + 4);
  writeHeader(b, 0, 4, FrameType.RST_STREAM, 0, stream);
  b.writeUInt32BE(code >>> 0, FRAME_HEADER_LEN);
  return b;
}

export function goawayFrame(lastStream: number, code: number, debug = ''): Buffer {
  const d = Buffer.from(debug.slice(0, 200));
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN + 8 + d.length);
  writeHeader(b, 0, 8 + d.length, FrameType.GOAWAY, 0, 0);
  b.writeUInt32BE(lastStream & MAX_WINDOW, FRAME_HEADER_LEN);
  b.writeUInt32BE(code >>> 0, FRAME_HEADER_LEN + 4);
  d.copy(b, FRAME_HEADER_LEN + 8);
  return b;
}

export function pingFrame(payload: Uint8Array, ack: boolean): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, payload);
}

/**
 * A header block as HEADERS and, past `maxFrame`, CONTINUATION frames
 * (one buffer: they must leave together, nothing may come between).
 */
export function headersFrames(stream: number, block: Uint8Array, endStream: boolean, maxFrame: number): Buffer {
  const n = Math.max(1, Math.ceil(block.length / maxFrame));
  const b = Buffer.allocUnsafe(block.length + n * FRAME_HEADER_LEN);
  let at = 0;
  for (let i = 0, off = 0; i < n; i++) {
    const len = Math.min(maxFrame, block.length - off);
    const last = i === n - 1;
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (i === 0 && endStream ? Flag.END_STREAM : 0);
    writeHeader(b, at, len, type, flags, stream);
    at += FRAME_HEADER_LEN;
    b.set(block.subarray(off, off + len), at);
    at += len;
    off += len;
  }
  return b;
}
