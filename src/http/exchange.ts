import type { Wsi } from '../core/wsi.js';
import type { HttpLimits } from '../core/limits.js';
import type { HttpRequest } from './request.js';
import type { ResponseHeaders } from './response.js';

/**
 * Something the library runs for a response on the writeable path (a file
 * being sent, a CGI program, a proxied answer): pumped when the connection
 * can take more, closed when the exchange or the connection ends.
 */
export interface ResponsePump {
  pump(): void;
  close(): void;
}

/** Where a request body goes when the library, not a protocol, consumes it. */
export interface BodySink {
  piece(buf: Buffer): void;
  complete(): void;
}

/**
 * A whole small response a wire may keep the bytes of, to send again
 * while nothing in them changes (the owner resets it when its content
 * changes: `resp = null`). The other fields are the wire's: what the
 * kept bytes were made for (status, `date:` value, `connection:` line,
 * the vhost's own lines, HTTP version).
 */
export interface ResponseMemo {
  resp: Buffer | null;
  body: Buffer | null;
  status: number;
  date: string;
  connLine: string;
  extra: string;
  v10: boolean;
}

/**
 * One HTTP request and its response, whatever the wire: HTTP/1.1 now, an
 * HTTP/2 stream next. Routing and every responder (files, CGI, proxy,
 * redirects, status pages, the user's header calls) speak only to this;
 * the role behind it does the framing, keep-alive and flow control.
 *
 * Header lines handed to `respond` are lower-case `name: value\r\n`
 * lines; a wire that does not speak text (HTTP/2) splits them.
 */
export interface HttpExchange {
  /** The connection (or, on HTTP/2, the stream) the exchange is on. */
  readonly wsi: Wsi;
  /** A request is being answered (false between the requests of a connection). */
  readonly active: boolean;
  /** The request: method, path, query, headers (only while `active`). */
  readonly req: HttpRequest;
  /** The request's path as sent (still percent-encoded, not normalised), without the query. */
  readonly rawPath: string;
  readonly isHead: boolean;
  /** Is part of the request body still to arrive? */
  readonly hasRequestBody: boolean;
  /** Does the request ask to become a WebSocket? */
  readonly wantsWebSocket: boolean;
  readonly limits: Readonly<HttpLimits>;
  /** The local port the request came in on (CGI's SERVER_PORT). */
  readonly localPort: number;

  // ---- the request body ----

  /** The request body goes to the protocol as HTTP_BODY and HTTP_BODY_COMPLETION. */
  bodyToProtocol: boolean;
  /** A library consumer of the request body (CGI's stdin, the proxy's upload). */
  bodySink: BodySink | null;
  /**
   * The connection is bound to a CALLBACK mount's protocol: kept across
   * the exchanges of one connection, dropped when one falls outside it.
   */
  boundToMount: boolean;

  // ---- the response ----

  /** The head user code builds with `wsi.addHttpHeader*`. */
  readonly headers: ResponseHeaders;
  readonly headersSent: boolean;
  /** The response is complete (or the exchange over). */
  readonly done: boolean;
  /** The library's producer of the response body, run on the writeable path. */
  producer: ResponsePump | null;
  /** The status of the response, for logs. */
  readonly status: number;

  /** Send a library-made head: body of `contentLength` bytes to follow (-1: unknown). */
  respond(status: number, lines: string, contentLength: number): void;
  /**
   * Send a whole small response at once (head and body; no body for HEAD
   * or when `body` is absent). `memo` lets the wire keep and resend its
   * bytes. The exchange is not completed: call `complete()` after.
   */
  respondWhole(status: number, lines: string, body?: Uint8Array, memo?: ResponseMemo): void;
  /**
   * Body bytes the library produced (a file's). They never complete the
   * exchange by themselves, even at the declared length: the producer
   * calls `complete()`. -1 when the connection cannot send (it is closed).
   */
  writeBody(buf: Uint8Array): number;
  /** Render the head built with `headers`, for `write(…, Write.HTTP_HEADERS)`. */
  finalizeHeaders(): Uint8Array;
  /** `wsi.write()` on this exchange: headers or body by `flags`. */
  write(buf: Uint8Array, flags: number): number;
  /** The response is done: the connection goes on to the next request, or closes. Non-zero when it closes. */
  complete(): number;
  /** Answer `code` with a small HTML page and complete. */
  returnStatus(code: number, html?: string): number;
  /** Answer with a redirect and complete. */
  redirect(code: number, location: string): number;
  /** Refuse the request with `status` (extra header lines allowed) and close the connection. */
  fail(status: number, why: string, extraHeaders?: string): void;
  /**
   * What the library was producing failed: answer `status` and close when
   * nothing was sent yet, else cut the connection (all that can tell the
   * client the response is incomplete).
   */
  abandon(status: number): void;
  /** (Re)start the wait for progress (HTTP_CONTENT). */
  armTimeout(): void;

  // ---- leaving HTTP ----

  /** Become a WebSocket, or refuse with the status the handshake rules give. */
  acceptWebSocket(): void;
  /**
   * Hand the connection to a byte tunnel after an upstream's `101`
   * (`head101` is sent to the client first): false when this wire cannot
   * (a stream inside a connection).
   */
  tunnel(head101: string, upstream: import('node:net').Socket, upstreamHead: Buffer): boolean;
}
