/**
 * The file responder: FILE mounts (a directory, or a zip archive through
 * its file operations), and `wsi.serveHttpFile`. Every file, whatever
 * reads it, gets the same validators, conditional requests, single
 * ranges, HEAD and cache headers.
 */
import type { Stats } from 'node:fs';
import { withRegularFile } from './regular.js';
import type { HttpExchange } from '../../http/exchange.js';
import { Mount, type ResolvedMount } from '../../http/mount.js';
import { getMimetype } from '../../http/mime.js';
import { encodePath, queryPart } from '../../http/uri.js';
import { statusPage } from '../../http/status.js';
import { FopFlag, type FileOps, type FopFd } from '../../fops/fops.js';
import { opensPlainly, platformFops } from '../../fops/platform.js';
import { log } from '../../core/log.js';
import { ErrorCode, typeError } from '../../core/errors.js';
import { acceptsGzip } from '../../zip/gzip.js';
import { archiveAt } from '../../zip/archives.js';
import { zipFileOps } from '../../zip/zip-fops.js';
import { METHOD_DEFLATED } from '../../zip/format.js';
import { locate, warnIfOriginMissing } from './locate.js';
import { emptyMemo, memoFor, type FileMemo } from './memo.js';
import { FileSender, finishFile } from './sender.js';
import { fileCacheOf } from './file-cache.js';
import { cacheControl, evaluatePreconditions, httpDateOfMs, makeEtag, requestedRange } from './validators.js';

/** Whole responses are kept only for small files, so a mount's memos stay within a few MB. */
const MEMO_MAX_BODY = 8192;

/** A file ready to be answered with: what it is, and how to read it. */
interface FileBody {
  readonly len: number;
  readonly mtimeMs: number | undefined;
  readonly etag: string;
  readonly gzip: boolean;
  /** Only readable in order: ranges are answered with the whole file. */
  readonly sequential: boolean;
  /** All of it, when it is held in memory. */
  readonly whole: Buffer | undefined;
  /** Open for reading; null when it cannot be read any more. */
  open(): { fops: FileOps; fd: FopFd } | null;
  /** Answered without reading it: let go of what `open` would have used. */
  release(): void;
}

interface ServeOptions {
  /** The content-type; empty sends none. */
  mime: string;
  mount?: ResolvedMount;
  extraHeaders?: Readonly<Record<string, string>>;
  /** The file's responses' shared state, for a small file read from disk. */
  memo?: FileMemo;
  /** The representation depends on Accept-Encoding. */
  vary?: boolean;
}

/** An opened file as a FileBody. */
function openedBody(fops: FileOps, fd: FopFd): FileBody {
  const gzip = (fd.flags & FopFlag.COMPR_IS_GZIP) !== 0;
  const mtimeMs = fd.mtimeMs ?? (fd.flags & FopFlag.MOD_TIME_VALID ? fd.modTime * 1000 : undefined);
  return {
    len: fd.len - fd.pos,
    mtimeMs,
    etag: fd.etag ?? makeEtag(fd.len, mtimeMs, gzip),
    gzip,
    sequential: (fd.flags & FopFlag.SEQUENTIAL) !== 0,
    whole: undefined,
    open: () => ({ fops, fd }),
    release: () => {
      try {
        fops.close(fd);
      } catch (e) {
        log.err('fops close threw: %s', (e as Error).message);
      }
    },
  };
}

/**
 * A file on disk known by its `stat`: small ones come from the context's
 * cache, larger ones are opened only when their bytes are needed (not for
 * a 304, a HEAD or a 416), through `fops` (the platform's, or a layer
 * that passes the path through to them).
 */
function diskBody(path: string, st: Stats, cached: Buffer | undefined, memo?: FileMemo, fops: FileOps = platformFops): FileBody {
  return {
    len: st.size,
    mtimeMs: st.mtimeMs,
    etag: memo ? memo.etag : makeEtag(st.size, st.mtimeMs, false),
    gzip: false,
    sequential: false,
    whole: cached,
    open: () => {
      const fd = fops.open(path, FopFlag.RDONLY);
      // Still the file that was checked (a file swapped since its stat is not served).
      if (fd && (fd.len !== st.size || (fd.mtimeMs !== undefined && fd.mtimeMs !== st.mtimeMs))) {
        fops.close(fd);
        return null;
      }
      return fd ? { fops, fd } : null;
    },
    release: () => {},
  };
}

/**
 * Answer with `body`: validators and cache headers, preconditions (412,
 * 304), a single range (206, 416), HEAD, then the bytes: at once when they
 * are in memory, else from the writeable path. HTTP_FILE_COMPLETION
 * follows. False when the file cannot be read after all (nothing sent).
 */
