import { setLogLevel } from '../core/log.js';

/**
 * The bins' shared option checks. Each says what is wrong on stderr, in
 * the bin's name, and returns null so the caller can exit 1.
 */

/** A port option: `fallback` when absent; null when not a whole number in min..65535. */
export function portArg(prog: string, value: string | undefined, fallback: number, min = 0): number | null {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < min || port > 65535) {
    process.stderr.write(`${prog}: bad port ${value}\n`);
    return null;
  }
  return port;
}

/** `-d MASK`: sets the log levels; false (after saying why) when the mask is not a non-negative integer. */
export function applyDebugArg(prog: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const mask = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(mask)) {
    process.stderr.write(`${prog}: bad debug mask ${value}\n`);
    return false;
  }
  setLogLevel(mask);
  return true;
}
