/** What an lwsws configuration says, after parsing and checking. */

/** `reject-service-keywords`: a User-Agent substring and the answer it gets. */
export interface RejectRule {
  substring: string;
  status: number;
  text: string;
}

export interface GlobalConfig {
  uid?: number | string;
  gid?: number | string;
  countThreads: number;
  initSsl: boolean;
  serverString?: string;
  pluginDirs: string[];
  wsPingPongSecs?: number;
  timeoutSecs?: number;
  rejectServiceKeywords: RejectRule[];
  /** `default-alpn`: the ALPN list of TLS vhosts without their own `alpn`, most preferred first. */
  defaultAlpn?: string[];
  /** `ip-limit-wsi`: most connections at once from one peer address (0: no limit). */
  ipLimitWsi?: number;
  /** `ip-limit-ah`: most connections of one peer address reading a request head at once (0: no limit). */
  ipLimitAh?: number;
  /** `pubsub`: topics (and the mirror) across processes and machines through Redis. */
  pubsub?: PubsubConfig;
}

/** The global `pubsub` section: a Redis topic bus every vhost is attached to. */
export interface PubsubConfig {
  /** `redis`: the server, `redis://host:port`. */
  redis: string;
  /** `history`: messages kept per topic for resuming (0: none). */
  history: number;
  /** `node`: this process's label (default host name and pid). */
  node?: string;
  /** `prefix`: start of the channel and key names (default `tslws`). */
  prefix?: string;
  /** `sharded`: SPUBLISH / SSUBSCRIBE (on by itself with `cluster`). */
  sharded: boolean;
  /** `cluster`: `redis` is a seed node of a Redis Cluster, followed by its slots. */
  cluster: boolean;
  /** `max-buffered`: publishes kept while Redis is unreachable. */
  maxBuffered?: number;
}

export type OriginScheme = 'file' | 'cgi' | 'http' | 'https' | 'callback' | 'redir-http' | 'redir-https';

/** Where each key of a section was written: its line (the last one when repeated; a mount's first `origin`). */
export type KeyLines = Record<string, number>;

export interface MountConfig {
  line: number;
  keyLines: KeyLines;
  mountpoint: string;
  /** The origin as written (after `_lws_ddir_`). */
  origin: string;
  scheme: OriginScheme;
  /** The origin without its scheme prefix. */
  target: string;
  /** A second `origin` of `callback://NAME`: the protocol bound to a non-callback mount. */
  boundProtocol?: string;
  def?: string;
  cacheMaxAge?: number;
  cacheReuse?: boolean;
  cacheRevalidate?: boolean;
  cacheIntermediaries?: boolean;
  cgiTimeout?: number;
  /** `cgi-env` and `pmo` share one list, as in lws. */
  cgiEnv: Record<string, string>;
  extraMimetypes?: Record<string, string>;
  interpret?: Record<string, string>;
  basicAuth?: string;
  authMask?: number;
}

export interface VhostConfig {
  file: string;
  line: number;
  keyLines: KeyLines;
  name: string;
  port: number;
  iface?: string;
  unixSocket: boolean;
  sslKey?: string;
  sslCert?: string;
  sslCa?: string;
  accessLog?: string;
  keepaliveTimeout?: number;
  ciphers?: string;
  ecdhCurve?: string;
  sts: boolean;
  headers: Record<string, string>;
  allowNonTls: boolean;
  redirectHttp: boolean;
  /** `onlyraw` / `apply-listen-accept`: every connection is RAW (ONLY_RAW). */
  onlyRaw: boolean;
  /** `fallback-listen-accept`: first bytes that are not HTTP make the connection RAW (FALLBACK_TO_RAW). */
  fallbackRaw: boolean;
  enableClientSsl: boolean;
  clientSslKey?: string;
  clientSslCert?: string;
  clientSslCa?: string;
  clientSslCiphers?: string;
  /** `alpn`: the protocols TLS clients may choose by ALPN, most preferred first. */
  alpn?: string[];
  mounts: MountConfig[];
  /** `ws-protocols`: the protocols this vhost enables, with their options. */
  pvo: Record<string, Record<string, string>>;
  /** Where each enabled protocol and each of its options was written. */
  pvoLines: Record<string, { line: number; options: KeyLines }>;
}

export interface LwswsConfig {
  /** The files read, in order. */
  files: string[];
  global: GlobalConfig;
  vhosts: VhostConfig[];
}