function sendFile(ex: HttpExchange, body: FileBody, o: ServeOptions): boolean {
  const req = ex.req;
  const lastMod = body.mtimeMs;
  // The header lines every answer but the memoised 200 carries: made only when needed.
  const common = (): string => {
    let c = `etag: ${body.etag}\r\n${lastMod !== undefined ? `last-modified: ${httpDateOfMs(lastMod)}\r\n` : ''}` +
      `cache-control: ${cacheControl(o.mount)}\r\n`;
    if (o.extraHeaders) for (const [k, v] of Object.entries(o.extraHeaders)) c += `${k.toLowerCase()}: ${v}\r\n`;
    if (body.gzip || o.vary) c += 'vary: accept-encoding\r\n';
    return c;
  };

  const pre = evaluatePreconditions(req, body.etag, lastMod);
  if (pre !== 'ok') {
    body.release();
    if (pre === 'not-modified') ex.respondWhole(304, common());
    else ex.respondWhole(412, 'content-type: text/html\r\n', Buffer.from(statusPage(412)));
    finishFile(ex);
    return true;
  }

  const size = body.len;
  let start = 0;
  let end = size - 1;
  let status = 200;
  let rangeLine = '';
  const r = body.sequential ? undefined : requestedRange(req, size, body.etag, lastMod);
  if (r === null) {
    body.release();
    ex.respondWhole(416, `content-type: text/html\r\ncontent-range: bytes */${size}\r\n`);
    finishFile(ex);
    return true;
  }
  if (r) {
    start = r.start;
    end = r.end;
    status = 206;
    rangeLine = `content-range: bytes ${start}-${end}/${size}\r\n`;
  }
  const length = size === 0 ? 0 : end - start + 1;
  const whole = body.whole;
  if (whole && o.memo && status === 200 && length > 0 && length <= MEMO_MAX_BODY && !ex.isHead) {
    ex.respondWhole(200, o.memo.tail, whole, o.memo);
    finishFile(ex);
    return true;
  }
  const typeLine = o.mime ? `content-type: ${o.mime}\r\n` : '';
  const encLine = body.gzip ? 'content-encoding: gzip\r\n' : '';
  const rangesLine = body.sequential ? 'accept-ranges: none\r\n' : 'accept-ranges: bytes\r\n';
  const lines = typeLine + common() + encLine + rangesLine + rangeLine;
  if (ex.isHead || length === 0) {
    body.release();
    ex.respond(status, lines, length);
    finishFile(ex);
    return true;
  }
  if (whole) {
    ex.respondWhole(status, lines, start === 0 && end === whole.length - 1 ? whole : whole.subarray(start, end + 1));
    finishFile(ex);
    return true;
  }
  const opened = body.open();
  if (!opened) return false;
  const { fops, fd } = opened;
  if (start > 0 && fops.seekCur(fd, start) < 0) {
    body.release();
    return false;
  }
  ex.respond(status, lines, length);
  const sender = new FileSender(ex, fops, fd, length);
  ex.producer = sender;
  sender.pump();
  return true;
}

/**
 * Serve `path` from a FILE mount. Returns false when the mount has nothing
 * to say (an unknown file type), so the request goes on to the protocol's
 * HTTP callback as in lws; every other outcome is answered here.
 */
export function serveFileMount(ex: HttpExchange, m: ResolvedMount, path: string): boolean {
  if (isZipMount(m)) return serveZipMount(ex, m, path);
  let rel = path.slice(m.mpLen);
  if (rel === '' && m.mpLen > 1) {
    ex.redirect(301, encodePath(path) + '/' + queryPart(ex.req.query));
    return true;
  }
  const dirRel = rel === '' || rel.endsWith('/') ? rel : undefined;
  if (dirRel !== undefined) rel += m.def ?? 'index.html';
  const fops = ex.wsi.context.fops;
  const loc = locate(m, rel, dirRel);
  // Read directly (and cached) when the file ops would hand this path to the platform unchanged.
  const plain = (loc.kind === 'file' || loc.kind === 'absent') && opensPlainly(fops, loc.fsPath);
  switch (loc.kind) {
    case 'refused':
      ex.returnStatus(loc.status);
      return true;
    case 'directory':
      if (!path.endsWith('/')) ex.redirect(301, encodePath(path) + '/' + queryPart(ex.req.query));
      else ex.returnStatus(403);
      return true;
    case 'absent':
      if (plain) {
        warnIfOriginMissing(m);
        ex.returnStatus(404);
        return true;
      }
      break;
  }
  // A file read directly has its type looked up once per verified path (null: none, not served).
  let mime: string | undefined;
  if (plain && loc.kind === 'file') {
    const v = loc.verified;
    if (v.mime === undefined) v.mime = getMimetype(v.real, m.extraMimetypes) ?? null;
    mime = v.mime ?? undefined;
  } else mime = getMimetype(loc.fsPath, m.extraMimetypes);
  if (mime === undefined) return false;
  if (plain && loc.kind === 'file') {
    const cached = fileCacheOf(ex.wsi.context)?.get(loc.real, loc.st);
    const st = loc.st;
    const memo = cached ? memoFor(loc.verified.memo ??= emptyMemo(), st, mime, m) : undefined;
    if (!sendFile(ex, diskBody(loc.real, st, cached, memo, fops), { mime, mount: m, memo })) ex.returnStatus(404);
    return true;
  }
  // Through the context's file ops: what they open as VIRTUAL is trusted
  // to stay in its namespace; anything else must be on disk under the origin.
  const gzipOk = acceptsGzip(ex.req.header('accept-encoding'));
  const fd = openThrough(fops, loc.fsPath, FopFlag.RDONLY | (gzipOk ? FopFlag.COMPR_ACCEPTABLE_GZIP : 0));
  if (!fd) {
    ex.returnStatus(404);
    return true;
  }
  if (loc.kind === 'absent' && !(fd.flags & FopFlag.VIRTUAL)) {
    fops.close(fd);
    ex.returnStatus(403);
    return true;
  }
  if (!sendFile(ex, openedBody(fops, fd), { mime, mount: m })) ex.returnStatus(404);
  return true;
}

