import { closeSync, fstatSync, openSync } from 'node:fs';
import type { H1Conn } from '../roles/h1/conn.js';
import type { ResolvedMount } from '../http/mount.js';
import { getMimetype } from '../http/mime.js';
import { cacheControl, encodePath, finishFile, noneMatch, queryPart } from '../responders/file/serve.js';
import { log } from '../core/log.js';
import { archiveAt } from './archives.js';
import { acceptsGzip } from './gzip.js';
import { ZipSender, type ZipMode } from './sender.js';
import { METHOD_DEFLATED } from './format.js';

/** Does this FILE mount serve from inside a zip archive? */
export function isZipMount(m: ResolvedMount): boolean {
  return /\.zip$/i.test(m.origin);
}

/**
 * Serve `path` from the zip archive a FILE mount points at. Returns false
 * for a member of unknown type (the request goes on to the protocol, as
 * for plain files); answers everything else.
 */
export function serveZip(conn: H1Conn, m: ResolvedMount, path: string): boolean {
  let rel = path.slice(m.mpLen).replace(/^\//, '');
  if (path.length === m.mpLen && m.mpLen > 1) {
    conn.redirect(301, encodePath(path) + '/' + queryPart(conn));
    return true;
  }
  if (rel === '' || rel.endsWith('/')) rel += m.def ?? 'index.html';
  const archive = archiveAt(m.origin);
  if (typeof archive === 'string') {
    conn.returnStatus(archive === 'archive not found' ? 404 : 500, archive === 'archive not found' ? undefined : 'The archive behind this mount cannot be read.');
    return true;
  }
  const entry = archive.entries.get(rel);
  if (!entry) {
    if (archive.hasDir(rel + '/')) conn.redirect(301, encodePath(path) + '/' + queryPart(conn));
    else conn.returnStatus(404);
    return true;
  }
  const mime = getMimetype(rel, m.extraMimetypes);
  if (mime === undefined) return false;
  const req = conn.req;
  const gzip = entry.method === METHOD_DEFLATED && acceptsGzip(req?.header('accept-encoding'));
  const mode: ZipMode = entry.method !== METHOD_DEFLATED ? 'raw' : gzip ? 'gzip' : 'inflate';
  // The two encodings are two representations: they need two validators.
  const etag = `"${entry.crc.toString(16)}-${entry.size.toString(16)}${gzip ? '-gz' : ''}"`;
  let lines = `etag: ${etag}\r\nlast-modified: ${entry.mtime.toUTCString()}\r\ncache-control: ${cacheControl(m)}\r\n`;
  if (entry.method === METHOD_DEFLATED) lines += 'vary: accept-encoding\r\n';
  const inm = req?.first('if-none-match');
  if (inm !== undefined && noneMatch(inm, etag)) {
    conn.sendWhole(conn.headerBlock304(lines));
    finishFile(conn);
    return true;
  }
  if (mime) lines = `content-type: ${mime}\r\n` + lines;
  if (gzip) lines += 'content-encoding: gzip\r\n';
  const length = gzip ? entry.compressedSize + 18 : entry.size;
  let fd: number;
  try {
    fd = openSync(m.origin, 'r');
    // The archive must still be the one whose directory was checked.
    if (fstatSync(fd).size !== archive.fileSize) throw new Error('the archive changed');
  } catch (e) {
    log.warn('zip %s: %s', m.origin, (e as Error).message);
    conn.returnStatus(503);
    return true;
  }
  conn.sendWhole(conn.headerBlock(200, lines, length));
  if (conn.isHead || length === 0) {
    closeSync(fd);
    finishFile(conn);
    return true;
  }
  const sender = new ZipSender(conn, fd, entry, mode);
  conn.file = sender;
  sender.pump();
  return true;
}
