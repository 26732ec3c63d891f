import type { HttpExchange, ResponsePump } from '../../http/exchange.js';
import { FOP_READ_AGAIN, type FileOps, type FopFd } from '../../fops/fops.js';
import { Reason } from '../../core/reasons.js';
import { log } from '../../core/log.js';

/** At most this many chunks per service turn, so one download cannot starve others. */
const CHUNKS_PER_TURN = 4;

/** HTTP_FILE_COMPLETION, then the exchange completes unless the callback closed. */
export function finishFile(ex: HttpExchange): void {
  if (ex.wsi.callProtocol(Reason.HTTP_FILE_COMPLETION)) return;
  ex.complete();
}

/**
 * Sends `length` bytes of an open file from the writeable path: chunks go
 * out only while the connection is not choked, so memory held per download
 * stays near the high-water mark however slowly the peer reads. A file
 * whose bytes are made as it is read (an inflating zip member) is waited
 * for; a read that fails or ends early cuts the connection, as the length
 * promised cannot be kept.
 */
export class FileSender implements ResponsePump {
  #left: number;
  #closed = false;
  #waiting = false;

  /** `fops` are the ops that opened `fd`: a wrapper sees its reads and close too. */
  constructor(readonly ex: HttpExchange, readonly fops: FileOps, readonly fd: FopFd, length: number) {
    this.#left = length;
  }

  pump(): void {
    if (this.#closed || this.#waiting) return;
    const ex = this.ex;
    const wsi = ex.wsi;
    if (wsi.closed) return;
    const chunk = ex.limits.fileChunkSize;
    let turns = 0;
    while (this.#left > 0 && !wsi.sendPipeChoked() && turns++ < CHUNKS_PER_TURN) {
      const buf = Buffer.allocUnsafe(Math.min(chunk, this.#left));
      let n: number;
      try {
        n = this.fops.read(this.fd, buf);
      } catch (e) {
        log.err('wsi %d: file read threw: %s', wsi.id, (e as Error).message);
        n = -1;
      }
      if (n === FOP_READ_AGAIN && this.fd.waitReadable) {
        this.#waiting = true;
        this.fd.waitReadable(() => {
          this.#waiting = false;
          if (!this.#closed) this.pump();
        });
        ex.armTimeout();
        return;
      }
      if (n <= 0) {
        log.err('wsi %d: file %s with %d bytes left', wsi.id, n === 0 ? 'ended' : 'read failed', this.#left);
        this.close();
        wsi.close(false);
        return;
      }
      this.#left -= n;
      if (ex.writeBody(n === buf.length ? buf : buf.subarray(0, n)) < 0) {
        this.close();
        return;
      }
    }
    ex.armTimeout();
    if (this.#left > 0) {
      // Choked: the drain brings us back. Otherwise yield to other connections.
      if (!wsi.sendPipeChoked()) wsi.context.scheduleWritable(wsi);
      return;
    }
    this.close();
    if (ex.producer === this) ex.producer = null;
    finishFile(ex);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.fops.close(this.fd);
    } catch (e) {
      log.err('fops close threw: %s', (e as Error).message);
    }
  }
}
