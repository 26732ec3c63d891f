import { ChunkedDecoder } from '../http/chunked.js';
import type { HttpLimits } from '../core/limits.js';
import type { ClientResponse } from './response-head.js';

/**
 * The response body of an HTTP client connection: framing (content-length,
 * chunked or until close) and the bytes held until the user takes them.
 */
export class HttpClientBody {
  #mode: 'length' | 'chunked' | 'close' | 'none';
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #held: Buffer[] = [];
  heldBytes = 0;
  /** The body has ended on the wire. */
  ended = false;
  /** Bytes came after the body's end (the connection cannot be reused). */
  #overrun = false;

  /**
   * Throws on framing it cannot follow. Internal and uncoded: the client
   * catches it and reports CLIENT_CONNECTION_ERROR with the message.
   */
  constructor(r: ClientResponse, method: string, limits: Readonly<HttpLimits>) {
    const te = r.header('transfer-encoding');
    const cl = r.fragments('content-length');
    if (method === 'HEAD' || r.status === 204 || r.status === 304 || r.status < 200) {
      this.#mode = 'none';
      this.ended = true;
    } else if (te !== undefined) {
      if (te.split(',').pop()?.trim().toLowerCase() !== 'chunked') throw new Error(`unsupported transfer-encoding "${te}"`);
      this.#mode = 'chunked';
      // A client may read any size of body: the user reads it at its pace.
      this.#chunked = new ChunkedDecoder({ ...limits, maxBodySize: Number.MAX_SAFE_INTEGER });
    } else if (cl.length > 0) {
      if (!cl.every((v) => v === cl[0]) || !/^\d{1,15}$/.test(cl[0])) throw new Error(`malformed content-length "${cl.join(', ')}"`);
      this.#mode = 'length';
      this.#remaining = Number(cl[0]);
      this.ended = this.#remaining === 0;
    } else {
      this.#mode = 'close';
    }
  }

  /** Bytes read from the socket; anything after the body's end is ignored. Throws on bad framing. */
  feed(buf: Buffer): void {
    if (buf.length === 0) return;
    if (this.ended) {
      this.#overrun = true;
      return;
    }
    if (this.#mode === 'length') {
      const n = Math.min(this.#remaining, buf.length);
      this.#push(buf.subarray(0, n));
      this.#remaining -= n;
      if (this.#remaining === 0) this.ended = true;
      if (n < buf.length) this.#overrun = true;
    } else if (this.#mode === 'chunked') {
      const d = this.#chunked as ChunkedDecoder;
      const used = d.feed(buf, 0, (c) => this.#push(c));
      if (d.done) this.ended = true;
      if (used < buf.length) this.#overrun = true;
    } else {
      this.#push(buf);
    }
  }

  /** The body ended by its own framing, with nothing after it: the connection may carry another request. */
  get reusable(): boolean {
    return this.ended && this.#mode !== 'close' && !this.#overrun;
  }

  /** The peer closed: the end of a close-delimited body, else a truncated one (false). */
  peerEnded(): boolean {
    if (this.ended) return true;
    if (this.#mode === 'close') {
      this.ended = true;
      return true;
    }
    return false;
  }

  #push(b: Buffer): void {
    if (b.length === 0) return;
    // Copy: the socket's buffer may be a view the next read reuses.
    this.#held.push(Buffer.from(b));
    this.heldBytes += b.length;
  }

  /** Take everything held. */
  take(): Buffer {
    const out = this.#held.length === 1 ? this.#held[0] : Buffer.concat(this.#held);
    this.#held = [];
    this.heldBytes = 0;
    return out;
  }
}
