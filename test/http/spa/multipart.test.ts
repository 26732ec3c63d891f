/**
 * The streaming multipart/form-data parser (RFC 7578, RFC 2046 5.1) at unit
 * level: literal bodies in, exactly the parts the sink hears out (headers
 * understood, data, ends), or the SpaError status; then seeded random forms
 * split at random points and randomly mutated, which must give the same
 * answer whole or split, throw nothing but SpaError, and never hold more
 * than a delimiter's length or a part's header block.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MultipartParser, boundaryOf, type PartInfo } from '../../../src/http/spa/multipart.js';
import { SpaError } from '../../../src/http/spa/errors.js';
import { seeded, randomCuts, piecesAt, mutate, show, type Rng } from '../../helpers/random.js';

type Ev = { t: 'begin'; part: PartInfo } | { t: 'data'; data: string } | { t: 'end' };

interface Parsed {
  events: Ev[];
  /** The parser saw the closing delimiter. */
  done: boolean;
  /** What end() said after the last piece: 'ok' or its error; absent after a feed error. */
  ended?: string;
  error?: { status: number; message: string };
}

interface Run extends Parsed {
  /** The most bytes the parser carried from one feed to the next. */
  maxHeld: number;
}

const realConcat = Buffer.concat;

/**
 * Call `fn` with Buffer.concat watched: the parser joins what it held back
 * with each new chunk that way, so the first of two buffers joined is what
 * it held.
 */
function watchingHeld<T>(fn: () => T, onHeld: (n: number) => void): T {
  Buffer.concat = function concat(list: readonly Uint8Array[], totalLength?: number) {
    if (list.length === 2) onHeld(list[0].length);
    return realConcat.call(Buffer, list, totalLength);
  } as typeof Buffer.concat;
  try {
    return fn();
  } finally {
    Buffer.concat = realConcat;
  }
}

function parse(boundary: string, input: Buffer, cuts: readonly number[], maxHeader = 4096): Run {
  const events: Ev[] = [];
  let calls = 0;
  const tick = () => {
    if (++calls > 2 * input.length + 10) throw new Error('the parser spins: more sink calls than input bytes');
  };
  const p = new MultipartParser(boundary, {
    begin(part) {
      tick();
      events.push({ t: 'begin', part: { ...part } });
    },
    data(piece) {
      tick();
      assert.ok(piece.length > 0, 'an empty data piece');
      const last = events[events.length - 1];
      assert.ok(last && last.t !== 'end', 'data outside a part');
      if (last.t === 'data') last.data += piece.toString('latin1');
      else events.push({ t: 'data', data: piece.toString('latin1') });
    },
    end() {
      tick();
      events.push({ t: 'end' });
    },
  }, { maxHeader });
  let maxHeld = 0;
  const held = (n: number) => { maxHeld = Math.max(maxHeld, n); };
  const result = (r: Parsed): Run => ({ ...r, maxHeld });
  try {
    for (const piece of piecesAt(input, cuts)) {
      // A copy: the parser may keep views of what it was given only while it holds them.
      watchingHeld(() => p.feed(Buffer.from(piece)), held);
    }
    // An empty chunk shows what is still held at the end.
    watchingHeld(() => p.feed(new Uint8Array(0)), held);
  } catch (e) {
    if (!(e instanceof SpaError)) throw e;
    return result({ events, done: p.done, error: { status: e.status, message: e.message } });
  }
  try {
    p.end();
    return result({ events, done: p.done, ended: 'ok' });
  } catch (e) {
    if (!(e instanceof SpaError)) throw e;
    return result({ events, done: p.done, ended: `${e.status} ${e.message}` });
  }
}

const b = (s: string) => Buffer.from(s, 'latin1');
const everyByte = (buf: Buffer) => Array.from({ length: Math.max(0, buf.length - 1) }, (_, i) => i + 1);

const part = (name: string, filename?: string, contentType = 'text/plain'): Ev => ({ t: 'begin', part: { name, filename, contentType } });
const data = (s: string): Ev => ({ t: 'data', data: s });
const END: Ev = { t: 'end' };

