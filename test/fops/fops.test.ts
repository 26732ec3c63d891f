/**
 * File ops: lws's helper calls over the platform ops and an in-memory
 * implementation; FILE mounts serving through replaced or wrapped ops.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FopFlag, Mount, platformFops, vfsFileOpen, vfsFileClose, vfsFileRead, vfsFileWrite, vfsTell, vfsGetLength,
  vfsGetModTime, vfsFileSeekSet, vfsFileSeekEnd, vfsFileSeekCur, type FileOps, type FopFd,
} from '../../src/index.js';
import { start, raw, parseResponses } from '../helpers/common.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-fops-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file system in a Map, as a user might write one. */
function memoryFops(files: Map<string, { data: Buffer; mtime: number; gz?: Buffer }>): FileOps {
  const ops: FileOps = {
    open(path, flags) {
      const f = files.get(path);
      if (!f && !(flags & FopFlag.CREAT)) return null;
      const entry = f ?? { data: Buffer.alloc(0), mtime: Math.floor(Date.now() / 1000) };
      if (!f) files.set(path, entry);
      const gz = f?.gz && (flags & FopFlag.COMPR_ACCEPTABLE_GZIP) ? f.gz : undefined;
      return {
        fops: ops, pos: 0, len: (gz ?? entry.data).length, modTime: entry.mtime, handle: { path, gz },
        flags: FopFlag.VIRTUAL | FopFlag.MOD_TIME_VALID | (gz ? FopFlag.COMPR_IS_GZIP : 0),
      };
    },
    close() {},
    seekCur(fd, off) {
      const p = fd.pos + off;
      if (p < 0 || p > fd.len) return -1;
      return (fd.pos = p);
    },
    read(fd, buf) {
      const h = fd.handle as { path: string; gz?: Buffer };
      const src = h.gz ?? files.get(h.path)!.data;
      const n = src.copy(buf, 0, fd.pos, Math.min(src.length, fd.pos + buf.length));
      fd.pos += n;
      return n;
    },
    write(fd, buf) {
      const h = fd.handle as { path: string };
      const e = files.get(h.path)!;
      const out = Buffer.alloc(Math.max(e.data.length, fd.pos + buf.length));
      e.data.copy(out);
      out.set(buf, fd.pos);
      e.data = out;
      fd.pos += buf.length;
      fd.len = out.length;
      return buf.length;
    },
  };
  return ops;
}

test('the helper calls: tell, length, mod time, seeks, read and write', () => {
  for (const [name, fops, path] of [
    ['platform', platformFops, join(dir, 'helpers.bin')],
    ['memory', memoryFops(new Map()), '/helpers.bin'],
  ] as const) {
    const w = vfsFileOpen(fops, path, FopFlag.WRONLY | FopFlag.CREAT | FopFlag.TRUNC) as FopFd;
    assert.ok(w, name);
    assert.equal(vfsFileWrite(w, Buffer.from('0123456789')), 10, name);
    vfsFileClose(w);
    const fd = vfsFileOpen(fops, path) as FopFd;
    assert.equal(vfsGetLength(fd), 10, name);
    assert.ok(Math.abs(vfsGetModTime(fd) - Date.now() / 1000) < 5, `${name}: mod time`);
    const b = Buffer.alloc(4);
    assert.equal(vfsFileRead(fd, b), 4);
    assert.equal(b.toString(), '0123');
    assert.equal(vfsTell(fd), 4);
    assert.equal(vfsFileSeekSet(fd, 7), 7);
    assert.equal(vfsFileRead(fd, b), 3, `${name}: short read at the end`);
    assert.equal(b.subarray(0, 3).toString(), '789');
    assert.equal(vfsFileSeekEnd(fd, -5), 5);
    assert.equal(vfsFileSeekCur(fd, 2), 7);
    assert.equal(vfsFileSeekCur(fd, -100), -1, `${name}: before the start`);
    assert.equal(vfsFileRead(fd, b), 3);
    vfsFileClose(fd);
  }
  assert.equal(vfsFileOpen(platformFops, join(dir, 'nope')), null);
  assert.equal(vfsFileOpen(platformFops, dir), null, 'a directory is not a file');
  const noTime = { fops: platformFops, pos: 0, len: 0, flags: 0, modTime: 99 };
  assert.equal(vfsGetModTime(noTime), 0, 'without MOD_TIME_VALID the time is not reported');
});

