/** The WebSocket calls of a connection (lws's fragment and close calls). */
import { Wsi } from '../../core/wsi.js';
import { extendApi } from '../../core/features.js';
import { roleStateOf } from '../../core/role.js';
import { ErrorCode, rangeError, stateError } from '../../core/errors.js';
import { LWS_PRE } from '../../core/write.js';
import { wsRole } from './role-ws.js';
import type { WsConn } from './conn.js';

declare module '../../core/wsi.js' {
  interface Wsi {
    /** In RECEIVE: is this the last piece of the message? */
    isFinalFragment(): boolean;
    /** In RECEIVE: is this the first piece of the message? */
    isFirstFragment(): boolean;
    /** In RECEIVE: bytes of the current frame still to come after this piece. */
    remainingPacketPayload(): number;
    /** In RECEIVE: is the message binary (not text)? */
    frameIsBinary(): boolean;
    /**
     * Change an option of an extension active on this connection (lws's
     * `lws_set_extension_option`), typically from ESTABLISHED. Returns -1
     * when the extension is not active here, 0 when applied; an unknown
     * option or a bad value throws. permessage-deflate knows `rx_buf_size`,
     * `tx_buf_size` (both as 2^n), `compression_level` and `mem_level`.
     *
     * ```ts
     * wsi.setExtensionOption('permessage-deflate', 'rx_buf_size', '12'); // 4096-byte pieces
     * ```
     */
    setExtensionOption(extension: string, name: string, value: string | number): number;
    /**
     * Set the status and reason of the Close frame sent when this connection
     * closes (return -1 from the callback after calling it). Without it the
     * Close frame carries no status.
     *
     * ```ts
     * wsi.closeReason(1001, 'seeya');
     * return -1;
     * ```
     */
    closeReason(code: number, reason?: string | Uint8Array): void;
    /**
     * `write()` without a copy of the payload (lws's `LWS_PRE` contract).
     * `buf` must have `LWS_PRE` bytes before it in its ArrayBuffer, which
     * the frame header is written into (whatever they held is overwritten);
     * the frame then leaves from that memory. It stays the connection's
     * until `release` is called, exactly once, when the socket is done with
     * it (maybe before `writeLent` returns, when it was copied: a stream of
     * an HTTP/2 connection, permessage-deflate, or nothing could be sent).
     * A client masks the payload in place. Flags and the result are
     * `write()`'s; a misuse throws (NOT_WEBSOCKET off a WebSocket,
     * INVALID_ARGUMENT without the room, WRITE_MISUSE as `write()`) after
     * calling `release`, except for the first two.
     *
     * ```ts
     * const slot = spares.take(data.length); // a SpareBuffers
     * slot.set(data, LWS_PRE);
     * wsi.writeLent(slot.subarray(LWS_PRE, LWS_PRE + data.length), Write.BINARY, () => spares.give(slot));
     * ```
     */
    writeLent(buf: Uint8Array, flags: number, release: () => void): number;
  }
}

/** The WebSocket state of `wsi`, or null when it is not one. */
export function wsOf(wsi: Wsi): WsConn | null {
  return roleStateOf(wsi, wsRole);
}

extendApi(Wsi, {
  isFinalFragment(): boolean {
    return wsOf(this)?.isFinalFragment ?? false;
  },
  isFirstFragment(): boolean {
    return wsOf(this)?.isFirstFragment ?? false;
  },
  remainingPacketPayload(): number {
    return wsOf(this)?.remainingPacketPayload ?? 0;
  },
  frameIsBinary(): boolean {
    return wsOf(this)?.frameIsBinary ?? false;
  },
  setExtensionOption(extension: string, name: string, value: string | number): number {
    return wsOf(this)?.setExtensionOption(extension, name, value) ?? -1;
  },
  closeReason(code: number, reason: string | Uint8Array = ''): void {
    const ws = wsOf(this);
    if (!ws) throw stateError(ErrorCode.NOT_WEBSOCKET, `closeReason: connection ${this.id} is not a WebSocket (role ${this.roleName})`);
    if (!Number.isInteger(code) || code < 1000 || code > 4999 || code === 1005 || code === 1006 || code === 1015)
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `closeReason: ${code} cannot be sent in a Close frame`);
    const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
    if (r.length > 123) throw rangeError(ErrorCode.INVALID_ARGUMENT, 'closeReason: the reason is at most 123 bytes');
    ws.sender.setCloseReason(code, r);
  },
  writeLent(buf: Uint8Array, flags: number, release: () => void): number {
    const ws = wsOf(this);
    if (!ws) throw stateError(ErrorCode.NOT_WEBSOCKET, `writeLent: connection ${this.id} is not a WebSocket (role ${this.roleName})`);
    if (buf.byteOffset < LWS_PRE)
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `writeLent: the payload needs ${LWS_PRE} bytes before it in its buffer (LWS_PRE); it starts at ${buf.byteOffset}`);
    if (this.closed || !this.transport) {
      release();
      return -1;
    }
    return ws.sender.writeLent(buf, flags, release);
  },
});
