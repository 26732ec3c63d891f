/**
 * The keys of each config section: those tslws acts on, and those lws's
 * lwsws knows but tslws does not implement. Anything else in a section
 * whose keys are fixed is a mistake (lws would ignore it silently, which
 * turns a misspelt `"defualt"` into a 403 much later), so it is refused
 * with the nearest known key as a suggestion.
 */

export interface SectionKeys {
  /** What the section is called in messages: "vhost", "mount" … */
  readonly what: string;
  /** Keys tslws reads. */
  readonly known: ReadonlySet<string>;
  /** Keys lwsws knows that tslws does not implement: warned about, ignored. */
  readonly unimplemented: ReadonlySet<string>;
  /** Key prefixes lwsws reserves for features out of tslws's scope (`quic-…`): warned about, ignored. */
  readonly unimplementedPrefixes?: readonly string[];
}

export const TOP_KEYS: SectionKeys = {
  what: 'top-level',
  known: new Set(['global', 'vhosts']),
  unimplemented: new Set(),
};

export const GLOBAL_KEYS: SectionKeys = {
  what: 'global',
  known: new Set([
    'uid', 'gid', 'username', 'groupname', 'count-threads', 'init-ssl', 'server-string', 'default-alpn', 'plugin-dir',
    'ws-pingpong-secs', 'timeout-secs', 'reject-service-keywords', 'ip-limit-ah', 'ip-limit-wsi', 'pubsub',
  ]),
  unimplemented: new Set(['rlimit-nofile', 'count-async-threads', 'cpd-bypass', 'allow-early-data']),
  unimplementedPrefixes: ['quic-'],
};

export const PUBSUB_KEYS: SectionKeys = {
  what: 'pubsub',
  known: new Set(['redis', 'history', 'node', 'prefix', 'sharded', 'cluster', 'max-buffered']),
  unimplemented: new Set(),
};

export const VHOST_KEYS: SectionKeys = {
  what: 'vhost',
  known: new Set([
    'name', 'port', 'interface', 'unix-socket', 'host-ssl-key', 'host-ssl-cert', 'host-ssl-ca', 'access-log',
    'keepalive_timeout', 'keepalive-timeout', 'keeplive-timeout', 'ciphers', 'ecdh-curve', 'sts', 'allow-non-tls',
    'redirect-http', 'enable-client-ssl', 'client-ssl-key', 'client-ssl-cert', 'client-ssl-ca', 'client-ssl-ciphers',
    'alpn', 'headers', 'mounts', 'ws-protocols', 'onlyraw', 'rawonly', 'apply-listen-accept', 'fallback-listen-accept',
    'listen-accept-role',
  ]),
  unimplemented: new Set([
    'noipv6', 'ipv6only', 'ssl-option-set', 'ssl-option-clear', 'ssl-client-option-set', 'ssl-client-option-clear',
    'client-cert-required', 'ignore-missing-cert', 'error-document-404',
    'tls13-ciphers', 'client-tls13-ciphers', 'strict-host-check', 'listen-accept-protocol', 'allow-http-on-https', 'disable-no-protocol-ws-upgrades',
    'h2-half-closed-long-poll', 'fo-listen-queue', 'unix-socket-perms', 'timeout_secs',
  ]),
  unimplementedPrefixes: ['quic-'],
};

export const MOUNT_KEYS: SectionKeys = {
  what: 'mount',
  known: new Set([
    'mountpoint', 'origin', 'protocol', 'default', 'cache-max-age', 'cache-reuse', 'cache-revalidate',
    'cache-intermediaries', 'cgi-timeout', 'cgi-env', 'pmo', 'extra-mimetypes', 'interpret', 'basic-auth', 'auth-mask',
  ]),
  unimplemented: new Set([
    'headers', 'exact-match', 'append-path', 'cache-no', 'cgi-chdir', 'cgi-chroot', 'keepalive-timeout',
    'no-ws-upgrades', 'interceptor-path',
  ]),
};

/**
 * Per-vhost options every protocol may be given: `default` and `status`
 * (lws's examples write `{"status": "ok"}`; only presence matters) are
 * taken, and so is `raw` (the protocol RAW connections are bound to);
 * `basic-auth` is lws's but not implemented here.
 */
export const PVO_RESERVED = new Set(['default', 'status', 'raw']);
export const PVO_UNIMPLEMENTED = new Set(['basic-auth']);

/** Is `key` one lwsws knows but tslws does not implement? */
export function isUnimplemented(s: SectionKeys, key: string): boolean {
  return s.unimplemented.has(key) || (s.unimplementedPrefixes ?? []).some((p) => key.startsWith(p));
}

/**
 * Optimal string alignment distance: edits, with a swap of two
 * neighbouring characters counted as one (`defualt` is one from `default`).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  }
  return d[a.length][b.length];
}

/**
 * The known key nearest to `key`, if it is near enough to be the one
 * meant: at most a third of its length away (at least 1, at most 3 edits),
 * or equal but for case, `_` and `-`.
 */
export function nearestKey(key: string, candidates: Iterable<string>): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/_/g, '-');
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = fold(c) === fold(key) ? 0 : editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const bound = Math.min(3, Math.max(1, Math.floor(key.length / 3)));
  return best !== undefined && bestD <= bound ? best : undefined;
}

/** `unknown mount key; did you mean "default"?` */
export function unknownKeyMessage(s: SectionKeys, key: string): string {
  const near = nearestKey(key, [...s.known, ...s.unimplemented]);
  return `unknown ${s.what} key${near !== undefined ? `; did you mean "${near}"?` : ''}`;
}
