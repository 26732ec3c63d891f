/**
 * The streaming form parser: urlencoded and multipart bodies split at every
 * byte give the same fields and files; limits give 413, malformed bodies 400,
 * other content types 415.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Spa, SpaError, SpaFileState, type SpaOptions } from '../../src/index.js';

interface Got { fields: Record<string, string | undefined>; files: Array<{ name: string; filename: string; type: string; data: Buffer; states: string }> }

function run(ct: string, body: Buffer, opts: Partial<SpaOptions>, split: number[] = []): Got {
  const files: Got['files'] = [];
  const spa = new Spa(ct, {
    params: ['a', 'b', 'text', 'empty'],
    ...opts,
    onFile(part, state, chunk) {
      if (state === SpaFileState.OPEN) files.push({ name: part.name, filename: part.filename, type: part.contentType, data: Buffer.alloc(0), states: 'O' });
      const f = files[files.length - 1];
      if (state === SpaFileState.CONTENT) {
        f.data = Buffer.concat([f.data, chunk]);
        if (!f.states.endsWith('C')) f.states += 'C';
      }
      if (state === SpaFileState.FINAL_CONTENT) f.states += 'F';
    },
  });
  let p = 0;
  for (const s of [...split, body.length]) {
    spa.process(body.subarray(p, s));
    p = s;
  }
  spa.finalize();
  const fields: Got['fields'] = {};
  for (const n of ['a', 'b', 'text', 'empty', 'other']) fields[n] = spa.getString(n);
  return { fields, files };
}

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpaError) return e.status;
    throw e;
  }
  return 0;
}

const URL_CT = 'application/x-www-form-urlencoded';

test('urlencoded: decoding, repeated and unwanted fields, every split', () => {
  const body = Buffer.from('a=hello+world%21&other=x&b=%C3%A9t%C3%A9&&a=second&empty=&text');
  for (let i = 0; i <= body.length; i++) {
    const g = run(URL_CT, body, {}, [i]);
    assert.deepEqual(g.fields, { a: 'hello world!', b: 'été', text: '', empty: '', other: undefined }, `split at ${i}`);
  }
});

test('urlencoded: limits and malformed escapes', () => {
  assert.equal(status(() => run(URL_CT, Buffer.from('a=' + 'x'.repeat(20)), { maxFieldBytes: 10 })), 413);
  assert.equal(status(() => run(URL_CT, Buffer.from('a=12345&b=12345&text=1'), { maxTotalBytes: 10 })), 413);
  assert.equal(status(() => run(URL_CT, Buffer.from('a=%zz'), {})), 400);
  assert.equal(status(() => run(URL_CT, Buffer.from('a=%4'), {})), 400);
  assert.equal(status(() => run(URL_CT, Buffer.from('x=1&'.repeat(20)), { maxParts: 10 })), 413);
  assert.equal(status(() => run(URL_CT, Buffer.from('n'.repeat(5000) + '=1'), {})), 413);
  // An unwanted field may be long: it is not kept.
  assert.equal(run(URL_CT, Buffer.from('other=' + 'y'.repeat(50000) + '&a=1'), { maxFieldBytes: 10 }).fields.a, '1');
});

function multipart(boundary: string, parts: Array<{ headers: string; body: string | Buffer }>, preamble = '', epilogue = ''): Buffer {
  const out: Buffer[] = [Buffer.from(preamble)];
  for (const p of parts) out.push(Buffer.from(`--${boundary}\r\n${p.headers}\r\n\r\n`), Buffer.from(p.body), Buffer.from('\r\n'));
  out.push(Buffer.from(`--${boundary}--\r\n${epilogue}`));
  return Buffer.concat(out);
}

const BIN = Buffer.alloc(3000);
for (let i = 0; i < BIN.length; i++) BIN[i] = (i * 7) & 255;
// A file whose bytes look like a delimiter's start, to catch a parser cutting too early.
const TRICKY = Buffer.concat([Buffer.from('\r\n--XyZ\r\n-'), BIN, Buffer.from('\r\n--Xy')]);

test('multipart: fields and files arrive whole whatever the split', () => {
  const b = 'XyZzy';
  const body = multipart(b, [
    { headers: 'Content-Disposition: form-data; name="a"', body: 'first' },
    { headers: 'Content-Disposition: form-data; name="file"; filename="C:\\dir\\../pic.bin"\r\nContent-Type: application/octet-stream', body: TRICKY },
    { headers: 'content-disposition: form-data; name="text"', body: 'line1\r\nline2' },
    { headers: 'Content-Disposition: form-data; name="empty"; filename=""', body: '' },
  ], 'preamble text\r\n', 'epilogue');
  const ct = `multipart/form-data; boundary="${b}"`;
  for (const step of [1, 2, 7, 13, 64, 1000]) {
    const splits: number[] = [];
    for (let i = step; i < body.length; i += step) splits.push(i);
    const g = run(ct, body, {}, splits);
    assert.deepEqual(g.fields, { a: 'first', b: undefined, text: 'line1\r\nline2', empty: undefined, other: undefined }, `step ${step}`);
    assert.equal(g.files.length, 2);
    assert.equal(g.files[0].name, 'file');
    assert.equal(g.files[0].filename, 'pic.bin', 'directories are stripped from file names');
    assert.equal(g.files[0].type, 'application/octet-stream');
    assert.ok(g.files[0].data.equals(TRICKY), `step ${step}: file bytes intact`);
    assert.equal(g.files[0].states, 'OCF');
    assert.equal(g.files[1].filename, '');
    assert.equal(g.files[1].states, 'OF');
  }
});

test('multipart: a file name that is only "." or ".." becomes empty', () => {
  const ct = 'multipart/form-data; boundary=B';
  // Backslashes are escaped inside the quoted string: the name the client meant is C:\x\.
  for (const fn of ['..', '.', 'dir/..', 'C:\\\\x\\\\.', '../..']) {
    const g = run(ct, multipart('B', [{ headers: `Content-Disposition: form-data; name="f"; filename="${fn}"`, body: 'data' }]), {});
    assert.equal(g.files.length, 1, fn);
    assert.equal(g.files[0].filename, '', fn);
    assert.equal(g.files[0].data.toString(), 'data', fn);
  }
  // Dots inside a name are ordinary.
  const g = run(ct, multipart('B', [{ headers: 'Content-Disposition: form-data; name="f"; filename="..x."', body: '' }]), {});
  assert.equal(g.files[0].filename, '..x.');
});

test('multipart: the part limit counts fields and files alike', () => {
  const ct = 'multipart/form-data; boundary=B';
  const part = (i: number) => ({ headers: `Content-Disposition: form-data; name="x${i}"${i % 2 ? `; filename="f${i}"` : ''}`, body: '1' });
  assert.equal(status(() => run(ct, multipart('B', Array.from({ length: 10 }, (_, i) => part(i))), { maxParts: 10 })), 0);
  assert.equal(status(() => run(ct, multipart('B', Array.from({ length: 11 }, (_, i) => part(i))), { maxParts: 10 })), 413);
  assert.equal(status(() => run(URL_CT, Buffer.from('x=1&'.repeat(10)), { maxParts: 10 })), 0);
  assert.equal(status(() => run(URL_CT, Buffer.from('x=1&'.repeat(11)), { maxParts: 10 })), 413);
});

test('multipart: malformed bodies are 400, oversize 413, non-forms 415', () => {
  const ct = 'multipart/form-data; boundary=B';
  const ok = (parts: Array<{ headers: string; body: string }>) => multipart('B', parts);
  assert.equal(status(() => run('multipart/form-data', Buffer.from('x'), {})), 400, 'no boundary');
  assert.equal(status(() => run('multipart/form-data; boundary=' + 'b'.repeat(71), Buffer.from('x'), {})), 400, 'boundary too long');
  assert.equal(status(() => run('text/plain', Buffer.from('x'), {})), 415);
  assert.equal(status(() => run(ct, Buffer.from('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc'), {})), 400, 'truncated');
  assert.equal(status(() => run(ct, Buffer.from('no boundary at all'), {})), 400, 'no delimiter');
  assert.equal(status(() => run(ct, ok([{ headers: 'Content-Type: text/plain', body: 'x' }]), {})), 400, 'no disposition');
  assert.equal(status(() => run(ct, ok([{ headers: 'Content-Disposition: attachment; name="a"', body: 'x' }]), {})), 400, 'not form-data');
  assert.equal(status(() => run(ct, ok([{ headers: 'Content-Disposition: form-data', body: 'x' }]), {})), 400, 'no name');
  assert.equal(status(() => run(ct, ok([{ headers: 'garbage line', body: 'x' }]), {})), 400, 'bad header');
  assert.equal(status(() => run(ct, Buffer.from('--Bjunk\r\n'), {})), 400, 'bad delimiter line');
  assert.equal(status(() => run(ct, ok([{ headers: 'Content-Disposition: form-data; name="a"\r\nX: ' + 'h'.repeat(5000), body: 'x' }]), {})), 400, 'huge part headers');
  assert.equal(status(() => run(ct, ok([{ headers: 'Content-Disposition: form-data; name="f"; filename="f"', body: 'z'.repeat(2000) }]), { maxFileBytes: 1000 })), 413);
  assert.equal(status(() => run(ct, ok([{ headers: 'Content-Disposition: form-data; name="a"', body: 'z'.repeat(2000) }]), {})), 413);
  const many = ok(Array.from({ length: 20 }, () => ({ headers: 'Content-Disposition: form-data; name="x"', body: '1' })));
  assert.equal(status(() => run(ct, many, { maxParts: 10 })), 413);
});

test('misuse is refused clearly', () => {
  assert.throws(() => new Spa(URL_CT, { params: 'a' as unknown as string[] }), /params must be an array/);
  assert.throws(() => new Spa(URL_CT, { params: [], maxFieldBytes: -1 }), /maxFieldBytes/);
  const spa = new Spa(URL_CT, { params: ['a'] });
  spa.finalize();
  assert.throws(() => spa.process(Buffer.from('a=1')), /after finalize/);
});
