/**
 * protocol-post-demo on a CALLBACK mount at /formtest, as lws's test
 * server has it: the classic form answers, uploads streamed to disk with
 * back-pressure, and clear refusals for bad or oversize bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mount, callbackHttpDummy, postDemoProtocol, type PvoOptions } from '../../src/index.js';
import { start, raw, parseResponses, openSocket, livePeer, sleep } from '../helpers/common.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-post-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function server(pvo: PvoOptions = {}) {
  return start({
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, postDemoProtocol],
    pvo: { 'protocol-post-demo': { 'upload-path': join(dir, 'post-file'), ...pvo } },
    mounts: [{ mountpoint: '/formtest', origin: 'protocol-post-demo', originProtocol: Mount.CALLBACK }],
  });
}

function post(ct: string, body: Buffer | string, path = '/formtest'): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
}

function multipartBody(b: string, file: Buffer, filename = 'up.bin'): Buffer {
  return Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi <there>\r\n`),
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${b}\r\nContent-Disposition: form-data; name="upload"\r\n\r\nUpload\r\n--${b}--\r\n`),
  ]);
}

test('the urlencoded form gets lws 2.4\'s table', async (t) => {
  const srv = await server();
  t.after(() => srv.ctx.destroy());
  const body = 'text=hello&send=Send+the+form';
  const r = await raw(srv.port, post('application/x-www-form-urlencoded', body) + body, { until: (s) => s.includes('</html>') });
  const [res] = parseResponses(r.data);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/html');
  assert.equal(res.body.toString(), '<html><body><h1>Form results (after urldecoding)</h1><table>' +
    '<tr><td>Name</td><td>Length</td><td>Value</td></tr>' +
    '<tr><td><b>text</b></td><td>5</td><td>hello</td></tr>' +
    '<tr><td><b>send</b></td><td>13</td><td>Send the form</td></tr>' +
    '<tr><td><b>file</b></td><td>0</td><td>(null)</td></tr>' +
    '<tr><td><b>upload</b></td><td>0</td><td>(null)</td></tr>' +
    '</table><br><b>filename:</b> , <b>length</b> 0</body></html>');
});

test('a multipart upload is written to the upload path, values escaped, keep-alive goes on', async (t) => {
  const srv = await server();
  t.after(() => srv.ctx.destroy());
  const file = Buffer.alloc(60000);
  for (let i = 0; i < file.length; i++) file[i] = (i * 31) & 255;
  const body = multipartBody('----formBoundary', file);
  const peer = await livePeer(srv.port);
  // Sent in small pieces, so the parser meets every kind of split.
  const req = Buffer.concat([Buffer.from(post('multipart/form-data; boundary=----formBoundary', body)), body]);
  const from = peer.data.length;
  for (let i = 0; i < req.length; i += 7001) peer.s.write(req.subarray(i, i + 7001));
  await peer.until(() => peer.data.subarray(from).includes('</html>'), 'form answer');
  const [res] = parseResponses(peer.data.subarray(from));
  assert.equal(res.status, 200);
  const html = res.body.toString();
  assert.match(html, /<tr><td><b>text<\/b><\/td><td>10<\/td><td>hi &#60;there&#62;<\/td><\/tr>/);
  assert.match(html, /<b>filename:<\/b> up\.bin, <b>length<\/b> 60000/);
  assert.ok(readFileSync(join(dir, 'post-file')).equals(file), 'the file on disk is the upload');
  assert.equal(statSync(join(dir, 'post-file')).mode & 0o777, 0o600);
  const again = await peer.ask('GET /formtest HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(again.status, 405);
  assert.equal(again.headers.allow, 'POST');
  peer.s.destroy();
});

test('bad bodies: 413 past max-upload and max-storage, 400 malformed, 415 not a form; the server goes on', async (t) => {
  const srv = await server({ 'max-upload': '1000' });
  t.after(() => srv.ctx.destroy());
  const big = multipartBody('b', Buffer.alloc(5000, 1));
  let r = await raw(srv.port, post('multipart/form-data; boundary=b', big) + big.toString('latin1'));
  assert.match(r.text, /^HTTP\/1\.1 413 /);
  assert.ok(r.closed, 'closed after refusing');
  const long = 'text=' + 'x'.repeat(2000);
  r = await raw(srv.port, post('application/x-www-form-urlencoded', long) + long);
  assert.match(r.text, /^HTTP\/1\.1 413 /);
  const bad = '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nno end';
  r = await raw(srv.port, post('multipart/form-data; boundary=b', bad) + bad);
  assert.match(r.text, /^HTTP\/1\.1 400 /);
  r = await raw(srv.port, post('multipart/form-data', 'x') + 'x');
  assert.match(r.text, /^HTTP\/1\.1 400 /);
  r = await raw(srv.port, post('text/plain', 'x') + 'x');
  assert.match(r.text, /^HTTP\/1\.1 415 /);
  r = await raw(srv.port, post('application/x-www-form-urlencoded', 'text=%zz') + 'text=%zz');
  assert.match(r.text, /^HTTP\/1\.1 400 /);
  r = await raw(srv.port, post('application/x-www-form-urlencoded', ''), { until: (s) => s.includes('</html>') });
  assert.match(r.text, /^HTTP\/1\.1 200 /, 'an empty form is answered');
  assert.match(r.text, /<td><b>text<\/b><\/td><td>0<\/td><td>\(null\)<\/td>/);
  const body = 'text=fine';
  r = await raw(srv.port, post('application/x-www-form-urlencoded', body) + body, { until: (s) => s.includes('</html>') });
  assert.match(r.text, /^HTTP\/1\.1 200 /);
  assert.match(r.text, /<td>fine<\/td>/);
});

test('an upload faster than its destination is pushed back, not buffered', { timeout: 30000 }, async (t) => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const srv = await server({ 'upload-path': fifo, 'max-upload': String(64 << 20) });
  let drained = 0;
  let reader: ReturnType<typeof createReadStream> | null = null;
  t.after(async () => {
    // Unblock a pending open of the FIFO whatever happened.
    if (!reader) createReadStream(fifo).resume().on('error', () => {});
    await srv.ctx.destroy();
  });
  const size = 24 << 20;
  const body = multipartBody('bb', Buffer.alloc(size, 0x61));
  const req = Buffer.concat([Buffer.from(post('multipart/form-data; boundary=bb', body)), body]);
  const s = await openSocket(srv.port);
  let answer = '';
  s.on('data', (d) => { answer += d.toString('latin1'); });
  s.write(req);
  await sleep(1500);
  // Nobody reads the FIFO: the server must have stopped reading long before the end.
  const unsent = s.writableLength;
  assert.ok(unsent > 4 << 20, `the client is held back (${unsent} bytes still unsent of ${req.length})`);
  assert.equal(answer, '', 'no answer before the upload is on disk');
  reader = createReadStream(fifo);
  reader.on('data', (d) => { drained += d.length; });
  const deadline = Date.now() + 20000;
  while (!answer.includes('</html>') && Date.now() < deadline) await sleep(50);
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.match(answer, new RegExp(`<b>length</b> ${size}<`));
  while (drained < size && Date.now() < deadline) await sleep(20);
  assert.equal(drained, size, 'every byte reached the destination');
  s.destroy();
  assert.ok(existsSync(fifo));
});