/** Whole and byte by byte give `expected`. */
function same(boundary: string, body: string, expected: Parsed, maxHeader?: number): void {
  const input = b(body);
  const strip = ({ maxHeld: _m, ...r }: Run): Parsed => r;
  assert.deepEqual(strip(parse(boundary, input, [], maxHeader)), expected, 'whole');
  assert.deepEqual(strip(parse(boundary, input, everyByte(input), maxHeader)), expected, 'byte by byte');
}

function refused(boundary: string, body: string, message: string, events: Ev[] = [], maxHeader?: number): void {
  same(boundary, body, { events, done: false, error: { status: 400, message } }, maxHeader);
}

const CD = 'Content-Disposition: form-data; name=';

// ---- literal bodies ----

describe('multipart bodies that parse', () => {
  test('the RFC 7578 / HTML example: a field and a file', () => {
    same('AaB03x', [
      '--AaB03x\r\n',
      'Content-Disposition: form-data; name="submit-name"\r\n',
      '\r\n',
      'Larry\r\n',
      '--AaB03x\r\n',
      'Content-Disposition: form-data; name="files"; filename="file1.txt"\r\n',
      'Content-Type: text/plain\r\n',
      '\r\n',
      '... contents of file1.txt ...\r\n',
      '--AaB03x--\r\n',
    ].join(''), {
      events: [part('submit-name'), data('Larry'), END, part('files', 'file1.txt'), data('... contents of file1.txt ...'), END],
      done: true,
      ended: 'ok',
    });
  });

  test('preamble, transport padding after delimiters, and epilogue are ignored', () => {
    same('b', [
      'This is the preamble.\r\nIt may say anything but the delimiter. --b is fine without its CRLF\r\n',
      '--b \t \r\n', `${CD}a\r\n\r\n1\r\n`,
      '--b\t\r\n', `${CD}c\r\n\r\n2\r\n`,
      '--b--this is the epilogue, even \r\n--b\r\n garbage is ignored',
    ].join(''), {
      events: [part('a'), data('1'), END, part('c'), data('2'), END],
      done: true,
      ended: 'ok',
    });
  });

  test('64 blanks of padding pass, 65 are refused', () => {
    same('b', `--b${' '.repeat(64)}\r\n${CD}a\r\n\r\nx\r\n--b--`, { events: [part('a'), data('x'), END], done: true, ended: 'ok' });
    refused('b', `--b${' '.repeat(65)}\r\n${CD}a\r\n\r\nx\r\n--b--`, 'malformed multipart delimiter line');
  });

  test('empty bodies, a body that is only CRLF, and bodies with near-delimiters inside', () => {
    same('XyZ', [
      `--XyZ\r\n${CD}"e"\r\n\r\n\r\n`,
      `--XyZ\r\n${CD}"crlf"\r\n\r\n\r\n\r\n`,
      `--XyZ\r\n${CD}"tricky"\r\n\r\n\r\n--XyA--Xy\r\n--X\r\n-`, '\r\n',
      `--XyZ\r\n${CD}"tail"\r\n\r\nends in \r\n--Xy\r\n`,
      '--XyZ--',
    ].join(''), {
      events: [
        part('e'), END,
        part('crlf'), data('\r\n'), END,
        part('tricky'), data('\r\n--XyA--Xy\r\n--X\r\n-'), END,
        part('tail'), data('ends in \r\n--Xy'), END,
      ],
      done: true,
      ended: 'ok',
    });
  });

  test('binary data with every byte value passes through unchanged', () => {
    const bin = Buffer.alloc(512);
    for (let i = 0; i < bin.length; i++) bin[i] = i & 255;
    const body = Buffer.concat([b(`--B\r\n${CD}"f"; filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`), bin, b('\r\n--B--\r\n')]);
    same('B', body.toString('latin1'), {
      events: [part('f', 'b.bin', 'application/octet-stream'), data(bin.toString('latin1')), END],
      done: true,
      ended: 'ok',
    });
  });

  test('part headers: any case, spaces, token or quoted parameters, escapes, unknown headers', () => {
    const body = [
      '--B\r\n',
      'content-DISPOSITION:FORM-DATA;NAME=tok\r\n\r\nv1\r\n',
      '--B\r\n',
      'X-Other: whatever\r\n  Content-Type  :  image/png  \r\nContent-Disposition: form-data ; name = "q \\"x\\" \\\\ y" ; filename = "a b.png"\r\n\r\nv2\r\n',
      '--B\r\n',
      'Content-Disposition: form-data; filename="first"; name="after"\r\n\r\nv3\r\n',
      '--B\r\n',
      `${CD}"u"; filename="caf\xc3\xa9.txt"\r\n\r\nv4\r\n`,
      '--B--',
    ].join('');
    same('B', body, {
      events: [
        part('tok'), data('v1'), END,
        part('q "x" \\ y', 'a b.png', 'image/png'), data('v2'), END,
        part('after', 'first'), data('v3'), END,
        part('u', 'caf\u00e9.txt'), data('v4'), END,
      ],
      done: true,
      ended: 'ok',
    });
  });

  test('file names lose their directories; "." and ".." become empty', () => {
    const names: Array<[string, string]> = [
      ['C:\\\\Users\\\\me\\\\pic.jpg', 'pic.jpg'],
      ['../../etc/passwd', 'passwd'],
      ['/abs/path/x', 'x'],
      ['dir/', ''],
      ['..', ''],
      ['a/.', ''],
      ['', ''],
      ['..x', '..x'],
    ];
    for (const [sent, kept] of names) {
      same('B', `--B\r\n${CD}"f"; filename="${sent}"\r\n\r\nd\r\n--B--`, { events: [part('f', kept), data('d'), END], done: true, ended: 'ok' });
    }
  });

  test('no preamble: the first delimiter may start the body, with or without a CRLF before it', () => {
    const expected: Parsed = { events: [part('a'), data('1'), END], done: true, ended: 'ok' };
    same('B', `--B\r\n${CD}a\r\n\r\n1\r\n--B--`, expected);
    same('B', `\r\n--B\r\n${CD}a\r\n\r\n1\r\n--B--`, expected);
    same('B', '--B--', { events: [], done: true, ended: 'ok' });
  });

  test('after the closing delimiter the parser is done and takes nothing more', () => {
    const p = new MultipartParser('B', { begin: () => assert.fail(), data: () => assert.fail(), end: () => assert.fail() }, { maxHeader: 100 });
    p.feed(b('--B--'));
    assert.equal(p.done, true);
    p.feed(b('\r\n--B\r\nContent-Disposition: form-data; name="late"\r\n\r\nx\r\n--B--'));
    p.end();
  });

  test('a part header block of exactly maxHeader bytes passes whole', () => {
    const hdr = `${CD}"abcdefghij"`; // 49 bytes
    assert.equal(hdr.length, 49);
    const body = b(`--B\r\n${hdr}\r\n\r\nx\r\n--B--`);
    assert.deepEqual(parse('B', body, [], 49).error, undefined);
    assert.equal(parse('B', body, [], 48).error?.message, 'multipart part headers longer than 48 bytes');
  });
});

