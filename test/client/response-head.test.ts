/**
 * The HTTP client's response head parser (RFC 9112 4, 5) at unit level:
 * literal status lines and header sections in, the ClientResponse and the
 * body's start, or the exact reason the head is refused; then seeded random
 * heads that arrive in random pieces (the same growing buffer each time, as
 * the client gathers it) and randomly mutated ones, which must give the
 * answer the whole head gives and never wait past maxBytes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { findResponseHead, ClientResponse, type HeadResult } from '../../src/client/response-head.js';
import { Token } from '../../src/http/tokens.js';
import { seeded, randomCuts, mutate, show, type Rng } from '../helpers/random.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/** Plain data out of a result, for deepEqual. */
function plain(r: HeadResult): unknown {
  if (r.kind !== 'done') return r;
  const { version, status, reasonPhrase, headers } = r.response;
  assert.ok(r.response instanceof ClientResponse);
  return { kind: 'done', version, status, reasonPhrase, headers: headers.map((h) => [...h]), bodyStart: r.bodyStart };
}

/** Growing prefixes ending at each cut, then the whole: the first answer that is not 'more'. */
function growing(buf: Buffer, cuts: readonly number[], maxBytes: number): unknown {
  for (const c of [...cuts, buf.length]) {
    const prefix = buf.subarray(0, c);
    const r = findResponseHead(prefix, maxBytes);
    if (r.kind !== 'more') return plain(r);
    // Waiting: never with more than maxBytes gathered.
    assert.ok(prefix.length <= maxBytes, `waiting with ${prefix.length} bytes (max ${maxBytes})`);
  }
  return { kind: 'more' };
}

const everyByte = (buf: Buffer) => Array.from({ length: Math.max(0, buf.length - 1) }, (_, i) => i + 1);

function done(version: string, status: number, reasonPhrase: string, headers: Array<[string, string]>, bodyStart: number): unknown {
  return { kind: 'done', version, status, reasonPhrase, headers, bodyStart };
}

/** Whole and byte by byte give `expected`. */
function same(text: string | Buffer, expected: unknown, maxBytes = 16384): void {
  const buf = typeof text === 'string' ? b(text) : text;
  assert.deepEqual(plain(findResponseHead(buf, maxBytes)), expected, 'whole');
  assert.deepEqual(growing(buf, everyByte(buf), maxBytes), expected, 'byte by byte');
}

const error = (why: string) => ({ kind: 'error', why });

// ---- literal heads ----

