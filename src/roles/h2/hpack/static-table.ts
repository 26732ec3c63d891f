/**
 * The static table (RFC 7541 Appendix A) and the encoder's lookups into it.
 * Index 1 is the first entry; index 0 is never valid.
 */

/** Entries 1..61 at positions 1..61 (position 0 is a placeholder). */
export const STATIC_TABLE: ReadonlyArray<readonly [name: string, value: string]> = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** How many entries the static table has: dynamic indexes start after it. */
export const STATIC_COUNT = 61;

interface StaticName {
  /** The first entry with this name. */
  readonly index: number;
  /** Every entry with this name, by value ('' included: an empty field is matched exactly too). */
  readonly values: ReadonlyMap<string, number>;
}

const BY_NAME: ReadonlyMap<string, StaticName> = (() => {
  const m = new Map<string, { index: number; values: Map<string, number> }>();
  for (let i = 1; i <= STATIC_COUNT; i++) {
    const [name, value] = STATIC_TABLE[i];
    let e = m.get(name);
    if (!e) m.set(name, (e = { index: i, values: new Map() }));
    e.values.set(value, i);
  }
  return m;
})();

/**
 * Where the static table has this field: its index when an entry holds
 * name and value, minus the first index with the name when only the name
 * is there, 0 when neither is. One map lookup answers both questions the
 * encoder asks of every field.
 */
export function staticLookup(name: string, value: string): number {
  const e = BY_NAME.get(name);
  if (e === undefined) return 0;
  return e.values.get(value) ?? -e.index;
}