describe('multipart bodies refused (400)', () => {
  test('a body that ends before its closing delimiter: end() refuses it', () => {
    for (const body of ['', 'just a preamble', '--B', `--B\r\n${CD}a`, `--B\r\n${CD}a\r\n\r\ndata`, `--B\r\n${CD}a\r\n\r\ndata\r\n--B`, `--B\r\n${CD}a\r\n\r\ndata\r\n--B-`]) {
      const r = parse('B', b(body), []);
      assert.equal(r.error, undefined, body);
      assert.equal(r.ended, '400 multipart body ends before its closing boundary', body);
      assert.equal(r.done, false);
    }
  });

  test('malformed delimiter lines', () => {
    refused('B', `--Bx\r\n${CD}a\r\n\r\n1\r\n--B--`, 'malformed multipart delimiter line');
    refused('B', `--B-x\r\n${CD}a\r\n\r\n1\r\n--B--`, 'malformed multipart delimiter line');
    refused('B', `--B\n${CD}a\r\n\r\n1\r\n--B--`, 'malformed multipart delimiter line');
    // A boundary that goes on is not the delimiter: the data may not contain it.
    refused('B', `--B\r\n${CD}a\r\n\r\n1\r\n--BB\r\n--B--`, 'malformed multipart delimiter line', [part('a'), data('1'), END]);
  });

  test('malformed part headers', () => {
    refused('B', '--B\r\nno colon here\r\n\r\nx\r\n--B--', 'malformed multipart part header');
    refused('B', '--B\r\n: value\r\n\r\nx\r\n--B--', 'malformed multipart part header');
    refused('B', `--B\r\n${CD}a\r\nbroken\r\n\r\nx\r\n--B--`, 'malformed multipart part header');
    refused('B', '--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--', 'multipart part without Content-Disposition: form-data');
    refused('B', '--B\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--B--', 'multipart part without Content-Disposition: form-data');
    refused('B', '--B\r\nContent-Disposition: form-datax; name="a"\r\n\r\nx\r\n--B--', 'multipart part without Content-Disposition: form-data');
    refused('B', '--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--', 'multipart part without a name');
    refused('B', '--B\r\nContent-Disposition: form-data; filename="f"\r\n\r\nx\r\n--B--', 'multipart part without a name');
  });

  test('a part with no header block at all is refused', () => {
    const r = parse('B', b('--B\r\n\r\nx\r\n--B--'), []);
    assert.equal(r.error?.status, 400);
    assert.deepEqual(r.events, []);
  });

  test('part headers past maxHeader: refused as soon as the limit passes, complete or not', () => {
    refused('B', `--B\r\n${CD}a\r\nX: ${'h'.repeat(60)}\r\n\r\nx\r\n--B--`, 'multipart part headers longer than 50 bytes', [], 50);
    // Never ending: refused with 51 bytes held, not at the end of the input.
    const endless = b(`--B\r\n${CD}a\r\nX: ${'h'.repeat(5000)}`);
    const r = parse('B', endless, everyByte(endless), 50);
    assert.deepEqual(r.error, { status: 400, message: 'multipart part headers longer than 50 bytes' });
    assert.ok(r.maxHeld <= 50, `held ${r.maxHeld}`);
  });

  test('only a delimiter\'s length is held back in a long part body', () => {
    const body = b(`--${'q'.repeat(70)}\r\n${CD}a\r\n\r\n${'z'.repeat(10000)}`);
    const r = parse('q'.repeat(70), body, Array.from({ length: 99 }, (_, i) => (i + 1) * 100));
    assert.equal(r.maxHeld, 73, 'CRLF "--" and 70 boundary characters, less one');
    assert.equal(r.events[1].t === 'data' && r.events[1].data.length, 10000 - 73);
  });
});

