/**
 * No request may read outside a FILE mount's origin: every spelling of
 * "go up a directory", encoded or not, and symlinks that lead out. The
 * secret lives next to the origin, where a traversal would find it.
 * Raw sockets, because HTTP clients normalise paths before sending.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mount } from '../../src/index.js';
import { start, raw, parseResponses, type Started } from '../helpers/common.js';

const SECRET = 'TOP-SECRET-' + randomBytes(8).toString('hex');

let base: string;

function makeTree(): void {
  base = mkdtempSync(join(tmpdir(), 'tslws-trav-'));
  const w = (rel: string, data: string) => {
    const p = join(base, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
  };
  w('secret.txt', SECRET); // next to the origin
  w('www2/secret.txt', SECRET); // a sibling whose name starts with the origin's
  w('outside/secret.txt', SECRET);
  w('www/index.html', 'INDEX');
  w('www/in.html', 'INSIDE-FILE');
  w('www/a/b.html', 'A-B');
  w('www/sub/c.html', 'SUB-C');
  const www = join(base, 'www');
  symlinkSync('../secret.txt', join(www, 'link-out.txt'));
  symlinkSync(join(base, 'secret.txt'), join(www, 'link-out-abs.txt'));
  symlinkSync('../outside', join(www, 'linkdir'));
  symlinkSync('..', join(www, 'up'));
  symlinkSync('in.html', join(www, 'link-in.html'));
  symlinkSync('a', join(www, 'link-in-dir'));
  symlinkSync('../a/b.html', join(www, 'sub', 'link-sideways.html'));
}

/** Send one raw request head and return the status and everything sent back. */
async function rawGet(port: number, target: string | Buffer): Promise<{ status: number; text: string }> {
  const head = Buffer.concat([
    Buffer.from('GET '), typeof target === 'string' ? Buffer.from(target, 'latin1') : target,
    Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
  ]);
  const r = await raw(port, head, { timeoutMs: 3000 });
  assert.ok(r.closed, 'answered and closed within 3 s');
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(r.text);
  assert.ok(m, `a status line, got ${JSON.stringify(r.text.slice(0, 80))}`);
  return { status: Number(m[1]), text: r.text };
}

