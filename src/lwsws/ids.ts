/**
 * `username` / `groupname` to numeric ids, looked up once at start (before
 * privileges are dropped): the access logs are given to them, and a reopen
 * after a SIGHUP, made as that user, can then write there.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Field 3 (the id) of the `name` entry of a passwd/group-format text. */
function idIn(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

/** The id of user (`passwd`) or group (`group`) `name`: the files first, then `getent` (NSS: LDAP and the like). */
function lookup(db: 'passwd' | 'group', name: string): number | undefined {
  try {
    const id = idIn(readFileSync(`/etc/${db}`, 'utf8'), name);
    if (id !== undefined) return id;
  } catch {
    /* no such file here: ask getent */
  }
  try {
    return idIn(execFileSync('getent', [db, name], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }), name);
  } catch {
    return undefined;
  }
}

/**
 * `uid` / `gid` as numbers where they can be: a number stays, a name is
 * looked up. A name that cannot be found stays a name (switching to it then
 * fails, saying so).
 */
export function resolveIds(uid: number | string | undefined, gid: number | string | undefined):
  { uid: number | string | undefined; gid: number | string | undefined } {
  const one = (db: 'passwd' | 'group', v: number | string | undefined) =>
    (typeof v !== 'string' ? v : lookup(db, v) ?? v);
  return { uid: one('passwd', uid), gid: one('group', gid) };
}
