import { HpackError, type HpackDecoder, type DecodeResult } from './hpack/index.js';
import { H2Error } from './frames.js';
import { H2ConnectionError } from './connection-error.js';

/** A header block being gathered from HEADERS and CONTINUATION frames. */
export interface BlockParts {
  stream: number;
  parts: Buffer[];
  bytes: number;
  frames: number;
}

/**
 * Add a CONTINUATION frame's payload to the block it continues. Bounded:
 * a block may take `maxFrames` CONTINUATIONs and grow no larger than
 * `maxBytes` (the 2024 CONTINUATION flood), else ENHANCE_YOUR_CALM.
 */
export function continueBlock<B extends BlockParts>(b: B | null, sid: number, payload: Buffer, maxFrames: number, maxBytes: number): B {
  if (!b || sid !== b.stream) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without a header block to continue');
  b.parts.push(payload);
  b.bytes += payload.length;
  if (++b.frames > maxFrames + 1 || b.bytes > maxBytes) throw new H2ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too long');
  return b;
}

/** Decode a complete block; one HPACK cannot decode is a COMPRESSION_ERROR (the tables may differ from now on). */
export function decodeBlock(decoder: HpackDecoder, b: BlockParts): DecodeResult {
  try {
    return decoder.decode(b.parts.length === 1 ? b.parts[0] : Buffer.concat(b.parts, b.bytes));
  } catch (e) {
    if (e instanceof HpackError) throw new H2ConnectionError(H2Error.COMPRESSION_ERROR, e.message);
    throw e;
  }
}