describe('boundaryOf', () => {
  test('reads the boundary, quoted or not, the parameter name in any case', () => {
    assert.equal(boundaryOf('multipart/form-data; boundary=AaB03x'), 'AaB03x');
    assert.equal(boundaryOf('multipart/form-data;boundary="a b:c=d?"'), 'a b:c=d?');
    assert.equal(boundaryOf('multipart/form-data; BOUNDARY = x'), 'x');
    assert.equal(boundaryOf('multipart/form-data; boundary=abc; charset=utf-8'), 'abc');
    assert.equal(boundaryOf("multipart/form-data; boundary=0aZ'()+_,-./:=?"), "0aZ'()+_,-./:=?");
    assert.equal(boundaryOf(`multipart/form-data; boundary=${'b'.repeat(70)}`), 'b'.repeat(70));
  });

  test('refuses a missing, empty, over-long or ill-formed boundary with 400', () => {
    for (const ct of [
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=""',
      `multipart/form-data; boundary=${'b'.repeat(71)}`,
      'multipart/form-data; boundary="ends in space "',
      'multipart/form-data; boundary=a@b',
      'multipart/form-data; boundary="a\u00e9"',
      'multipart/form-data; xboundary=abc',
    ]) {
      assert.throws(() => boundaryOf(ct), (e: unknown) => e instanceof SpaError && e.status === 400 && e.message === 'multipart/form-data without a valid boundary', ct);
    }
  });
});

