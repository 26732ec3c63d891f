/**
 * The chunked transfer coding decoder (RFC 9112 7.1) at unit level: literal
 * bodies with extensions and trailers in, the data and the end offset out,
 * or the exact HttpError status; then seeded random bodies split at random
 * points and randomly mutated, which must decode as the whole body does,
 * throw nothing but HttpError, and never take more than the limits allow.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedDecoder } from '../../src/http/chunked.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../src/core/limits.js';
import { HttpError } from '../../src/http/errors.js';
import { seeded, randomCuts, mutate, show, type Rng } from '../helpers/random.js';

function limitsOf(over: Partial<HttpLimits>): HttpLimits {
  return { ...DEFAULT_HTTP_LIMITS, ...over };
}

interface Decoded {
  data: string;
  done: boolean;
  /** Offset in the input just past the body, when done. */
  end: number;
  error?: { status: number; message: string };
}

/** Per byte of input: was it handed on as data? (for the limit checks) */
type Classes = boolean[];

/**
 * Decode `input` delivered in pieces ending at `cuts`. Each piece is given
 * either as its own buffer or, as a connection does after a head, as the
 * buffer so far with `start` at the new bytes. `classes`, when given, gets
 * which input bytes came out as data.
 */
function decode(input: Buffer, cuts: readonly number[], limits: HttpLimits, rng?: Rng, classes?: Classes): Decoded {
  const dec = new ChunkedDecoder(limits);
  const out: Buffer[] = [];
  let end = -1;
  let calls = 0;
  let p = 0;
  try {
    for (const c of [...cuts, input.length]) {
      const asOffset = rng?.chance(0.5) ?? false;
      const buf = asOffset ? input.subarray(0, c) : input.subarray(p, c);
      const start = asOffset ? p : 0;
      const base = asOffset ? 0 : p;
      const n = dec.feed(buf, start, (piece) => {
        if (++calls > input.length + 1) throw new Error('the decoder spins: more data calls than input bytes');
        assert.ok(piece.length > 0, 'an empty data piece');
        // Pieces are views of the input, in order.
        assert.equal(piece.buffer, input.buffer, 'a data piece that is not a view of the input');
        const at = piece.byteOffset - input.byteOffset;
        assert.ok(at >= base + start && at + piece.length <= base + buf.length, 'a data piece outside the bytes fed');
        if (classes) for (let i = 0; i < piece.length; i++) classes[at + i] = true;
        out.push(Buffer.from(piece));
      });
      assert.ok(n >= start && n <= buf.length, `feed returned ${n} for [${start}, ${buf.length})`);
      if (dec.done) {
        end = base + n;
        // Nothing after the body is taken, however it is fed again.
        assert.equal(dec.feed(buf, n, () => assert.fail('data after the end')), n);
        break;
      }
      assert.equal(n, buf.length, 'a decoder not done takes all it is given');
      p = c;
    }
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    return { data: Buffer.concat(out).toString('latin1'), done: dec.done, end, error: { status: e.status, message: e.message } };
  }
  return { data: Buffer.concat(out).toString('latin1'), done: dec.done, end };
}

const b = (s: string) => Buffer.from(s, 'latin1');
const everyByte = (buf: Buffer) => Array.from({ length: Math.max(0, buf.length - 1) }, (_, i) => i + 1);

function ok(body: string, data: string, trailing = '', limits: HttpLimits = DEFAULT_HTTP_LIMITS): void {
  const input = b(body + trailing);
  const expected: Decoded = { data, done: true, end: body.length };
  assert.deepEqual(decode(input, [], limits), expected, 'whole');
  assert.deepEqual(decode(input, everyByte(input), limits), expected, 'byte by byte');
}