describe('response heads that parse', () => {
  test('a typical 200: version, status, reason, headers lower-cased in order, where the body starts', () => {
    same('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello',
      done('HTTP/1.1', 200, 'OK', [['content-type', 'text/html'], ['content-length', '5']], 63));
  });

  test('HTTP/1.0, a reason with spaces, no reason, an empty reason, no headers', () => {
    same('HTTP/1.0 404 Not Found Here\r\n\r\n', done('HTTP/1.0', 404, 'Not Found Here', [], 31));
    same('HTTP/1.1 204\r\n\r\n', done('HTTP/1.1', 204, '', [], 16));
    same('HTTP/1.1 204 \r\n\r\n', done('HTTP/1.1', 204, '', [], 17));
    same('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00',
      done('HTTP/1.1', 101, 'Switching Protocols', [['upgrade', 'websocket'], ['connection', 'Upgrade']], 77));
  });

  test('any three digits are a status; obs-text in the reason is kept', () => {
    same('HTTP/1.1 999 \xe9t\xe9\r\n\r\n', done('HTTP/1.1', 999, '\u00e9t\u00e9', [], 20));
    same('HTTP/1.1 000 x\r\n\r\n', done('HTTP/1.1', 0, 'x', [], 18));
  });

  test('OWS around values is dropped, inside kept; empty values; obs-text; every tchar in names', () => {
    const name = "!#$%&'*+-.^_`|~09azAZ";
    same(`HTTP/1.1 200 OK\r\nA:x\r\nB: \t x  y \t\r\nC:\r\nD: \xe9\x80\xff\r\n${name}: v\r\n\r\n`,
      done('HTTP/1.1', 200, 'OK', [['a', 'x'], ['b', 'x  y'], ['c', ''], ['d', '\u00e9\u0080\u00ff'], [name.toLowerCase(), 'v']], 54 + name.length));
  });

  test('repeated headers: fragments() lists them, header() joins them, by name or token', () => {
    const r = findResponseHead(b('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Type: x/y\r\nset-cookie: b=2\r\n\r\n'), 1000);
    assert.equal(r.kind, 'done');
    if (r.kind !== 'done') return;
    assert.deepEqual(r.response.fragments('set-cookie'), ['a=1', 'b=2']);
    assert.deepEqual(r.response.fragments('SET-COOKIE:'), ['a=1', 'b=2'], 'a trailing colon and the case do not matter');
    assert.deepEqual(r.response.fragments(Token.SET_COOKIE), ['a=1', 'b=2']);
    assert.equal(r.response.header('set-cookie'), 'a=1, b=2');
    assert.equal(r.response.header(Token.CONTENT_TYPE), 'x/y');
    assert.equal(r.response.header('x-missing'), undefined);
    assert.deepEqual(r.response.fragments('x-missing'), []);
  });

  test('the body starts after the first empty line, whatever follows', () => {
    const r = findResponseHead(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n'), 1000);
    assert.deepEqual(plain(r), done('HTTP/1.1', 100, 'Continue', [], 25));
  });

  test('more bytes are needed until CRLF CRLF, up to maxBytes; a head of exactly maxBytes is taken', () => {
    assert.deepEqual(findResponseHead(b(''), 100), { kind: 'more' });
    assert.deepEqual(findResponseHead(b('HTTP/1.1 200 OK\r\n\r'), 100), { kind: 'more' });
    assert.deepEqual(findResponseHead(b('HTTP/1.1 200 OK\n\n'), 100), { kind: 'more' }, 'LF LF does not end a head');
    const text = b('HTTP/1.1 200 OK\r\nA: 1\r\n\r\n'); // 25 bytes
    assert.equal(text.length, 25);
    same(text, done('HTTP/1.1', 200, 'OK', [['a', '1']], 25), 25);
  });
});

describe('response heads refused, with the reason', () => {
  const status = (line: string) => error(`malformed status line "${line}"`);
  const cases: Array<[string, string, unknown]> = [
    ['HTTP/2', 'HTTP/2 200 OK\r\n\r\n', status('HTTP/2 200 OK')],
    ['HTTP/1.2', 'HTTP/1.2 200 OK\r\n\r\n', status('HTTP/1.2 200 OK')],
    ['lower-case http', 'http/1.1 200 OK\r\n\r\n', status('http/1.1 200 OK')],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', status('HTTP/1.1 20 OK')],
    ['a four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', status('HTTP/1.1 2000 OK')],
    ['no space after the version', 'HTTP/1.1200 OK\r\n\r\n', status('HTTP/1.1200 OK')],
    ['two spaces before the status', 'HTTP/1.1  200 OK\r\n\r\n', status('HTTP/1.1  200 OK')],
    ['a tab before the reason', 'HTTP/1.1 200\tOK\r\n\r\n', status('HTTP/1.1 200\tOK')],
    ['a bare LF in the status line', 'HTTP/1.1 200 OK\nX: y\r\n\r\n', status('HTTP/1.1 200 OK\nX: y')],
    ['leading whitespace', ' HTTP/1.1 200 OK\r\n\r\n', status(' HTTP/1.1 200 OK')],
    ['an empty status line', '\r\n\r\n', status('')],
    ['a bare LF in a header line', 'HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\r\n', error('bare LF in the response head')],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', error('malformed header line "NoColon"')],
    ['an empty header name', 'HTTP/1.1 200 OK\r\n: v\r\n\r\n', error('malformed header line ": v"')],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nA: 1\r\n  folded: x\r\n\r\n', error('malformed header name "  folded"')],
    ['obs-fold without a colon', 'HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n', error('malformed header line " folded"')],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nA : 1\r\n\r\n', error('malformed header name "A "')],
    ['a non-tchar in a name', 'HTTP/1.1 200 OK\r\nA(b): 1\r\n\r\n', error('malformed header name "A(b)"')],
    ['a control byte in a value', 'HTTP/1.1 200 OK\r\nA: x\x01y\r\n\r\n', error('invalid byte in header "A"')],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n', error('invalid byte in header "A"')],
    ['NUL in a value', 'HTTP/1.1 200 OK\r\nA: x\x00\r\n\r\n', error('invalid byte in header "A"')],
    ['a CR inside a value', 'HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n', error('invalid byte in header "A"')],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => same(text, expected));
  }

  test('long lines are cut to 60 characters in the reason', () => {
    const line = 'X'.repeat(100);
    same(`HTTP/1.1 200 OK\r\n${line}\r\n\r\n`, error(`malformed header line "${'X'.repeat(60)}"`));
    same(`${line}\r\n\r\n`, error(`malformed status line "${'X'.repeat(60)}"`));
  });

  test('a head past maxBytes is refused, whether its end has arrived or not', () => {
    const text = b('HTTP/1.1 200 OK\r\nA: 1\r\n\r\n'); // 25 bytes
    same(text, error('response head larger than 24 bytes'), 24);
    // Still arriving: refused once the bytes gathered pass maxBytes, not before.
    const endless = b('HTTP/1.1 200 OK\r\nX: ' + 'y'.repeat(100));
    assert.deepEqual(findResponseHead(endless.subarray(0, 50), 50), { kind: 'more' });
    assert.deepEqual(findResponseHead(endless.subarray(0, 51), 50), error('response head larger than 50 bytes'));
  });
});

