/**
 * `Sec-WebSocket-Extensions` lists (RFC 6455 9.1): extensions separated by
 * commas, each a token followed by `; name[=value]` parameters, values
 * being tokens or quoted strings.
 */

/** One extension of a list, its parameters in order (value `true` when bare). */
export interface ExtensionOffer {
  name: string;
  params: Array<[string, string | true]>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parse a whole header value. Returns null when it does not follow the
 * grammar: one malformed element makes every offer in it untrustworthy.
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const ws = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const token = (): string => {
    const s = i;
    while (i < n && TCHAR.test(value[i])) i++;
    return value.slice(s, i);
  };
  for (;;) {
    ws();
    // Empty list elements (",,") are allowed by the list rule.
    if (i < n && value[i] === ',') {
      i++;
      continue;
    }
    if (i >= n) break;
    const name = token();
    if (!name) return null;
    const ext: ExtensionOffer = { name: name.toLowerCase(), params: [] };
    ws();
    while (i < n && value[i] === ';') {
      i++;
      ws();
      const p = token();
      if (!p) return null;
      ws();
      let v: string | true = true;
      if (i < n && value[i] === '=') {
        i++;
        ws();
        if (value[i] === '"') {
          i++;
          let s = '';
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\') i++;
            if (i >= n) return null;
            s += value[i++];
          }
          if (i >= n) return null;
          i++;
          // RFC 6455 9.1: a quoted value must itself be a token.
          if (!s || ![...s].every((c) => TCHAR.test(c))) return null;
          v = s;
        } else {
          v = token();
          if (!v) return null;
        }
        ws();
      }
      ext.params.push([p.toLowerCase(), v]);
    }
    out.push(ext);
    if (i >= n) break;
    if (value[i] !== ',') return null;
    i++;
  }
  return out;
}
