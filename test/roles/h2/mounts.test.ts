/**
 * Every kind of mount and the HTTP helpers over HTTP/2, unchanged: a zip
 * (with its gzip pass-through), file ops, redirects, Basic auth, a
 * CALLBACK protocol reading a multipart form with a file, and
 * `serveHttpFile` from protocols[0]. Node's HTTP/2 client at the other end.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createContext, callbackHttpDummy, Mount, Reason, platformFops, type Context, type FileOps, type Protocol,
} from '../../../src/index.js';
import { postDemoProtocol } from '../../../src/plugins/index.js';
import { writeZip } from '../../../src/zip/writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-h2m-'));
const BOOK = Buffer.from(Array.from({ length: 3000 }, (_, i) => `<p>line ${i}, words that repeat.</p>\n`).join(''));
const BIG = Buffer.alloc(300000);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 13 + (i >> 9)) & 255;
writeFileSync(join(dir, 'site.zip'), writeZip([{ name: 'index.html', data: Buffer.from('<h1>zipped</h1>') }, { name: 'book.html', data: BOOK }]));
writeFileSync(join(dir, 'logins'), 'alice:wonder land\n');
writeFileSync(join(dir, 'private.txt'), 'members only');
writeFileSync(join(dir, 'big.bin'), BIG);
writeFileSync(join(dir, 'note.txt'), 'through the fops');

let ctx: Context;
let session: ClientHttp2Session;
const opened: string[] = [];
const completions: string[] = [];

/** The platform ops, watched: every open is recorded. */
const watched: FileOps = {
  ...platformFops,
  open(path, flags) {
    opened.push(path);
    return platformFops.open(path, flags);
  },
};

/** protocols[0]: `serveHttpFile` for /served, everything else to the mounts. */
const http: Protocol = {
  name: 'http',
  callback(wsi, reason, user, input) {
    if (reason === Reason.HTTP && input === '/served') {
      const r = wsi.serveHttpFile(join(dir, 'big.bin'), 'application/x-test', { 'x-served-by': 'callback' });
      return r < 0 ? wsi.returnHttpStatus(404) : 0;
    }
    if (reason === Reason.HTTP_FILE_COMPLETION) completions.push(wsi.uri ?? '?');
    return callbackHttpDummy(wsi, reason, user, input);
  },
};

before(async () => {
  ctx = createContext({
    port: 0, iface: '127.0.0.1', fops: watched,
    protocols: [http, postDemoProtocol],
    pvo: { 'protocol-post-demo': { 'upload-path': join(dir, 'post-file'), 'max-upload': '1000000' } },
    mounts: [
      { mountpoint: '/', origin: dir, originProtocol: Mount.FILE },
      { mountpoint: '/zip', origin: join(dir, 'site.zip'), originProtocol: Mount.FILE, def: 'index.html' },
      { mountpoint: '/members', origin: dir, originProtocol: Mount.FILE, basicAuthLoginFile: join(dir, 'logins') },
      { mountpoint: '/old', origin: 'example.com/new/', originProtocol: Mount.REDIR_HTTPS },
      { mountpoint: '/formtest', origin: 'protocol-post-demo', originProtocol: Mount.CALLBACK },
    ],
  });
  await ctx.listening;
  session = h2connect(`http://127.0.0.1:${ctx.vhosts[0].port}`);
});

after(async () => {
  session?.close();
  await ctx?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function req(headers: OutgoingHttpHeaders, body?: Buffer): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = session.request(headers);
    const parts: Buffer[] = [];
    let h: IncomingHttpHeaders = {};
    const t = setTimeout(() => reject(new Error(`no complete answer to ${String(headers[':path'])}`)), 10000);
    r.on('response', (x) => (h = x));
    r.on('data', (d: Buffer) => parts.push(d));
    r.on('end', () => {
      clearTimeout(t);
      resolve({ headers: h, body: Buffer.concat(parts) });
    });
    r.on('error', reject);
    r.end(body);
  });
}

