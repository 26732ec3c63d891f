/**
 * Callback reasons, named and numbered as libwebsockets v2.4 numbers them so
 * that code ported from C keeps its switch statements.
 *
 * Each member says when it comes, what `input` is (typed per reason by
 * `ReasonInput`, so `switch (reason)` narrows it) and what a non-zero
 * return does. Unless a member says otherwise, `user` is the session data
 * of the protocol the connection is bound to, and a non-zero return closes
 * the connection (on HTTP/2, the stream). A callback that throws is
 * logged and counts as returning -1.
 *
 * Typical orders: a server HTTP connection gets FILTER_NETWORK_CONNECTION,
 * WSI_CREATE, SERVER_NEW_CLIENT_INSTANTIATED, then per request
 * FILTER_HTTP_CONNECTION, HTTP, HTTP_BODY…, HTTP_BODY_COMPLETION,
 * HTTP_WRITEABLE…, and at the end CLOSED_HTTP and WSI_DESTROY. A WebSocket
 * upgrade goes from the connection's start to FILTER_PROTOCOL_CONNECTION,
 * CONFIRM_EXTENSION_OKAY, ESTABLISHED, RECEIVE / SERVER_WRITEABLE…, CLOSED,
 * WSI_DESTROY. A client gets WSI_CREATE, then CLIENT_CONNECTION_ERROR and
 * nothing else if it fails.
 */