describe('Content-Disposition parameters and the header limit, whatever the split', () => {
  test('a quoted filename holding ";name=" does not change the field name', () => {
    same('B', '--B\r\nContent-Disposition: form-data; filename="x;name=evil"; name="real"\r\n\r\nd\r\n--B--', {
      events: [part('real', 'x;name=evil'), data('d'), END], done: true, ended: 'ok',
    });
    same('B', `--B\r\n${CD}"a\\"; name=\\"b"\r\n\r\nd\r\n--B--`, {
      events: [part('a"; name="b'), data('d'), END], done: true, ended: 'ok',
    });
  });

  test('parameters: names in any case, BWS, filename* read and ignored (RFC 7578 4.2)', () => {
    same('B', '--B\r\nContent-Disposition: form-data;\tFileName*=UTF-8\'\'caf%C3%A9.txt ;NAME="n";filename="f.txt"\r\n\r\nd\r\n--B--', {
      events: [part('n', 'f.txt'), data('d'), END], done: true, ended: 'ok',
    });
    same('B', `--B\r\n${CD}"n"; filename*=UTF-8''x.txt\r\n\r\nd\r\n--B--`, {
      events: [part('n'), data('d'), END], done: true, ended: 'ok',
    });
  });

  test('malformed or repeated parameters are refused', () => {
    const msg = 'malformed multipart Content-Disposition parameters';
    for (const cd of [
      'form-data; name="open',
      'form-data; name="a\\',
      'form-data; name="a" filename="b"',
      'form-data; name=a b',
      'form-data; name=a/b',
      'form-data; name=',
      'form-data; name',
      'form-data; ="a"',
      'form-data;',
      'form-data; name="a";',
      'form-data; name="a\x01"',
      'form-data; name="a"; filename="\x7f"',
      'form-data name="a"',
    ]) {
      refused('B', `--B\r\nContent-Disposition: ${cd}\r\n\r\nx\r\n--B--`, cd === 'form-data name="a"' ? 'multipart part without Content-Disposition: form-data' : msg);
    }
    refused('B', '--B\r\nContent-Disposition: form-data; name="a"; NAME="b"\r\n\r\nx\r\n--B--', 'multipart Content-Disposition with "name" twice');
    refused('B', '--B\r\nContent-Disposition: form-data; name="a"; filename="b"; filename="../c"\r\n\r\nx\r\n--B--', 'multipart Content-Disposition with "filename" twice');
  });

  test('a header block within maxHeader is taken whatever the split', () => {
    const hdr = `${CD}"abcdefghij"`; // 49 bytes
    const body = b(`--B\r\n${hdr}\r\n\r\nx\r\n--B--`);
    const cut = 5 + 49 + 3; // after "\r\n\r"
    assert.deepEqual(parse('B', body, [cut], 49).error, parse('B', body, [], 49).error);
  });

  test('split inside the CRLFCRLF ending the headers: the limit counts the block alone', () => {
    const hdr = `${CD}"abcdefghij"`;
    const body = b(`--B\r\n${hdr}\r\n\r\nx\r\n--B--`);
    const ok: Parsed = { events: [part('abcdefghij'), data('x'), END], done: true, ended: 'ok' };
    const strip = ({ maxHeld: _m, ...r }: Run): Parsed => r;
    for (const cut of [5 + 49, 5 + 49 + 1, 5 + 49 + 2, 5 + 49 + 3]) {
      assert.deepEqual(strip(parse('B', body, [cut], 49)), ok, `cut at ${cut}`);
      assert.deepEqual(parse('B', body, [cut], 48).error, { status: 400, message: 'multipart part headers longer than 48 bytes' }, `cut at ${cut}`);
    }
    assert.deepEqual(strip(parse('B', body, everyByte(body), 49)), ok, 'byte by byte');
    assert.ok(parse('B', body, everyByte(body), 49).maxHeld <= 49 + 3);
    // A block ending in a CR of its own (47 bytes): that CR counts, the CRLFCRLF after it does not.
    const cr = b(`--B\r\n${CD}"a"\r\nX: y\r\r\n\r\nx\r\n--B--`);
    for (const cuts of [[], everyByte(cr)]) {
      assert.deepEqual(strip(parse('B', cr, cuts, 47)), { events: [part('a'), data('x'), END], done: true, ended: 'ok' });
      assert.deepEqual(parse('B', cr, cuts, 46).error, { status: 400, message: 'multipart part headers longer than 46 bytes' });
    }
  });
});

