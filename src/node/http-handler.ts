/**
 * HTTP requests answered by an async function, `(req, res) => …`, built
 * only on the public callback API: the request body comes from HTTP_BODY
 * and HTTP_BODY_COMPLETION with rx flow control for backpressure, and the
 * response is written only from HTTP_WRITEABLE, in order, while the
 * connection is not choked. The same protocol serves a CALLBACK mount, a
 * vhost's HTTP (protocols[0]), HTTP/1.x and HTTP/2 streams alike.
 */
import { STATUS_CODES } from 'node:http';
import type { Wsi } from '../core/wsi.js';
import type { CallbackArgs, Protocol } from '../core/protocols.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { log } from '../core/log.js';
import { Token } from '../http/tokens.js';
import { ErrorCode, coded, rangeError, stateError, typeError, type TslwsError } from '../core/errors.js';
import { urlQuery } from './url-query.js';

/** Settings of `httpHandler`. */
export interface HttpHandlerOptions {
  /** The protocol's name, which a CALLBACK mount's `origin` names. Default `tslws-http`. */
  name?: string;
  /**
   * Largest body `req.text()`, `req.json()` and `req.bytes()` gather; past
   * it they reject with a `RequestBodyError` of status 413 (answered as such
   * when the handler lets it through). Reading `req.body` piece by piece is
   * not bounded by it. Default 1 MiB.
   */
  maxBodySize?: number;
  /**
   * Request body bytes read from the connection and not yet taken by the
   * handler before reading stops (rx flow control); it resumes when half
   * are taken. Default 64 KiB.
   */
  bodyHighWaterMark?: number;
  /**
   * Response bytes queued before the promise of `res.write()` waits for
   * the connection to take them. Default 64 KiB.
   */
  writeHighWaterMark?: number;
  /**
   * Response bytes that may be queued at all: a `res.write()` that would
   * pass it while bytes are still queued throws (`TSLWS_WRITE_MISUSE`), as
   * the handler is not waiting for its writes. A single write of any size
   * is taken when nothing is queued. Default 16 MiB.
   */
  maxBufferedAmount?: number;
}

/** @internal Options with every default applied. */
interface Resolved {
  name: string;
  maxBodySize: number;
  bodyHighWaterMark: number;
  writeHighWaterMark: number;
  maxBufferedAmount: number;
}

/** The function that answers each request; the response is ended for it when its promise resolves. */
export type HttpHandler = (req: HttpHandlerRequest, res: HttpHandlerResponse) => void | Promise<void>;

/**
 * A request body that could not be taken whole: too large for
 * `maxBodySize` (status 413, code `TSLWS_BODY_TOO_LARGE`) or not JSON
 * (status 400, code `TSLWS_BODY_MALFORMED`). A handler that lets it through
 * gets its status answered rather than 500.
 */
export class RequestBodyError extends Error implements TslwsError {
  declare readonly code: typeof ErrorCode.BODY_TOO_LARGE | typeof ErrorCode.BODY_MALFORMED;
  /** The HTTP status that answers it: 413 too large, 400 malformed. */
  readonly status: 400 | 413;

  /** @internal Made by `req.text()`, `req.json()` and `req.bytes()`. */
  constructor(status: 400 | 413, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestBodyError';
    this.status = status;
    if (status === 413) coded(this, ErrorCode.BODY_TOO_LARGE);
    else coded(this, ErrorCode.BODY_MALFORMED);
  }
}

const DEFAULT_NAME = 'tslws-http';
const KiB = 1024;
const MiB = 1024 * KiB;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;
const EMPTY = Buffer.alloc(0);