function openThrough(fops: FileOps, path: string, flags: number): FopFd | null {
  try {
    return fops.open(path, flags);
  } catch (e) {
    log.err('fops open %s threw: %s', path, (e as Error).message);
    return null;
  }
}

/** Does this FILE mount serve from inside a zip archive? */
export function isZipMount(m: ResolvedMount): boolean {
  if (m.originProtocol !== Mount.FILE) return false;
  // Asked on every request of the mount: compared by character, not by a regular expression.
  const o = m.origin;
  const n = o.length;
  return n >= 4 && o.charCodeAt(n - 4) === 0x2e && (o.charCodeAt(n - 3) | 0x20) === 0x7a &&
    (o.charCodeAt(n - 2) | 0x20) === 0x69 && (o.charCodeAt(n - 1) | 0x20) === 0x70;
}

/**
 * Serve `path` from the zip archive a FILE mount points at, through the
 * archive's file operations. Returns false for a member of unknown type.
 */
function serveZipMount(ex: HttpExchange, m: ResolvedMount, path: string): boolean {
  let rel = path.slice(m.mpLen).replace(/^\//, '');
  if (path.length === m.mpLen && m.mpLen > 1) {
    ex.redirect(301, encodePath(path) + '/' + queryPart(ex.req.query));
    return true;
  }
  if (rel === '' || rel.endsWith('/')) rel += m.def ?? 'index.html';
  const archive = archiveAt(m.origin);
  if (typeof archive === 'string') {
    const missing = archive === 'archive not found';
    ex.returnStatus(missing ? 404 : 500, missing ? undefined : 'The archive behind this mount cannot be read.');
    return true;
  }
  const entry = archive.entries.get(rel);
  if (!entry) {
    if (archive.hasDir(rel + '/')) ex.redirect(301, encodePath(path) + '/' + queryPart(ex.req.query));
    else ex.returnStatus(404);
    return true;
  }
  const mime = getMimetype(rel, m.extraMimetypes);
  if (mime === undefined) return false;
  const fops = zipFileOps(m.origin);
  const gzipOk = acceptsGzip(ex.req.header('accept-encoding'));
  const fd = fops.open(rel, FopFlag.RDONLY | (gzipOk ? FopFlag.COMPR_ACCEPTABLE_GZIP : 0));
  if (!fd) {
    ex.returnStatus(503);
    return true;
  }
  // A deflated member has two representations (gzip or not): caches must key on Accept-Encoding.
  if (!sendFile(ex, openedBody(fops, fd), { mime, mount: m, vary: entry.method === METHOD_DEFLATED })) ex.returnStatus(503);
  return true;
}

/**
 * `wsi.serveHttpFile`: send the file at `path` (read through the
 * context's file ops) as the whole response. False when it cannot be
 * opened (nothing sent).
 */
export function serveFileAt(ex: HttpExchange, path: string, mime: string, extraHeaders?: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(extraHeaders ?? {})) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || typeof v !== 'string' || /[\r\n\0]/.test(v))
      throw typeError(ErrorCode.INVALID_HEADER, `serveHttpFile: invalid header ${JSON.stringify(k)}`);
  }
  const fops = ex.wsi.context.fops;
  if (opensPlainly(fops, path)) {
    const st = statRegular(path);
    if (!st) return false;
    const cached = fileCacheOf(ex.wsi.context)?.get(path, st);
    return sendFile(ex, diskBody(path, st, cached, undefined, fops), { mime, extraHeaders });
  }
  const fd = openThrough(fops, path, FopFlag.RDONLY);
  if (!fd) return false;
  return sendFile(ex, openedBody(fops, fd), { mime, extraHeaders });
}

function statRegular(path: string): Stats | null {
  return withRegularFile(path, (_fd, st) => st);
}
