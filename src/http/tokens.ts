/**
 * Header tokens, after lws's `enum lws_token_indexes`: a way to name a
 * request header without spelling it. Values are tslws's own (lws renumbered
 * them between versions); each token maps to its lower-case header name.
 */
export enum Token {
  GET_URI, POST_URI, OPTIONS_URI, HOST, CONNECTION, UPGRADE, ORIGIN, DRAFT,
  CHALLENGE, EXTENSIONS, KEY1, KEY2, PROTOCOL, ACCEPT, NONCE, HTTP,
  HTTP2_SETTINGS, HTTP_ACCEPT, AC_REQUEST_HEADERS, IF_MODIFIED_SINCE,
  IF_NONE_MATCH, ACCEPT_ENCODING, ACCEPT_LANGUAGE, PRAGMA, CACHE_CONTROL,
  AUTHORIZATION, COOKIE, CONTENT_LENGTH, CONTENT_TYPE, DATE, RANGE, REFERER,
  KEY, VERSION, SWORIGIN, AUTHORITY, METHOD, PATH, SCHEME, STATUS,
  ACCEPT_CHARSET, ACCEPT_RANGES, ACCESS_CONTROL_ALLOW_ORIGIN, AGE, ALLOW,
  CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LOCATION,
  CONTENT_RANGE, ETAG, EXPECT, EXPIRES, FROM, IF_MATCH, IF_RANGE,
  IF_UNMODIFIED_SINCE, LAST_MODIFIED, LINK, LOCATION, MAX_FORWARDS,
  PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, REFRESH, RETRY_AFTER, SERVER,
  SET_COOKIE, STRICT_TRANSPORT_SECURITY, TRANSFER_ENCODING, USER_AGENT, VARY,
  VIA, WWW_AUTHENTICATE, PATCH_URI, PUT_URI, DELETE_URI, URI_ARGS, PROXY,
  X_REAL_IP, HTTP1_0, X_FORWARDED_FOR, CONNECT, HEAD_URI, TE,
}

/**
 * Header name per token. Method tokens (`GET_URI` …) and `URI_ARGS` have no
 * header name: they are answered from the request line.
 */
const NAMES: Partial<Record<Token, string>> = {
  [Token.HOST]: 'host', [Token.CONNECTION]: 'connection', [Token.UPGRADE]: 'upgrade',
  [Token.ORIGIN]: 'origin', [Token.DRAFT]: 'sec-websocket-draft',
  [Token.EXTENSIONS]: 'sec-websocket-extensions', [Token.KEY1]: 'sec-websocket-key1',
  [Token.KEY2]: 'sec-websocket-key2', [Token.PROTOCOL]: 'sec-websocket-protocol',
  [Token.ACCEPT]: 'sec-websocket-accept', [Token.NONCE]: 'sec-websocket-nonce',
  [Token.HTTP2_SETTINGS]: 'http2-settings', [Token.HTTP_ACCEPT]: 'accept',
  [Token.AC_REQUEST_HEADERS]: 'access-control-request-headers',
  [Token.IF_MODIFIED_SINCE]: 'if-modified-since', [Token.IF_NONE_MATCH]: 'if-none-match',
  [Token.ACCEPT_ENCODING]: 'accept-encoding', [Token.ACCEPT_LANGUAGE]: 'accept-language',
  [Token.PRAGMA]: 'pragma', [Token.CACHE_CONTROL]: 'cache-control',
  [Token.AUTHORIZATION]: 'authorization', [Token.COOKIE]: 'cookie',
  [Token.CONTENT_LENGTH]: 'content-length', [Token.CONTENT_TYPE]: 'content-type',
  [Token.DATE]: 'date', [Token.RANGE]: 'range', [Token.REFERER]: 'referer',
  [Token.KEY]: 'sec-websocket-key', [Token.VERSION]: 'sec-websocket-version',
  [Token.SWORIGIN]: 'sec-websocket-origin', [Token.AUTHORITY]: ':authority',
  [Token.METHOD]: ':method', [Token.PATH]: ':path', [Token.SCHEME]: ':scheme',
  [Token.STATUS]: ':status', [Token.ACCEPT_CHARSET]: 'accept-charset',
  [Token.ACCEPT_RANGES]: 'accept-ranges',
  [Token.ACCESS_CONTROL_ALLOW_ORIGIN]: 'access-control-allow-origin', [Token.AGE]: 'age',
  [Token.ALLOW]: 'allow', [Token.CONTENT_DISPOSITION]: 'content-disposition',
  [Token.CONTENT_ENCODING]: 'content-encoding', [Token.CONTENT_LANGUAGE]: 'content-language',
  [Token.CONTENT_LOCATION]: 'content-location', [Token.CONTENT_RANGE]: 'content-range',
  [Token.ETAG]: 'etag', [Token.EXPECT]: 'expect', [Token.EXPIRES]: 'expires',
  [Token.FROM]: 'from', [Token.IF_MATCH]: 'if-match', [Token.IF_RANGE]: 'if-range',
  [Token.IF_UNMODIFIED_SINCE]: 'if-unmodified-since', [Token.LAST_MODIFIED]: 'last-modified',
  [Token.LINK]: 'link', [Token.LOCATION]: 'location', [Token.MAX_FORWARDS]: 'max-forwards',
  [Token.PROXY_AUTHENTICATE]: 'proxy-authenticate',
  [Token.PROXY_AUTHORIZATION]: 'proxy-authorization', [Token.REFRESH]: 'refresh',
  [Token.RETRY_AFTER]: 'retry-after', [Token.SERVER]: 'server', [Token.SET_COOKIE]: 'set-cookie',
  [Token.STRICT_TRANSPORT_SECURITY]: 'strict-transport-security',
  [Token.TRANSFER_ENCODING]: 'transfer-encoding', [Token.USER_AGENT]: 'user-agent',
  [Token.VARY]: 'vary', [Token.VIA]: 'via', [Token.WWW_AUTHENTICATE]: 'www-authenticate',
  [Token.PROXY]: 'proxy', [Token.X_REAL_IP]: 'x-real-ip',
  [Token.X_FORWARDED_FOR]: 'x-forwarded-for', [Token.TE]: 'te',
};

/** The request methods whose tokens carry the request URI, as in lws. */
export const METHOD_TOKENS: Readonly<Record<string, Token>> = {
  GET: Token.GET_URI, POST: Token.POST_URI, OPTIONS: Token.OPTIONS_URI,
  PATCH: Token.PATCH_URI, PUT: Token.PUT_URI, DELETE: Token.DELETE_URI,
  CONNECT: Token.CONNECT, HEAD: Token.HEAD_URI,
};

/** The lower-case header name for a token, or undefined for pseudo tokens. */
export function tokenToName(token: Token): string | undefined {
  return NAMES[token];
}