function positiveInt(where: string, name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isSafeInteger(v) || v < 1) throw rangeError(ErrorCode.INVALID_OPTION, `${where}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function resolveOptions(o: HttpHandlerOptions): Resolved {
  const where = 'httpHandler';
  if (o === null || typeof o !== 'object') throw typeError(ErrorCode.INVALID_OPTION, `${where}: options must be an object`);
  const name = o.name ?? DEFAULT_NAME;
  if (typeof name !== 'string' || name === '') throw typeError(ErrorCode.INVALID_OPTION, `${where}: name must be a non-empty string`);
  return {
    name,
    maxBodySize: positiveInt(where, 'maxBodySize', o.maxBodySize, MiB),
    bodyHighWaterMark: positiveInt(where, 'bodyHighWaterMark', o.bodyHighWaterMark, 64 * KiB),
    writeHighWaterMark: positiveInt(where, 'writeHighWaterMark', o.writeHighWaterMark, 64 * KiB),
    maxBufferedAmount: positiveInt(where, 'maxBufferedAmount', o.maxBufferedAmount, 16 * MiB),
  };
}

/** A promise whose rejection nobody has to handle: a handler that does not await its writes must not crash the process. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function closedError(what: string): Error & TslwsError {
  return stateError(ErrorCode.CLOSED, `${what}: the connection closed before the response was complete`);
}

/** Statuses whose responses carry no body, hence no content-length of ours. */
function statusHasNoBody(code: number): boolean {
  return code === 204 || code === 304;
}

/** @internal A promise's settling functions, kept until it settles. */
interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

/**
 * @internal One request and its response on one connection (an HTTP/2
 * stream, or an HTTP/1 connection for one of its requests): what the
 * callbacks deliver, what the handler asks for, and the writing from
 * HTTP_WRITEABLE.
 */
class Exchange {
  readonly wsi: Wsi;
  readonly o: Resolved;
  readonly abort = new AbortController();
  readonly method: string;
  readonly path: string;
  /** The response is complete (its last byte handed to the connection), or the connection closed. */
  over = false;
  /** The response is complete. */
  completed = false;
  closed = false;

  // the request body
  bodyQueue: Buffer[] = [];
  bodyQueued = 0;
  bodyEnded: boolean;
  bodyError: Error | null = null;
  bodyWaiter: Waiter<IteratorResult<Buffer>> | null = null;
  bodyUsed = false;
  rxPaused = false;

  // the response
  status = 200;
  readonly headers = new Map<string, string[]>();
  /** Headers are fixed: the first write() or end() was called. */
  committed = false;
  headWritten = false;
  ended = false;
  out: Buffer[] = [];
  outQueued = 0;
  /** Body bytes given to write() and end(). */
  bodyBytes = 0;
  /** Body bytes handed to the connection. */
  written = 0;
  /** The content-length the head carries, -1 for none (chunked on HTTP/1.1, DATA until END_STREAM on HTTP/2). */
  length = -1;
  /** The content-length the handler set, -1 for none. */
  explicitLength = -1;
  drainWaiters: Waiter<void>[] = [];
  endWaiters: Waiter<void>[] = [];

  constructor(wsi: Wsi, o: Resolved) {
    this.wsi = wsi;
    this.o = o;
    this.method = wsi.method ?? 'GET';
    this.path = wsi.uri ?? '/';
    this.bodyEnded = !wsi.requestBodyPending;
  }

  // ---- the request body ----

  onBody(piece: Buffer): void {
    if (this.over || this.bodyEnded) return;
    // The callback's input is a view of what was read: copy what is kept past it.
    const b = Buffer.from(piece);
    const w = this.bodyWaiter;
    if (w && this.bodyQueue.length === 0) {
      this.bodyWaiter = null;
      w.resolve({ value: b, done: false });
      return;
    }
    this.bodyQueue.push(b);
    this.bodyQueued += b.length;
    if (!this.rxPaused && this.bodyQueued >= this.o.bodyHighWaterMark) {
      this.rxPaused = true;
      this.wsi.rxFlowControl(false);
    }
  }

  onBodyComplete(): void {
    if (this.bodyEnded) return;
    this.bodyEnded = true;
    const w = this.bodyWaiter;
    if (w && this.bodyQueue.length === 0) {
      this.bodyWaiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  #failBody(e: Error): void {
    if (this.bodyEnded && this.bodyQueue.length === 0) return;
    this.bodyError = e;
    this.bodyQueue = [];
    this.bodyQueued = 0;
    const w = this.bodyWaiter;
    this.bodyWaiter = null;
    w?.reject(e);
  }

  nextPiece(): Promise<IteratorResult<Buffer>> {
    const b = this.bodyQueue.shift();
    if (b) {
      this.bodyQueued -= b.length;
      if (this.rxPaused && this.bodyQueued <= this.o.bodyHighWaterMark >> 1 && !this.closed) {
        this.rxPaused = false;
        this.wsi.rxFlowControl(true);
      }
      return Promise.resolve({ value: b, done: false });
    }
    if (this.bodyError) return Promise.reject(this.bodyError);
    if (this.bodyEnded) return Promise.resolve({ value: undefined, done: true });
    if (this.bodyWaiter) return Promise.reject(stateError(ErrorCode.BODY_USED, 'req.body: next() called again before the last one settled'));
    return new Promise((resolve, reject) => {
      this.bodyWaiter = { resolve, reject };
    });
  }

  // ---- the response ----

  /** Queue body bytes; the promise waits while more than the high-water mark is queued. */
  queue(buf: Buffer, end: boolean, what: string): Promise<void> {
    if (this.ended) throw stateError(ErrorCode.WRITE_MISUSE, `${what}: the response was already ended`);
    if (this.explicitLength >= 0 && this.bodyBytes + buf.length > this.explicitLength)
      throw rangeError(ErrorCode.WRITE_MISUSE, `${what}: ${buf.length} more bytes pass the content-length ${this.explicitLength} (${this.bodyBytes} given already)`);
    if (this.outQueued > 0 && this.outQueued + buf.length > this.o.maxBufferedAmount)
      throw rangeError(ErrorCode.WRITE_MISUSE, `${what}: ${this.outQueued} bytes are still queued and this write would pass maxBufferedAmount (${this.o.maxBufferedAmount}); await res.write() before writing more`);
    this.committed = true;
    if (end) this.ended = true;
    // Complete already (its content-length reached): nothing is left to send, whatever closed since.
    if (this.completed) return Promise.resolve();
    if (this.closed) return quiet(Promise.reject(closedError(what)));
    if (buf.length) {
      this.out.push(buf);
      this.outQueued += buf.length;
      this.bodyBytes += buf.length;
    }
    this.wsi.callbackOnWritable();
    if (end) return quiet(new Promise((resolve, reject) => this.endWaiters.push({ resolve, reject })));
    if (this.outQueued <= this.o.writeHighWaterMark) return Promise.resolve();
    return quiet(new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject })));
  }

  /** HTTP_WRITEABLE: the head if it is due, then queued bytes while the connection takes them. */
  writeable(): number {
    if (this.over || !this.committed) return 0;
    const wsi = this.wsi;
    if (!this.headWritten) {
      wsi.addHttpHeaderStatus(this.status);
      for (const [name, values] of this.headers) for (const v of values) wsi.addHttpHeaderByName(name, v);
      if (this.explicitLength >= 0) this.length = this.explicitLength;
      else if (this.ended && !statusHasNoBody(this.status)) {
        // The whole body is known: say how long it is rather than chunk it.
        this.length = this.bodyBytes;
        wsi.addHttpHeaderContentLength(this.length);
      }
      this.headWritten = true;
      if (wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS) < 0) return this.#lost();
    }
    while (this.out.length > 0 && !wsi.sendPipeChoked()) {
      const b = this.out.shift() as Buffer;
      this.outQueued -= b.length;
      // The connection completes the response by itself at its content-length's last byte.
      const complete = (this.ended && this.out.length === 0) || (this.length >= 0 && this.written + b.length === this.length);
      this.written += b.length;
      // Settled first: completing the response may close the connection inside this write.
      if (complete) this.#finished();
      if (wsi.write(b, complete ? Write.HTTP_FINAL : Write.HTTP) < 0) return this.#lost();
      if (complete) return 0;
    }
    if (this.outQueued <= this.o.writeHighWaterMark) this.#settle(this.drainWaiters, null);
    if (this.out.length > 0) {
      wsi.callbackOnWritable();
      return 0;
    }
    if (this.ended) {
      // Ended with nothing left to send (an empty body, or end() after the writes).
      this.#finished();
      if (wsi.write(EMPTY, Write.HTTP_FINAL) < 0) return this.#lost();
    }
    return 0;
  }

  /** The connection refused a write (it is closing): nothing more can be sent. */
  #lost(): number {
    if (this.over) return 0; // the response had all been handed over
    this.connectionClosed();
    return -1;
  }

  #settle(list: Waiter<void>[], e: Error | null): void {
    const ws = list.splice(0);
    for (const w of ws) {
      if (e) w.reject(e);
      else w.resolve();
    }
  }

  /** The last byte is handed to the connection: the exchange is over. */
  #finished(): void {
    this.over = true;
    this.completed = true;
    this.#settle(this.drainWaiters, null);
    this.#settle(this.endWaiters, null);
    // What is left of the body is the library's to drop now; reading must go on for it to.
    this.#failBody(stateError(ErrorCode.CLOSED, 'req.body: the response is complete; the rest of the request body was dropped'));
    if (this.rxPaused) {
      this.rxPaused = false;
      this.wsi.rxFlowControl(true);
    }
  }

  /** CLOSED_HTTP (or the protocol dropped): fail whatever still waits. */
  connectionClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const wasOver = this.over;
    this.over = true;
    this.out = [];
    this.outQueued = 0;
    const e = closedError(`${this.method} ${this.path}`);
    this.#failBody(e);
    this.#settle(this.drainWaiters, e);
    this.#settle(this.endWaiters, e);
    if (!wasOver) this.abort.abort(e);
  }

  /** The handler threw or rejected: an error status if nothing is on the wire yet, else the connection is cut. */
  handlerFailed(e: unknown): void {
    if (this.completed) {
      log.err('%s %s: the handler threw after its response was complete: %s', this.method, this.path, describe(e));
      return;
    }
    if (this.closed) {
      log.info('%s %s: the handler ended after its connection closed: %s', this.method, this.path, describe(e));
      return;
    }
    if (this.headWritten) {
      log.err('%s %s: the handler threw after the response head was sent; the connection is cut: %s', this.method, this.path, describe(e));
      this.wsi.close(false);
      return;
    }
    const status = e instanceof RequestBodyError ? e.status : 500;
    if (status === 500) log.err('%s %s: the handler threw: %s', this.method, this.path, describe(e));
    else log.info('%s %s: %d: %s', this.method, this.path, status, (e as Error).message);
    // Nothing reached the wire: whatever the handler had prepared is replaced.
    this.#settle(this.drainWaiters, closedError(`${this.method} ${this.path}`));
    this.out = [];
    this.outQueued = 0;
    this.bodyBytes = 0;
    this.explicitLength = -1;
    this.headers.clear();
    this.status = status;
    this.headers.set('content-type', ['text/plain; charset=utf-8']);
    // A body still coming is not worth reading after a refusal (it may be the reason for it).
    if (!this.bodyEnded) this.headers.set('connection', ['close']);
    this.ended = false;
    void this.queue(Buffer.from(`${status} ${STATUS_CODES[status] ?? ''}\n`), true, 'handler');
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.stack ?? e.message : String(e);
}

function toBuffer(chunk: string | Uint8Array, what: string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw typeError(ErrorCode.INVALID_ARGUMENT, `${what}: a chunk must be a string or a Uint8Array`);
}

/**
 * The request a handler answers: its head, read when it arrived, and its
 * body, read as the handler asks for it.
 */
export class HttpHandlerRequest {
  readonly #ex: Exchange;
  /** The method (`GET`, `POST` …). */
  readonly method: string;
  /** The decoded, normalised path, without the query. */
  readonly path: string;
  /**
   * The path below the CALLBACK mount's mountpoint (`/api/users` under
   * `/api` → `/users`, the mountpoint itself → `''`), as lws passes it to
   * HTTP; the whole path when the handler is the vhost's HTTP protocol.
   */
  readonly subpath: string;
  /** The query arguments, decoded. */
  readonly query: URLSearchParams;
  /** Every header by lower-case name; repeats joined with `, ` (`; ` for cookie). On HTTP/2, `host` is `:authority`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Every header as `[lower-case name, value]`, in arrival order. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  /** `'1.0'`, `'1.1'` or `'2'`. */
  readonly httpVersion: '1.0' | '1.1' | '2';
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The connection (on HTTP/2, the stream) underneath, for what this layer does not cover. */
  readonly wsi: Wsi;

  /** @internal Made for each request by the protocol `httpHandler` returns. */
  constructor(ex: Exchange, subpath: string) {
    const wsi = ex.wsi;
    this.#ex = ex;
    this.wsi = wsi;
    this.method = ex.method;
    this.path = ex.path;
    this.subpath = subpath;
    const query = urlQuery(wsi);
    this.query = query;
    // The header list is the connection's until the exchange ends: keep a copy.
    this.rawHeaders = wsi.hdrList().map(([n, v]) => [n, v] as const);
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [n, v] of this.rawHeaders) headers[n] = n in headers ? headers[n] + (n === 'cookie' ? '; ' : ', ') + v : v;
    this.headers = headers;
    this.httpVersion = wsi.roleName === 'h2-stream' ? '2' : wsi.hdrCopy(Token.HTTP1_0) !== undefined ? '1.0' : '1.1';
    this.peerAddress = wsi.peerAddress;
    this.peerPort = wsi.peerPort;
  }

  /** Aborted (reason code `TSLWS_CLOSED`) if the connection closes before the response is complete. */
  get signal(): AbortSignal {
    return this.#ex.abort.signal;
  }

  /**
   * The body, piece by piece as it arrives (Buffers). Reading stops while
   * `bodyHighWaterMark` bytes wait to be taken, so a slow handler slows the
   * client down rather than filling memory. It can be read once; it rejects
   * with `TSLWS_CLOSED` if the connection closes before the body is complete.
   *
   * ```ts
   * for await (const piece of req.body) hash.update(piece);
   * ```
   */
  get body(): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.#iterator('req.body') };
  }

  #iterator(what: string): AsyncIterator<Buffer> {
    const ex = this.#ex;
    if (ex.bodyUsed) throw stateError(ErrorCode.BODY_USED, `${what}: the request body was already read`);
    ex.bodyUsed = true;
    return {
      next: () => ex.nextPiece(),
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /**
   * The whole body as one Buffer, at most `maxBodySize` bytes (else a
   * `RequestBodyError` with status 413, at once when the content-length
   * says so).
   *
   * ```ts
   * const bytes = await req.bytes();
   * ```
   */
  async bytes(): Promise<Buffer> {
    const max = this.#ex.o.maxBodySize;
    const tooLarge = (): RequestBodyError =>
      new RequestBodyError(413, `the request body is larger than maxBodySize (${max} bytes)`);
    const it = this.#iterator('req.bytes');
    const cl = this.headers['content-length'];
    if (cl !== undefined && Number(cl) > max) throw tooLarge();
    const parts: Buffer[] = [];
    let n = 0;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      n += r.value.length;
      if (n > max) throw tooLarge();
      parts.push(r.value);
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /**
   * The whole body decoded as UTF-8, bounded as `bytes()`.
   *
   * ```ts
   * const text = await req.text();
   * ```
   */
  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  /**
   * The whole body parsed as JSON, bounded as `bytes()`; a body that is not
   * JSON rejects with a `RequestBodyError` of status 400.
   *
   * ```ts
   * const { name } = await req.json<{ name: string }>();
   * ```
   */
  async json<T = unknown>(): Promise<T> {
    const text = await this.text();
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new RequestBodyError(400, `the request body is not JSON: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * The response a handler writes. Nothing is sent from the handler itself:
 * each call queues, and the bytes go from HTTP_WRITEABLE while the
 * connection can take them. The head goes with the first write; with
 * `end()` before any write the whole body is known and carries a
 * content-length, otherwise the body is chunked (HTTP/1.1) or sent as DATA
 * until the end (HTTP/2).
 */
export class HttpHandlerResponse {
  readonly #ex: Exchange;

  /** @internal Made for each request by the protocol `httpHandler` returns. */
  constructor(ex: Exchange) {
    this.#ex = ex;
  }

  /** The status that is (or will be) sent; 200 unless set. */
  get statusCode(): number {
    return this.#ex.status;
  }

  /** The head is fixed: `write()` or `end()` was called. Headers and status can no longer change. */
  get headersSent(): boolean {
    return this.#ex.committed;
  }

  /** `end()` was called. */
  get ended(): boolean {
    return this.#ex.ended;
  }

  /** The last byte has been handed to the connection, or the connection closed. */
  get finished(): boolean {
    return this.#ex.over;
  }

  /** Body bytes queued and not yet handed to the connection. */
  get bufferedAmount(): number {
    return this.#ex.outQueued;
  }

  #open(what: string): void {
    if (this.#ex.committed) throw stateError(ErrorCode.RESPONSE_ORDER, `${what}: the response head was already sent (write() or end() was called)`);
  }

  /**
   * Set the status (200…599) before the head is sent.
   *
   * ```ts
   * res.status(201).json({ id });
   * ```
   */
  status(code: number): this {
    this.#open('res.status');
    if (!Number.isInteger(code) || code < 200 || code > 599) throw rangeError(ErrorCode.INVALID_ARGUMENT, `res.status: status must be an integer 200..599, got ${String(code)}`);
    this.#ex.status = code;
    return this;
  }

  /**
   * Set a header before the head is sent (the name is lower-cased; a list
   * sends the header once per value). `content-length` makes the body
   * exactly that long; `transfer-encoding` is the library's.
   *
   * ```ts
   * res.setHeader('content-type', 'text/plain').setHeader('set-cookie', ['a=1', 'b=2']);
   * ```
   */
  setHeader(name: string, value: string | number | readonly string[]): this {
    this.#open('res.setHeader');
    if (typeof name !== 'string' || !TOKEN.test(name)) throw typeError(ErrorCode.INVALID_HEADER, `res.setHeader: invalid header name ${JSON.stringify(name)}`);
    const lower = name.toLowerCase();
    const values = (Array.isArray(value) ? value : [value]).map(String);
    for (const v of values) if (BAD_VALUE.test(v)) throw typeError(ErrorCode.INVALID_HEADER, `res.setHeader: ${lower}: value must not contain CR, LF or NUL`);
    if (lower === 'transfer-encoding') throw typeError(ErrorCode.INVALID_HEADER, 'res.setHeader: transfer-encoding is set by the library (chunked when the length is not known)');
    if (lower === 'content-length') {
      if (values.length !== 1 || !/^\d{1,15}$/.test(values[0] as string)) throw typeError(ErrorCode.INVALID_HEADER, `res.setHeader: content-length must be one decimal number, got ${JSON.stringify(value)}`);
      this.#ex.explicitLength = Number(values[0]);
    }
    this.#ex.headers.set(lower, values);
    return this;
  }

  /** A header set so far (a list when set as one), or undefined. */
  getHeader(name: string): string | readonly string[] | undefined {
    const v = this.#ex.headers.get(String(name).toLowerCase());
    return v === undefined ? undefined : v.length === 1 ? v[0] : [...v];
  }

  /** Remove a header before the head is sent. */
  removeHeader(name: string): this {
    this.#open('res.removeHeader');
    const lower = String(name).toLowerCase();
    if (lower === 'content-length') this.#ex.explicitLength = -1;
    this.#ex.headers.delete(lower);
    return this;
  }

  /**
   * Queue body bytes (a string as UTF-8). The promise resolves at once
   * while at most `writeHighWaterMark` bytes are queued, else when the
   * connection has taken enough of them; it rejects (`TSLWS_CLOSED`) if the
   * connection closes first. Await it, and memory stays bounded however
   * slow the client. Throws after `end()`.
   *
   * ```ts
   * for (const chunk of chunks) await res.write(chunk);
   * await res.end();
   * ```
   */
  write(chunk: string | Uint8Array): Promise<void> {
    return this.#ex.queue(toBuffer(chunk, 'res.write'), false, 'res.write');
  }

  /**
   * End the response, with last bytes if given. The promise resolves when
   * the last byte is handed to the connection, and rejects (`TSLWS_CLOSED`)
   * if it closes first. Throws if already ended.
   *
   * ```ts
   * res.setHeader('content-type', 'text/plain');
   * await res.end('hello\n');
   * ```
   */
  end(chunk?: string | Uint8Array): Promise<void> {
    return this.#ex.queue(chunk === undefined ? EMPTY : toBuffer(chunk, 'res.end'), true, 'res.end');
  }

  /**
   * End the response with `value` as JSON (`content-type:
   * application/json; charset=utf-8` unless one is set), with `status` if
   * given.
   *
   * ```ts
   * await res.json({ ok: true }, 201);
   * ```
   */
  json(value: unknown, status?: number): Promise<void> {
    if (status !== undefined) this.status(status);
    else this.#open('res.json');
    const text = JSON.stringify(value);
    if (text === undefined) throw typeError(ErrorCode.INVALID_ARGUMENT, 'res.json: the value has no JSON form');
    if (!this.#ex.headers.has('content-type')) this.setHeader('content-type', 'application/json; charset=utf-8');
    return this.end(text);
  }
}

/** @internal A connection's session: the exchange under way. */
interface Session {
  current: Exchange | null;
}

/**
 * A protocol that answers HTTP requests with `handler`, for a CALLBACK
 * mount (the mount's `origin` names the protocol) or as a vhost's HTTP
 * protocol (protocols[0]), over HTTP/1.x and HTTP/2. The handler may be
 * async; when it resolves the response is ended for it, when it throws
 * the client gets 500 (or the connection is cut if the head was sent).
 *
 * ```ts
 * const api = httpHandler(async (req, res) => {
 *   if (req.method === 'POST') return void res.json(await req.json(), 201);
 *   await res.json({ path: req.subpath, q: req.query.get('q') });
 * }, { name: 'api' });
 * createContext({ port: 7681, protocols: [{ name: 'http', callback: callbackHttpDummy }, api],
 *   mounts: [{ mountpoint: '/api', origin: 'api', originProtocol: Mount.CALLBACK }] });
 * ```
 */
export function httpHandler(handler: HttpHandler, options: HttpHandlerOptions = {}): Protocol {
  if (typeof handler !== 'function') throw typeError(ErrorCode.INVALID_ARGUMENT, 'httpHandler: handler must be a function (req, res) => …');
  const o = resolveOptions(options);
  const start = (wsi: Wsi, user: Session, subpath: string): void => {
    // A connection's earlier exchange is over by now (HTTP/1 answers in order); be sure it lets go.
    user.current?.connectionClosed();
    const ex = new Exchange(wsi, o);
    user.current = ex;
    const req = new HttpHandlerRequest(ex, subpath);
    const res = new HttpHandlerResponse(ex);
    // The handler runs after this callback returns, as application code outside the callbacks.
    Promise.resolve()
      .then(() => handler(req, res))
      .then(
        () => {
          if (!ex.ended && !ex.over) void res.end();
        },
        (e: unknown) => ex.handlerFailed(e),
      );
  };
  const protocol: Protocol<Session> = {
    name: o.name,
    createSessionData: () => ({ current: null }),
    callback: (...[wsi, reason, user, input]: CallbackArgs<Session>): number => {
      switch (reason) {
        case Reason.HTTP:
          start(wsi, user, input);
          return 0;
        case Reason.HTTP_BODY:
          user.current?.onBody(input);
          return 0;
        case Reason.HTTP_BODY_COMPLETION:
          user.current?.onBodyComplete();
          return 0;
        case Reason.HTTP_WRITEABLE:
          return user.current ? user.current.writeable() : 0;
        case Reason.CLOSED_HTTP:
        case Reason.HTTP_DROP_PROTOCOL:
          user?.current?.connectionClosed();
          if (user) user.current = null;
          return 0;
        default:
          return 0;
      }
    },
  };
  return protocol;
}
