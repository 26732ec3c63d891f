/**
 * Lower-case header names read from the wire without making strings for
 * the common ones: a name every lws token has, and those browsers send on
 * every request, are found by comparing bytes and answered with one shared
 * string. Any other name is made (and lower-cased) as before.
 */
import { Token, tokenToName } from './tokens.js';

const BROWSER_NAMES = [
  'keep-alive', 'dnt', 'upgrade-insecure-requests', 'priority', 'x-forwarded-proto', 'x-forwarded-host',
  'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user',
  'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform',
];

/** Known names by length. */
const BY_LENGTH: string[][] = [];
for (const name of [...Object.values(Token).filter((t): t is Token => typeof t === 'number').map(tokenToName), ...BROWSER_NAMES]) {
  if (name === undefined || name.startsWith(':')) continue;
  const list = (BY_LENGTH[name.length] ??= []);
  if (!list.includes(name)) list.push(name);
}

/** `buf[start, end)`, a header name made of token characters, in lower case. */
export function headerName(buf: Buffer, start: number, end: number): string {
  const known = BY_LENGTH[end - start];
  if (known !== undefined) {
    for (let k = 0; k < known.length; k++) {
      const name = known[k];
      let i = 0;
      for (; i < name.length; i++) {
        let b = buf[start + i];
        if (b >= 0x41 && b <= 0x5a) b |= 0x20;
        if (b !== name.charCodeAt(i)) break;
      }
      if (i === name.length) return name;
    }
  }
  return buf.toString('latin1', start, end).toLowerCase();
}
