/**
 * Dropping to the configured user and group once every listen socket is
 * bound and every log file is open (lws's lws_finalize_startup): group
 * first, then supplementary groups, then user, so the last step cannot be
 * undone by what remains.
 */
import { log } from '../core/log.js';

export function dropPrivileges(uid: number | string | undefined, gid: number | string | undefined): void {
  if (uid === undefined && gid === undefined) return;
  if (typeof process.setuid !== 'function' || typeof process.setgid !== 'function')
    throw new Error('uid/gid: this platform cannot change the process user');
  try {
    if (gid !== undefined) {
      if (process.getuid?.() === 0 && typeof process.setgroups === 'function') process.setgroups([gid]);
      process.setgid(gid);
    }
    if (uid !== undefined) process.setuid(uid);
  } catch (e) {
    throw new Error(`cannot drop privileges to uid ${uid ?? '-'} gid ${gid ?? '-'}: ${(e as Error).message}`);
  }
  log.notice('running as uid %d gid %d', process.getuid?.() ?? -1, process.getgid?.() ?? -1);
}
