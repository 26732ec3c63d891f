/**
 * FILE mounts whose origin is a zip: members served by path, deflated ones
 * passed through as gzip when the client accepts it (the stored deflate
 * bytes, unchanged) and inflated with bounded buffers otherwise; strict
 * parsing of broken archives, each answered clearly without harming the
 * other mounts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mount, type HttpMount } from '../../src/index.js';
import { writeZip } from '../../src/zip/writer.js';
import { ZipArchive } from '../../src/zip/reader.js';
import { bookEntries } from '../../src/bin/zipbook/book.js';
import { start, raw, parseResponses, openSocket, sleep } from '../helpers/common.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-zip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TEXT = Buffer.from(Array.from({ length: 8000 }, (_, i) => `<p>line ${i} of the book, with words that repeat.</p>\n`).join(''));
const PNG = Buffer.alloc(20000);
for (let i = 0; i < PNG.length; i++) PNG[i] = (i * 131 + (i >> 7)) & 255;
const ZEROS = Buffer.alloc(48 << 20);

function file(name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

const GOOD = file('good.zip', writeZip([
  { name: 'index.html', data: Buffer.from('<h1>index</h1>') },
  { name: 'book.html', data: TEXT },
  { name: 'img/pic.png', data: PNG, store: true },
  { name: 'img/sub/deep.txt', data: Buffer.from('deep') },
  { name: 'empty.txt', data: Buffer.alloc(0) },
  { name: 'zeros.txt', data: ZEROS },
]));

/** The archive with `patch` applied to its bytes. */
function patched(name: string, patch: (b: Buffer, cdOffset: number) => void, entries = [{ name: 'a.html', data: TEXT }]): string {
  const b = writeZip(entries);
  patch(b, b.readUInt32LE(b.length - 22 + 16));
  return file(name, b);
}

