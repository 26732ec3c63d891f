import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The per-user directory for files the bins make at run time
 * (`$XDG_CACHE_HOME/tslws/…`, else `~/.cache/tslws/…`). Never the installed
 * package: it may be read-only, shared by users, or replaced by the next
 * `npm install`.
 */
export function userCacheDir(...parts: string[]): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tslws', ...parts);
}
