/**
 * One HTTP transaction's bookkeeping, whatever the wire: what its start
 * and its finish tell the access log and `tslws:http:request:*`. A wire
 * keeps one `HttpTxn` per exchange and calls `start` when a request head
 * has been read and `finish` exactly where the exchange ends (complete,
 * refused, upgraded, or cut off with its connection).
 */
import { performance } from 'node:perf_hooks';
import type { Wsi } from '../core/wsi.js';
import { channels } from '../core/diagnostics.js';
import { accessLogsInUse, writeAccessLine, type LoggedRequest } from './access-log.js';

const VERSIONS = { 10: '1.0', 11: '1.1', 20: '2' } as const;

/** @internal */
export class HttpTxn {
  /** Between `start` and `finish`. */
  open = false;
  /** Request body bytes received; the wire adds to it. */
  bytesIn = 0;
  #method = '';
  /** The request-target as sent; its path is cut out only for a message. */
  #target = '';
  #version: 10 | 11 | 20 = 11;
  /** `performance.now()` at the start; -1 when nobody listened then (nothing to measure for). */
  #t0 = -1;
  /** The socket's `bytesWritten` at the start; -1 when not noted (a stream, or nobody needs it). */
  #sent0 = -1;

  /** A request head was read on `wsi`, with its request-target as sent. */
  start(wsi: Wsi, method: string, target: string, version: 10 | 11 | 20): void {
    this.open = true;
    this.bytesIn = 0;
    this.#method = method;
    this.#target = target;
    this.#version = version;
    const finish = channels.httpFinish.hasSubscribers;
    this.#t0 = finish ? performance.now() : -1;
    // A connection's socket counts everything it sent: the exchange's
    // bytes are the difference. A stream reports its own count instead.
    const s = wsi.socket;
    this.#sent0 = s && (finish || accessLogsInUse()) ? s.bytesWritten : -1;
    if (channels.httpStart.hasSubscribers) {
      channels.httpStart.publish({ wsi, id: wsi.id, vhost: wsi.vhost.name, method, path: this.#path(), httpVersion: VERSIONS[version] });
    }
  }

  /**
   * The exchange ended with `status`. `bytes`: the response bytes a
   * stream counted itself (undefined: the socket's count). `req` null: no
   * access log line (a request refused before it was understood, or cut
   * off, is not logged). Only the first call after a start does anything.
   */
  finish(wsi: Wsi, req: LoggedRequest | null, status: number, bytes: number | undefined, aborted = false): void {
    if (!this.open) return;
    this.open = false;
    const log = req !== null && !aborted;
    const publish = channels.httpFinish.hasSubscribers;
    if (!log && !publish) return;
    let n = bytes ?? 0;
    if (bytes === undefined && this.#sent0 >= 0) n = Math.max(0, (wsi.socket?.bytesWritten ?? this.#sent0) - this.#sent0);
    if (log) writeAccessLine(wsi, req, status, n);
    if (publish) {
      channels.httpFinish.publish({
        wsi, id: wsi.id, vhost: wsi.vhost.name, protocol: wsi.protocol.name, method: this.#method, path: this.#path(),
        httpVersion: VERSIONS[this.#version], status, bytesIn: this.bytesIn, bytesOut: n,
        durationMs: this.#t0 >= 0 ? performance.now() - this.#t0 : -1, aborted,
      });
    }
  }

  /** The path as sent, without the query. */
  #path(): string {
    const t = this.#target;
    const q = t.indexOf('?');
    return q < 0 ? t : t.slice(0, q);
  }
}
