import { realpathSync } from 'node:fs';
import type { H1Conn, ResponsePump } from '../roles/h1/conn.js';
import type { ResolvedMount } from '../http/mount.js';
import { getMimetype } from '../http/mime.js';
import { cacheControl, encodePath, finishFile, noneMatch, pumpChunks, queryPart, type ChunkSource } from '../responders/file/serve.js';
import { acceptsGzip } from '../zip/gzip.js';
import { PendingTimeout } from '../core/timeouts.js';
import { log } from '../core/log.js';
import { FopFlag, type FileOps, type FopFd } from './fops.js';


/** Is `path` (reached through platform calls) really inside `origin`? */
function inside(origin: string, path: string): boolean {
  try {
    const root = realpathSync.native(origin);
    const real = realpathSync.native(path);
    return real === root || real.startsWith(root.endsWith('/') ? root : root + '/');
  } catch {
    return false;
  }
}

/**
 * Serve `path` of a FILE mount through user file ops (the context's
 * `fops` when they are not the platform's own). What the ops open as
 * VIRTUAL is trusted to stay in its namespace; anything else must resolve
 * inside the origin as for plain files. Returns false for a file of
 * unknown type, like the plain path.
 */
export function serveViaFops(conn: H1Conn, m: ResolvedMount, path: string, fops: FileOps): boolean {
  let rel = path.slice(m.mpLen);
  if (rel === '' && m.mpLen > 1) {
    conn.redirect(301, encodePath(path) + '/' + queryPart(conn));
    return true;
  }
  if (rel === '' || rel.endsWith('/')) rel += m.def ?? 'index.html';
  const fsPath = m.origin.replace(/\/+$/, '') + (rel.startsWith('/') ? rel : '/' + rel);
  const mime = getMimetype(fsPath, m.extraMimetypes);
  if (mime === undefined) return false;
  const req = conn.req;
  const gzipOk = acceptsGzip(req?.header('accept-encoding'));
  let fd: FopFd | null;
  try {
    fd = fops.open(fsPath, FopFlag.RDONLY | (gzipOk ? FopFlag.COMPR_ACCEPTABLE_GZIP : 0));
  } catch (e) {
    log.err('fops open %s threw: %s', fsPath, (e as Error).message);
    fd = null;
  }
  if (!fd) {
    conn.returnStatus(404);
    return true;
  }
  if (!(fd.flags & FopFlag.VIRTUAL) && !inside(m.origin, fsPath)) {
    fops.close(fd);
    conn.returnStatus(403);
    return true;
  }
  const timed = (fd.flags & FopFlag.MOD_TIME_VALID) !== 0;
  const gz = (fd.flags & FopFlag.COMPR_IS_GZIP) !== 0;
  const etag = `"${fd.len.toString(16)}${timed ? '-' + fd.modTime.toString(16) : ''}${gz ? '-gz' : ''}"`;
  let lines = `etag: ${etag}\r\n${timed ? `last-modified: ${new Date(fd.modTime * 1000).toUTCString()}\r\n` : ''}cache-control: ${cacheControl(m)}\r\n`;
  const inm = req?.first('if-none-match');
  if (inm !== undefined && noneMatch(inm, etag)) {
    fops.close(fd);
    conn.sendWhole(conn.headerBlock304(lines));
    finishFile(conn);
    return true;
  }
  if (mime) lines = `content-type: ${mime}\r\n` + lines;
  if (gz) lines += 'content-encoding: gzip\r\nvary: accept-encoding\r\n';
  conn.sendWhole(conn.headerBlock(200, lines, fd.len));
  if (conn.isHead || fd.len === 0) {
    fops.close(fd);
    finishFile(conn);
    return true;
  }
  const sender = new FopsSender(conn, fops, fd);
  conn.file = sender;
  sender.pump();
  return true;
}

/** Sends an open FopFd from the writeable path (see `pumpChunks`). */
class FopsSender implements ResponsePump, ChunkSource {
  left: number;
  #closed = false;

  /** `fops` are the ops that opened `fd`: a wrapper sees its reads and close too. */
  constructor(readonly conn: H1Conn, readonly fops: FileOps, readonly fd: FopFd) {
    this.left = fd.len - fd.pos;
  }

  next(max: number): Buffer | null {
    const buf = Buffer.allocUnsafe(Math.min(max, this.left));
    let n: number;
    try {
      n = this.fops.read(this.fd, buf);
    } catch {
      n = -1;
    }
    if (n <= 0) {
      log.err('wsi %d: fops read failed with %d bytes left', this.conn.wsi.id, this.left);
      this.close();
      this.conn.wsi.close(false);
      return null;
    }
    this.left -= n;
    return n === buf.length ? buf : buf.subarray(0, n);
  }

  pump(): void {
    if (this.#closed || !pumpChunks(this.conn, this)) return;
    this.close();
    if (this.conn.file === this) this.conn.file = null;
    finishFile(this.conn);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.fops.close(this.fd);
    } catch (e) {
      log.err('fops close threw: %s', (e as Error).message);
    }
  }
}