// ---- randomized ----

const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";

interface Form {
  boundary: string;
  body: Buffer;
  expected: Parsed;
}

/** Where the parser will first see the delimiter. */
function firstDelim(buf: Buffer, boundary: string): number {
  return Buffer.concat([b('\r\n'), buf]).indexOf(b('\r\n--' + boundary)) - 2;
}

/** A random valid form and the events it must give. */
function randomForm(rng: Rng, maxBody: number): Form {
  let boundary = rng.chars(rng.range(1, rng.chance(0.2) ? 70 : 12), BCHARS + '  ');
  boundary = boundary.replace(/ +$/, '') || 'x';
  const events: Ev[] = [];
  const out: Buffer[] = [];
  // A preamble that holds no delimiter (the parser sees it as if after a CRLF).
  let preamble = rng.chance(0.3) ? b(rng.chars(rng.int(30), 'ab \r\n-' + boundary) + '\r\n') : b('');
  if (firstDelim(Buffer.concat([preamble, b('--' + boundary)]), boundary) !== preamble.length) preamble = b('');
  out.push(preamble);
  const pad = () => (rng.chance(0.2) ? rng.chars(rng.range(1, 5), ' \t') : '');
  for (let i = rng.int(5); i > 0; i--) {
    const name = rng.chars(rng.range(1, 8), 'abcxyz_0-"\\; =');
    const quoted = `"${name.replace(/[\\"]/g, (c) => '\\' + c)}"`;
    const lines: string[] = [];
    let filename: string | undefined;
    let fnHeader = '';
    if (rng.chance(0.4)) {
      const dir = rng.chance(0.3) ? rng.pick(['dir/', 'C:\\\\x\\\\', '../', '/a/b/']) : '';
      const base = rng.chars(rng.int(8), 'abc.-_ XYZ');
      filename = base === '.' || base === '..' ? '' : base;
      fnHeader = `; filename="${dir}${base}"`;
    }
    lines.push(`${rng.pick(['Content-Disposition', 'content-disposition', 'CONTENT-DISPOSITION'])}: form-data; name=${quoted}${fnHeader}`);
    let contentType = 'text/plain';
    if (rng.chance(0.3)) {
      contentType = rng.pick(['application/octet-stream', 'image/png', 'text/html; charset=utf-8']);
      lines.push(`Content-Type: ${contentType}`);
    }
    if (rng.chance(0.2)) lines.push(`X-${rng.chars(4, 'abc')}: ${rng.chars(rng.int(10), 'abc ;=')}`);
    if (rng.chance(0.5)) lines.reverse();
    // Part data, with bytes that look like the start of a delimiter now and then.
    let body = Buffer.alloc(0);
    for (;;) {
      const bits: Buffer[] = [];
      for (let k = rng.int(4); k >= 0; k--) {
        bits.push(rng.chance(0.3) ? b('\r\n--' + boundary.slice(0, rng.int(boundary.length))) : rng.bytes(rng.int(maxBody)));
      }
      body = Buffer.concat(bits);
      if (firstDelim(Buffer.concat([b('x'), body, b('\r\n--' + boundary)]), boundary) === body.length + 1) break;
    }
    out.push(b(`--${boundary}${pad()}\r\n${lines.join('\r\n')}\r\n\r\n`), body, b('\r\n'));
    events.push(part(name, filename, contentType));
    if (body.length) events.push(data(body.toString('latin1')));
    events.push(END);
  }
  out.push(b(`--${boundary}--${rng.chance(0.3) ? rng.chars(rng.int(20), 'ab\r\n-') : ''}`));
  return { boundary, body: Buffer.concat(out), expected: { events, done: true, ended: 'ok' } };
}

