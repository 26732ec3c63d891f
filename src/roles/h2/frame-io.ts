import type { Transport } from '../../core/role.js';
import { Flag, H2Error } from './frames.js';
import { H2ConnectionError } from './connection-error.js';

/** Gathered frames up to this size leave as one buffer; larger batches are written as they are (no copy). */
const COALESCE_BYTES = 16 * 1024;

/** Write a batch of gathered frames: a small one as one buffer, a larger one corked (one writev, nothing copied). */
export function writeFrames(t: Transport | null, out: readonly Uint8Array[], n: number): void {
  if (!t || t.destroyed || !out.length) return;
  if (out.length === 1) t.write(out[0]);
  else if (n <= COALESCE_BYTES) t.write(Buffer.concat(out, n));
  else {
    t.cork();
    for (const b of out) t.write(b);
    t.uncork();
  }
}

/** A frame's payload without its padding (RFC 9113 6.1), and without `skip` bytes of priority. */
export function unpad(flags: number, payload: Buffer, skip = 0): Buffer {
  if (!(flags & Flag.PADDED)) return skip ? payload.subarray(skip) : payload;
  if (payload.length < 1) throw new H2ConnectionError(H2Error.FRAME_SIZE_ERROR, 'padded frame without its pad length');
  const pad = payload[0];
  if (pad + 1 + skip > payload.length) throw new H2ConnectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1 + skip, payload.length - pad);
}

/** Take `n` bytes off the front of a stream's queue, each piece handed to `send` as it is (no copy). */
export function takeQueued(q: { out: Buffer[] }, n: number, send: (b: Buffer) => void): void {
  let left = n;
  while (left > 0) {
    const b = q.out[0];
    if (b.length <= left) {
      send(b);
      q.out.shift();
      left -= b.length;
    } else {
      send(b.subarray(0, left));
      q.out[0] = b.subarray(left);
      left = 0;
    }
  }
}
