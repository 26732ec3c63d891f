/**
 * FILE and redirect mounts as a user sees them over real sockets: default
 * files, directory redirects, mount matching, mime types, cache headers,
 * conditional requests, ranges, HEAD, and wsi.serveHttpFile from a callback.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mount, Reason, callbackHttpDummy, type Protocol, type HttpMount } from '../../src/index.js';
import { start, raw, parseResponses, openSocket, type Started, type ParsedResponse } from '../helpers/common.js';

const PAGE_404 = '<html><body><h1>404</h1></body></html>';
/** A fixed mtime so Last-Modified is predictable. */
const MTIME = new Date('2024-01-01T00:00:00Z');
const MTIME_HTTP = 'Mon, 01 Jan 2024 00:00:00 GMT';
const ALPHA = 'abcdefghijklmnopqrstuvwxyz';
/** Larger than the 64 KiB file cache limit, so it is streamed from disk. */
const BIG_SIZE = 100_000;
const BIG = Buffer.alloc(BIG_SIZE);
for (let i = 0; i < BIG_SIZE; i++) BIG[i] = i % 251;

interface Res extends ParsedResponse {
  /** Bytes after the header block, as they arrived. */
  after: Buffer;
  closed: boolean;
}

/** One request on its own connection (Connection: close); bounded by 3 s. */
async function get(port: number, method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<Res> {
  let head = `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  const r = await raw(port, head + '\r\n' + body, { timeoutMs: 3000 });
  assert.ok(r.closed, `${method} ${target}: the server closed the connection after answering`);
  const res = parseResponses(r.data, [method === 'HEAD']);
  assert.equal(res.length, 1, `${method} ${target}: exactly one response, got ${JSON.stringify(r.text.slice(0, 300))}`);
  const he = r.data.indexOf('\r\n\r\n');
  return { ...res[0], after: r.data.subarray(he + 4), closed: r.closed };
}

function fileMount(mountpoint: string, origin: string, extra: Partial<HttpMount> = {}): HttpMount {
  return { mountpoint, origin, originProtocol: Mount.FILE, ...extra };
}

let base: string;
let www: string;

/** The fixture tree, made once for this file. */
function makeTree(): void {
  base = mkdtempSync(join(tmpdir(), 'tslws-fm-'));
  www = join(base, 'www');
  const files: Record<string, string | Buffer> = {
    'www/index.html': '<h1>root index</h1>',
    'www/page.html': '<p>page</p>',
    'www/style.css': 'body{color:red}',
    'www/app.js': 'console.log(1)',
    'www/img.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    'www/data.json': '{"a":1}',
    'www/pic.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
    'www/notes.xyz': 'XYZ-CONTENT',
    'www/alpha.txt': ALPHA,
    'www/big.bin': BIG,
    'www/sub/index.html': '<h1>sub index</h1>',
    'www/noindex/a.txt': 'a',
    'www/a/which.html': 'ROOT-A',
    'www/ab/which.html': 'ROOT-AB',
    'www/my dir/index.html': 'SPACE-DIR',
    'www/café/index.html': 'CAFE-DIR',
    'www/a#b/index.html': 'HASH-DIR',
    'www/x\r\ny/index.html': 'CRLF-DIR',
    'www/my file.html': 'SPACE-FILE',
    'www/empty.txt': '',
    'home/home.html': 'HOME',
    'home/index.html': 'NOT-THE-DEF',
    'home/deep/home.html': 'DEEP-HOME',
    'docs/index.html': 'DOCS-INDEX',
    'docs/guide.html': 'DOCS-GUIDE',
    'a/which.html': 'MOUNT-A',
    'ab/which.html': 'MOUNT-AB',
  };
  for (const [rel, data] of Object.entries(files)) {
    const p = join(base, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    utimesSync(p, MTIME, MTIME);
  }
}

describe('FILE mounts', () => {
  let s: Started;
  const httpSeen: string[] = [];
  before(async () => {
    makeTree();
    // protocols[0] records what reaches it, then behaves as the default callback.
    const http: Protocol = {
      name: 'http',
      callback(wsi, reason, user, input) {
        if (reason === Reason.HTTP) httpSeen.push(`${wsi.method} ${String(input)}`);
        return callbackHttpDummy(wsi, reason, user, input);
      },
    };
    s = await start({
      protocols: [http],
      mounts: [
        fileMount('/', www),
        fileMount('/docs', join(base, 'docs')),
        fileMount('/d2/', join(base, 'docs')), // written with a trailing slash
        fileMount('/home', join(base, 'home'), { def: 'home.html' }),
        fileMount('/a', join(base, 'a')),
        fileMount('/a/b', join(base, 'ab')),
        fileMount('/xyz', www, { extraMimetypes: { '.xyz': 'application/x-xyz' } }),
        fileMount('/star', www, { extraMimetypes: { '*': 'application/octet-stream' } }),
        fileMount('/c0', www),
        fileMount('/c1', www, { cacheMaxAge: 60, cacheReusable: true }),
        fileMount('/c2', www, { cacheMaxAge: 120, cacheReusable: true, cacheIntermediaries: true }),
        fileMount('/c3', www, { cacheMaxAge: 300, cacheReusable: true, cacheIntermediaries: true, cacheRevalidate: true }),
        fileMount('/c4', www, { cacheMaxAge: 60 }),
        { mountpoint: '/old', origin: 'example.com/new', originProtocol: Mount.REDIR_HTTP },
        { mountpoint: '/secure', origin: 'example.org', originProtocol: Mount.REDIR_HTTPS },
      ],
    });
  });
  after(async () => {
    await s.ctx.destroy();
    rmSync(base, { recursive: true, force: true });
  });

  test('the mountpoint / serves index.html by default', async () => {
    const r = await get(s.port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html');
    assert.equal(r.body.toString(), '<h1>root index</h1>');
    assert.equal(r.headers['content-length'], String('<h1>root index</h1>'.length));
  });

  test('def names the default file, for the mountpoint and for subdirectories', async () => {
    const r = await get(s.port, 'GET', '/home/');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'HOME');
    const d = await get(s.port, 'GET', '/home/deep/');
    assert.equal(d.status, 200);
    assert.equal(d.body.toString(), 'DEEP-HOME');
  });

  test('a subdirectory with a trailing slash serves its index.html', async () => {
    const r = await get(s.port, 'GET', '/sub/');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '<h1>sub index</h1>');
  });

  test('a directory without its trailing slash is redirected (301) to /dir/, keeping the query', async () => {
    const r = await get(s.port, 'GET', '/sub');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/sub/');
    const q = await get(s.port, 'GET', '/sub?x=1&y=2');
    assert.equal(q.status, 301);
    assert.equal(q.headers.location, '/sub/?x=1&y=2');
  });

  test('a mountpoint requested without its slash (/docs) is redirected to /docs/', async () => {
    const r = await get(s.port, 'GET', '/docs');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/docs/');
    const ok = await get(s.port, 'GET', '/docs/');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'DOCS-INDEX');
    const g = await get(s.port, 'GET', '/docs/guide.html');
    assert.equal(g.body.toString(), 'DOCS-GUIDE');
  });

  test('a mountpoint written with a trailing slash (/d2/) behaves like /d2', async () => {
    const r = await get(s.port, 'GET', '/d2');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/d2/');
    const ok = await get(s.port, 'GET', '/d2/guide.html');
    assert.equal(ok.body.toString(), 'DOCS-GUIDE');
  });

  test('directory redirects percent-encode the name, and following them serves the index', async () => {
    const cases: Array<[string, string, string]> = [
      ['/my%20dir', '/my%20dir/', 'SPACE-DIR'],
      ['/caf%C3%A9', '/caf%C3%A9/', 'CAFE-DIR'],
      ['/a%23b', '/a%23b/', 'HASH-DIR'],
      ['/x%0D%0Ay', '/x%0D%0Ay/', 'CRLF-DIR'], // no header injection, no crash
    ];
    for (const [target, loc, body] of cases) {
      const r = await get(s.port, 'GET', target);
      assert.equal(r.status, 301, target);
      assert.equal(r.headers.location, loc, target);
      assert.equal(Object.keys(r.headers).filter((k) => !/^(location|content-type|content-length|connection|date)$/.test(k)).length, 0, `${target}: no injected headers`);
      const f = await get(s.port, 'GET', loc);
      assert.equal(f.status, 200, loc);
      assert.equal(f.body.toString(), body, loc);
    }
    // What a browser-like client does with it: curl -L follows to the page.
    const out = await new Promise<string>((resolve, reject) => {
      execFile('/usr/bin/curl', ['-s', '-L', '--max-redirs', '3', '--max-time', '5', `${s.url}/caf%C3%A9`], { timeout: 8000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    assert.equal(out, 'CAFE-DIR');
  });

  test('percent-encoded file names and query strings', async () => {
    const r = await get(s.port, 'GET', '/my%20file.html?v=3');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'SPACE-FILE');
    const q = await get(s.port, 'GET', '/page.html?x=../../secret');
    assert.equal(q.body.toString(), '<p>page</p>');
  });

  test('an empty file is served as 200 with content-length 0, and the connection lives on', async () => {
    const r = await raw(s.port, 'GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /page.html HTTP/1.1\r\nHost: x\r\n\r\n', {
      timeoutMs: 3000, until: (t) => t.endsWith('<p>page</p>'),
    });
    const res = parseResponses(r.data);
    assert.deepEqual(res.map((x) => x.status), [200, 200]);
    assert.equal(res[0].headers['content-length'], '0');
    assert.equal(res[0].body.length, 0);
    const unsat = await get(s.port, 'GET', '/empty.txt', { Range: 'bytes=0-' });
    assert.equal(unsat.status, 416);
    assert.equal(unsat.headers['content-range'], 'bytes */0');
  });

  test('the longest matching mountpoint wins, on whole path segments only', async () => {
    const cases: Array<[string, string]> = [
      ['/a/which.html', 'MOUNT-A'],
      ['/a/b/which.html', 'MOUNT-AB'],
      ['/ab/which.html', 'ROOT-AB'], // "/ab" is not under "/a"
    ];
    for (const [path, want] of cases) {
      const r = await get(s.port, 'GET', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.body.toString(), want, path);
    }
  });

  test('a missing file gets 404 with the standard page', async () => {
    const r = await get(s.port, 'GET', '/missing.html');
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), PAGE_404);
    assert.equal(r.headers['content-type'], 'text/html');
  });

  test('a directory with no index file is refused with 403, listing nothing', async () => {
    const r = await get(s.port, 'GET', '/noindex/');
    assert.equal(r.status, 403);
    assert.ok(!r.body.toString().includes('a.txt'), 'no directory listing');
    const f = await get(s.port, 'GET', '/noindex/a.txt');
    assert.equal(f.status, 200, 'files in it are still served');
  });

  test('built-in mime types', async () => {
    const cases: Array<[string, string]> = [
      ['/page.html', 'text/html'],
      ['/style.css', 'text/css'],
      ['/app.js', 'text/javascript'],
      ['/img.png', 'image/png'],
      ['/data.json', 'application/json'],
      ['/pic.svg', 'image/svg+xml'],
    ];
    for (const [path, mime] of cases) {
      const r = await get(s.port, 'GET', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], mime, path);
    }
    const png = await get(s.port, 'GET', '/img.png');
    assert.deepEqual([...png.body], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  test('an unknown suffix is not served by the mount: protocols[0] gets HTTP and answers 404', async () => {
    httpSeen.length = 0;
    const r = await get(s.port, 'GET', '/notes.xyz');
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), PAGE_404);
    assert.ok(!r.after.toString().includes('XYZ-CONTENT'));
    assert.deepEqual(httpSeen, ['GET /notes.xyz']);
  });

  test('extraMimetypes serves a named suffix with its type', async () => {
    const r = await get(s.port, 'GET', '/xyz/notes.xyz');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-xyz');
    assert.equal(r.body.toString(), 'XYZ-CONTENT');
  });

  test("extraMimetypes '*' serves any file, and built-in types still apply", async () => {
    const r = await get(s.port, 'GET', '/star/notes.xyz');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.equal(r.body.toString(), 'XYZ-CONTENT');
    // As in lws, '*' is the fallback for suffixes nothing else knows.
    const h = await get(s.port, 'GET', '/star/page.html');
    assert.equal(h.headers['content-type'], 'text/html');
  });

  test('Cache-Control follows the mount: no-store, private, public, must-revalidate', async () => {
    const cases: Array<[string, string]> = [
      ['/page.html', 'no-store'],
      ['/c0/page.html', 'no-store'],
      ['/c1/page.html', 'private, max-age=60'],
      ['/c2/page.html', 'public, max-age=120'],
      ['/c3/page.html', 'must-revalidate, public, max-age=300'],
      ['/c4/page.html', 'no-store'], // a max age without cacheReusable keeps no-store
      ['/c3/big.bin', 'must-revalidate, public, max-age=300'], // the streamed path too
    ];
    for (const [path, cc] of cases) {
      const r = await get(s.port, 'GET', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['cache-control'], cc, path);
    }
  });

  for (const [name, path] of [['small (cached)', '/alpha.txt'], ['large (streamed)', '/big.bin']] as const) {
    test(`ETag and Last-Modified, conditional GETs: ${name} file`, async () => {
      const r = await get(s.port, 'GET', path);
      assert.equal(r.status, 200);
      const etag = r.headers.etag;
      assert.match(etag, /^"[^"]+"$/, 'a quoted strong etag');
      assert.equal(r.headers['last-modified'], MTIME_HTTP);

      const inm = await get(s.port, 'GET', path, { 'If-None-Match': etag });
      assert.equal(inm.status, 304);
      assert.equal(inm.after.length, 0, '304 has no body');
      assert.equal(inm.headers.etag, etag);
      assert.equal(inm.headers['content-length'], undefined);

      assert.equal((await get(s.port, 'GET', path, { 'If-None-Match': '*' })).status, 304);
      assert.equal((await get(s.port, 'GET', path, { 'If-None-Match': 'W/' + etag })).status, 304, 'weak form matches');
      assert.equal((await get(s.port, 'GET', path, { 'If-None-Match': `"nope", ${etag}` })).status, 304, 'in a list');
      const other = await get(s.port, 'GET', path, { 'If-None-Match': '"something-else"' });
      assert.equal(other.status, 200);
      assert.equal(other.body.length, path === '/big.bin' ? BIG_SIZE : ALPHA.length);

      const hour = 3600_000;
      const ims = (d: Date) => d.toUTCString();
      assert.equal((await get(s.port, 'GET', path, { 'If-Modified-Since': MTIME_HTTP })).status, 304, 'IMS equal');
      assert.equal((await get(s.port, 'GET', path, { 'If-Modified-Since': ims(new Date(MTIME.getTime() + hour)) })).status, 304, 'IMS later');
      const earlier = await get(s.port, 'GET', path, { 'If-Modified-Since': ims(new Date(MTIME.getTime() - hour)) });
      assert.equal(earlier.status, 200, 'IMS earlier');
      assert.equal(earlier.body.length, path === '/big.bin' ? BIG_SIZE : ALPHA.length);
      // If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
      assert.equal((await get(s.port, 'GET', path, { 'If-None-Match': '"x"', 'If-Modified-Since': MTIME_HTTP })).status, 200);
      assert.equal((await get(s.port, 'GET', path, {
        'If-None-Match': etag, 'If-Modified-Since': ims(new Date(MTIME.getTime() - hour)),
      })).status, 304);
    });
  }

  test('a changed file is served changed, with a new ETag (small cached file and large file)', async () => {
    for (const [name, a, b] of [
      ['fresh-small.txt', 'version-one', 'version-two'],
      ['fresh-big.bin', 'A'.repeat(BIG_SIZE), 'B'.repeat(BIG_SIZE)],
    ] as const) {
      const p = join(www, name);
      writeFileSync(p, a);
      utimesSync(p, MTIME, MTIME);
      const r1 = await get(s.port, 'GET', '/' + name);
      assert.equal(r1.body.toString(), a);
      const r1b = await get(s.port, 'GET', '/' + name); // now surely in the cache
      assert.equal(r1b.body.toString(), a);
      // Same length, different bytes, later mtime.
      writeFileSync(p, b);
      const later = new Date(MTIME.getTime() + 10_000);
      utimesSync(p, later, later);
      const r2 = await get(s.port, 'GET', '/' + name);
      assert.equal(r2.status, 200);
      assert.equal(r2.body.toString(), b, `${name}: new content`);
      assert.notEqual(r2.headers.etag, r1.headers.etag, `${name}: new etag`);
      assert.equal(r2.headers['last-modified'], later.toUTCString());
      const stale = await get(s.port, 'GET', '/' + name, { 'If-None-Match': r1.headers.etag });
      assert.equal(stale.status, 200, `${name}: the old etag no longer matches`);
      assert.equal(stale.body.toString(), b);
    }
  });

  for (const [name, path, content] of [['small (cached)', '/alpha.txt', Buffer.from(ALPHA)], ['large (streamed)', '/big.bin', BIG]] as const) {
    test(`Range requests: ${name} file`, async () => {
      const size = content.length;
      const full = await get(s.port, 'GET', path);
      assert.equal(full.headers['accept-ranges'], 'bytes');
      const etag = full.headers.etag;

      const check = async (range: string, start: number, end: number, extra: Record<string, string> = {}) => {
        const r = await get(s.port, 'GET', path, { Range: range, ...extra });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
        assert.equal(r.headers['content-length'], String(end - start + 1), range);
        assert.ok(r.body.equals(content.subarray(start, end + 1)), `${range}: exact bytes`);
        assert.equal(r.after.length, end - start + 1, `${range}: nothing after the range`);
      };
      await check('bytes=0-9', 0, 9);
      await check('bytes=5-', 5, size - 1);
      await check('bytes=-5', size - 5, size - 1);
      await check(`bytes=${size - 3}-${size + 1000}`, size - 3, size - 1); // end clamped
      await check(`bytes=${size - 1}-${size - 1}`, size - 1, size - 1);
      await check('bytes=3-7', 3, 7, { 'If-Range': etag });

      const unsat = await get(s.port, 'GET', path, { Range: `bytes=${size}-` });
      assert.equal(unsat.status, 416);
      assert.equal(unsat.headers['content-range'], `bytes */${size}`);
      assert.ok(!unsat.after.includes(content.subarray(0, 8)), 'no file bytes in a 416');

      const whole = async (hdrs: Record<string, string>, why: string) => {
        const r = await get(s.port, 'GET', path, hdrs);
        assert.equal(r.status, 200, why);
        assert.equal(r.headers['content-range'], undefined, why);
        assert.ok(r.body.equals(content), `${why}: the whole file`);
      };
      await whole({ Range: 'bytes=abc' }, 'malformed');
      await whole({ Range: 'bytes=9-5' }, 'last before first');
      await whole({ Range: 'items=0-5' }, 'unknown unit');
      await whole({ Range: 'bytes=0-1,3-4' }, 'multi-range');
      await whole({ Range: 'bytes=0-9', 'If-Range': '"not-the-etag"' }, 'If-Range not matching');
      await whole({ Range: 'bytes=0-9', 'If-Range': 'W/' + etag }, 'If-Range weak etag (needs strong comparison)');
      await whole({ Range: 'bytes=0-9', 'If-Range': 'Sun, 31 Dec 2023 00:00:00 GMT' }, 'If-Range older date');
      await whole({ Range: 'bytes=0-9', 'If-Range': 'Tue, 02 Jan 2024 00:00:00 GMT' }, 'If-Range other date (needs an exact match)');
      await check('bytes=0-9', 0, 9, { 'If-Range': MTIME_HTTP });

      // HEAD: range handling is defined for GET only (RFC 9110 14.2), headers only.
      const h = await get(s.port, 'HEAD', path, { Range: 'bytes=0-9' });
      assert.equal(h.status, 200);
      assert.equal(h.headers['content-length'], String(size));
      assert.equal(h.after.length, 0, 'HEAD sends no body');
    });
  }

  test('Range with curl -r and with the Node http client', async () => {
    const out = await new Promise<Buffer>((resolve, reject) => {
      execFile('/usr/bin/curl', ['-s', '-r', '0-9', '--max-time', '5', `${s.url}/big.bin`], { encoding: 'buffer', timeout: 8000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    assert.ok(out.equals(BIG.subarray(0, 10)), 'curl got the first 10 bytes');
    const hdr = await new Promise<string>((resolve, reject) => {
      execFile('/usr/bin/curl', ['-s', '-o', '/dev/null', '-D', '-', '-r', '-5', '--max-time', '5', `${s.url}/alpha.txt`], { timeout: 8000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    assert.match(hdr, /^HTTP\/1\.1 206/);
    assert.match(hdr, /content-range: bytes 21-25\/26\r\n/i);

    const viaNode = await new Promise<{ status: number; range: string | undefined; body: Buffer }>((resolve, reject) => {
      const rq = httpRequest({ host: '127.0.0.1', port: s.port, path: '/big.bin', headers: { Range: 'bytes=99990-' }, timeout: 3000 }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, range: res.headers['content-range'], body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      rq.on('timeout', () => rq.destroy(new Error('timeout')));
      rq.on('error', reject);
      rq.end();
    });
    assert.equal(viaNode.status, 206);
    assert.equal(viaNode.range, `bytes 99990-99999/${BIG_SIZE}`);
    assert.ok(viaNode.body.equals(BIG.subarray(99990)));
  });

  test('HEAD returns the headers of GET and no body', async () => {
    for (const path of ['/page.html', '/big.bin']) {
      const g = await get(s.port, 'GET', path);
      const h = await get(s.port, 'HEAD', path);
      assert.equal(h.status, 200, path);
      assert.equal(h.headers['content-length'], g.headers['content-length'], path);
      assert.equal(h.headers['content-type'], g.headers['content-type'], path);
      assert.equal(h.headers.etag, g.headers.etag, path);
      assert.equal(h.after.length, 0, `${path}: no body`);
    }
  });

  test('HEAD and GET keep a connection alive across several files', async () => {
    const req = (m: string, p: string) => `${m} ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await raw(s.port, [req('HEAD', '/big.bin'), req('GET', '/page.html'), req('GET', '/big.bin'), req('GET', '/alpha.txt')].join(''), {
      timeoutMs: 3000,
      until: (t) => t.endsWith(ALPHA),
    });
    assert.equal(r.closed, false);
    const res = parseResponses(r.data, [true, false, false, false]);
    assert.deepEqual(res.map((x) => x.status), [200, 200, 200, 200]);
    assert.equal(res[1].body.toString(), '<p>page</p>');
    assert.ok(res[2].body.equals(BIG));
    assert.equal(res[3].body.toString(), ALPHA);
  });

  test('POST to a file mount is not served by the mount: protocols[0] answers 404', async () => {
    httpSeen.length = 0;
    const r = await get(s.port, 'POST', '/page.html', {}, 'x=1');
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), PAGE_404);
    assert.ok(!r.after.toString().includes('<p>page</p>'));
    assert.deepEqual(httpSeen, ['POST /page.html']);
  });

  test('REDIR_HTTP and REDIR_HTTPS mounts answer 301 to the origin', async () => {
    const a = await get(s.port, 'GET', '/old');
    assert.equal(a.status, 301);
    assert.equal(a.headers.location, 'http://example.com/new');
    const b = await get(s.port, 'GET', '/secure');
    assert.equal(b.status, 301);
    assert.equal(b.headers.location, 'https://example.org');
    const c = await get(s.port, 'GET', '/secure/anything?q=1');
    assert.equal(c.status, 301);
    assert.equal(c.headers.location, 'https://example.org');
    const h = await get(s.port, 'HEAD', '/old');
    assert.equal(h.status, 301);
    assert.equal(h.after.length, 0);
  });
});