export enum Reason {
  /**
   * Server WebSocket: the handshake is done (101 sent); the connection is
   * now bound to the protocol the upgrade chose, with fresh session data.
   * The request's headers are readable here and nowhere later (lws frees
   * them too): copy what you need. Follows FILTER_PROTOCOL_CONNECTION.
   *
   * `input`: undefined (lws passes the SSL pointer; use `wsi.isSsl()` and
   * `wsi.tlsInfo()`). Non-zero closes the connection.
   */
  ESTABLISHED = 0,
  /**
   * Client: the connection attempt failed (DNS, connect, TLS, a bad or
   * refused handshake, or a refusal by CLIENT_FILTER_PRE_ESTABLISH /
   * CLIENT_APPEND_HANDSHAKE_HEADER). Nothing follows but WSI_DESTROY. It may
   * come before `clientConnect` returns: use `pwsi` to know the wsi early.
   * Delivered to the connection's protocol (`localProtocolName`, by default
   * protocols[0]).
   *
   * `input`: why, as a string (`"HS: ws upgrade response not 101"`,
   * `"connect to 127.0.0.1:9 refused (ECONNREFUSED)"` …). The return value
   * is ignored.
   */
  CLIENT_CONNECTION_ERROR = 1,
  /**
   * WebSocket client: the server's 101 has been checked; the last chance to
   * refuse it by its headers (`wsi.hdrCopy()`). Comes before
   * CLIENT_ESTABLISHED; not for HTTP or RAW clients.
   *
   * `input`: undefined. Non-zero fails the attempt: CLIENT_CONNECTION_ERROR
   * follows.
   */
  CLIENT_FILTER_PRE_ESTABLISH = 2,
  /**
   * WebSocket client: the upgrade succeeded; CLIENT_RECEIVE and
   * CLIENT_WRITEABLE follow. The response's headers stay readable.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  CLIENT_ESTABLISHED = 3,
  /**
   * Server WebSocket: the connection closed, whoever closed it; only
   * WSI_DESTROY follows. (A client WebSocket gets CLIENT_CLOSED instead.)
   *
   * `input`: undefined. The return value is ignored.
   */
  CLOSED = 4,
  /**
   * Server HTTP: a connection (or HTTP/2 stream) that was not upgraded
   * closed. HTTP_DROP_PROTOCOL follows when a CALLBACK mount had bound it,
   * then WSI_DESTROY.
   *
   * `input`: undefined. The return value is ignored.
   */
  CLOSED_HTTP = 5,
  /**
   * Server WebSocket: a piece of a message arrived. A message may come in
   * several pieces, each at most the protocol's `rxBufferSize` (4096 by
   * default); `wsi.isFirstFragment()`, `wsi.isFinalFragment()`,
   * `wsi.remainingPacketPayload()` and `wsi.frameIsBinary()` tell where the
   * piece belongs.
   *
   * `input`: the piece, a `Buffer` (a view of the bytes read, not a copy:
   * `Buffer.from(input)` before keeping it long). Non-zero closes the
   * connection.
   */
  RECEIVE = 6,
  /**
   * Server WebSocket: a PONG arrived (an answer to a ping sent for
   * `ws.pingPongSecs`, or unsolicited).
   *
   * `input`: its payload, a `Buffer`, often empty. Non-zero closes the
   * connection.
   */
  RECEIVE_PONG = 7,
  /**
   * WebSocket client: a piece of a message arrived; as RECEIVE.
   *
   * `input`: the piece, a `Buffer`. Non-zero closes the connection.
   */
  CLIENT_RECEIVE = 8,
  /**
   * WebSocket client: a PONG arrived.
   *
   * `input`: its payload, a `Buffer`. Non-zero closes the connection.
   */
  CLIENT_RECEIVE_PONG = 9,
  /**
   * WebSocket client: the connection can take more, after
   * `wsi.callbackOnWritable()`; send with `wsi.write()` here, and only here.
   * Handle an extra one by sending nothing.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  CLIENT_WRITEABLE = 10,
  /**
   * Server WebSocket: the connection can take more, after
   * `wsi.callbackOnWritable()` or `vhost.callbackOnWritableAllProtocol()`;
   * send with `wsi.write()` here, and only here. Handle an extra one by
   * sending nothing.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  SERVER_WRITEABLE = 11,
  /**
   * Server HTTP: a request that no mount answered (none matched, or a
   * CALLBACK mount bound it to this protocol). Answer now or from
   * HTTP_WRITEABLE; a request body follows as HTTP_BODY. Comes after
   * FILTER_HTTP_CONNECTION; on HTTP/2 each stream is a wsi of its own.
   *
   * `input`: the decoded, normalised path without the query (`/a/b`); under
   * a CALLBACK mount, the part after the mountpoint (`''` for the
   * mountpoint itself), as lws does. The query is `wsi.getUrlArgByName()`'s.
   * Non-zero closes the connection.
   */
  HTTP = 12,
  /**
   * Server HTTP: a piece of the request body, for a request this protocol
   * took at HTTP.
   *
   * `input`: the piece, a `Buffer` (chunked bodies arrive de-chunked).
   * Non-zero closes the connection.
   */
  HTTP_BODY = 13,
  /**
   * Server HTTP: the whole request body has arrived (after its last
   * HTTP_BODY); answer now or from HTTP_WRITEABLE.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  HTTP_BODY_COMPLETION = 14,
  /**
   * Server HTTP: a file answer (from a FILE mount or `wsi.serveHttpFile()`,
   * a 304 or a range answer included) is complete. Comes to the
   * connection's protocol, protocols[0] for FILE mounts.
   *
   * `input`: undefined. 0 ends the transaction (the connection is kept
   * alive for the next request); non-zero closes the connection.
   */
  HTTP_FILE_COMPLETION = 15,
  /**
   * Server HTTP: the connection (or HTTP/2 stream) can take more, after
   * `wsi.callbackOnWritable()`; send the response with `wsi.write()` here.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  HTTP_WRITEABLE = 16,
  /**
   * Server: a connection was accepted, before anything is read from it;
   * decide by the peer's address. The first callback of a connection, to
   * protocols[0]; WSI_CREATE follows.
   *
   * `input`: the peer's numeric address as a string (`127.0.0.1`, `::1`; an
   * IPv4 peer on an IPv6 socket in IPv4 form), where lws passes the
   * socket's descriptor. Non-zero drops the connection unanswered.
   */
  FILTER_NETWORK_CONNECTION = 17,
  /**
   * Server HTTP: a request's headers are parsed and no answer has started:
   * check them (`wsi.hdrCopy()`) and refuse the request. Comes for every
   * request that is not a WebSocket upgrade (those get
   * FILTER_PROTOCOL_CONNECTION), FILE and other mounts included, after
   * HTTP_BIND_PROTOCOL when a CALLBACK mount binds the connection; HTTP
   * follows unless a mount answers.
   *
   * `input`: the decoded, normalised path without the query. Non-zero
   * closes the connection; answer first (`wsi.returnHttpStatus()`) to send
   * a status rather than nothing.
   */
  FILTER_HTTP_CONNECTION = 18,
  /**
   * Server: a new connection is set up, to protocols[0]; after WSI_CREATE,
   * before anything is read.
   *
   * `input`: undefined. Non-zero closes the connection (lws ignores the
   * return value here).
   */
  SERVER_NEW_CLIENT_INSTANTIATED = 19,
  /**
   * Server WebSocket: an upgrade request is valid and about to be answered
   * with 101; the connection is already bound to the chosen protocol, with
   * its fresh session data as `user`. The headers are readable. Comes
   * before CONFIRM_EXTENSION_OKAY and ESTABLISHED.
   *
   * `input`: the name of the chosen protocol (the `Sec-WebSocket-Protocol`
   * value answered, or the default protocol's name when none was asked
   * for). Non-zero refuses the upgrade with 403, or, when the callback
   * answered with a status of its own, closes after it.
   */
  FILTER_PROTOCOL_CONNECTION = 20,
  /**
   * Client TLS: `vhost.initClientSsl(options)` is preparing the vhost's
   * client TLS defaults; to protocols[0] of that vhost, with a placeholder
   * wsi (`wsi.vhost` is usable) and `user` undefined.
   *
   * `input`: the `ClientSslOptions` being set up (a copy of the ones given;
   * lws passes the `SSL_CTX`): change them, e.g. set `ca`. Non-zero makes
   * `initClientSsl` throw.
   */
  OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS = 21,
  /**
   * Server TLS: a TLS vhost's secure context is being built, when the vhost
   * is made (before PROTOCOL_INIT) and again by `vhost.reloadTls()`; to
   * protocols[0] of that vhost, with a placeholder wsi and `user` undefined.
   * After OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY when that comes.
   *
   * `input`: a `VhostTlsSetup` (lws passes the `SSL_CTX`): add CA
   * certificates or CRLs for client certificates, or the certificate and
   * key themselves (`Option.CREATE_VHOST_SSL_CTX`). Non-zero refuses the
   * vhost: `createVhost` (or `reloadTls`) throws.
   */
  OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS = 22,
  /**
   * Server TLS: on a vhost that asks for client certificates, the TLS
   * handshake has completed (Node verifies during it, lws asks during
   * OpenSSL's verification); to protocols[0] of the vhost SNI chose, before
   * any HTTP.
   *
   * `input`: the verdict, `{ authorized, error, subjectCN }`
   * (`ClientCertVerification`). Non-zero refuses the certificate and
   * closes the connection. Unlike lws, 0 cannot accept a certificate that
   * failed verification when the vhost requires a valid one.
   */
  OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION = 23,
  /**
   * HTTP and WebSocket client: the request is being built; add headers.
   * Comes once the socket (and TLS) is up, before
   * CLIENT_CONFIRM_EXTENSION_SUPPORTED; not for RAW clients.
   *
   * `input`: a `ClientHeaderAppender`: `input.add(name, value)` (lws passes
   * a `char **` to write into). Non-zero fails the attempt:
   * CLIENT_CONNECTION_ERROR follows.
   */
  CLIENT_APPEND_HANDSHAKE_HEADER = 24,
  /**
   * Server WebSocket: the client offered permessage-deflate, the vhost has
   * it on and the offer is acceptable; say whether this protocol wants it.
   * After FILTER_PROTOCOL_CONNECTION, before ESTABLISHED.
   *
   * `input`: the extension's name, `"permessage-deflate"`. Non-zero turns
   * the extension down; the connection goes on uncompressed.
   */
  CONFIRM_EXTENSION_OKAY = 25,
  /**
   * WebSocket client: `clientConnect` asked for permessage-deflate; say
   * whether to offer it. To the connection's protocol (lws: protocols[0]),
   * after CLIENT_APPEND_HANDSHAKE_HEADER.
   *
   * `input`: the extension's name, `"permessage-deflate"`. Non-zero leaves
   * it out of the request; the connection goes on uncompressed.
   */
  CLIENT_CONFIRM_EXTENSION_SUPPORTED = 26,
  /**
   * A vhost that has this protocol is made: once per (vhost, protocol), in
   * protocol order, before the vhost serves anything; set up per-vhost
   * state here (`wsi.vhost.setProtocolVhPriv(wsi.protocol, …)`). The wsi
   * is a placeholder bound to the vhost and protocol, and `user` is
   * undefined.
   *
   * `input`: the protocol's per-vhost options from `pvo` (`PvoOptions`),
   * an empty object when none. The return value is ignored.
   */
  PROTOCOL_INIT = 27,
  /**
   * The vhost is going away (`vhost.destroy()`, `context.destroy()`): once
   * per (vhost, protocol), after all its connections have closed; release
   * what PROTOCOL_INIT made. Placeholder wsi, `user` undefined.
   *
   * `input`: undefined. The return value is ignored.
   */
  PROTOCOL_DESTROY = 28,
  /**
   * A connection (not an HTTP/2 stream) is made: the first callback of a
   * client connection, the second of a server one (after
   * FILTER_NETWORK_CONNECTION); to protocols[0], with the connection's
   * session data as `user` (for a client, that of its own protocol).
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  WSI_CREATE = 29,
  /**
   * A connection is gone: the last callback of every connection that had
   * WSI_CREATE, to protocols[0]. As in lws, `user` is the connection's
   * session data at the end, which after an upgrade or a CALLBACK mount
   * belongs to another protocol.
   *
   * `input`: undefined. The return value is ignored.
   */
  WSI_DESTROY = 30,
  /** Not delivered: Node runs callbacks on one thread. `input`: undefined. */
  GET_THREAD_ID = 31,
  /**
   * With the context option `pollEvents`: Node's loop starts watching a
   * connection's socket (accepted, adopted, or a client's once connected).
   * To protocols[0] of its vhost, between LOCK_POLL and UNLOCK_POLL.
   * Node owns the loop, so this reports what it watches; the descriptor
   * cannot be polled elsewhere for tslws (see README, "External poll events").
   *
   * `input`: `PollArgs` — `fd` (-1 when the transport has none), `events`
   * (`Poll.IN`, `Poll.OUT`), `prevEvents` 0. The return value is ignored.
   */
  ADD_POLL_FD = 32,
  /**
   * With `pollEvents`: the connection is closed and its descriptor leaves
   * the table (before WSI_DESTROY). `input`: `PollArgs`, `events` as they
   * were. The return value is ignored.
   */
  DEL_POLL_FD = 33,
  /**
   * With `pollEvents`: the interest changed — reading paused or resumed
   * (rx flow control, a full pipeline), a WRITEABLE asked for or delivered,
   * output waiting for the kernel or drained. For a stream, its
   * connection's entry changes. `input`: `PollArgs` with `prevEvents`.
   * The return value is ignored.
   */
  CHANGE_MODE_POLL_FD = 34,
  /** With `pollEvents`: before each ADD/DEL/CHANGE_MODE_POLL_FD. `input`: the same `PollArgs`. */
  LOCK_POLL = 35,
  /** With `pollEvents`: after each ADD/DEL/CHANGE_MODE_POLL_FD. `input`: the same `PollArgs`. */
  UNLOCK_POLL = 36,
  /**
   * Server TLS: a TLS vhost was given a certificate but no private key;
   * supply it. Before OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS, to
   * protocols[0] with a placeholder wsi and `user` undefined.
   *
   * `input`: the vhost's `VhostTlsSetup`: call `setPrivateKey(pem)`.
   * Non-zero refuses the vhost: `createVhost` (or `reloadTls`) throws.
   */
  OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY = 37,
  /**
   * WebSocket, both ends: the peer sent a Close frame first. If a
   * WRITEABLE was pending it comes on a later turn, so what was being sent
   * can go out first. CLOSED (or CLIENT_CLOSED) follows.
   *
   * `input`: the Close frame's payload, a `Buffer`: a 2-byte status in
   * network order (`input.readUInt16BE(0)`) then the reason, or empty. 0
   * echoes the peer's status in our Close; non-zero closes without it.
   */
  WS_PEER_INITIATED_CLOSE = 38,
  /**
   * Not delivered: permessage-deflate is tuned by `clientConnect`'s
   * `perMessageDeflate` and `wsi.setExtensionOption()`. `input`: undefined.
   */
  WS_EXT_DEFAULTS = 39,
  /**
   * Not delivered: CGI mounts are served inside tslws (lws routes their
   * pipes through `lws_callback_http_dummy`). `input`: undefined.
   */
  CGI = 40,
  /** Not delivered (see CGI). `input`: undefined. */
  CGI_TERMINATED = 41,
  /** Not delivered (see CGI). `input`: undefined. */
  CGI_STDIN_DATA = 42,
  /** Not delivered (see CGI). `input`: undefined. */
  CGI_STDIN_COMPLETED = 43,
  /**
   * HTTP client: the response head arrived and was accepted (redirects
   * already followed); `wsi.httpClientStatus()` and
   * `wsi.hdrCopy()` read it. RECEIVE_CLIENT_HTTP follows as the body
   * comes.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  ESTABLISHED_CLIENT_HTTP = 44,
  /**
   * HTTP client: an established connection closed (after
   * COMPLETED_CLIENT_HTTP, or cut short); WSI_DESTROY follows.
   *
   * `input`: undefined. The return value is ignored.
   */
  CLOSED_CLIENT_HTTP = 45,
  /**
   * HTTP client: body bytes arrived and are held for you; take them with
   * `wsi.httpClientRead()`, now or later (reading stops while too much is
   * held, so a slow consumer slows the server).
   *
   * `input`: undefined: the bytes are `httpClientRead()`'s result (lws
   * signals this and hands the bytes to RECEIVE_CLIENT_HTTP_READ). Non-zero
   * closes the connection.
   */
  RECEIVE_CLIENT_HTTP = 46,
  /**
   * HTTP client: the whole body has arrived and been read; comes on a
   * later turn, then the connection closes (or is kept for reuse with
   * `keepAlive`) and CLOSED_CLIENT_HTTP follows.
   *
   * `input`: undefined. Non-zero closes the connection without keeping it
   * for reuse.
   */
  COMPLETED_CLIENT_HTTP = 47,
  /**
   * Not delivered: `wsi.httpClientRead()` returns the bytes directly.
   * `input`: undefined.
   */
  RECEIVE_CLIENT_HTTP_READ = 48,
  /**
   * Server HTTP: the connection is now bound to this protocol, with fresh
   * session data as `user`: a request fell under a CALLBACK mount naming
   * it (or, for protocols[0], a request fell outside the mount the
   * connection was bound to). Comes after the old protocol's
   * HTTP_DROP_PROTOCOL, before FILTER_HTTP_CONNECTION and HTTP.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  HTTP_BIND_PROTOCOL = 49,
  /**
   * Server HTTP: the connection leaves this protocol, which a CALLBACK
   * mount had bound (or protocols[0], as a request binds it to a mount's
   * protocol): a request went elsewhere, the connection upgraded, or it
   * closed (then after CLOSED_HTTP). Release the transaction's state; the
   * session data is let go after this.
   *
   * `input`: undefined. Non-zero closes the connection (ignored when it is
   * already closing).
   */
  HTTP_DROP_PROTOCOL = 50,
  /** Not delivered: mounts protect themselves with `basicAuthLoginFile`. `input`: undefined. */
  CHECK_ACCESS_RIGHTS = 51,
  /** Not delivered: responses are not rewritten. `input`: undefined. */
  PROCESS_HTML = 52,
  /** Not delivered: add headers with `wsi.addHttpHeaderByName()` before sending them. `input`: undefined. */
  ADD_HEADERS = 53,
  /** Not delivered: generic sessions are not part of tslws. `input`: undefined. */
  SESSION_INFO = 54,
  /** Not delivered (see SESSION_INFO). `input`: undefined. */
  GS_EVENT = 55,
  /** Not delivered: per-mount options are not passed to protocols. `input`: undefined. */
  HTTP_PMO = 56,
  /**
   * HTTP client: the request body may be sent, for a `clientConnect` with
   * `bodyLength` > 0; comes after the request head has gone, and again
   * after each `wsi.callbackOnWritable()` until the body is all written
   * (`Write.HTTP`, `Write.HTTP_FINAL` for the last piece).
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  CLIENT_HTTP_WRITEABLE = 57,
  /**
   * Not delivered: a client verifies the server as Node does, relaxed by
   * `allowSelfSigned`, `allowExpired` and `skipHostnameCheck`.
   * `input`: undefined.
   */
  OPENSSL_PERFORM_SERVER_CERT_VERIFICATION = 58,
  /**
   * RAW (a client socket, a server connection that fell back to RAW or is
   * RAW only, an adopted socket): bytes arrived, as read, with no framing.
   *
   * `input`: the bytes, a `Buffer`. Non-zero closes the connection.
   */
  RAW_RX = 59,
  /**
   * RAW: the connection closed (once for every RAW_ADOPT); WSI_DESTROY follows.
   *
   * `input`: undefined. The return value is ignored.
   */
  RAW_CLOSE = 60,
  /**
   * RAW: the connection can take more, after `wsi.callbackOnWritable()`;
   * write with `wsi.write(buf, Write.HTTP)`.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  RAW_WRITEABLE = 61,
  /**
   * RAW: the connection is bound to this protocol and RAW from now on: a
   * client socket (and TLS) is up, a server connection's first bytes were
   * not HTTP (FALLBACK_TO_RAW; they follow as RAW_RX), a connection of an
   * ONLY_RAW vhost was accepted, or `vhost.adoptSocket(…, { as: 'raw' })`.
   * The protocol is the vhost's raw one (pvo `raw`, else `default`, else
   * the first); the protocol the connection had before hears
   * HTTP_DROP_PROTOCOL.
   *
   * `input`: undefined. Non-zero closes the connection.
   */
  RAW_ADOPT = 62,
  /**
   * `vhost.adoptDescriptor()` put a descriptor (FIFO, pipe, tty, file) in
   * the event loop, bound to this protocol; the first of its callbacks.
   *
   * `input`: undefined. Non-zero closes it (and adoptDescriptor returns null).
   */
  RAW_ADOPT_FILE = 63,
  /**
   * An adopted descriptor was read: the bytes, as they came. Paused by
   * `wsi.rxFlowControl(false)`.
   *
   * `input`: the bytes, a `Buffer`. Non-zero closes it.
   */
  RAW_RX_FILE = 64,
  /**
   * An adopted descriptor can take more, after `wsi.callbackOnWritable()`
   * (a full pipe holds it back); write with `wsi.write(buf, Write.HTTP)`.
   *
   * `input`: undefined. Non-zero closes it.
   */
  RAW_WRITEABLE_FILE = 65,
  /**
   * An adopted descriptor is closed: end of file, the last writer of a
   * FIFO gone, an error, or `wsi.close()`. Once for every RAW_ADOPT_FILE.
   *
   * `input`: undefined. The return value is ignored.
   */
  RAW_CLOSE_FILE = 66,
  /**
   * Server TLS: an event the vhost's `sslInfoEventMask` asks for happened
   * on one of its connections: the handshake starting or done, an alert
   * read or sent (close_notify as tslws closes a TLS connection). To
   * protocols[0], with the connection's session data as `user`.
   *
   * `input`: the event, `{ where, ret }` (`SslInfoEvent`, `where` one of
   * `SslInfo.*`). Non-zero closes the connection; at HANDSHAKE_DONE,
   * before anything is served.
   */
  SSL_INFO = 67,
  /** Not delivered: child connections (HTTP/2 streams) write through their own wsi. `input`: undefined. */
  CHILD_WRITE_VIA_PARENT = 68,
  /** Not delivered (see CHILD_WRITE_VIA_PARENT). `input`: undefined. */
  CHILD_CLOSING = 69,
  /** Not delivered (see CGI). `input`: undefined. */
  CGI_PROCESS_ATTACH = 70,
  /**
   * WebSocket client: the connection closed, whoever closed it; only
   * WSI_DESTROY follows. lws v3's number: v2.4 delivered CLOSED to both
   * ends.
   *
   * `input`: undefined. The return value is ignored.
   */
  CLIENT_CLOSED = 75,
  /**
   * tslws's own (lws has no topics): a topic of the vhost gained its first
   * subscriber or lost its last one (by `unsubscribe` or a close). To the
   * vhost's protocols[0], with a placeholder wsi bound to the vhost, as
   * PROTOCOL_INIT; a bridge to other processes subscribes upstream on the
   * first and leaves on the last.
   *
   * `input`: `{ topic, subscribers }`, `subscribers` 1 (first) or 0 (last).
   * The return value is ignored.
   */
  TOPIC_SUBSCRIBERS = 900,
  /**
   * tslws's own: messages published to topics this connection subscribes
   * to were dropped, because its queue of published messages was at its
   * bound (`topics.maxQueueBytes`, `maxQueueMessages`) and the topic's
   * `overflow` policy drops or closes. Delivered during the `publish`
   * that found the queue full, once per publish and connection. With a
   * closing policy it comes just before the connection closes.
   *
   * `input`: `{ topic, policy, messages, bytes, closing, totalDropped }`.
   * Non-zero closes the connection.
   */
  TOPIC_DROPPED = 901,
  /**
   * tslws's own: messages of a topic this connection subscribes to may be
   * missing and cannot be given: the topic bus lost its link and the
   * topic keeps no history, or a resume (`wsi.subscribe(topic, { since })`)
   * cannot be served whole (the history was begun again, trimmed past the
   * position, or could not be read). Messages that do arrive keep coming.
   *
   * `input`: `{ topic, cause, since }`, `since` the position the resume
   * asked for (null when the gap is not a resume's).
   * Non-zero closes the connection.
   */
  TOPIC_GAP = 902,
  /**
   * The first value free for reasons of your own, when your code calls
   * callbacks itself; tslws never delivers it. `input`: undefined.
   */
  USER = 1000,
}