const BROKEN: Record<string, string> = {
  truncated: file('truncated.zip', readFileSync(GOOD).subarray(0, 1000)),
  notzip: file('notzip.zip', Buffer.from('this is not a zip archive at all, just some text long enough')),
  cdpast: patched('cdpast.zip', (b) => b.writeUInt32LE(0x7fffffff, b.length - 22 + 16)),
  localpast: patched('localpast.zip', (b, cd) => b.writeUInt32LE(0x7ffffff0, cd + 42)),
  sizepast: patched('sizepast.zip', (b, cd) => b.writeUInt32LE(0x7ffffff0, cd + 20)),
  badsig: patched('badsig.zip', (b) => b.writeUInt32LE(0x12345678, 0)),
};
const BADCRC = patched('badcrc.zip', (b, cd) => b.writeUInt32LE((b.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16));
const BADDATA = patched('baddata.zip', (b) => { for (let i = 60; i < 90; i++) b[i] ^= 0x5a; });
const ODD = file('odd.zip', (() => {
  const b = writeZip([
    { name: 'ok.html', data: Buffer.from('fine') },
    { name: '../evil.html', data: Buffer.from('evil') },
    { name: 'x/../../evil2.html', data: Buffer.from('evil') },
    { name: 'bomb.txt', data: ZEROS },
  ]);
  // Claim a size far larger than the data could inflate to honestly: a bomb by ratio.
  const cd = b.readUInt32LE(b.length - 22 + 16);
  let p = cd;
  for (let i = 0; i < 4; i++) {
    const n = b.readUInt16LE(p + 28);
    if (b.toString('utf8', p + 46, p + 46 + n) === 'bomb.txt') b.writeUInt32LE(0x30000000, p + 24);
    p += 46 + n;
  }
  return b;
})());

const mounts: HttpMount[] = [
  { mountpoint: '/zip', origin: GOOD, originProtocol: Mount.FILE },
  { mountpoint: '/odd', origin: ODD, originProtocol: Mount.FILE },
  { mountpoint: '/badcrc', origin: BADCRC, originProtocol: Mount.FILE },
  { mountpoint: '/baddata', origin: BADDATA, originProtocol: Mount.FILE },
  { mountpoint: '/book', origin: file('book.zip', writeZip(bookEntries())), def: 'book.html', originProtocol: Mount.FILE },
  ...Object.entries(BROKEN).map(([k, v]) => ({ mountpoint: `/${k}`, origin: v, originProtocol: Mount.FILE })),
];
const srvP = start({ mounts });
after(async () => (await srvP).ctx.destroy());

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const { port } = await srvP;
  let h = `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  const r = await raw(port, h + '\r\n', { timeoutMs: 10000 });
  const res = parseResponses(r.data, [method === 'HEAD']);
  return { ...res[0], text: r.text };
}

/** The member's stored deflate bytes, read from the archive directly. */
function storedBytes(path: string, name: string): Buffer {
  const e = ZipArchive.open(path).entries.get(name)!;
  return readFileSync(path).subarray(e.dataOffset, e.dataOffset + e.compressedSize);
}

test('gzip clients get the stored deflate stream wrapped, others get it inflated', async () => {
  const gz = await get('/zip/book.html', { 'Accept-Encoding': 'br, gzip;q=0.8' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers['content-type'], 'text/html');
  assert.equal(gz.headers.vary, 'accept-encoding');
  const stored = storedBytes(GOOD, 'book.html');
  assert.equal(Number(gz.headers['content-length']), stored.length + 18);
  assert.ok(gz.body.subarray(10, -8).equals(stored), 'the deflate bytes are the archive\'s, not recompressed');
  assert.ok(gunzipSync(gz.body).equals(TEXT));
  for (const ae of [undefined, 'identity', 'gzip;q=0', 'deflate']) {
    const plain = await get('/zip/book.html', ae ? { 'Accept-Encoding': ae } : {});
    assert.equal(plain.status, 200, String(ae));
    assert.equal(plain.headers['content-encoding'], undefined, String(ae));
    assert.equal(Number(plain.headers['content-length']), TEXT.length);
    assert.ok(plain.body.equals(TEXT), `inflated whole (${ae})`);
  }
  assert.notEqual(gz.headers.etag, (await get('/zip/book.html')).headers.etag, 'each encoding has its own validator');
});

test('stored members, directories, defaults, 404, 304, HEAD, empty members', async () => {
  const png = await get('/zip/img/pic.png', { 'Accept-Encoding': 'gzip' });
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.headers['content-encoding'], undefined);
  assert.ok(png.body.equals(PNG));
  assert.equal((await get('/zip/img/sub/deep.txt')).body.toString(), 'deep');
  let r = await get('/zip');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/zip/');
  assert.equal((await get('/zip/')).body.toString(), '<h1>index</h1>');
  r = await get('/zip/img');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/zip/img/');
  r = await get('/zip/img?a=1');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/zip/img/?a=1', 'the query goes along');
  assert.equal((await get('/zip/missing.html')).status, 404);
  assert.equal((await get('/zip/../good.zip')).status, 404, 'paths are normalised inside the mount');
  r = await get('/zip/book.html');
  assert.equal((await get('/zip/book.html', { 'If-None-Match': r.headers.etag })).status, 304);
  r = await get('/zip/book.html', {}, 'HEAD');
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), TEXT.length);
  assert.match(r.text, /\r\n\r\n$/);
  r = await get('/zip/empty.txt');
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  const book = await get('/book/');
  assert.match(book.body.toString(), /<h1>The Writeable Callback<\/h1>/);
  assert.equal((await get('/book/images/waves.png')).body.subarray(1, 4).toString(), 'PNG');
});

test('a slow reader of a large inflated member costs bounded memory', { timeout: 30000 }, async () => {
  const { port } = await srvP;
  const s = await openSocket(port);
  s.pause();
  const before = process.memoryUsage().arrayBuffers;
  s.write('GET /zip/zeros.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await sleep(1000);
  const held = process.memoryUsage().arrayBuffers - before;
  assert.ok(held < 16 << 20, `memory held for a paused 48 MiB download: ${held} bytes`);
  let got = 0;
  let head = true;
  s.on('data', (d: Buffer) => {
    if (head) {
      const he = d.indexOf('\r\n\r\n');
      got += d.length - he - 4;
      head = false;
    } else got += d.length;
  });
  s.resume();
  await new Promise<void>((res) => { s.on('close', () => res()); setTimeout(res, 25000); });
  assert.equal(got, ZEROS.length);
});

test('broken archives get a clear 500, unsafe or bomb members are left out, others still serve', async () => {
  for (const k of Object.keys(BROKEN)) {
    const r = await get(`/${k}/a.html`);
    assert.equal(r.status, 500, k);
    assert.match(r.body.toString(), /archive behind this mount cannot be read/, k);
  }
  assert.equal((await get('/odd/ok.html')).body.toString(), 'fine');
  assert.equal((await get('/odd/bomb.txt')).status, 404);
  const odd = ZipArchive.open(ODD);
  assert.deepEqual(odd.skipped.map((s) => s.why).sort(), ['compression ratio too high', 'unsafe name', 'unsafe name']);
  assert.ok(gunzipSync((await get('/zip/book.html', { 'Accept-Encoding': 'gzip' })).body).equals(TEXT), 'good mounts unharmed');
});

test('a member with a wrong CRC or corrupt data never completes its response', async () => {
  for (const path of ['/badcrc/a.html', '/baddata/a.html']) {
    const { port } = await srvP;
    const r = await raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, { timeoutMs: 5000 });
    assert.ok(r.closed, `${path}: closed`);
    const he = r.data.indexOf('\r\n\r\n');
    const cl = Number(/content-length: (\d+)/.exec(r.text)?.[1]);
    assert.ok(r.data.length - he - 4 < cl, `${path}: body short of its length`);
  }
});