describe('only OWS is trimmed from values; reason phrases are checked', () => {
  // Values lose SP and HTAB at their ends (RFC 9110 5.5 OWS), nothing else:
  // a bare CR, VT or FF at either end is refused as anywhere else in a
  // value (the server side, head-parser.ts, answers 400 for the same bytes),
  // and obs-text 0xa0 (NBSP in latin1) is kept.
  test('a bare CR, VT or FF at the end of a header value is refused', () => {
    for (const v of ['x\r', 'x\x0b', '\x0cx']) {
      assert.deepEqual(plain(findResponseHead(b(`HTTP/1.1 200 OK\r\nA: ${v}\r\n\r\n`), 1000)), error('invalid byte in header "A"'), JSON.stringify(v));
    }
  });

  test('obs-text 0xa0 at the edge of a header value is kept', () => {
    assert.deepEqual(plain(findResponseHead(b('HTTP/1.1 200 OK\r\nA: \xa0x\xa0\r\n\r\n'), 1000)),
      done('HTTP/1.1', 200, 'OK', [['a', '\u00a0x\u00a0']], 27));
  });

  test('a control byte in the reason phrase is refused', () => {
    for (const reason of ['\x00', 'a\x7f', 'O\x01K']) {
      const r = findResponseHead(b(`HTTP/1.1 200 ${reason}\r\n\r\n`), 1000);
      assert.equal(r.kind, 'error', JSON.stringify(reason));
    }
  });

  test('the answers, exactly', () => {
    same('HTTP/1.1 200 OK\r\nA: x\r\r\n\r\n', error('invalid byte in header "A"'));
    same('HTTP/1.1 200 OK\r\nB: \x0by\r\n\r\n', error('invalid byte in header "B"'));
    same('HTTP/1.1 200 OK\r\nC: \xa0z\xa0\r\nD: \t \xa0 \t\r\n\r\n', done('HTTP/1.1', 200, 'OK', [['c', '\u00a0z\u00a0'], ['d', '\u00a0']], 37));
    same('HTTP/1.1 200 \x00\r\n\r\n', error('invalid byte 0x0 in the reason phrase'));
    same('HTTP/1.1 200 a\x7f\r\n\r\n', error('invalid byte 0x7f in the reason phrase'));
    // HTAB, SP, VCHAR and obs-text are all a reason may hold.
    same('HTTP/1.1 200 \tO K\t~\xa0\xff\r\n\r\n', done('HTTP/1.1', 200, '\tO K\t~\u00a0\u00ff', [], 25));
    // A CR in the reason ends no line: the status line is malformed.
    same('HTTP/1.1 200 O\rK\r\n\r\n', error('malformed status line "HTTP/1.1 200 O\rK"'));
  });
});