describe('path traversal', () => {
  let s: Started;
  before(async () => {
    makeTree();
    s = await start({
      mounts: [
        { mountpoint: '/', origin: join(base, 'www'), originProtocol: Mount.FILE, extraMimetypes: { '*': 'application/octet-stream' } },
        { mountpoint: '/m', origin: join(base, 'www', 'a'), originProtocol: Mount.FILE },
      ],
    });
  });
  after(async () => {
    await s.ctx.destroy();
    rmSync(base, { recursive: true, force: true });
  });

  test('control: the secret is readable when the origin is its own directory', async () => {
    const c = await start({ mounts: [{ mountpoint: '/', origin: base, originProtocol: Mount.FILE }] });
    try {
      const r = await rawGet(c.port, '/secret.txt');
      assert.equal(r.status, 200);
      assert.ok(r.text.includes(SECRET), 'so a leak would be seen by the checks below');
    } finally {
      await c.ctx.destroy();
    }
  });

  const attacks: Array<[string, string | Buffer]> = [
    ['plain ..', '/../secret.txt'],
    ['.. after a directory', '/a/../../secret.txt'],
    ['/./..', '/./../secret.txt'],
    ['//..', '//../secret.txt'],
    ['.. at the end then the name', '/a/../../'],
    ['%2e%2e/', '/%2e%2e/secret.txt'],
    ['%2E%2E%2F', '/%2E%2E%2Fsecret.txt'],
    ['..%2f', '/..%2fsecret.txt'],
    ['.%2e/', '/.%2e/secret.txt'],
    ['%2e%2e/ after a directory', '/a/%2e%2e/%2e%2e/secret.txt'],
    ['double-encoded %252e%252e%252f', '/%252e%252e%252fsecret.txt'],
    ['double-encoded %252e%252e/', '/%252e%252e/secret.txt'],
    ['%00 after the name', '/../secret.txt%00.html'],
    ['%00 in a segment', '/..%00/secret.txt'],
    ['raw NUL byte', Buffer.from('/..\0/secret.txt', 'latin1')],
    ['backslashes ..\\', '/..\\secret.txt'],
    ['%5c', '/..%5csecret.txt'],
    ['%5c both sides', '/%5c..%5csecret.txt'],
    ['overlong UTF-8 %c0%ae%c0%ae/', '/%c0%ae%c0%ae/secret.txt'],
    ['overlong UTF-8 %c0%ae%c0%ae%c0%af', '/%c0%ae%c0%ae%c0%afsecret.txt'],
    ['overlong UTF-8, three bytes', '/%e0%80%ae%e0%80%ae/secret.txt'],
    ['absolute-form http://x/../', 'http://x/../secret.txt'],
    ['absolute-form with %2e%2e', 'http://x/%2e%2e/secret.txt'],
    ['no leading slash', '../secret.txt'],
    ['into a sibling sharing the origin prefix', '/../www2/secret.txt'],
    ['from a deeper mount', '/m/../../secret.txt'],
    ['from a deeper mount, encoded', '/m/..%2f..%2fsecret.txt'],
    ['symlink to a file outside', '/link-out.txt'],
    ['absolute symlink to a file outside', '/link-out-abs.txt'],
    ['through a symlink to a directory outside', '/linkdir/secret.txt'],
    ['a symlink to a directory outside, with slash', '/linkdir/'],
    ['a symlink to a directory outside, without slash', '/linkdir'],
    ['through a symlink to the parent', '/up/secret.txt'],
    ['through a symlink to the parent, then ..', '/up/www/../secret.txt'],
  ];
  for (const [name, target] of attacks) {
    test(`refused: ${name}`, async () => {
      const r = await rawGet(s.port, target);
      assert.ok(r.status >= 400 && r.status < 500, `a 4xx answer, got ${r.status}`);
      assert.ok(!r.text.includes(SECRET), 'no secret bytes in the response');
    });
  }

  test('symlinks that lead outside are forbidden (403), not just missing', async () => {
    for (const t of ['/link-out.txt', '/link-out-abs.txt', '/linkdir/secret.txt', '/up/secret.txt']) {
      assert.equal((await rawGet(s.port, t)).status, 403, t);
    }
  });

  test('symlinks that stay inside the origin are served', async () => {
    const cases: Array<[string, string]> = [
      ['/link-in.html', 'INSIDE-FILE'],
      ['/link-in-dir/b.html', 'A-B'],
      ['/sub/link-sideways.html', 'A-B'],
    ];
    for (const [t, want] of cases) {
      const r = await rawGet(s.port, t);
      assert.equal(r.status, 200, t);
      const res = parseResponses(Buffer.from(r.text, 'latin1'));
      assert.equal(res[0].body.toString(), want, t);
    }
  });

  test('a .. that stays inside the origin is resolved and served', async () => {
    const r = await rawGet(s.port, '/a/../in.html');
    assert.equal(r.status, 200);
    assert.ok(r.text.endsWith('INSIDE-FILE'));
    const e = await rawGet(s.port, '/a/%2e%2e/sub/c.html');
    assert.equal(e.status, 200);
    assert.ok(e.text.endsWith('SUB-C'));
  });

  test('the server still serves after all of the above', async () => {
    const r = await rawGet(s.port, '/');
    assert.equal(r.status, 200);
    assert.ok(r.text.endsWith('INDEX'));
  });
});

test('a symlink re-pointed outside after being served is refused on the next request', async () => {
  const base = mkdtempSync(join(tmpdir(), 'tslws-swap-'));
  const www = join(base, 'www');
  mkdirSync(www);
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(www, 'a.txt'), 'inside A');
  writeFileSync(join(www, 'b.txt'), 'inside B');
  symlinkSync('a.txt', join(www, 'link.txt'));
  const s = await start({ mounts: [{ mountpoint: '/', origin: www, originProtocol: Mount.FILE }] });
  try {
    const first = await rawGet(s.port, '/link.txt');
    assert.equal(first.status, 200);
    assert.ok(first.text.endsWith('inside A'));
    // re-point inside: the new target is served
    rmSync(join(www, 'link.txt'));
    symlinkSync('b.txt', join(www, 'link.txt'));
    const second = await rawGet(s.port, '/link.txt');
    assert.equal(second.status, 200);
    assert.ok(second.text.endsWith('inside B'));
    // re-point outside: refused, nothing leaks
    rmSync(join(www, 'link.txt'));
    symlinkSync('../secret.txt', join(www, 'link.txt'));
    const third = await rawGet(s.port, '/link.txt');
    assert.equal(third.status, 403);
    assert.ok(!third.text.includes(SECRET));
  } finally {
    await s.ctx.destroy();
    rmSync(base, { recursive: true, force: true });
  }
});
