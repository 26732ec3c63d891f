/** Byte classes from RFC 9110/9112, as lookup tables for the parsers. */

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const TCHAR_EXTRA = "!#$%&'*+-.^_`|~";

/** tchar: the characters of a token (method, header name, transfer coding). */
export const TCHAR = table((c) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
  TCHAR_EXTRA.includes(String.fromCharCode(c)));

/** field-value bytes: VCHAR, SP, HTAB, obs-text; never CTL, DEL, CR, LF or NUL. */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c <= 0x7e) || c >= 0x80);

/**
 * request-target bytes: visible ASCII only. `#` is refused (a fragment is
 * never part of a request), and so is everything outside VCHAR.
 */
export const TARGET = table((c) => c > 0x20 && c < 0x7f && c !== 0x23);

/** Hex digit values, -1 for anything else. */
export const HEX = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c;
    t[0x61 + c] = 10 + c;
  }
  return t;
})();
