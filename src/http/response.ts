import { Token, tokenToName } from './tokens.js';
import { TCHAR } from './chars.js';
import { ErrorCode, rangeError, stateError, typeError } from '../core/errors.js';

/** Does a comma-separated header value (Connection, Upgrade…) hold `token` (lower case)? */
export function hasToken(list: string | undefined, token: string): boolean {
  if (!list) return false;
  // Asked on every request (Connection) and upgrade: no strings made.
  const n = list.length;
  const tl = token.length;
  let i = 0;
  while (i < n) {
    let end = list.indexOf(',', i);
    if (end < 0) end = n;
    let s = i;
    let e = end;
    while (s < e && isOws(list.charCodeAt(s))) s++;
    while (e > s && isOws(list.charCodeAt(e - 1))) e--;
    if (e - s === tl) {
      let k = 0;
      for (; k < tl; k++) {
        let c = list.charCodeAt(s + k);
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        if (c !== token.charCodeAt(k)) break;
      }
      if (k === tl) return true;
    }
    i = end + 1;
  }
  return false;
}

/** Optional whitespace around list elements (RFC 9110 5.6.1): SP and HTAB. */
function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * The response header block under construction, from
 * `addHttpHeaderStatus` to `finalizeHttpHeader`.
 */
export class ResponseHeaders {
  code = 0;
  /** Rendered `name: value\r\n` lines, in order. */
  lines = '';
  contentLength = -1;
  chunked = false;
  connectionClose = false;

  status(code: number): void {
    if (!Number.isInteger(code) || code < 100 || code > 999)
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `addHttpHeaderStatus: status must be a 3-digit number, got ${code}`);
    if (this.code !== 0) throw stateError(ErrorCode.RESPONSE_ORDER, 'addHttpHeaderStatus: the status was already added for this response');
    this.code = code;
  }

  header(rawName: string, value: string): void {
    if (this.code === 0) throw stateError(ErrorCode.RESPONSE_ORDER, 'add the status (addHttpHeaderStatus) before any header');
    const name = rawName.endsWith(':') ? rawName.slice(0, -1) : rawName;
    if (name === '') throw typeError(ErrorCode.INVALID_HEADER, 'header name is empty');
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c > 255 || !TCHAR[c]) throw typeError(ErrorCode.INVALID_HEADER, `invalid header name ${JSON.stringify(rawName)}`);
    }
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 13 || c === 10 || c === 0) throw typeError(ErrorCode.INVALID_HEADER, `header ${name}: value must not contain CR, LF or NUL`);
    }
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d+$/.test(value)) throw typeError(ErrorCode.INVALID_HEADER, `content-length must be a decimal number, got ${JSON.stringify(value)}`);
      this.contentLength = Number(value);
    } else if (lower === 'transfer-encoding') {
      this.chunked = /(^|,)\s*chunked\s*$/i.test(value);
    } else if (lower === 'connection') {
      if (hasToken(value, 'close')) this.connectionClose = true;
      return; // the library decides and writes connection itself
    }
    this.lines += `${lower}: ${value}\r\n`;
  }

  headerByToken(token: Token, value: string): void {
    const n = tokenToName(token);
    if (!n || n.startsWith(':')) throw typeError(ErrorCode.INVALID_HEADER, `token ${Token[token] ?? token} is not a response header`);
    this.header(n, value);
  }

  reset(): void {
    this.code = 0;
    this.lines = '';
    this.contentLength = -1;
    this.chunked = false;
    this.connectionClose = false;
  }
}

/** Throws unless `code` is a redirect status and `location` is safe in a header (`httpRedirect`'s checks). */
export function checkRedirect(code: number, location: string): void {
  if (![301, 302, 303, 307, 308].includes(code)) throw rangeError(ErrorCode.INVALID_ARGUMENT, `httpRedirect: ${code} is not a redirect status`);
  if (/[\r\n\0]/.test(location)) throw typeError(ErrorCode.INVALID_HEADER, 'httpRedirect: location must not contain CR, LF or NUL');
}
