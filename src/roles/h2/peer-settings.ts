import { DEFAULT_MAX_FRAME, H2Error, MAX_MAX_FRAME, MAX_WINDOW, Setting } from './frames.js';
import { H2ConnectionError } from './connection-error.js';

/**
 * The settings a peer sent in one SETTINGS frame (RFC 9113 6.5), each
 * checked against its range, in order. Unknown identifiers are skipped
 * (6.5.2). Throws H2ConnectionError for a malformed frame or value.
 */
export function readSettings(payload: Buffer): Array<[id: number, value: number]> {
  if (payload.length % 6) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS of a wrong size');
  const out: Array<[number, number]> = [];
  for (let at = 0; at < payload.length; at += 6) {
    const id = payload.readUInt16BE(at);
    const v = payload.readUInt32BE(at + 2);
    switch (id) {
      case Setting.ENABLE_PUSH:
        if (v > 1) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH is neither 0 nor 1');
        break;
      case Setting.ENABLE_CONNECT_PROTOCOL:
        if (v > 1) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_CONNECT_PROTOCOL is neither 0 nor 1');
        break;
      case Setting.INITIAL_WINDOW_SIZE:
        if (v > MAX_WINDOW) throw new H2ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE past 2^31-1');
        break;
      case Setting.MAX_FRAME_SIZE:
        if (v < DEFAULT_MAX_FRAME || v > MAX_MAX_FRAME) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${v} out of range`);
        break;
      case Setting.HEADER_TABLE_SIZE:
      case Setting.MAX_CONCURRENT_STREAMS:
      case Setting.MAX_HEADER_LIST_SIZE:
        break;
      default:
        continue;
    }
    out.push([id, v]);
  }
  return out;
}
