import { randomFillSync } from 'node:crypto';
import { Reason } from '../../core/reasons.js';

/**
 * What differs between the two ends of a WebSocket, as lws's role ops keep
 * `[client, server]` pairs of callback reasons: the framing code is shared
 * and reads the side's table instead of branching everywhere.
 */
export interface WsSide {
  readonly isServer: boolean;
  readonly established: Reason.ESTABLISHED | Reason.CLIENT_ESTABLISHED;
  readonly receive: Reason.RECEIVE | Reason.CLIENT_RECEIVE;
  readonly receivePong: Reason.RECEIVE_PONG | Reason.CLIENT_RECEIVE_PONG;
  readonly writeable: Reason.SERVER_WRITEABLE | Reason.CLIENT_WRITEABLE;
  readonly closed: Reason.CLOSED | Reason.CLIENT_CLOSED;
}

export const WS_SERVER: WsSide = Object.freeze({
  isServer: true,
  established: Reason.ESTABLISHED,
  receive: Reason.RECEIVE,
  receivePong: Reason.RECEIVE_PONG,
  writeable: Reason.SERVER_WRITEABLE,
  closed: Reason.CLOSED,
});

export const WS_CLIENT: WsSide = Object.freeze({
  isServer: false,
  established: Reason.CLIENT_ESTABLISHED,
  receive: Reason.CLIENT_RECEIVE,
  receivePong: Reason.CLIENT_RECEIVE_PONG,
  writeable: Reason.CLIENT_WRITEABLE,
  closed: Reason.CLIENT_CLOSED,
});

// Mask keys come from a pool refilled in bulk: one CSPRNG call per 1024
// frames rather than one per frame (RFC 6455 5.3 wants them unpredictable).
const pool = Buffer.alloc(4096);
let poolPos = pool.length;

/** A fresh 4-byte masking key for one client frame. */
export function nextMaskKey(): Buffer {
  if (poolPos >= pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const k = Buffer.from(pool.subarray(poolPos, poolPos + 4));
  poolPos += 4;
  return k;
}
