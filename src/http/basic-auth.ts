import { readFileSync, statSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import { log } from '../core/log.js';

/**
 * HTTP Basic authentication for a mount (lws's `basic_auth_login_file`):
 * the file holds `user:password` lines (blank lines and `#` comments
 * ignored), read again whenever it changes on disk.
 */
interface Logins {
  mtimeMs: number;
  size: number;
  digests: Buffer[];
}

const cache = new Map<string, Logins>();

// Credentials are compared as SHA-256 digests, in constant time, so
// neither length nor content leaks through timing.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function logins(file: string): Logins | null {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    log.err('basic auth: cannot read %s: %s', file, (e as Error).message);
    return null;
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    log.err('basic auth: cannot read %s: %s', file, (e as Error).message);
    return null;
  }
  const digests = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && l.includes(':')).map(digest);
  const fresh = { mtimeMs: st.mtimeMs, size: st.size, digests };
  cache.set(file, fresh);
  return fresh;
}

/** True when `authorization` (the request's header) carries a login listed in `file`. */
export function basicAuthOk(file: string, authorization: string | undefined): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const pair = Buffer.from(m[1], 'base64').toString('utf8');
  if (!pair.includes(':')) return false;
  const l = logins(file);
  if (!l) return false;
  const d = digest(pair);
  let ok = false;
  for (const x of l.digests) if (timingSafeEqual(x, d)) ok = true;
  return ok;
}

/** The challenge sent with 401 (lws's realm). */
export const BASIC_AUTH_CHALLENGE = 'www-authenticate: Basic realm="lwsws"\r\n';