// ---- randomized ----

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const VCHARS = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\t!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xe9\xff';

interface Generated {
  bytes: Buffer;
  expected: unknown;
}

function randomResponse(rng: Rng, maxHeaders: number, maxValue: number): Generated {
  const version = rng.pick(['HTTP/1.1', 'HTTP/1.0']);
  const status = rng.int(1000);
  const reason = rng.chance(0.2) ? '' : rng.chars(rng.int(20), 'abcdefghij ABCXYZ').replace(/^ +| +$/g, '') || 'OK';
  const noReason = reason === '' && rng.chance(0.5);
  let text = `${version} ${String(status).padStart(3, '0')}${noReason ? '' : ' ' + reason}\r\n`;
  const headers: Array<[string, string]> = [];
  for (let i = rng.int(maxHeaders + 1); i > 0; i--) {
    const name = rng.chars(rng.range(1, 12), TCHARS);
    const value = rng.chars(rng.int(maxValue + 1), VCHARS).replace(/^[ \t]+|[ \t]+$/g, '');
    const ows = () => rng.chars(rng.int(3), ' \t');
    text += `${name}:${ows()}${value}${ows()}\r\n`;
    headers.push([name.toLowerCase(), value]);
  }
  text += '\r\n';
  const bodyStart = text.length;
  if (rng.chance(0.5)) text += rng.chars(rng.int(30), VCHARS + '\r\n');
  return { bytes: b(text), expected: done(version, status, reason, headers, bodyStart) };
}

describe('seeded random responses', () => {
  test('valid heads parse to what was sent, whole or arriving in random pieces', () => {
    seeded('response valid split', 300, (rng) => {
      const g = randomResponse(rng, 8, 40);
      assert.deepEqual(plain(findResponseHead(g.bytes, 16384)), g.expected, show(g.bytes));
      const cuts = randomCuts(rng, g.bytes.length);
      assert.deepEqual(growing(g.bytes, cuts, 16384), g.expected, `${show(g.bytes)} cut at ${cuts}`);
    });
  });

  test('mutated heads: never a throw, limits held, names and values clean, same answer whole or in pieces', () => {
    const MAX = 120;
    const seen = new Map<string, number>();
    seeded('response mutated', 600, (rng) => {
      const g = randomResponse(rng, 5, 24);
      const { out, ops } = mutate(rng, g.bytes, { dictionary: ['\r\n', '\n', '\r', ' ', ':', '\r\n\r\n', '\r\n ', 'HTTP/1.1 ', '\x00'] });
      const ctx = `${ops.join(', ')}; input ${show(out)}`;
      const r = findResponseHead(out, MAX);
      const key = r.kind === 'error' ? r.why.replace(/".*/, '') : r.kind;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (r.kind === 'more') assert.ok(out.length <= MAX, `'more' with ${out.length} bytes: ${ctx}`);
      if (r.kind === 'done') {
        assert.ok(r.bodyStart <= MAX && r.bodyStart <= out.length, ctx);
        assert.equal(out.toString('latin1', r.bodyStart - 4, r.bodyStart), '\r\n\r\n');
        assert.ok(r.response.status >= 0 && r.response.status <= 999);
        assert.match(r.response.version, /^HTTP\/1\.[01]$/);
        assert.doesNotMatch(r.response.reasonPhrase, /[\x00-\x08\x0a-\x1f\x7f]/, ctx);
        for (const [n, v] of r.response.headers) {
          assert.match(n, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/, ctx);
          // No CTL but HTAB anywhere.
          assert.doesNotMatch(v, /[\x00-\x08\x0a-\x1f\x7f]/, ctx);
          assert.doesNotMatch(v, /^[ \t]|[ \t]$/, ctx);
        }
      }
      assert.deepEqual(growing(out, randomCuts(rng, out.length), MAX), plain(r), `pieces differ: ${ctx}`);
    });
    for (const k of ['done', 'more', 'malformed status line ', 'malformed header line ', 'malformed header name ', 'invalid byte in header ', 'response head larger than 120 bytes']) {
      assert.ok((seen.get(k) ?? 0) >= 5, `outcome ${k} seen ${seen.get(k) ?? 0} times: ${JSON.stringify([...seen])}`);
    }
  });
});
