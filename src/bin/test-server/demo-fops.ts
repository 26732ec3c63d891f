import { join } from 'node:path';
import { FopFlag, type FileOps, type FopFd } from '../../fops/fops.js';
import { platformFops } from '../../fops/platform.js';
import { log } from '../../core/log.js';

/** The page's name for the file that exists only in the file-ops layer. */
export const DEMO_FOPS_FILE = 'fops-demo.txt';

/**
 * The test server's file-ops example (the C test server wraps its fops
 * open the same way): every open is logged at info level (`-d 15` shows
 * them) and one file, `fops-demo.txt` at the top of the served directory,
 * exists only here, made when it is opened (FopFlag.VIRTUAL). Everything
 * else goes to the platform's file ops, and is declared so
 * (`passesThrough`): small files then come from the server's cache and
 * are not opened on each request.
 */
export function demoFops(base: FileOps, resourceDir: string): FileOps {
  const virtualPath = join(resourceDir, DEMO_FOPS_FILE);
  return {
    ...base,
    open(path: string, flags: number): FopFd | null {
      log.info('test server fops: open %s', path);
      if (path !== virtualPath) return base.open(path, flags);
      const data = Buffer.from(`This file is not on disk: the test server's file-ops layer made it at ${new Date().toISOString()}.\n`);
      const self = this as FileOps;
      return { fops: self, pos: 0, len: data.length, flags: FopFlag.VIRTUAL | FopFlag.MOD_TIME_VALID, modTime: Math.floor(Date.now() / 1000), handle: data };
    },
    close(fd: FopFd): void {
      if (!(fd.flags & FopFlag.VIRTUAL)) base.close(fd);
    },
    seekCur(fd: FopFd, offset: number): number {
      if (!(fd.flags & FopFlag.VIRTUAL)) return base.seekCur(fd, offset);
      const p = fd.pos + offset;
      if (p < 0 || p > fd.len) return -1;
      fd.pos = p;
      return p;
    },
    read(fd: FopFd, buf: Uint8Array): number {
      if (!(fd.flags & FopFlag.VIRTUAL)) return base.read(fd, buf);
      const data = fd.handle as Buffer;
      const n = data.copy(buf, 0, fd.pos, Math.min(fd.len, fd.pos + buf.length));
      fd.pos += n;
      return n;
    },
    write(fd: FopFd, buf: Uint8Array): number {
      return fd.flags & FopFlag.VIRTUAL ? -1 : base.write(fd, buf);
    },
    // Every other path goes to the platform unchanged: the server may read
    // (and cache) those files itself, so only opens it really makes are logged.
    passesThrough(path: string): boolean {
      return path !== virtualPath && (base === platformFops || base.passesThrough?.(path) === true);
    },
  };
}