describe('wsi.serveHttpFile from protocols[0]', () => {
  let s: Started;
  let dir: string;
  const completions: string[] = [];
  const serveResults: Array<[string, number]> = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tslws-shf-'));
    writeFileSync(join(dir, 'small.txt'), 'SMALL-FILE');
    writeFileSync(join(dir, 'big.dat'), BIG);
    const http: Protocol = {
      name: 'http',
      callback(wsi, reason, user, input) {
        if (reason === Reason.HTTP) {
          const p = String(input);
          const file = p === '/small' ? 'small.txt' : p === '/big' ? 'big.dat' : p === '/missing' ? 'missing.txt' : undefined;
          if (file) {
            const r = wsi.serveHttpFile(join(dir, file), 'application/x-test', { 'x-served-by': 'callback', 'X-Mixed-Case': 'v' });
            serveResults.push([p, r]);
            if (r < 0) return wsi.returnHttpStatus(404);
            return 0;
          }
        }
        if (reason === Reason.HTTP_FILE_COMPLETION) completions.push(wsi.uri ?? '?');
        return callbackHttpDummy(wsi, reason, user, input);
      },
    };
    s = await start({ protocols: [http] });
  });
  after(async () => {
    await s.ctx.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the file is served with the extra headers, HTTP_FILE_COMPLETION comes, keep-alive goes on', async () => {
    completions.length = 0;
    serveResults.length = 0;
    const sock = await openSocket(s.port);
    try {
      const got: Buffer[] = [];
      sock.on('data', (d: Buffer) => got.push(d));
      const waitFor = async (n: number) => {
        const t0 = Date.now();
        while (Date.now() - t0 < 3000) {
          const all = Buffer.concat(got);
          try {
            const res = parseResponses(all);
            const last = res[res.length - 1];
            if (res.length >= n && last && last.body.length === Number(last.headers['content-length'])) return res;
          } catch { /* incomplete */ }
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`timed out waiting for ${n} responses`);
      };
      sock.write('GET /small HTTP/1.1\r\nHost: x\r\n\r\n');
      let res = await waitFor(1);
      sock.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      res = await waitFor(2);
      sock.write('GET /small HTTP/1.1\r\nHost: x\r\n\r\n');
      res = await waitFor(3);
      assert.deepEqual(res.map((r) => r.status), [200, 200, 200]);
      for (const r of res) {
        assert.equal(r.headers['x-served-by'], 'callback');
        assert.equal(r.headers['x-mixed-case'], 'v');
        assert.equal(r.headers['content-type'], 'application/x-test');
        assert.equal(r.headers.connection, undefined, 'no connection: close');
      }
      assert.equal(res[0].body.toString(), 'SMALL-FILE');
      assert.ok(res[1].body.equals(BIG));
      assert.equal(res[2].body.toString(), 'SMALL-FILE');
      assert.deepEqual(completions, ['/small', '/big', '/small']);
      assert.deepEqual(serveResults, [['/small', 0], ['/big', 0], ['/small', 0]]);
      assert.equal(sock.destroyed, false, 'still connected');
    } finally {
      sock.destroy();
    }
  });

  test('a missing file returns -1 and sends nothing; the callback answers 404 and the connection lives on', async () => {
    completions.length = 0;
    serveResults.length = 0;
    const r = await raw(s.port, 'GET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n', {
      timeoutMs: 3000,
      until: (t) => t.endsWith('SMALL-FILE'),
    });
    assert.equal(r.closed, false);
    assert.ok(r.text.startsWith('HTTP/1.1 404 '), 'the first bytes are the 404 the callback sent');
    const res = parseResponses(r.data);
    assert.deepEqual(res.map((x) => x.status), [404, 200]);
    assert.equal(res[0].body.toString(), PAGE_404);
    assert.equal(res[0].headers['x-served-by'], undefined);
    assert.deepEqual(serveResults, [['/missing', -1], ['/small', 0]]);
    assert.deepEqual(completions, ['/small'], 'no FILE_COMPLETION for the missing file');
  });
});