describe('seeded random forms', () => {
  const MAX_HEADER = 80;

  test('valid forms give their parts, whole or in random pieces, holding at most a delimiter or a header block', () => {
    seeded('multipart valid split', 300, (rng) => {
      const f = randomForm(rng, rng.chance(0.1) ? 2000 : 40);
      const strip = ({ maxHeld: _m, ...r }: Run): Parsed => r;
      const w = parse(f.boundary, f.body, [], 4096);
      assert.deepEqual(strip(w), f.expected, `whole ${show(f.body)}`);
      const cuts = randomCuts(rng, f.body.length);
      const sp = parse(f.boundary, f.body, cuts, 4096);
      assert.deepEqual(strip(sp), f.expected, `${show(f.body)} cut at ${cuts}`);
      assert.ok(sp.maxHeld <= Math.max(f.boundary.length + 3, 65, 200), `held ${sp.maxHeld}`);
    });
  });

  test('mutated forms: only SpaError 400, at most max(delimiter - 1, 65, maxHeader + 3) bytes held, same answer whole or split', () => {
    const seen = new Map<string, number>();
    seeded('multipart mutated', 500, (rng) => {
      const f = randomForm(rng, 30);
      const { out, ops } = mutate(rng, f.body, {
        dictionary: ['\r\n', '\r\n\r\n', '--', `\r\n--${f.boundary}`, `--${f.boundary}--`, ':', ';', '"', 'name=', 'filename="../x"', ' '.repeat(70), 'h'.repeat(40)],
      });
      const ctx = `${ops.join(', ')}; boundary ${JSON.stringify(f.boundary)}; input ${show(out)}`;
      // A header block of maxHeader bytes is held with up to 3 bytes of its CRLFCRLF.
      const bound = Math.max(f.boundary.length + 3, 65, MAX_HEADER + 3);
      const w = parse(f.boundary, out, [], MAX_HEADER);
      const cuts = randomCuts(rng, out.length);
      const sp = parse(f.boundary, out, cuts, MAX_HEADER);
      for (const r of [w, sp]) {
        if (r.error) assert.equal(r.error.status, 400, ctx);
        assert.ok(r.maxHeld <= bound, `held ${r.maxHeld} bytes (bound ${bound}): ${ctx}`);
        // Parts are well formed: each begin has its end before the next begin.
        let open = false;
        for (const e of r.events) {
          if (e.t === 'begin') { assert.ok(!open, 'a part began inside another'); open = true; }
          if (e.t === 'end') { assert.ok(open, 'an end without a part'); open = false; }
        }
        if (r.done) assert.ok(!open, 'done inside a part');
      }
      const key = w.error ? 'error' : w.ended === 'ok' ? 'ok' : 'truncated';
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const strip = ({ maxHeld: _m, ...r }: Run): Parsed => r;
      assert.deepEqual(strip(sp), strip(w), `split differs (whole: ${JSON.stringify(w.error ?? w.ended)}, split: ${JSON.stringify(sp.error ?? sp.ended)}, cut at ${cuts}): ${ctx}`);
    });
    for (const k of ['error', 'ok', 'truncated']) assert.ok((seen.get(k) ?? 0) >= 20, `outcome ${k} seen ${seen.get(k) ?? 0} times`);
  });
});
