/**
 * Reading per-vhost options (pvo). Their values are strings, as in lws and
 * in lwsws's JSON; these helpers turn them into flags and numbers with one
 * set of rules, and say what was wrong when a value makes no sense.
 */
import type { PvoOptions } from '../core/protocols.js';
import { ErrorCode, rangeError } from '../core/errors.js';

const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/**
 * True when `key` is present and not `0`/`false`/`no`/`off`; a bare key
 * (empty value) counts as set, as lws's presence-only pvos do.
 *
 * ```ts
 * const closeTest = pvoFlag(options, 'closetest');
 * ```
 */
export function pvoFlag(options: PvoOptions | undefined, key: string): boolean {
  const v = options?.[key];
  if (v === undefined) return false;
  return !FALSE_WORDS.has(String(v).trim().toLowerCase());
}

/**
 * The number in `key`, or `fallback` when absent. Throws a RangeError
 * (code `TSLWS_INVALID_OPTION`) that names the key when the value is not a
 * finite number `>= min`.
 *
 * ```ts
 * const secs = pvoNumber(options, 'slow-reader-secs', 3);
 * ```
 */
export function pvoNumber(options: PvoOptions | undefined, key: string, fallback: number, min = 0): number {
  const v = options?.[key];
  if (v === undefined || String(v).trim() === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw rangeError(ErrorCode.INVALID_OPTION, `pvo "${key}" must be a number >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}
