/**
 * The HTTP/1 request head scanner and parser (RFC 9112 2, 3, 5) at unit
 * level: literal heads in, the parsed request or the exact HttpError status
 * out; then seeded random heads delivered in random pieces (the scanner sees
 * the same growing buffer each time, as the connection gives it) and
 * randomly mutated, which must answer as the whole head does and never
 * hold more than the limits allow.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeadScanner, parseHead, type RequestHead } from '../../../src/roles/h1/head-parser.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../../src/core/limits.js';
import { HttpError } from '../../../src/http/errors.js';
import { seeded, randomCuts, mutate, show, type Rng } from '../../helpers/random.js';

type Outcome =
  | { kind: 'head'; head: RequestHead }
  | { kind: 'more' }
  | { kind: 'error'; status: number; message: string };

function limitsOf(over: Partial<HttpLimits>): HttpLimits {
  return { ...DEFAULT_HTTP_LIMITS, ...over };
}

function caught(fn: () => Outcome): Outcome {
  try {
    return fn();
  } catch (e) {
    // Anything but an HttpError is a bug: let it fail the test as it is.
    if (!(e instanceof HttpError)) throw e;
    assert.equal(e.name, 'HttpError');
    return { kind: 'error', status: e.status, message: e.message };
  }
}

/** Scan and parse the whole buffer at once. */
function whole(buf: Buffer, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Outcome {
  const s = new HeadScanner();
  return caught(() => {
    const n = s.scan(buf, limits);
    return n ? { kind: 'head', head: parseHead(buf, s.lineStarts, s.lineCount, n) } : { kind: 'more' };
  });
}

/**
 * Scan a buffer growing to each cut in turn, as bytes arrive; parse once
 * the head is found. While it waits for more, check that what it holds
 * stays within the limits.
 */
function growing(buf: Buffer, cuts: readonly number[], limits: HttpLimits = DEFAULT_HTTP_LIMITS): Outcome {
  const s = new HeadScanner();
  return caught(() => {
    for (const c of [...cuts, buf.length]) {
      const prefix = buf.subarray(0, c);
      const n = s.scan(prefix, limits);
      if (n) return { kind: 'head', head: parseHead(prefix, s.lineStarts, s.lineCount, n) };
      checkHeld(s, prefix, limits);
    }
    return { kind: 'more' };
  });
}

/** A scanner waiting for more bytes holds no more than the limits allow. */
function checkHeld(s: HeadScanner, prefix: Buffer, limits: HttpLimits): void {
  assert.ok(s.lineCount - 1 <= limits.maxHeaderCount, `${s.lineCount - 1} header lines held (max ${limits.maxHeaderCount})`);
  if (s.lineCount === 0) {
    // The request line (plus its CR, after at most 4 empty lines) is still open.
    assert.ok(prefix.length <= limits.maxRequestLine + 9, `${prefix.length} bytes held in the request line (max ${limits.maxRequestLine})`);
  } else {
    assert.ok(prefix.length <= limits.maxHeaderBytes, `${prefix.length} bytes held in the header block (max ${limits.maxHeaderBytes})`);
  }
}

/** Every byte in its own step. */
const everyByte = (buf: Buffer) => Array.from({ length: Math.max(0, buf.length - 1) }, (_, i) => i + 1);

function head(method: string, target: string, version: 10 | 11, headers: Array<[string, string]>, length: number): Outcome {
  return { kind: 'head', head: { method, target, version, headers, length } };
}

function err(status: number, message: string | RegExp): (o: Outcome) => void {
  return (o) => {
    assert.equal(o.kind, 'error', JSON.stringify(o));
    if (o.kind !== 'error') return;
    assert.equal(o.status, status, o.message);
    if (typeof message === 'string') assert.equal(o.message, message);
    else assert.match(o.message, message);
  };
}

const b = (s: string) => Buffer.from(s, 'latin1');

// ---- literal heads ----

describe('request heads that parse', () => {
  test('a typical GET: method, target, version, headers lower-cased in order, length', () => {
    const text = 'GET /index.html?a=1&b=%20 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1.0\r\nAccept: */*\r\n\r\n';
    const expected = head('GET', '/index.html?a=1&b=%20', 11, [['host', 'example.com'], ['user-agent', 't/1.0'], ['accept', '*/*']], text.length);
    assert.deepEqual(whole(b(text)), expected);
    assert.deepEqual(growing(b(text), everyByte(b(text))), expected);
  });

  test('HTTP/1.0 with no headers at all', () => {
    assert.deepEqual(whole(b('GET / HTTP/1.0\r\n\r\n')), head('GET', '/', 10, [], 18));
  });

  test('the head ends at its empty line: body bytes after it are not counted', () => {
    const r = whole(b('POST /f HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n'));
    assert.deepEqual(r, head('POST', '/f', 11, [['content-length', '3']], 39));
  });

  test('repeated fields are all kept, in order, names lower-cased but values not', () => {
    const text = 'GET / HTTP/1.1\r\nAccept: a/b\r\nX-Dup: One\r\naccept: C/D\r\nX-DUP: two\r\n\r\n';
    const r = whole(b(text));
    assert.equal(r.kind, 'head');
    if (r.kind === 'head') assert.deepEqual(r.head.headers, [['accept', 'a/b'], ['x-dup', 'One'], ['accept', 'C/D'], ['x-dup', 'two']]);
  });

  test('common names in any case and names one byte away from them come out lower-cased as sent', () => {
    const names = ['HOST', 'hosT', 'Hosx', 'Sec-WebSocket-Key', 'SEC-WEBSOCKET-KEZ', 'sec-websocket-version', 'Accept-Encoding',
      'accept-encodinG', 'Accept_Encoding', 'Sec-Fetch-Mode', 'Cookie', 'Cookies', 'X-Forwarded-For', 'x-forwarded-fo0', 'Upgrade'];
    const text = 'GET / HTTP/1.1\r\n' + names.map((n, i) => `${n}: v${i}\r\n`).join('') + '\r\n';
    const r = whole(b(text));
    assert.equal(r.kind, 'head');
    if (r.kind === 'head') assert.deepEqual(r.head.headers, names.map((n, i) => [n.toLowerCase(), `v${i}`]));
  });

  test('OWS (SP, HTAB) around a value is dropped, inside it is kept; an empty value is ""', () => {
    const text = 'GET / HTTP/1.1\r\nA:x\r\nB: \t x  y\t \r\nC:\r\nD:   \r\nE:\t\r\n\r\n';
    const r = whole(b(text));
    assert.equal(r.kind, 'head');
    if (r.kind === 'head') assert.deepEqual(r.head.headers, [['a', 'x'], ['b', 'x  y'], ['c', ''], ['d', ''], ['e', '']]);
  });

  test('obs-text (0x80-0xff) in a value is accepted and read as latin1', () => {
    const r = whole(Buffer.concat([b('GET / HTTP/1.1\r\nX-T: caf'), Buffer.from([0xe9, 0x80, 0xff]), b('\r\n\r\n')]));
    assert.equal(r.kind, 'head');
    if (r.kind === 'head') assert.deepEqual(r.head.headers, [['x-t', 'caf\u00e9\u0080\u00ff']]);
  });

  test('tchar names, all of them, and the four target forms', () => {
    const name = "!#$%&'*+-.^_`|~09azAZ";
    const r = whole(b(`OPTIONS * HTTP/1.1\r\n${name}: v\r\n\r\n`));
    assert.deepEqual(r, head('OPTIONS', '*', 11, [[name.toLowerCase(), 'v']], name.length + 27));
    assert.deepEqual(whole(b('CONNECT example.com:443 HTTP/1.1\r\n\r\n')), head('CONNECT', 'example.com:443', 11, [], 36));
    assert.deepEqual(whole(b('GET http://h/p?q HTTP/1.1\r\n\r\n')), head('GET', 'http://h/p?q', 11, [], 29));
    // Methods are case-sensitive tokens, passed on as sent.
    assert.deepEqual(whole(b('get /x HTTP/1.1\r\n\r\n')), head('get', '/x', 11, [], 19));
  });

  test('up to 4 empty lines before the request line are skipped (and counted in length); a 5th is 400', () => {
    assert.deepEqual(whole(b('\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n')), head('GET', '/', 11, [], 26));
    err(400, 'too many empty lines before the request line')(whole(b('\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n')));
    // Early, before any request line.
    err(400, 'too many empty lines before the request line')(growing(b('\r\n\r\n\r\n\r\n\r\n'), [1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  test('the scanner answers 0 until the empty line, and `started` once a request byte came', () => {
    const s = new HeadScanner();
    const text = b('\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(s.scan(text.subarray(0, 4), DEFAULT_HTTP_LIMITS), 0);
    assert.equal(s.started, false, 'empty lines are not a start');
    assert.equal(s.scan(text.subarray(0, 5), DEFAULT_HTTP_LIMITS), 0);
    assert.equal(s.started, true);
    assert.equal(s.scan(text.subarray(0, text.length - 1), DEFAULT_HTTP_LIMITS), 0);
    assert.equal(s.scan(text, DEFAULT_HTTP_LIMITS), text.length);
    assert.deepEqual(s.lineStarts.slice(0, s.lineCount), [4, 20, 29]);
  });

  test('reset() readies the scanner for the next pipelined request', () => {
    const two = b('GET /1 HTTP/1.1\r\nA: 1\r\n\r\nGET /2 HTTP/1.1\r\nB: 2\r\n\r\n');
    const s = new HeadScanner();
    const n1 = s.scan(two, DEFAULT_HTTP_LIMITS);
    assert.equal(n1, 25);
    assert.deepEqual(parseHead(two, s.lineStarts, s.lineCount, n1).target, '/1');
    s.reset();
    assert.equal(s.started, false);
    assert.equal(s.lineCount, 0);
    const rest = two.subarray(n1);
    const n2 = s.scan(rest, DEFAULT_HTTP_LIMITS);
    assert.equal(n2, 25);
    assert.deepEqual(parseHead(rest, s.lineStarts, s.lineCount, n2), { method: 'GET', target: '/2', version: 11, headers: [['b', '2']], length: 25 });
  });

  test('a shorter head after a longer one on the same scanner has only its own fields', () => {
    const two = b('GET /1 HTTP/1.1\r\nA: 1\r\nC: 3\r\nD: 4\r\n\r\nPOST /2 HTTP/1.0\r\nB: 2\r\n\r\n');
    const s = new HeadScanner();
    const n1 = s.scan(two, DEFAULT_HTTP_LIMITS);
    assert.deepEqual(parseHead(two, s.lineStarts, s.lineCount, n1).headers, [['a', '1'], ['c', '3'], ['d', '4']]);
    s.reset();
    const rest = two.subarray(n1);
    const n2 = s.scan(rest, DEFAULT_HTTP_LIMITS);
    assert.deepEqual(parseHead(rest, s.lineStarts, s.lineCount, n2), { method: 'POST', target: '/2', version: 10, headers: [['b', '2']], length: rest.length });
  });

  test('limits at their edge pass: a request line of maxRequestLine, a head of maxHeaderBytes, maxHeaderCount fields', () => {
    const line = 'GET /' + 'a'.repeat(21) + ' HTTP/1.1'; // 35 bytes
    assert.equal(line.length, 35);
    const text = b(line + '\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n'); // 37 + 3 * 6 + 2 = 57
    assert.equal(text.length, 57);
    const lim = limitsOf({ maxRequestLine: 35, maxHeaderBytes: 57, maxHeaderCount: 3 });
    assert.equal(whole(text, lim).kind, 'head');
    assert.equal(growing(text, everyByte(text), lim).kind, 'head');
  });
});

describe('request heads refused, with their status', () => {
  const cases: Array<[string, string, number, string | RegExp]> = [
    ['bare LF before the request line', '\nGET / HTTP/1.1\r\n\r\n', 400, 'bare LF before the request line'],
    ['bare LF after an empty line', '\r\n\nGET / HTTP/1.1\r\n\r\n', 400, 'bare LF before the request line'],
    ['request line ends in a bare LF', 'GET / HTTP/1.1\n\r\n', 400, 'line ends in a bare LF (CRLF required)'],
    ['a header ends in a bare LF', 'GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n', 400, 'line ends in a bare LF (CRLF required)'],
    ['the head ends in LF LF', 'GET / HTTP/1.1\r\nHost: x\r\n\n', 400, 'line ends in a bare LF (CRLF required)'],
    ['obs-fold with a space', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', 400, 'obsolete line folding is not accepted'],
    ['obs-fold with a tab', 'GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n', 400, 'obsolete line folding is not accepted'],
    ['whitespace between name and colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400, 'header field name followed by something other than ":"'],
    ['a field without a colon', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 400, 'header field name followed by something other than ":"'],
    ['a name that ends the line', 'GET / HTTP/1.1\r\nHost\r\n\r\n', 400, 'header field name followed by something other than ":"'],
    ['an empty field name', 'GET / HTTP/1.1\r\n: x\r\n\r\n', 400, 'malformed header field name'],
    ['a non-tchar in the name', 'GET / HTTP/1.1\r\nX(y): 1\r\n\r\n', 400, 'header field name followed by something other than ":"'],
    ['a control byte in a value', 'GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n', 400, 'invalid byte 0x1 in header "x"'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n', 400, 'invalid byte 0x7f in header "x"'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nX: \x00\r\n\r\n', 400, 'invalid byte 0x0 in header "x"'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nX: a\rb\r\n\r\n', 400, 'invalid byte 0xd in header "x"'],
    ['a method that is not a token', 'GE(T / HTTP/1.1\r\n\r\n', 400, 'malformed method'],
    ['a space before the method', ' GET / HTTP/1.1\r\n\r\n', 400, 'malformed method'],
    ['a CR before the method', '\rGET / HTTP/1.1\r\n\r\n', 400, 'malformed method'],
    ['a request line with no spaces', 'GET\r\n\r\n', 400, 'malformed method'],
    ['two spaces after the method', 'GET  / HTTP/1.1\r\n\r\n', 400, 'malformed request-target'],
    ['a fragment in the target', 'GET /a#b HTTP/1.1\r\n\r\n', 400, 'malformed request-target'],
    ['a non-ASCII byte in the target', 'GET /\xe9 HTTP/1.1\r\n\r\n', 400, 'malformed request-target'],
    ['no version', 'GET /\r\n\r\n', 400, 'malformed request-target'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\n\r\n', 505, 'HTTP version not supported'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', 505, 'HTTP version 2.0 not supported'],
    ['HTTP/0.9', 'GET / HTTP/0.9\r\n\r\n', 505, 'HTTP version 0.9 not supported'],
    ['HTTP/1.x', 'GET / HTTP/1.x\r\n\r\n', 400, 'malformed HTTP version'],
    ['lower-case http', 'GET / http/1.1\r\n\r\n', 400, 'malformed HTTP version'],
    ['HTTP/11', 'GET / HTTP/11\r\n\r\n', 400, 'malformed HTTP version'],
    ['HTTP.1.1', 'GET / HTTP.1.1\r\n\r\n', 400, 'malformed HTTP version'],
    ['HTTP/1,1', 'GET / HTTP/1,1\r\n\r\n', 400, 'malformed HTTP version'],
    ['HTTQ/1.1', 'GET / HTTQ/1.1\r\n\r\n', 400, 'malformed HTTP version'],
    ['a space after the version', 'GET / HTTP/1.1 \r\n\r\n', 400, 'malformed HTTP version'],
    ['three words after the method', 'GET / x HTTP/1.1\r\n\r\n', 400, 'malformed HTTP version'],
  ];
  for (const [name, text, status, message] of cases) {
    test(`${name}: ${status}`, () => {
      const buf = b(text);
      err(status, message)(whole(buf));
      err(status, message)(growing(buf, everyByte(buf)));
      // An HttpError the connection can answer with.
      const s = new HeadScanner();
      assert.throws(() => {
        const n = s.scan(buf, DEFAULT_HTTP_LIMITS);
        parseHead(buf, s.lineStarts, s.lineCount, n);
      }, (e: unknown) => e instanceof HttpError && e instanceof Error && e.status === status);
    });
  }

  test('414 for a request line one byte over maxRequestLine, complete or still arriving', () => {
    const lim = limitsOf({ maxRequestLine: 20 });
    const line = 'GET /' + 'a'.repeat(7) + ' HTTP/1.1'; // 21 bytes
    assert.equal(line.length, 21);
    err(414, 'request line too long')(whole(b(line + '\r\n\r\n'), lim));
    // Arriving: 20 bytes and its CR wait; the 21st byte is refused before the line ends.
    const s = new HeadScanner();
    assert.equal(s.scan(b(line.slice(0, 20) + '\r'), lim), 0, 'the CR may start the CRLF');
    const s2 = new HeadScanner();
    assert.equal(s2.scan(b(line.slice(0, 20)), lim), 0);
    assert.throws(() => s2.scan(b(line), lim), (e: unknown) => e instanceof HttpError && e.status === 414);
  });

  test('431 for a head one byte over maxHeaderBytes, complete or still arriving', () => {
    const text = b('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n'); // 30 bytes
    assert.equal(text.length, 30);
    const lim = limitsOf({ maxHeaderBytes: 29 });
    err(431, 'header block too large')(whole(text, lim));
    // A header line that never ends is refused once the buffer passes the limit.
    const endless = b('GET / HTTP/1.1\r\nX: ' + 'y'.repeat(40));
    const s = new HeadScanner();
    assert.equal(s.scan(endless.subarray(0, 29), lim), 0);
    assert.throws(() => s.scan(endless.subarray(0, 30), lim), (e: unknown) => e instanceof HttpError && e.status === 431 && e.message === 'header block too large');
  });

  test('431 for maxHeaderCount + 1 fields, refused as the extra line ends', () => {
    const lim = limitsOf({ maxHeaderCount: 2 });
    const text = b('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n');
    err(431, 'too many header fields')(whole(text, lim));
    const s = new HeadScanner();
    assert.equal(s.scan(text.subarray(0, text.length - 1), lim), 0);
    assert.throws(() => s.scan(text, lim), (e: unknown) => e instanceof HttpError && e.status === 431);
  });
});

describe('an over-long line ending in a bare LF: the limit answers, whole or split', () => {
  // The scanner refuses a line still arriving as soon as it passes its
  // limit, before it can know how the line ends; a complete line is checked
  // for its length first too, so the same bytes get the same answer however
  // the peer split them.
  test('request line: "GET /abcdefgh HTTP/1.1\\n" with maxRequestLine 10', () => {
    const lim = limitsOf({ maxRequestLine: 10 });
    const buf = b('GET /abcdefgh HTTP/1.1\n');
    assert.deepEqual(growing(buf, everyByte(buf), lim), whole(buf, lim));
  });

  test('header line: "GET / HTTP/1.1\\r\\nX: abcdefghij\\n" with maxHeaderBytes 24', () => {
    const lim = limitsOf({ maxHeaderBytes: 24 });
    const buf = b('GET / HTTP/1.1\r\nX: abcdefghij\n');
    assert.deepEqual(growing(buf, everyByte(buf), lim), whole(buf, lim));
  });

  test('what each side answers: 414 or 431, and 400 for a bare LF within the limits', () => {
    const lim = limitsOf({ maxRequestLine: 10 });
    const a = b('GET /abcdefgh HTTP/1.1\n');
    err(414, 'request line too long')(whole(a, lim));
    err(414, 'request line too long')(growing(a, everyByte(a), lim));
    const lim2 = limitsOf({ maxHeaderBytes: 24 });
    const c = b('GET / HTTP/1.1\r\nX: abcdefghij\n');
    err(431, 'header block too large')(whole(c, lim2));
    err(431, 'header block too large')(growing(c, everyByte(c), lim2));
    // At the limit the line's length passes and its bare LF is what is refused.
    const d = b('GET /abc HTTP/1.1\n'); // 17 bytes before the LF
    const lim3 = limitsOf({ maxRequestLine: 17 });
    err(400, 'line ends in a bare LF (CRLF required)')(whole(d, lim3));
    err(400, 'line ends in a bare LF (CRLF required)')(growing(d, everyByte(d), lim3));
    err(414, 'request line too long')(whole(d, limitsOf({ maxRequestLine: 16 })));
    err(414, 'request line too long')(growing(d, everyByte(d), limitsOf({ maxRequestLine: 16 })));
  });
});

// ---- randomized ----

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const TARGET_CHARS = "/abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@?";
const VALUE_CHARS = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\t!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xa0\xe9\xff';

interface Generated {
  bytes: Buffer;
  expected: Outcome;
}

/** A random valid head (and maybe body bytes after it) with what it must parse to. */
function randomHead(rng: Rng, maxHeaders: number, maxValue: number): Generated {
  const leading = '\r\n'.repeat(rng.chance(0.2) ? rng.range(1, 4) : 0);
  const method = rng.chance(0.7) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']) : rng.chars(rng.range(1, 8), TCHARS);
  const target = rng.chance(0.1) ? '*' : '/' + rng.chars(rng.int(24), TARGET_CHARS);
  const version = rng.chance(0.8) ? 11 : 10;
  const headers: Array<[string, string]> = [];
  let text = `${leading}${method} ${target} HTTP/1.${version - 10}\r\n`;
  for (let i = rng.int(maxHeaders + 1); i > 0; i--) {
    const name = rng.chars(rng.range(1, 12), TCHARS);
    let value = rng.chars(rng.int(maxValue + 1), VALUE_CHARS);
    value = value.replace(/^[ \t]+|[ \t]+$/g, '');
    const ows = () => rng.chars(rng.int(3), ' \t');
    text += `${name}:${ows()}${value}${ows()}\r\n`;
    headers.push([name.toLowerCase(), value]);
  }
  text += '\r\n';
  const length = text.length;
  if (rng.chance(0.3)) text += rng.chars(rng.int(20), VALUE_CHARS + '\r\n');
  return { bytes: b(text), expected: head(method, target, version, headers, length) };
}

describe('seeded random heads', () => {
  test('valid heads parse to what was sent, whole or arriving in random pieces', () => {
    seeded('h1 valid split', 300, (rng) => {
      const g = randomHead(rng, 8, 40);
      assert.deepEqual(whole(g.bytes), g.expected, show(g.bytes));
      const cuts = randomCuts(rng, g.bytes.length);
      assert.deepEqual(growing(g.bytes, cuts), g.expected, `${show(g.bytes)} cut at ${cuts}`);
    });
  });

  const SMALL = limitsOf({ maxRequestLine: 40, maxHeaderBytes: 120, maxHeaderCount: 4 });

  /** What the scanner and parser promise whatever the input. */
  function checkOutcome(o: Outcome, limits: HttpLimits, ctx: string): void {
    if (o.kind === 'error') {
      assert.ok([400, 414, 431, 505].includes(o.status), `status ${o.status}: ${ctx}`);
    } else if (o.kind === 'head') {
      const h = o.head;
      assert.ok(h.length <= limits.maxHeaderBytes, `head of ${h.length} bytes accepted: ${ctx}`);
      assert.ok(h.headers.length <= limits.maxHeaderCount, `${h.headers.length} fields accepted: ${ctx}`);
      assert.ok(h.method.length + h.target.length + 10 <= limits.maxRequestLine, `request line too long accepted: ${ctx}`);
      assert.ok(h.version === 10 || h.version === 11);
      for (const [n, v] of h.headers) {
        assert.match(n, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/, ctx);
        assert.doesNotMatch(v, /^[ \t]|[ \t]$|[\x00-\x08\x0a-\x1f\x7f]/, ctx);
      }
    }
  }

  test('mutated heads: only HttpError 400/414/431/505, limits held, whole and random pieces agree', () => {
    const seen = new Map<number | string, number>();
    seeded('h1 mutated', 600, (rng) => {
      const g = randomHead(rng, 6, 24);
      // Now and then a version other than 1.0 and 1.1 to start from.
      if (rng.chance(0.1)) g.bytes = b(g.bytes.toString('latin1').replace(/HTTP\/1\.[01]/, `HTTP/${rng.int(10)}.${rng.int(10)}`));
      const { out, ops } = mutate(rng, g.bytes, { dictionary: ['\r\n', '\n', '\r', ' ', ':', '\r\n\r\n', '\r\n ', 'HTTP/1.1', '#'] });
      const ctx = `${ops.join(', ')}; input ${show(out)}`;
      const w = whole(out, SMALL);
      checkOutcome(w, SMALL, ctx);
      const key = w.kind === 'error' ? w.status : w.kind;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      // Random pieces agree with the whole; and the check of what is held runs at each step.
      const sp = growing(out, randomCuts(rng, out.length), SMALL);
      assert.deepEqual(sp, w, `random pieces differ from whole: ${ctx}`);
    });
    for (const k of ['head', 'more', 400, 414, 431, 505]) assert.ok((seen.get(k) ?? 0) >= 5, `outcome ${k} seen ${seen.get(k) ?? 0} times: ${JSON.stringify([...seen])}`);
  });
});
