import { closeSync, constants, openSync, readSync, realpathSync, statSync, fstatSync, type Stats } from 'node:fs';
import type { H1Conn } from '../../roles/h1/conn.js';
import type { ResolvedMount } from '../../http/mount.js';
import { getMimetype } from '../../http/mime.js';
import { Reason } from '../../core/reasons.js';
import { PendingTimeout } from '../../core/timeouts.js';
import { log } from '../../core/log.js';
import { isZipMount, serveZip } from '../../zip/serve.js';
import { platformFops } from '../../fops/platform.js';
import { serveViaFops } from '../../fops/serve.js';

interface ServeOptions {
  mime: string;
  extraHeaders?: Readonly<Record<string, string>>;
  mount?: ResolvedMount;
  memo?: FileMemo;
}

/**
 * What one mounted file's responses share while the file is unchanged: its
 * validators, its 200 header lines, and the last whole 200 response built
 * (valid for one `date:` second and one connection line).
 */
export interface FileMemo {
  ino: number;
  size: number;
  mtimeMs: number;
  etag: string;
  lastMod: string;
  /** content-type … accept-ranges lines of a 200. */
  tail: string;
  key: string;
  resp: Buffer | null;
  body: Buffer | null;
}

interface Origin {
  /** The origin's real path, null when it does not exist. */
  real: string | null;
  /**
   * Paths already proven to resolve inside the origin, with the identity of
   * the file they reached. A later request whose `stat` reaches the same
   * (dev, ino) reaches the same file, so the walk through every component
   * (realpath) is not repeated on each hit; anything that changes what the
   * path leads to changes the identity and forces the full check again.
   */
  verified: Map<string, { dev: number; ino: number; real: string; memo?: FileMemo }>;
}

const VERIFIED_MAX = 4096;
const MEMO_MAX_BODY = 8192;
const origins = new WeakMap<ResolvedMount, Origin>();

function originOf(m: ResolvedMount): Origin {
  let o = origins.get(m);
  if (!o) {
    let real: string | null;
    try {
      real = realpathSync.native(m.origin);
    } catch {
      log.warn('mount %s: origin %s does not exist', m.mountpoint, m.origin);
      real = null;
    }
    o = { real, verified: new Map() };
    origins.set(m, o);
  }
  return o;
}

/**
 * One `stat` per path per event-loop turn: requests handled in the same turn
 * (pipelined, or many connections readable at once) see the same instant of
 * the file system, and later turns look again, so a changed file is served
 * changed from the next turn on.
 */
const turnStats = new Map<string, Stats | undefined>();
let turnClearScheduled = false;

function clearTurnStats(): void {
  turnStats.clear();
  turnClearScheduled = false;
}

function statThisTurn(path: string): Stats | undefined {
  if (turnStats.has(path)) return turnStats.get(path);
  const st = statSync(path, { throwIfNoEntry: false });
  turnStats.set(path, st);
  if (!turnClearScheduled) {
    turnClearScheduled = true;
    setImmediate(clearTurnStats);
  }
  return st;
}

/**
 * Serve `path` from a FILE mount. Returns false when the mount has nothing
 * to say (an unknown file type), so the request goes on to the protocol's
 * HTTP callback as in lws; every other outcome is answered here.
 */
