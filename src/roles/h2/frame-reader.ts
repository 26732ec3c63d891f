import { FRAME_HEADER_LEN, MAX_WINDOW, H2Error } from './frames.js';
import { H2ConnectionError } from './connection-error.js';

/** One frame's header fields and payload (a view into the bytes read). */
export type FrameSink = (type: number, flags: number, stream: number, payload: Buffer) => void;

/**
 * Cuts a connection's bytes into frames (RFC 9113 4.1), keeping an
 * incomplete one until the rest arrives. A frame larger than we allow is
 * a FRAME_SIZE_ERROR before its payload is waited for.
 */
export class FrameReader {
  #buf: Buffer | null = null;

  /** Deliver every complete frame of what was held plus `data`; `stop()` true ends the loop (the connection closed). */
  feed(data: Buffer, maxFrame: number, sink: FrameSink, stop: () => boolean): void {
    const buf = this.#buf && this.#buf.length ? Buffer.concat([this.#buf, data]) : data;
    this.#buf = null;
    let at = 0;
    while (buf.length - at >= FRAME_HEADER_LEN && !stop()) {
      const len = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
      if (len > maxFrame) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
      if (buf.length - at < FRAME_HEADER_LEN + len) break;
      const type = buf[at + 3];
      const flags = buf[at + 4];
      const sid = buf.readUInt32BE(at + 5) & MAX_WINDOW;
      const payload = buf.subarray(at + FRAME_HEADER_LEN, at + FRAME_HEADER_LEN + len);
      at += FRAME_HEADER_LEN + len;
      sink(type, flags, sid, payload);
    }
    if (at < buf.length && !stop()) this.#buf = buf.subarray(at);
  }

  clear(): void {
    this.#buf = null;
  }
}