test('a zip mount: its default member, a deflated member passed through as gzip, and inflated for a client without gzip', async () => {
  const idx = await req({ ':path': '/zip/' });
  assert.equal(idx.headers[':status'], 200);
  assert.equal(idx.body.toString(), '<h1>zipped</h1>');
  const gz = await req({ ':path': '/zip/book.html', 'accept-encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gunzipSync(gz.body).equals(BOOK));
  const plain = await req({ ':path': '/zip/book.html' });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.ok(plain.body.equals(BOOK));
  assert.equal((await req({ ':path': '/zip/missing.html' })).headers[':status'], 404);
});

test('files are read through the context\'s fops; a range of one comes as 206', async () => {
  opened.length = 0;
  const r = await req({ ':path': '/note.txt' });
  assert.equal(r.body.toString(), 'through the fops');
  assert.ok(opened.some((p) => p.endsWith('note.txt')), `opens seen: ${opened.join(', ')}`);
  const range = await req({ ':path': '/big.bin', range: 'bytes=1000-1999' });
  assert.equal(range.headers[':status'], 206);
  assert.equal(range.headers['content-range'], `bytes 1000-1999/${BIG.length}`);
  assert.ok(range.body.equals(BIG.subarray(1000, 2000)));
});

test('a redirect mount answers 301 with its location', async () => {
  const r = await req({ ':path': '/old/page.html' });
  assert.equal(r.headers[':status'], 301);
  assert.match(String(r.headers.location), /^https:\/\/example\.com\/new\//);
});

test('Basic auth: 401 with the challenge without credentials, the file with them', async () => {
  const none = await req({ ':path': '/members/private.txt' });
  assert.equal(none.headers[':status'], 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic realm=/);
  const ok = await req({ ':path': '/members/private.txt', authorization: 'Basic ' + Buffer.from('alice:wonder land').toString('base64') });
  assert.equal(ok.headers[':status'], 200);
  assert.equal(ok.body.toString(), 'members only');
});

test('a CALLBACK mount reads a multipart form with a file, and the file is stored whole', async () => {
  const file = BIG.subarray(0, 200000);
  const b = 'h2boundary';
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\ncontent-disposition: form-data; name="text"\r\n\r\nhello over h2\r\n`),
    Buffer.from(`--${b}\r\ncontent-disposition: form-data; name="file"; filename="up.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  const r = await req({ ':method': 'POST', ':path': '/formtest', 'content-type': `multipart/form-data; boundary=${b}`, 'content-length': body.length }, body);
  assert.equal(r.headers[':status'], 200);
  assert.match(r.body.toString(), /hello over h2/);
  assert.match(r.body.toString(), /up\.bin.*length<\/b> 200000/);
  assert.ok(readFileSync(join(dir, 'post-file')).equals(file));
  const get = await req({ ':path': '/formtest' });
  assert.equal(get.headers[':status'], 405);
});

test('a form posted without a content-length (HTTP/2 needs none) is read to its end', async () => {
  const body = Buffer.from('text=no+length+given&send=Send');
  const r = await req({ ':method': 'POST', ':path': '/formtest', 'content-type': 'application/x-www-form-urlencoded' }, body);
  assert.equal(r.headers[':status'], 200);
  assert.match(r.body.toString(), /no length given/);
});

test('serveHttpFile from protocols[0]: the file with the extra header, then HTTP_FILE_COMPLETION', async () => {
  completions.length = 0;
  const r = await req({ ':path': '/served' });
  assert.equal(r.headers[':status'], 200);
  assert.equal(r.headers['content-type'], 'application/x-test');
  assert.equal(r.headers['x-served-by'], 'callback');
  assert.ok(r.body.equals(BIG));
  const end = Date.now() + 2000;
  while (completions.length === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(completions, ['/served']);
});
