import { rangeError, ErrorCode } from '../../../core/errors.js';

/**
 * A SETTINGS_HEADER_TABLE_SIZE value, checked: the HTTP/2 role passes what
 * it read from a SETTINGS frame (32 bits), so anything else is its bug.
 */
export function checkTableSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw rangeError(ErrorCode.INVALID_ARGUMENT, `HPACK table size must be an integer from 0 to 2^32-1, got ${n}`);
  }
  return n;
}