test('a FILE mount serves an in-memory file system', async (t) => {
  const big = Buffer.alloc(300000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 255;
  const page = Buffer.from('<h1>from memory</h1>');
  const files = new Map([
    ['/mem/index.html', { data: page, mtime: 1704067200 }],
    ['/mem/big.txt', { data: big, mtime: 1704067200 }],
    ['/mem/z.js', { data: Buffer.from('let x = 1;'.repeat(100)), mtime: 1704067200, gz: gzipSync('let x = 1;'.repeat(100)) }],
  ]);
  const srv = await start({ fops: memoryFops(files), mounts: [{ mountpoint: '/', origin: '/mem', originProtocol: Mount.FILE }] });
  t.after(() => srv.ctx.destroy());
  const get = async (path: string, h = '') => {
    const r = await raw(srv.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${h}\r\n`);
    return parseResponses(r.data)[0];
  };
  let r = await get('/');
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(page));
  assert.equal(r.headers['content-type'], 'text/html');
  assert.equal(r.headers['last-modified'], 'Mon, 01 Jan 2024 00:00:00 GMT');
  assert.equal((await get('/', `If-None-Match: ${r.headers.etag}\r\n`)).status, 304);
  r = await get('/big.txt');
  assert.ok(r.body.equals(big), 'a large file arrives whole, in chunks');
  assert.equal((await get('/missing.html')).status, 404);
  r = await get('/z.js', 'Accept-Encoding: gzip\r\n');
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(r.body).toString(), 'let x = 1;'.repeat(100));
  r = await get('/z.js');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.body.toString(), 'let x = 1;'.repeat(100));
});

test('wrapped platform ops see every open and close, and paths still stay inside the mount', async (t) => {
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'a.txt'), 'plain file');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  symlinkSync(join(dir, 'secret.txt'), join(www, 'link.txt'));
  const seen: string[] = [];
  const srv = await start({ mounts: [{ mountpoint: '/', origin: www, originProtocol: Mount.FILE }] });
  t.after(() => srv.ctx.destroy());
  assert.equal(srv.ctx.fops, platformFops);
  srv.ctx.fops = {
    ...platformFops,
    open(path, flags) {
      seen.push(`open ${path.slice(www.length)}`);
      return platformFops.open(path, flags);
    },
    close(fd) {
      seen.push('close');
      platformFops.close(fd);
    },
  };
  let r = parseResponses((await raw(srv.port, 'GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data)[0];
  assert.equal(r.body.toString(), 'plain file');
  r = parseResponses((await raw(srv.port, 'GET /link.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data)[0];
  assert.equal(r.status, 403, 'a symlink out of the origin is refused');
  // Refused before any open: a path that leads outside the origin is never opened.
  assert.deepEqual(seen, ['open /a.txt', 'close']);
  assert.equal(readFileSync(join(dir, 'secret.txt'), 'utf8'), 'outside');
  assert.throws(() => { srv.ctx.fops = {} as FileOps; }, /open\(\) is missing/);
});

test('a layer that passes paths through: those files are read (and cached) by the server, the others still open through it', async (t) => {
  const www = join(dir, 'www-pass');
  mkdirSync(www);
  writeFileSync(join(www, 'plain.txt'), 'served from the cache');
  writeFileSync(join(www, 'own.txt'), 'on disk, but the layer answers');
  const seen: string[] = [];
  const srv = await start({ mounts: [{ mountpoint: '/', origin: www, originProtocol: Mount.FILE }] });
  t.after(() => srv.ctx.destroy());
  const own = join(www, 'own.txt');
  const layer: FileOps = {
    ...platformFops,
    open(path, flags) {
      seen.push(path.slice(www.length));
      if (path !== own) return platformFops.open(path, flags);
      const data = Buffer.from('the layer made this');
      return { fops: layer, pos: 0, len: data.length, flags: FopFlag.VIRTUAL, modTime: 0, handle: data };
    },
    read(fd, buf) {
      if (!(fd.flags & FopFlag.VIRTUAL)) return platformFops.read(fd, buf);
      const n = (fd.handle as Buffer).copy(buf, 0, fd.pos);
      fd.pos += n;
      return n;
    },
    close(fd) {
      if (!(fd.flags & FopFlag.VIRTUAL)) platformFops.close(fd);
    },
    passesThrough: (path) => path !== own,
  };
  srv.ctx.fops = layer;
  const get = async (p: string) => parseResponses((await raw(srv.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).data)[0];
  for (let i = 0; i < 3; i++) assert.equal((await get('/plain.txt')).body.toString(), 'served from the cache');
  assert.equal((await get('/own.txt')).body.toString(), 'the layer made this');
  assert.equal((await get('/absent.txt')).status, 404);
  // Only the path the layer keeps for itself reached its open.
  assert.deepEqual(seen, ['/own.txt']);
  assert.throws(() => { srv.ctx.fops = { ...platformFops, passesThrough: true } as unknown as FileOps; },
    (e: Error & { code?: string }) => e.code === 'TSLWS_FOPS' && /passesThrough must be a function/.test(e.message));
});

test('a FIFO under the origin is refused without blocking; the mountpoint redirect keeps the query', async (t) => {
  const www = join(dir, 'fifo-www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), 'ok');
  execFileSync('mkfifo', [join(www, 'pipe.txt')]);
  const srv = await start({ mounts: [{ mountpoint: '/f', origin: www, originProtocol: Mount.FILE }] });
  t.after(() => srv.ctx.destroy());
  // Wrapped, so the request goes through the file ops rather than the plain path.
  srv.ctx.fops = { ...platformFops, open: (path, flags) => platformFops.open(path, flags) };
  // A writer turns up after 2 s, so that a blocking open would end (late) rather than hang the test.
  const writer = spawn('sh', ['-c', `sleep 2; exec 3>"${join(www, 'pipe.txt')}"`], { stdio: 'ignore' });
  t.after(() => writer.kill());
  const t0 = Date.now();
  let r = parseResponses((await raw(srv.port, 'GET /f/pipe.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 5000 })).data)[0];
  assert.ok(Date.now() - t0 < 1000, `opening it did not wait for a writer (${Date.now() - t0} ms)`);
  assert.equal(r?.status, 403, 'a FIFO is not a file: refused, as on the plain path');
  r = parseResponses((await raw(srv.port, 'GET /f/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data)[0];
  assert.equal(r.body.toString(), 'ok');
  r = parseResponses((await raw(srv.port, 'GET /f?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data)[0];
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/f/?a=1');
});
