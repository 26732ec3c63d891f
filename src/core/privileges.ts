import { log } from './log.js';
import { ErrorCode, stateError } from './errors.js';

/**
 * Switch to `gid` then `uid` (ids or names), as lws does once its listen
 * sockets are bound: group first, supplementary groups dropped when root,
 * user last, so nothing left can undo the change. Throws saying why when
 * the switch fails; nothing to do when neither is given.
 */
export function dropPrivileges(uid: number | string | undefined, gid: number | string | undefined): void {
  if (uid === undefined && gid === undefined) return;
  if (typeof process.setuid !== 'function' || typeof process.setgid !== 'function')
    throw stateError(ErrorCode.PRIVILEGES, 'uid/gid: this platform cannot change the process user');
  try {
    if (gid !== undefined) {
      if (process.getuid?.() === 0 && typeof process.setgroups === 'function') process.setgroups([gid]);
      process.setgid(gid);
    }
    if (uid !== undefined) process.setuid(uid);
  } catch (e) {
    const msg = `cannot drop privileges to uid ${uid ?? '-'} gid ${gid ?? '-'}: ${(e as Error).message}`;
    log.err('%s', msg);
    throw stateError(ErrorCode.PRIVILEGES, msg);
  }
  log.notice('running as uid %d gid %d', process.getuid?.() ?? -1, process.getgid?.() ?? -1);
}
