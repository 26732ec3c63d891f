/**
 * The HTTP calls of a connection: reading the request's (or, on a client,
 * the response's) head, and writing a response. They read the role's
 * state (see `HttpCarrier`), so they work the same on every wire.
 */
import { Wsi } from '../core/wsi.js';
import { extendApi } from '../core/features.js';
import { ErrorCode, stateError } from '../core/errors.js';
import { Token } from './tokens.js';
import { carrierOf, headOf } from './head.js';
import type { HttpExchange } from './exchange.js';

declare module '../core/wsi.js' {
  interface Wsi {
    /** The request method (`GET`, `POST` …), or undefined when no request is held. */
    readonly method: string | undefined;
    /** The decoded, normalised request path, without the query. */
    readonly uri: string | undefined;
    /**
     * A request header as a string, by token or by (case-insensitive) name;
     * repeated headers are joined as lws joins them. Undefined when absent or
     * when the headers have been released (after a WebSocket ESTABLISHED).
     * On a client connection: a response header.
     */
    hdrCopy(header: Token | string): string | undefined;
    /** Length in bytes of `hdrCopy(header)`, 0 when absent. */
    hdrTotalLength(header: Token | string): number;
    /** How many times the header appeared. */
    hdrFragmentCount(header: Token | string): number;
    /** The `index`th occurrence of a repeated header. */
    hdrCopyFragment(header: Token | string, index: number): string | undefined;
    /** Every request header (on a client connection: response header) as `[lower-case name, value]` pairs, in arrival order. */
    hdrList(): ReadonlyArray<readonly [string, string]>;
    /** The `index`th URL argument, decoded, as `name=value` (lws's fragment form). */
    getUrlArg(index: number): string | undefined;
    /**
     * The value of the URL argument `name` (decoded), or undefined. lws's
     * `lws_get_urlarg_by_name(wsi, "name=", …)` spelling with a trailing `=` is
     * accepted too.
     */
    getUrlArgByName(name: string): string | undefined;
    /**
     * Is part of the request body still to arrive? At HTTP it says whether
     * HTTP_BODY pieces and HTTP_BODY_COMPLETION will follow at all: false
     * for a request without a body, where no HTTP_BODY_COMPLETION comes.
     * On HTTP/2 a body need not announce a content-length, so this is the
     * one way to tell. False once the body is complete, once the response
     * is complete (what is left of the body is then dropped), and on a
     * connection with no HTTP exchange open.
     *
     * ```ts
     * case Reason.HTTP:
     *   if (!wsi.requestBodyPending) wsi.callbackOnWritable(); // answer now: no body comes
     *   return 0;
     * ```
     */
    readonly requestBodyPending: boolean;
    /** Start a response with its status. */
    addHttpHeaderStatus(code: number): void;
    /** Add a response header by name; use lower-case names (HTTP/2 requires it). */
    addHttpHeaderByName(name: string, value: string | number): void;
    /** Add a response header by token. */
    addHttpHeaderByToken(token: Token, value: string | number): void;
    /** Add `content-length`. */
    addHttpHeaderContentLength(length: number): void;
    /**
     * Finish the header block and return it, to be sent with
     * `wsi.write(block, Write.HTTP_HEADERS)`. Without a content-length the
     * body is sent chunked (HTTP/1.1) or delimited by closing (HTTP/1.0).
     *
     * ```ts
     * wsi.addHttpHeaderStatus(200);
     * wsi.addHttpHeaderByName('content-type', 'text/plain');
     * wsi.addHttpHeaderContentLength(body.length);
     * wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
     * wsi.write(body, Write.HTTP_FINAL);
     * ```
     */
    finalizeHttpHeader(): Uint8Array;
    /**
     * Answer with `code` and a small HTML page (`html` is placed after the
     * heading), then finish the transaction. Returns non-zero if the
     * connection must close.
     */
    returnHttpStatus(code: number, html?: string): number;
    /** Answer with a redirect to `location` (301, 302, 303, 307 or 308). */
    httpRedirect(code: number, location: string): number;
    /**
     * End the current HTTP transaction: the connection goes back to waiting for
     * the next request (keep-alive) or closes. Returns non-zero when it closes.
     * Writing `Write.HTTP_FINAL`, or the last byte of a declared
     * content-length, ends it by itself; calling this again is harmless.
     */
    httpTransactionCompleted(): number;
  }
}

/** The open exchange of `wsi`, or a clear error naming the call. */
export function exchangeRequired(wsi: Wsi, what: string): HttpExchange {
  const ex = carrierOf(wsi)?.httpExchange;
  if (!ex || wsi.closed)
    throw stateError(ErrorCode.NOT_HTTP, `${what}: connection ${wsi.id} is not an open HTTP connection (role ${wsi.roleName})`);
  return ex;
}

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

extendApi(Wsi, {
  get method(): string | undefined {
    return headOf(this)?.method;
  },
  get uri(): string | undefined {
    return headOf(this)?.path;
  },
  hdrCopy(header: Token | string): string | undefined {
    return headOf(this)?.header(header);
  },
  hdrTotalLength(header: Token | string): number {
    const v = headOf(this)?.header(header);
    return v === undefined ? 0 : Buffer.byteLength(v, 'latin1');
  },
  hdrFragmentCount(header: Token | string): number {
    return headOf(this)?.fragments(header).length ?? 0;
  },
  hdrCopyFragment(header: Token | string, index: number): string | undefined {
    return headOf(this)?.fragments(header)[index];
  },
  hdrList(): ReadonlyArray<readonly [string, string]> {
    return headOf(this)?.headers ?? NO_HEADERS;
  },
  getUrlArg(index: number): string | undefined {
    return headOf(this)?.args?.()[index];
  },
  getUrlArgByName(name: string): string | undefined {
    const n = name.endsWith('=') ? name : name + '=';
    for (const a of headOf(this)?.args?.() ?? []) if (a.startsWith(n)) return a.slice(n.length);
    return undefined;
  },
  get requestBodyPending(): boolean {
    const ex = carrierOf(this)?.httpExchange;
    return !!ex && !this.closed && ex.active && !ex.done && ex.bodyToProtocol && ex.hasRequestBody;
  },
  addHttpHeaderStatus(code: number): void {
    exchangeRequired(this, 'addHttpHeaderStatus').headers.status(code);
  },
  addHttpHeaderByName(name: string, value: string | number): void {
    exchangeRequired(this, 'addHttpHeaderByName').headers.header(name, String(value));
  },
  addHttpHeaderByToken(token: Token, value: string | number): void {
    exchangeRequired(this, 'addHttpHeaderByToken').headers.headerByToken(token, String(value));
  },
  addHttpHeaderContentLength(length: number): void {
    exchangeRequired(this, 'addHttpHeaderContentLength').headers.header('content-length', String(length));
  },
  finalizeHttpHeader(): Uint8Array {
    return exchangeRequired(this, 'finalizeHttpHeader').finalizeHeaders();
  },
  returnHttpStatus(code: number, html?: string): number {
    return exchangeRequired(this, 'returnHttpStatus').returnStatus(code, html);
  },
  httpRedirect(code: number, location: string): number {
    return exchangeRequired(this, 'httpRedirect').redirect(code, location);
  },
  httpTransactionCompleted(): number {
    return exchangeRequired(this, 'httpTransactionCompleted').complete();
  },
});
