/**
 * lws-test-server's mounts beyond `/`: the form handler at /formtest and
 * the zip book at /ziptest/, as the C test server has them. The book is
 * generated into the user's cache, never into the package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { raw, parseResponses } from '../helpers/common.js';
import { within, spawnBin, spawnExe, portOf, killChild } from '../helpers/plugin-ws-client.js';
import { distSrc } from '../helpers/paths.js';

test('lws-test-server answers the form at /formtest and serves the book at /ziptest/', async () => {
  const child = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    const port = await portOf(child);
    const body = 'text=hello&send=Send+the+form';
    let r = await raw(port, `POST /formtest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    let [res] = parseResponses(r.data);
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /<tr><td><b>send<\/b><\/td><td>13<\/td><td>Send the form<\/td><\/tr>/);
    r = await raw(port, 'GET /ziptest/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n');
    [res] = parseResponses(r.data);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(res.body).toString(), /Served from inside a zip archive/);
    r = await raw(port, 'GET /ziptest/images/waves.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    [res] = parseResponses(r.data);
    assert.equal(res.headers['content-type'], 'image/png');
    child.proc.kill('SIGINT');
    const done = await within(child.exited, 5000, 'exit after SIGINT');
    assert.equal(done.code, 0);
  } finally {
    killChild(child);
  }
});

test('the zip book is made once in $XDG_CACHE_HOME/tslws/test-server/ and reused by the next start', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'tslws-book-cache-'));
  const dir = join(cache, 'tslws', 'test-server');
  const startServer = async () => {
    const c = spawnExe(process.execPath, [distSrc('bin', 'lws-test-server.js'), '-p', '0', '-i', '127.0.0.1'],
      { env: { ...process.env, XDG_CACHE_HOME: cache } });
    return { c, port: await portOf(c, 10000) };
  };
  try {
    let s = await startServer();
    let made: { name: string; mtimeMs: number };
    try {
      const books = readdirSync(dir);
      assert.equal(books.length, 1, `one file in ${dir}: ${books.join(', ')}`);
      assert.match(books[0], /^book-[0-9a-f]{16}\.zip$/);
      made = { name: books[0], mtimeMs: statSync(join(dir, books[0])).mtimeMs };
      const [res] = parseResponses((await raw(s.port, 'GET /ziptest/book.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data);
      assert.equal(res.status, 200);
    } finally {
      killChild(s.c);
      await s.c.exited;
    }
    s = await startServer();
    try {
      assert.deepEqual(readdirSync(dir), [made.name]);
      assert.equal(statSync(join(dir, made.name)).mtimeMs, made.mtimeMs, 'the same file, not written again');
      const [res] = parseResponses((await raw(s.port, 'GET /ziptest/book.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data);
      assert.equal(res.status, 200);
    } finally {
      killChild(s.c);
      await s.c.exited;
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('with a cache it cannot write, the server says so and serves the rest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-book-cache-'));
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, '');
  const c = spawnExe(process.execPath, [distSrc('bin', 'lws-test-server.js'), '-p', '0', '-i', '127.0.0.1'],
    { env: { ...process.env, XDG_CACHE_HOME: file } });
  try {
    const port = await portOf(c, 10000);
    assert.match(c.stderr(), /cannot write the zip book, \/ziptest\/ is not served/);
    const [page] = parseResponses((await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data);
    assert.equal(page.status, 200);
    const [book] = parseResponses((await raw(port, 'GET /ziptest/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).data);
    assert.equal(book.status, 404);
  } finally {
    killChild(c);
    await c.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