export function serveMount(conn: H1Conn, m: ResolvedMount, path: string): boolean {
  if (isZipMount(m)) return serveZip(conn, m, path);
  const fops = conn.wsi.context.fops;
  if (fops !== platformFops) return serveViaFops(conn, m, path, fops);
  let rel = path.slice(m.mpLen);
  if (rel === '' && m.mpLen > 1) {
    conn.redirect(301, encodePath(path) + '/' + queryPart(conn));
    return true;
  }
  const dirRel = rel === '' || rel.endsWith('/') ? rel : undefined;
  if (dirRel !== undefined) rel += m.def ?? 'index.html';
  const origin = originOf(m);
  const root = origin.real;
  if (!root) {
    conn.returnStatus(404);
    return true;
  }
  const under = root.endsWith('/') ? root : root + '/';
  const fsPath = root + (rel.startsWith('/') ? rel : '/' + rel);
  let st: Stats | undefined;
  let real: string | undefined;
  const known = origin.verified.get(fsPath);
  if (known) {
    st = statThisTurn(fsPath);
    if (st && st.dev === known.dev && st.ino === known.ino) real = known.real;
    else origin.verified.delete(fsPath);
  }
  if (real === undefined) {
    try {
      real = realpathSync.native(fsPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A directory that exists but has no default file is forbidden (no
      // listing), not missing: 403 rather than 404.
      conn.returnStatus(code === 'EACCES' || code === 'ELOOP' || (dirRel !== undefined && isDirUnder(root, under, dirRel)) ? 403 : 404);
      return true;
    }
    // Whatever the path or its symlinks say, the file must live under the origin.
    if (real !== root && !real.startsWith(under)) {
      log.info('wsi %d: %s resolves outside mount %s', conn.wsi.id, path, m.mountpoint);
      conn.returnStatus(403);
      return true;
    }
    st = statSync(real, { throwIfNoEntry: false });
    if (!st) {
      conn.returnStatus(404);
      return true;
    }
    if (st.isFile()) {
      if (origin.verified.size >= VERIFIED_MAX) origin.verified.clear();
      origin.verified.set(fsPath, { dev: st.dev, ino: st.ino, real });
    }
  }
  st = st as Stats;
  if (st.isDirectory()) {
    if (!path.endsWith('/')) conn.redirect(301, encodePath(path) + '/' + queryPart(conn));
    else conn.returnStatus(403);
    return true;
  }
  if (!st.isFile()) {
    conn.returnStatus(403);
    return true;
  }
  const mime = getMimetype(real, m.extraMimetypes);
  if (mime === undefined) return false;
  const entry = origin.verified.get(fsPath);
  if (!serveFile(conn, real, { mime, mount: m, memo: entry && (entry.memo ??= emptyMemo()) }, st)) conn.returnStatus(404);
  return true;
}

/** Is `rel` (relative to the origin) a directory that really lives under it? */
function isDirUnder(root: string, under: string, rel: string): boolean {
  try {
    const d = realpathSync.native(root + (rel.startsWith('/') ? rel : '/' + rel));
    return (d === root || d.startsWith(under)) && statSync(d).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `path` is decoded; a Location needs it encoded again, or a space, a
 * non-ASCII name or `#` makes a broken URL, and CR/LF in a directory name
 * would make redirect() throw out of the request parser.
 */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The request's query with its `?`, or nothing: what a redirect must carry on. */
export function queryPart(conn: H1Conn): string {
  const q = conn.req?.query;
  return q ? '?' + q : '';
}

export function cacheControl(m: ResolvedMount | undefined): string {
  if (!m || !m.cacheMaxAge || !m.cacheReusable) return 'no-store';
  const who = m.cacheIntermediaries ? 'public' : 'private';
  return `${m.cacheRevalidate ? 'must-revalidate, ' : ''}${who}, max-age=${Math.floor(m.cacheMaxAge)}`;
}

function etagOf(st: Stats): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
}

/** Does an If-None-Match list contain `etag` (weak comparison, RFC 9110 13.1.2)? */
export function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  for (const t of header.split(',')) if (t.trim().replace(/^W\//, '') === bare) return true;
  return false;
}

interface Range {
  start: number;
  end: number;
}

/**
 * A single byte range (RFC 9110 14.1.2). Undefined means "serve the whole
 * file" (no Range, several ranges, or a Range we do not understand, all of
 * which RFC 9110 lets a server ignore); null means unsatisfiable.
 */
function parseRange(h: string, size: number): Range | null | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(h);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return undefined;
  if (start >= size) return null;
  if (end >= size) end = size - 1;
  return { start, end };
}

/**
 * Send a file as the response: conditional requests (If-None-Match,
 * If-Modified-Since), a single Range (with If-Range), cache headers from
 * the mount. Small files come from the context's cache; larger ones leave
 * in chunks from the writeable path. Returns false if the file cannot be
 * opened (nothing has been sent).
 */
export function serveFile(conn: H1Conn, path: string, o: ServeOptions, known?: Stats): boolean {
  const wsi = conn.wsi;
  let st = known;
  if (!st) {
    try {
      st = statSync(path);
    } catch {
      return false;
    }
    if (!st.isFile()) return false;
  }
  const req = conn.req;
  const memo = o.memo && !o.extraHeaders ? freshMemo(o.memo, st, o) : undefined;
  const etag = memo ? memo.etag : etagOf(st);
  const lastMod = memo ? memo.lastMod : httpDateOf(st);
  let common = `etag: ${etag}\r\nlast-modified: ${lastMod}\r\ncache-control: ${cacheControl(o.mount)}\r\n`;
  if (o.extraHeaders) {
    for (const [k, v] of Object.entries(o.extraHeaders)) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || /[\r\n\0]/.test(v)) throw new TypeError(`serveHttpFile: invalid header ${JSON.stringify(k)}`);
      common += `${k.toLowerCase()}: ${v}\r\n`;
    }
  }

  // Conditional GET (RFC 9110 13.2.2): If-None-Match wins over If-Modified-Since.
  const inm = req?.first('if-none-match');
  let notModified = false;
  if (inm !== undefined) notModified = noneMatch(inm, etag);
  else {
    const ims = req?.first('if-modified-since');
    if (ims !== undefined) {
      const t = Date.parse(ims);
      if (!Number.isNaN(t) && Math.floor(st.mtimeMs / 1000) * 1000 <= t) notModified = true;
    }
  }
  if (notModified) {
    conn.sendWhole(conn.headerBlock304(common));
    finishFile(conn);
    return true;
  }

  const typeLine = o.mime ? `content-type: ${o.mime}\r\n` : '';
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  let rangeLine = '';
  const rh = req?.first('range');
  if (rh !== undefined && req?.method === 'GET') {
    const ifRange = req.first('if-range');
    // If-Range (RFC 9110 13.1.5): a strong etag, or a date that exactly
    // matches Last-Modified; a later date is not a match.
    const honour = ifRange === undefined || ifRange.trim() === etag ||
      (!ifRange.trim().startsWith('"') && !ifRange.trim().startsWith('W/') && Date.parse(ifRange) === Math.floor(st.mtimeMs / 1000) * 1000);
    const r = honour ? parseRange(rh, st.size) : undefined;
    if (r === null) {
      conn.sendWhole(conn.headerBlock(416, `content-type: text/html\r\ncontent-range: bytes */${st.size}\r\n`, 0));
      finishFile(conn);
      return true;
    }
    if (r) {
      start = r.start;
      end = r.end;
      status = 206;
      rangeLine = `content-range: bytes ${start}-${end}/${st.size}\r\n`;
    }
  }
  const length = st.size === 0 ? 0 : end - start + 1;
  // Whole responses are kept only for small files, so the memos of a
  // mount stay within VERIFIED_MAX x MEMO_MAX_BODY bytes.
  if (memo && status === 200 && length > 0 && length <= MEMO_MAX_BODY && !conn.isHead) {
    const body = wsi.context.fileCache.get(path, st);
    if (body) {
      conn.sendMemo200(memo, body);
      finishFile(conn);
      return true;
    }
  }
  const head = conn.headerBlock(status, typeLine + common + 'accept-ranges: bytes\r\n' + rangeLine, length);
  if (conn.isHead || length === 0) {
    conn.sendWhole(head);
    finishFile(conn);
    return true;
  }
  const cached = wsi.context.fileCache.get(path, st);
  if (cached) {
    conn.sendWhole(head, start === 0 && end === cached.length - 1 ? cached : cached.subarray(start, end + 1));
    finishFile(conn);
    return true;
  }
  let fd: number;
  try {
    // Non-blocking: a file swapped for a FIFO since the stat must not stop
    // the event loop (regular files ignore the flag); the inode check refuses it.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const fst = fstatSync(fd);
    if (fst.ino !== st.ino || fst.size !== st.size) {
      closeSync(fd);
      return false;
    }
  } catch {
    return false;
  }
  conn.sendWhole(head);
  const sender = new FileSender(conn, fd, start, end + 1);
  conn.file = sender;
  sender.pump();
  return true;
}

function httpDateOf(st: Stats): string {
  return new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
}

function emptyMemo(): FileMemo {
  return { ino: -1, size: -1, mtimeMs: -1, etag: '', lastMod: '', tail: '', key: '', resp: null, body: null };
}

/** The memo brought up to date with `st`: rebuilt whenever the file changed. */
function freshMemo(m: FileMemo, st: Stats, o: ServeOptions): FileMemo {
  if (m.ino === st.ino && m.size === st.size && m.mtimeMs === st.mtimeMs) return m;
  m.ino = st.ino;
  m.size = st.size;
  m.mtimeMs = st.mtimeMs;
  m.etag = etagOf(st);
  m.lastMod = httpDateOf(st);
  m.tail = (o.mime ? `content-type: ${o.mime}\r\n` : '') +
    `etag: ${m.etag}\r\nlast-modified: ${m.lastMod}\r\ncache-control: ${cacheControl(o.mount)}\r\naccept-ranges: bytes\r\n`;
  m.key = '';
  m.resp = null;
  m.body = null;
  return m;
}

/** HTTP_FILE_COMPLETION, then the transaction ends unless the callback closed. @internal */
export function finishFile(conn: H1Conn): void {
  const wsi = conn.wsi;
  if (wsi.callProtocol(Reason.HTTP_FILE_COMPLETION)) return;
  conn.transactionCompleted();
}

/** At most this many chunks per service turn, so one download cannot starve others. */
const CHUNKS_PER_TURN = 4;

/** A response body that `pumpChunks` reads a chunk at a time. */
export interface ChunkSource {
  /** Bytes still to send. */
  readonly left: number;
  /**
   * The next at most `max` bytes, or null after a failure it has dealt
   * with (logged, and the connection closed: the promised length cannot
   * be kept).
   */
  next(max: number): Buffer | null;
}

/**
 * One service turn of a body: chunks from `src` go to the socket only while
 * it is not choked, so memory held per download stays near the high-water
 * mark however slowly the peer reads. True once everything is sent; false
 * when more remains ('drain' or a scheduled turn comes back) or it failed.
 */
export function pumpChunks(conn: H1Conn, src: ChunkSource): boolean {
  const wsi = conn.wsi;
  const s = wsi.socket;
  if (!s || wsi.closed) return false;
  let turns = 0;
  while (src.left > 0 && !s.writableNeedDrain && turns++ < CHUNKS_PER_TURN) {
    const buf = src.next(conn.limits.fileChunkSize);
    if (!buf) return false;
    s.write(buf);
  }
  wsi.setTimeout(PendingTimeout.HTTP_CONTENT, conn.limits.timeoutSecs);
  if (src.left <= 0) return true;
  // Choked: 'drain' brings us back. Otherwise yield to other connections.
  if (!s.writableNeedDrain) wsi.context.scheduleWritable(wsi);
  return false;
}

/** Streams a byte range of an open file to the socket (see `pumpChunks`). */
export class FileSender implements ChunkSource {
  #closed = false;

  constructor(readonly conn: H1Conn, readonly fd: number, public pos: number, readonly end: number) {}

  get left(): number {
    return this.end - this.pos;
  }

  next(max: number): Buffer | null {
    const wsi = this.conn.wsi;
    const want = Math.min(max, this.end - this.pos);
    const buf = Buffer.allocUnsafe(want);
    let n: number;
    try {
      n = readSync(this.fd, buf, 0, want, this.pos);
    } catch (e) {
      log.err('wsi %d: reading file failed: %s', wsi.id, (e as Error).message);
      wsi.close(false);
      return null;
    }
    if (n <= 0) {
      log.warn('wsi %d: file shrank while being sent', wsi.id);
      wsi.close(false);
      return null;
    }
    this.pos += n;
    return n === want ? buf : buf.subarray(0, n);
  }

  pump(): void {
    if (this.#closed || !pumpChunks(this.conn, this)) return;
    this.close();
    this.conn.file = null;
    finishFile(this.conn);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
  }
}