function bad(body: string, status: number, message: string, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Decoded {
  const input = b(body);
  const w = decode(input, [], limits);
  assert.deepEqual(w.error, { status, message }, `whole: ${JSON.stringify(w)}`);
  assert.equal(w.done, false);
  assert.deepEqual(decode(input, everyByte(input), limits), w, 'byte by byte');
  return w;
}

// ---- literal bodies ----

describe('chunked bodies that decode', () => {
  test('the classic example: sizes in hex, data with CRLFs inside, last-chunk, empty trailer', () => {
    ok('4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n', 'Wikipedia in\r\n\r\nchunks.');
  });

  test('an empty body is just the last chunk', () => {
    ok('0\r\n\r\n', '');
  });

  test('hex digits in either case, and leading zeros', () => {
    ok('a\r\n0123456789\r\nA\r\nabcdefghij\r\n0000F\r\n' + 'x'.repeat(15) + '\r\n000\r\n\r\n', '0123456789abcdefghij' + 'x'.repeat(15));
    ok('1f\r\n' + 'y'.repeat(31) + '\r\n0\r\n\r\n', 'y'.repeat(31));
  });

  test('the decoder stops at the end of the body: the next request is not taken', () => {
    ok('3\r\nabc\r\n0\r\n\r\n', 'abc', 'GET / HTTP/1.1\r\n\r\n');
    // Given from an offset (after a head in the same buffer), the end is an offset in that buffer.
    const buf = b('POST / HTTP/1.1\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT');
    const dec = new ChunkedDecoder(DEFAULT_HTTP_LIMITS);
    const got: string[] = [];
    assert.equal(dec.feed(buf, 19, (c) => { got.push(c.toString()); }), buf.length - 4);
    assert.equal(dec.done, true);
    assert.deepEqual(got, ['abc']);
    assert.equal(dec.feed(buf, buf.length - 4, () => assert.fail()), buf.length - 4, 'done: nothing more is taken');
  });

  test('chunk extensions: names, token and quoted values, escapes, BWS around ; and =', () => {
    ok('5;name\r\nhello\r\n0\r\n\r\n', 'hello');
    ok('5;name=value\r\nhello\r\n0;last\r\n\r\n', 'hello');
    ok('5;a="quoted \\" value; with = signs"\r\nhello\r\n0\r\n\r\n', 'hello');
    ok('5 ; a = b ;\tc ; d="x"\r\nhello\r\n0\r\n\r\n', 'hello');
    ok('5;a;b;c=1;d="";e\r\nhello\r\n0\r\n\r\n', 'hello');
    ok('5;a="caf\xe9\t\\\x80"\r\nhello\r\n0\r\n\r\n', 'hello');
  });

  test('trailer fields are checked and skipped', () => {
    ok('3\r\nabc\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\nX-Sum:abc\r\nX-Empty:\r\n\r\n', 'abc');
    ok('0\r\nX: \xe9\t\x80\r\n\r\n', '');
  });

  test('data pieces are views of the input, not copies', () => {
    const buf = b('6\r\nabcdef\r\n0\r\n\r\n');
    const dec = new ChunkedDecoder(DEFAULT_HTTP_LIMITS);
    const pieces: Buffer[] = [];
    dec.feed(buf, 0, (c) => { pieces.push(c); });
    assert.equal(pieces.length, 1);
    assert.equal(pieces[0].buffer, buf.buffer);
    assert.equal(pieces[0].byteOffset, buf.byteOffset + 3);
  });

  test('limits at their edge pass: a body of maxBodySize, a size line of maxChunkLine, maxHeaderCount trailers', () => {
    ok('5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n', 'abcdefghij', '', limitsOf({ maxBodySize: 10 }));
    // A size line of 8 bytes (CRLF not counted) with maxChunkLine 8.
    ok('00000005\r\nabcde\r\n0\r\n\r\n', 'abcde', '', limitsOf({ maxChunkLine: 8 }));
    // With an extension too: 8 bytes, CRLF not counted.
    ok('5;abc=de\r\nabcde\r\n0\r\n\r\n', 'abcde', '', limitsOf({ maxChunkLine: 8 }));
    ok('0\r\nA: 1\r\nB: 2\r\n\r\n', '', '', limitsOf({ maxHeaderCount: 2 }));
    // A trailer section of maxHeaderBytes, every CR and LF counted (as in a request head).
    ok('0\r\nA: 1\r\nB: 2\r\n\r\n', '', '', limitsOf({ maxHeaderBytes: 14 }));
  });
});

describe('chunked bodies refused, with their status', () => {
  const cases: Array<[string, string, number, string]> = [
    ['a size that is not hex', 'x\r\n', 400, 'malformed chunk size'],
    ['no size at all', '\r\n', 400, 'malformed chunk size'],
    ['a signed size', '-1\r\n', 400, 'malformed chunk size'],
    ['a 0x prefix', '0x5\r\nhello\r\n', 400, 'malformed chunk size'],
    ['a size line ended by a bare LF', '5\nhello\r\n', 400, 'malformed chunk size'],
    ['a size followed by CR CR', '5\r\rhello', 400, 'chunk size line not ended by CRLF'],
    ['whitespace before the size', ' 5\r\n', 400, 'malformed chunk size'],
    ['whitespace after the size, at the end of the line', '5 \r\nhello\r\n', 400, 'malformed chunk extension'],
    ['a ; with no name', '5;\r\nhello\r\n', 400, 'malformed chunk extension name'],
    ['an = with no value', '5;a=\r\nhello\r\n', 400, 'malformed chunk extension value'],
    ['a space inside a token value', '5;a=b c\r\nhello\r\n', 400, 'malformed chunk extension'],
    ['text after a quoted value', '5;a="b"c\r\nhello\r\n', 400, 'malformed chunk extension'],
    ['a control byte in a quoted value', '5;a="b\x01"\r\nhello\r\n', 400, 'invalid byte in chunk extension'],
    ['a quoted value left open', '5;a="b\r\nhello\r\n', 400, 'invalid byte in chunk extension'],
    ['a non-token name', '5;(a)\r\nhello\r\n', 400, 'malformed chunk extension name'],
    ['data longer than its size', '3\r\nabcd\r\n', 400, 'chunk data not followed by CRLF'],
    ['data followed by a bare LF', '3\r\nabc\n0\r\n\r\n', 400, 'chunk data not followed by CRLF'],
    ['data followed by CR and not LF', '3\r\nabc\rX', 400, 'chunk data not followed by CRLF'],
    ['a trailer with obs-fold', '0\r\nA: 1\r\n 2\r\n\r\n', 400, 'obsolete line folding in trailer'],
    ['a trailer with a space before its colon', '0\r\nA : 1\r\n\r\n', 400, 'trailer field name followed by something other than ":"'],
    ['a trailer line with no colon', '0\r\nABC\r\n\r\n', 400, 'trailer field name followed by something other than ":"'],
    ['a trailer with an empty name', '0\r\n: 1\r\n\r\n', 400, 'malformed trailer field name'],
    ['a control byte in a trailer value', '0\r\nA: \x00\r\n\r\n', 400, 'invalid byte in trailer'],
    ['a trailer line ended by a bare LF', '0\r\nA: 1\n\r\n', 400, 'invalid byte in trailer'],
    ['a trailer line ended by CR CR', '0\r\nA: 1\r\r\n', 400, 'trailer line not ended by CRLF'],
    ['the trailer section ended by a bare LF', '0\r\n\n', 400, 'malformed trailer field name'],
    ['the final CRLF as CR x', '0\r\n\rx', 400, 'trailer line not ended by CRLF'],
  ];
  for (const [name, body, status, message] of cases) {
    test(`${name}: ${status}`, () => {
      bad(body, status, message);
    });
  }

  test('data arrives before a framing error after it is found', () => {
    const w = bad('3\r\nabc\r\n2\r\nde\r\nzz\r\n', 400, 'malformed chunk size');
    assert.equal(w.data, 'abcde');
  });

  test('413 as soon as the size digits pass maxBodySize, before any of its data', () => {
    const lim = limitsOf({ maxBodySize: 10 });
    const w = bad('b\r\n', 413, 'request body too large', lim);
    assert.equal(w.data, '');
    // The total of several chunks counts.
    const w2 = bad('6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n', 413, 'request body too large', lim);
    assert.equal(w2.data, 'abcdef');
    // Digit by digit: "1" fits, "10" (16) is refused at its second digit.
    const dec = new ChunkedDecoder(lim);
    assert.equal(dec.feed(b('1'), 0, () => {}), 1);
    assert.throws(() => dec.feed(b('0'), 0, () => {}), (e: unknown) => e instanceof HttpError && e.status === 413);
  });

  test('413 for a chunk size past 2^53 (the client\'s limit) or of 16 significant hex digits (no limit at all)', () => {
    const lim = limitsOf({ maxBodySize: Number.MAX_SAFE_INTEGER });
    bad('1000000000000000\r\n', 413, 'request body too large', lim); // 2^56 passes the limit at the 15th digit
    bad('ffffffffffffffff0\r\n', 413, 'request body too large', lim);
    // 2^53 - 1 is taken (its data would follow).
    assert.deepEqual(decode(b('1fffffffffffff\r\n'), [], lim), { data: '', done: false, end: -1 });
    bad('1000000000000000\r\n', 413, 'chunk size too large', limitsOf({ maxBodySize: Infinity }));
    // Leading zeros do not count as digits (but do count against the line).
    ok('000000000000000000001\r\nx\r\n0\r\n\r\n', 'x', '', lim);
  });

  test('400 for a size line past maxChunkLine, whether by digits or by extensions', () => {
    const lim = limitsOf({ maxChunkLine: 8 });
    bad('000000005\r\nabcde\r\n0\r\n\r\n', 400, 'chunk size line too long', lim);
    bad('00000005;\r\n', 400, 'chunk extension too long', lim);
    bad('5;abc=def\r\nabcde\r\n0\r\n\r\n', 400, 'chunk extension too long', lim);
    // An extension that never ends is refused after the limit, not buffered.
    const w = decode(b('5;' + 'a'.repeat(1000)), [], lim);
    assert.deepEqual(w.error, { status: 400, message: 'chunk extension too long' });
  });

  test('a size line of exactly maxChunkLine bytes is taken with an extension as without one', () => {
    ok('5;abc=de\r\nabcde\r\n0\r\n\r\n', 'abcde', '', limitsOf({ maxChunkLine: 8 }));
    ok('00000005\r\nabcde\r\n0\r\n\r\n', 'abcde', '', limitsOf({ maxChunkLine: 8 }));
    ok('5;a="b c"\r\nabcde\r\n0\r\n\r\n', 'abcde', '', limitsOf({ maxChunkLine: 9 }));
    bad('5;a="b c"\r\nabcde\r\n0\r\n\r\n', 400, 'chunk extension too long', limitsOf({ maxChunkLine: 8 }));
  });

  test('431 for maxHeaderCount + 1 trailer fields, and for a trailer section past maxHeaderBytes', () => {
    bad('0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', 431, 'too many trailer fields', limitsOf({ maxHeaderCount: 2 }));
    bad('0\r\nX-Long: ' + 'v'.repeat(100) + '\r\n\r\n', 431, 'trailer section too large', limitsOf({ maxHeaderBytes: 64 }));
    // One byte over, whichever byte it is: the final LF, or the LF of a field line.
    bad('0\r\nA: 1\r\nB: 2\r\n\r\n', 431, 'trailer section too large', limitsOf({ maxHeaderBytes: 13 }));
    bad('0\r\nA: 1\r\nB: 2\r\n\r\n', 431, 'trailer section too large', limitsOf({ maxHeaderBytes: 11 }));
    // A trailer line that never ends is refused once past the limit.
    const w = decode(b('0\r\nX: ' + 'v'.repeat(1000)), [], limitsOf({ maxHeaderBytes: 64 }));
    assert.deepEqual(w.error, { status: 431, message: 'trailer section too large' });
  });
});

// ---- randomized ----

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const QDTEXT = ' \t!#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~\x80\xe9\xff';

function randomExt(rng: Rng): string {
  let s = '';
  for (let i = rng.int(3); i > 0; i--) {
    const bws = () => rng.chars(rng.int(2), ' \t');
    s += `${bws()};${bws()}${rng.chars(rng.range(1, 6), TCHARS)}`;
    const v = rng.int(3);
    if (v === 1) s += `${bws()}=${bws()}${rng.chars(rng.range(1, 6), TCHARS)}`;
    if (v === 2) {
      let q = '';
      for (let k = rng.int(8); k > 0; k--) q += rng.chance(0.15) ? '\\' + rng.pick(['"', '\\', 'a', '\t']) : rng.pick([...QDTEXT]);
      s += `${bws()}=${bws()}"${q}"`;
    }
  }
  return s;
}

interface Body {
  text: string;
  data: string;
}

/** A random valid chunked body and the data it carries. */
function randomBody(rng: Rng, maxChunk: number): Body {
  let text = '';
  let data = '';
  for (let i = rng.int(6); i > 0; i--) {
    const n = rng.range(1, maxChunk);
    let size = n.toString(16);
    if (rng.chance(0.3)) size = size.toUpperCase();
    if (rng.chance(0.1)) size = '0'.repeat(rng.range(1, 3)) + size;
    const chunk = rng.chars(n, 'abc\r\n0123456789xyz\x00\xff;:"');
    text += `${size}${rng.chance(0.3) ? randomExt(rng) : ''}\r\n${chunk}\r\n`;
    data += chunk;
  }
  text += `${'0'.repeat(rng.range(1, 2))}${rng.chance(0.2) ? randomExt(rng) : ''}\r\n`;
  for (let i = rng.chance(0.3) ? rng.range(1, 3) : 0; i > 0; i--) {
    text += `${rng.chars(rng.range(1, 8), TCHARS)}:${rng.chars(rng.int(10), ' \tabcXYZ019\x80')}\r\n`;
  }
  text += '\r\n';
  return { text, data };
}

describe('seeded random chunked bodies', () => {
  test('valid bodies give their data and end where they end, whole or in random pieces', () => {
    seeded('chunked valid split', 300, (rng) => {
      const body = randomBody(rng, rng.chance(0.1) ? 3000 : 40);
      const after = rng.chance(0.3) ? 'GET / HTTP/1.1\r\n' : '';
      const input = b(body.text + after);
      const expected: Decoded = { data: body.data, done: true, end: body.text.length };
      assert.deepEqual(decode(input, [], DEFAULT_HTTP_LIMITS), expected, `whole ${show(input)}`);
      const cuts = randomCuts(rng, input.length);
      assert.deepEqual(decode(input, cuts, DEFAULT_HTTP_LIMITS, rng), expected, `${show(input)} cut at ${cuts}`);
    });
  });

  /** Small limits, with the size line and the trailer section bounded alike. */
  const SMALL = limitsOf({ maxBodySize: 120, maxChunkLine: 24, maxHeaderBytes: 24, maxHeaderCount: 2 });

  /**
   * What a decoder that has not refused the input may have taken: no more
   * data than maxBodySize, and framing lines (between LFs, data excluded) no
   * longer than the line limits; after the last data, no more lines than a
   * CRLF, a size line, the trailers and the empty line.
   */
  function checkTaken(input: Buffer, classes: Classes, taken: number, ctx: string): void {
    const data = classes.filter(Boolean).length;
    assert.ok(data <= SMALL.maxBodySize, `${data} bytes of data passed maxBodySize: ${ctx}`);
    let line = 0;
    let lastData = -1;
    for (let i = 0; i < taken; i++) {
      if (classes[i]) {
        line = 0;
        lastData = i;
      } else if (input[i] === 0x0a) line = 0;
      else assert.ok(++line <= Math.max(SMALL.maxChunkLine, SMALL.maxHeaderBytes) + 1, `a framing line of ${line} bytes: ${ctx}`);
    }
    let lfs = 0;
    let bytes = 0;
    for (let i = lastData + 1; i < taken; i++) {
      bytes++;
      if (input[i] === 0x0a) lfs++;
    }
    assert.ok(lfs <= 1 + 1 + SMALL.maxHeaderCount + 1, `${lfs} lines after the last data: ${ctx}`);
    assert.ok(bytes <= 2 + SMALL.maxChunkLine + 2 + SMALL.maxHeaderBytes + lfs, `${bytes} framing bytes after the last data: ${ctx}`);
  }

  test('mutated bodies: only HttpError 400/413/431, limits held, same answer whole or split', () => {
    const seen = new Map<string, number>();
    seeded('chunked mutated', 600, (rng) => {
      const body = randomBody(rng, 60);
      const { out, ops } = mutate(rng, b(body.text), {
        dictionary: ['\r\n', '\n', '\r', ';', '=', '"', '\\', ' ', '0\r\n\r\n', 'f', 'F', '0', 'ffff', ':', 'X: y\r\n'],
      });
      const ctx = `${ops.join(', ')}; input ${show(out)}`;
      const w = decode(out, [], SMALL);
      if (w.error) assert.ok([400, 413, 431].includes(w.error.status), `status ${w.error.status}: ${ctx}`);
      const key = w.error ? String(w.error.status) : w.done ? 'done' : 'more';
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const sp = decode(out, randomCuts(rng, out.length), SMALL, rng);
      assert.deepEqual(sp, w, `split differs: ${ctx}`);
      // Byte by byte: what was data, and the bounds on what was taken before the end or the refusal.
      const classes: Classes = new Array<boolean>(out.length).fill(false);
      const one = decode(out, Array.from({ length: Math.max(0, out.length - 1) }, (_, i) => i + 1), SMALL, undefined, classes);
      assert.deepEqual(one, w, `byte by byte differs: ${ctx}`);
      // The byte that was refused was not taken; all were when no error.
      const taken = w.done ? w.end : w.error ? refusedAt(out) : out.length;
      checkTaken(out, classes, taken, ctx);
    });
    for (const k of ['done', 'more', '400', '413', '431']) assert.ok((seen.get(k) ?? 0) >= 5, `outcome ${k} seen ${seen.get(k) ?? 0} times: ${JSON.stringify([...seen])}`);
  });

  /** How many bytes a decoder takes before it throws, fed one at a time. */
  function refusedAt(input: Buffer): number {
    const dec = new ChunkedDecoder(SMALL);
    for (let i = 0; i < input.length; i++) {
      try {
        dec.feed(input.subarray(0, i + 1), i, () => {});
      } catch {
        return i;
      }
    }
    return input.length;
  }
});
