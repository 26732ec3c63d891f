/**
 * The WebSocket frame parser (RFC 6455 5) at unit level: literal frames in,
 * exactly what the sink hears out (payload pieces, control frames, the close
 * code of a violation), then seeded random streams split at random points
 * and randomly mutated, which must give the same answer whole or split and
 * never pass the size limits. The UTF-8 validator text messages go through
 * is checked the same way.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { WsParser, type WsSink, type PieceInfo, type WsParserLimits } from '../../../src/roles/ws/parser.js';
import { buildFrame, unmask } from '../../../src/roles/ws/frame.js';
import { Utf8Validator } from '../../../src/roles/ws/utf8.js';
import { seeded, randomPieces, piecesAt, mutate, show, type Rng } from '../../helpers/random.js';

const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

const BIG: WsParserLimits = { maxFrameSize: 1 << 20, maxMessageSize: 1 << 21 };

/** "81 05 48 65" → bytes. */
function hx(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

// ---- a sink that records what the parser reported, checking its promises ----

type Ev =
  | { t: 'frame'; opcode: number; fin: boolean; first: boolean; rsv1: boolean; data: Buffer }
  | { t: 'partial'; opcode: number; fin: boolean; first: boolean; rsv1: boolean; data: Buffer; remaining: number }
  | { t: 'control'; opcode: number; data: Buffer }
  | { t: 'error'; code: number; why: string };

interface Cur { opcode: number; fin: boolean; first: boolean; rsv1: boolean; chunks: Buffer[]; remaining: number }

class Recorder implements WsSink {
  readonly events: Ev[] = [];
  calls = 0;
  /** Most sink calls allowed before the parser is deemed to spin. */
  maxCalls = Infinity;
  /** Return true to pause the parser after a call. */
  pause: () => boolean = () => false;
  #cur: Cur | null = null;

  get failed(): boolean {
    return this.events.some((e) => e.t === 'error');
  }

  #tick(): void {
    if (++this.calls > this.maxCalls) throw new Error(`the parser called its sink more than ${this.maxCalls} times: it spins`);
    assert.ok(!this.failed, 'the sink was called after an error');
  }

  payload(piece: Buffer, info: PieceInfo): boolean {
    this.#tick();
    assert.ok(info.opcode === TEXT || info.opcode === BINARY, `payload opcode ${info.opcode}`);
    assert.ok(info.remaining >= 0);
    let c = this.#cur;
    if (!c) {
      c = this.#cur = { opcode: info.opcode, fin: info.fin, first: info.firstOfMessage, rsv1: info.rsv1, chunks: [Buffer.from(piece)], remaining: info.remaining };
    } else {
      // Later pieces of one frame say the same, and count down.
      assert.equal(info.firstOfMessage, false, 'firstOfMessage on a later piece of a frame');
      assert.equal(info.opcode, c.opcode);
      assert.equal(info.fin, c.fin);
      assert.equal(info.rsv1, c.rsv1);
      assert.equal(info.remaining, c.remaining - piece.length, 'remaining counts down by the piece');
      assert.ok(piece.length > 0, 'an empty piece in the middle of a frame');
      c.chunks.push(Buffer.from(piece));
      c.remaining = info.remaining;
    }
    if (info.remaining === 0) {
      this.events.push({ t: 'frame', opcode: c.opcode, fin: c.fin, first: c.first, rsv1: c.rsv1, data: Buffer.concat(c.chunks) });
      this.#cur = null;
    }
    return !this.pause();
  }

  control(opcode: number, payload: Buffer): boolean {
    this.#tick();
    assert.equal(this.#cur, null, 'a control frame reported inside a data frame');
    this.events.push({ t: 'control', opcode, data: Buffer.from(payload) });
    return !this.pause();
  }

  error(code: number, why: string): void {
    assert.ok(!this.failed, 'error reported twice');
    this.events.push({ t: 'error', code, why });
  }

  /** The events, with a frame still in progress at the end as `partial`. */
  result(): Ev[] {
    const c = this.#cur;
    if (!c) return this.events;
    return [...this.events, { t: 'partial', opcode: c.opcode, fin: c.fin, first: c.first, rsv1: c.rsv1, data: Buffer.concat(c.chunks), remaining: c.remaining }];
  }
}

interface RunOpts {
  isServer: boolean;
  limits?: WsParserLimits;
  allowRsv1?: boolean;
  /** Pause the parser at random after sink calls. */
  pauses?: Rng;
}

interface RunResult {
  events: Ev[];
  inMessage: boolean;
}

/**
 * Feed `pieces` (copied: the parser unmasks in place) as a connection
 * would: after a pause, feed the rest of the same piece again. Checks the
 * offsets feed returns on the way.
 */
function run(pieces: readonly Buffer[], o: RunOpts): RunResult {
  const rec = new Recorder();
  const total = pieces.reduce((n, p) => n + p.length, 0);
  // Every sink call consumes at least one byte, or is an empty frame that took 2.
  rec.maxCalls = total + 2;
  if (o.pauses) {
    const r = o.pauses;
    rec.pause = () => r.chance(0.3);
  }
  const parser = new WsParser(o.isServer, o.limits ?? BIG, rec);
  parser.allowRsv1 = o.allowRsv1 ?? false;
  for (const piece of pieces) {
    const buf = Buffer.from(piece);
    const wasFailed = rec.failed;
    let off = 0;
    for (;;) {
      const before = rec.calls;
      const n = parser.feed(buf, off);
      assert.ok(n >= off && n <= buf.length, `feed returned ${n} for [${off}, ${buf.length})`);
      if (wasFailed) {
        assert.equal(n, buf.length, 'a failed parser swallows what it is fed');
        break;
      }
      if (rec.failed || n === buf.length) break;
      assert.ok(rec.calls > before, `feed stopped at ${n} of ${buf.length} without a pause or an error`);
      off = n;
    }
  }
  return { events: rec.result(), inMessage: parser.inMessage };
}

const whole = (bytes: Buffer, o: RunOpts) => run([bytes], o);

function frameEv(opcode: number, data: string | Buffer, fin = true, first = true, rsv1 = false): Ev {
  return { t: 'frame', opcode, fin, first, rsv1, data: typeof data === 'string' ? Buffer.from(data, 'latin1') : data };
}

function ctl(opcode: number, data: string | Buffer): Ev {
  return { t: 'control', opcode, data: typeof data === 'string' ? Buffer.from(data, 'latin1') : data };
}

// ---- literal frames ----

describe('WsParser: literal frames', () => {
  test('RFC 6455 5.7: an unmasked "Hello" to a client', () => {
    const r = whole(hx('81 05 48 65 6c 6c 6f'), { isServer: false });
    assert.deepEqual(r.events, [frameEv(TEXT, 'Hello')]);
    assert.equal(r.inMessage, false);
  });

  test('RFC 6455 5.7: a masked "Hello" to a server, unmasked for the sink', () => {
    const r = whole(hx('81 85 37 fa 21 3d 7f 9f 4d 51 58'), { isServer: true });
    assert.deepEqual(r.events, [frameEv(TEXT, 'Hello')]);
  });

  test('RFC 6455 5.7: a fragmented text message, opcode carried to the continuation', () => {
    const rec = new Recorder();
    const p = new WsParser(false, BIG, rec);
    assert.equal(p.feed(hx('01 03 48 65 6c')), 5);
    assert.equal(p.inMessage, true, 'between fragments');
    assert.equal(p.feed(hx('80 02 6c 6f')), 4);
    assert.equal(p.inMessage, false);
    assert.deepEqual(rec.result(), [frameEv(TEXT, 'Hel', false, true), frameEv(TEXT, 'lo', true, false)]);
  });

  test('RFC 6455 5.7: an unmasked ping and a masked pong', () => {
    assert.deepEqual(whole(hx('89 05 48 65 6c 6c 6f'), { isServer: false }).events, [ctl(PING, 'Hello')]);
    assert.deepEqual(whole(hx('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), { isServer: true }).events, [ctl(PONG, 'Hello')]);
  });

  test('RFC 6455 5.7: 256 bytes with a 16-bit length, 64 KiB with a 64-bit length', () => {
    const a = Buffer.alloc(256, 0x61);
    assert.deepEqual(whole(Buffer.concat([hx('82 7e 01 00'), a]), { isServer: false }).events, [frameEv(BINARY, a)]);
    const b = Buffer.alloc(65536);
    for (let i = 0; i < b.length; i++) b[i] = i * 7;
    assert.deepEqual(whole(Buffer.concat([hx('82 7f 00 00 00 00 00 01 00 00'), b]), { isServer: false }).events, [frameEv(BINARY, b)]);
  });

  test('lengths at the edges of each encoding: 0, 125 (7 bits), 126 and 65535 (16 bits), 65536 (64 bits)', () => {
    const cases: Array<[string, number]> = [
      ['82 00', 0],
      ['82 7d', 125],
      ['82 7e 00 7e', 126],
      ['82 7e ff ff', 65535],
      ['82 7f 00 00 00 00 00 01 00 00', 65536],
    ];
    for (const [head, n] of cases) {
      const data = Buffer.alloc(n, 0x5a);
      const infos: PieceInfo[] = [];
      const p = new WsParser(false, BIG, {
        payload: (piece, info) => { infos.push({ ...info, remaining: info.remaining + piece.length }); return true; },
        control: () => assert.fail('no control frame'),
        error: (c, w) => assert.fail(`error ${c} ${w}`),
      });
      // The header alone: nothing yet, unless the frame is empty.
      assert.equal(p.feed(hx(head)), hx(head).length);
      assert.equal(infos.length, n === 0 ? 1 : 0, head);
      p.feed(data);
      assert.equal(infos[0].remaining, n, `${head}: the first piece knows the frame's length`);
    }
  });

  test('lengths in more bytes than needed are accepted (16 and 64 bits for 3 bytes)', () => {
    assert.deepEqual(whole(hx('82 7e 00 03 61 62 63'), { isServer: false }).events, [frameEv(BINARY, 'abc')]);
    assert.deepEqual(whole(hx('82 7f 00 00 00 00 00 00 00 03 61 62 63'), { isServer: false }).events, [frameEv(BINARY, 'abc')]);
    assert.deepEqual(whole(hx('81 fe 00 00 01 02 03 04'), { isServer: true }).events, [frameEv(TEXT, '')]);
  });

  test('empty payloads: a text frame, an unmasked close, a masked ping (mask key but no bytes)', () => {
    assert.deepEqual(whole(hx('81 00'), { isServer: false }).events, [frameEv(TEXT, '')]);
    assert.deepEqual(whole(hx('88 00'), { isServer: false }).events, [ctl(CLOSE, '')]);
    assert.deepEqual(whole(hx('89 80 01 02 03 04'), { isServer: true }).events, [ctl(PING, '')]);
    // The empty frame is reported as soon as its header (mask included) is complete.
    const rec = new Recorder();
    const p = new WsParser(true, BIG, rec);
    assert.equal(p.feed(hx('81 80 01 02 03')), 5);
    assert.deepEqual(rec.result(), []);
    assert.equal(p.feed(hx('04')), 1);
    assert.deepEqual(rec.result(), [frameEv(TEXT, '')]);
  });

  test('an empty first fragment and an empty last continuation still frame the message', () => {
    const r = whole(hx('02 00 00 02 61 62 80 00'), { isServer: false });
    assert.deepEqual(r.events, [frameEv(BINARY, '', false, true), frameEv(BINARY, 'ab', false, false), frameEv(BINARY, '', true, false)]);
  });

  test('a masked close with status 1000 and a reason is delivered whole and unmasked', () => {
    const mask = hx('a1 b2 c3 d4');
    const payload = hx('03 e8 62 79 65'); // 1000 "bye"
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
    const bytes = Buffer.concat([hx('88 85'), mask, masked]);
    // Byte by byte: the control frame still arrives in one call.
    const r = run(piecesAt(bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), { isServer: true });
    assert.deepEqual(r.events, [ctl(CLOSE, payload)]);
  });

  test('control frames between the fragments of a message do not end it', () => {
    const bytes = hx('01 01 61' + '89 01 70' + '00 01 62' + '8a 00' + '80 01 63');
    const rec = new Recorder();
    const p = new WsParser(false, BIG, rec);
    p.feed(bytes.subarray(0, 6));
    assert.equal(p.inMessage, true, 'still in the message after the ping');
    p.feed(bytes.subarray(6));
    assert.deepEqual(rec.result(), [
      frameEv(TEXT, 'a', false, true), ctl(PING, 'p'), frameEv(TEXT, 'b', false, false), ctl(PONG, ''), frameEv(TEXT, 'c', true, false),
    ]);
  });

  test('masking: the key\'s phase carries across pieces of any size and alignment', () => {
    const data = Buffer.alloc(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 255;
    const mask = hx('de ad be ef');
    const frame = buildFrame(BINARY, true, false, data, mask);
    assert.deepEqual(frame.subarray(0, 8), hx('82 fe 01 2c de ad be ef'), 'buildFrame wrote a 16-bit length and the key');
    for (const cuts of [[9], [8, 9, 10, 11, 12, 45, 46, 80, 81, 200], [13, 47, 99], [100, 133, 166, 199, 232, 265, 298]]) {
      // Copies at odd offsets inside a larger buffer, to vary the alignment the word loop sees.
      const pieces = piecesAt(frame, cuts).map((p, k) => {
        const host = Buffer.alloc(p.length + 8);
        p.copy(host, 1 + (k % 3));
        return host.subarray(1 + (k % 3), 1 + (k % 3) + p.length);
      });
      assert.deepEqual(run(pieces, { isServer: true }).events, [frameEv(BINARY, data)], `cuts ${cuts}`);
    }
  });

  test('RSV1 reaches the sink on the first frame when an extension claimed it', () => {
    const r = whole(hx('41 01 61 80 01 62'), { isServer: false, allowRsv1: true });
    assert.deepEqual(r.events, [frameEv(TEXT, 'a', false, true, true), frameEv(TEXT, 'b', true, false, false)]);
  });

  test('a sink returning false pauses the parser right after that call; feeding the rest resumes', () => {
    const bytes = hx('81 02 68 69' + '89 00' + '82 01 ff');
    const seen: string[] = [];
    const p = new WsParser(false, BIG, {
      payload: (piece, info) => { seen.push(`data ${info.opcode} ${piece.toString('hex')}`); return false; },
      control: (op) => { seen.push(`control ${op}`); return false; },
      error: (c) => assert.fail(`error ${c}`),
    });
    assert.equal(p.feed(bytes), 4, 'paused after the first frame');
    assert.deepEqual(seen, ['data 1 6869']);
    assert.equal(p.feed(bytes, 4), 6, 'paused after the ping');
    assert.equal(p.feed(bytes, 6), 9);
    assert.deepEqual(seen, ['data 1 6869', 'control 9', 'data 2 ff']);
  });

  test('a paused empty frame at the end of a buffer is not reported twice', () => {
    let calls = 0;
    const p = new WsParser(false, BIG, { payload: () => { calls++; return false; }, control: () => true, error: () => assert.fail() });
    assert.equal(p.feed(hx('81 00')), 2);
    assert.equal(p.feed(Buffer.alloc(0)), 0);
    assert.equal(calls, 1);
  });
});

// ---- protocol violations: the close code and reason ----

describe('WsParser: violations give their close code', () => {
  const cases: Array<{ name: string; server: boolean; bytes: string; code: number; why: string; rsv1?: boolean; before?: number }> = [
    { name: 'RSV2 set', server: false, bytes: 'a1 00', code: 1002, why: 'reserved bits set' },
    { name: 'RSV3 set', server: false, bytes: '91 00', code: 1002, why: 'reserved bits set' },
    { name: 'RSV1 with no extension', server: false, bytes: 'c1 00', code: 1002, why: 'reserved bits set' },
    { name: 'RSV1 on a ping, extension or not', server: false, bytes: 'c9 00', code: 1002, why: 'RSV1 on a control frame', rsv1: true },
    { name: 'RSV1 on a continuation', server: false, bytes: '41 01 61 c0 01 62', code: 1002, why: 'RSV1 on a continuation frame', rsv1: true, before: 1 },
    { name: 'data opcode 3', server: false, bytes: '83 00', code: 1002, why: 'unknown data opcode 3' },
    { name: 'data opcode 7', server: true, bytes: '87 80 00 00 00 00', code: 1002, why: 'unknown data opcode 7' },
    { name: 'control opcode 0xb', server: false, bytes: '8b 00', code: 1002, why: 'unknown control opcode 11' },
    { name: 'control opcode 0xf', server: false, bytes: '8f 00', code: 1002, why: 'unknown control opcode 15' },
    { name: 'a ping without FIN', server: false, bytes: '09 00', code: 1002, why: 'fragmented control frame' },
    { name: 'a ping of 126 bytes', server: false, bytes: '89 7e 00 7e', code: 1002, why: 'control frame longer than 125 bytes' },
    { name: 'a close with a 64-bit length', server: false, bytes: '88 7f 00 00 00 00 00 00 00 02', code: 1002, why: 'control frame longer than 125 bytes' },
    { name: 'a continuation first', server: false, bytes: '80 01 61', code: 1002, why: 'continuation frame with no message in progress' },
    { name: 'a continuation after a finished message', server: false, bytes: '81 01 61 80 01 62', code: 1002, why: 'continuation frame with no message in progress', before: 1 },
    { name: 'a text frame inside a message', server: false, bytes: '01 01 61 81 01 62', code: 1002, why: 'new message before the previous one finished', before: 1 },
    { name: 'a binary frame inside a text message', server: false, bytes: '01 00 02 00', code: 1002, why: 'new message before the previous one finished', before: 1 },
    { name: 'an unmasked frame to a server', server: true, bytes: '81 01 61', code: 1002, why: 'unmasked frame from a client' },
    { name: 'an unmasked ping to a server', server: true, bytes: '89 00', code: 1002, why: 'unmasked frame from a client' },
    { name: 'a masked frame to a client', server: false, bytes: '81 81 00 00 00 00 61', code: 1002, why: 'masked frame from a server' },
    { name: 'a 64-bit length with its top bit set', server: false, bytes: '82 7f 80 00 00 00 00 00 00 00', code: 1002, why: '64-bit length with the top bit set' },
    { name: 'a 64-bit length past 2^53', server: false, bytes: '82 7f 00 20 00 00 00 00 00 00', code: 1009, why: 'frame too large' },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.code} "${c.why}"`, () => {
      const bytes = hx(c.bytes);
      // Trailing bytes after the bad header are never looked at.
      const r = whole(Buffer.concat([bytes, hx('81 00 81 00')]), { isServer: c.server, allowRsv1: c.rsv1 });
      assert.equal(r.events.length, (c.before ?? 0) + 1, JSON.stringify(r.events));
      assert.deepEqual(r.events[r.events.length - 1], { t: 'error', code: c.code, why: c.why });
      // Split byte by byte: the same, and found as soon as the header says so.
      const split = run(piecesAt(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)), { isServer: c.server, allowRsv1: c.rsv1 });
      assert.deepEqual(split.events, r.events);
    });
  }

  test('maxFrameSize: a frame of exactly the limit passes, one byte more is 1009 from its header alone', () => {
    const limits = { maxFrameSize: 300, maxMessageSize: 10000 };
    const ok = whole(Buffer.concat([hx('82 7e 01 2c'), Buffer.alloc(300, 1)]), { isServer: false, limits });
    assert.deepEqual(ok.events, [frameEv(BINARY, Buffer.alloc(300, 1))]);
    const rec = new Recorder();
    const p = new WsParser(false, limits, rec);
    assert.equal(p.feed(hx('82 7e 01')), 3);
    assert.deepEqual(rec.result(), []);
    p.feed(hx('2d'));
    assert.deepEqual(rec.result(), [{ t: 'error', code: 1009, why: 'frame too large' }]);
    // Masked to a server: refused before the mask key arrives too.
    const r = whole(hx('82 fe 01 2d'), { isServer: true, limits });
    assert.deepEqual(r.events, [{ t: 'error', code: 1009, why: 'frame too large' }]);
  });

  test('maxMessageSize counts every fragment, not control frames: exactly the limit passes, one more is 1009', () => {
    const limits = { maxFrameSize: 100, maxMessageSize: 10 };
    const frag = (op: number, fin: boolean, n: number) => Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | op, n]), Buffer.alloc(n, 0x41)]);
    const ok = whole(Buffer.concat([frag(TEXT, false, 4), hx('89 05 70 70 70 70 70'), frag(0, false, 4), frag(0, true, 2)]), { isServer: false, limits });
    assert.equal(ok.events.length, 4);
    assert.ok(!ok.events.some((e) => e.t === 'error'));
    const bad = whole(Buffer.concat([frag(TEXT, false, 4), frag(0, false, 4), frag(0, true, 3)]), { isServer: false, limits });
    assert.deepEqual(bad.events.slice(2), [{ t: 'error', code: 1009, why: 'message too large' }]);
    // A single frame past the message limit (but within the frame limit) is "message too large".
    const single = whole(Buffer.concat([frag(BINARY, true, 11)]), { isServer: false, limits });
    assert.deepEqual(single.events, [{ t: 'error', code: 1009, why: 'message too large' }]);
    // The count starts again with each message.
    const again = whole(Buffer.concat([frag(TEXT, true, 10), frag(BINARY, true, 10)]), { isServer: false, limits });
    assert.equal(again.events.filter((e) => e.t === 'frame').length, 2);
  });

  test('after an error the parser reports nothing more and swallows what it is fed', () => {
    const rec = new Recorder();
    const p = new WsParser(false, BIG, rec);
    const bytes = hx('81 01 61 a1 00 81 01 62');
    assert.equal(p.feed(bytes), 5, 'stopped at the bad header');
    assert.equal(p.feed(hx('81 01 63')), 3);
    assert.equal(p.feed(bytes, 2), bytes.length);
    assert.deepEqual(rec.result(), [frameEv(TEXT, 'a'), { t: 'error', code: 1002, why: 'reserved bits set' }]);
  });
});

// ---- randomized ----

interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
  mask?: Buffer;
  /** Length field width: the smallest that fits unless told. */
  width?: 7 | 16 | 64;
}

/** A frame's bytes, written here independently of buildFrame. */
function encode(f: WireFrame): Buffer {
  const n = f.payload.length;
  const width = f.width ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const m = f.mask ? 0x80 : 0;
  const head = [(f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | f.opcode];
  if (width === 7) head.push(m | n);
  else if (width === 16) head.push(m | 126, n >> 8, n & 255);
  else {
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(n));
    head.push(m | 127, ...l);
  }
  const body = Buffer.from(f.payload);
  if (f.mask) for (let i = 0; i < body.length; i++) body[i] ^= f.mask[i & 3];
  return Buffer.concat([Buffer.from(head), f.mask ?? Buffer.alloc(0), body]);
}

interface Stream {
  bytes: Buffer;
  expected: Ev[];
}

/** A random valid stream of messages with control frames between fragments. */
function randomStream(rng: Rng, isServer: boolean, allowRsv1: boolean, maxPayload: number): Stream {
  const frames: WireFrame[] = [];
  const expected: Ev[] = [];
  const size = (): number => {
    const k = rng.int(20);
    if (k === 0) return 0;
    if (k === 1) return Math.min(maxPayload, 125);
    if (k === 2) return Math.min(maxPayload, 126);
    if (k === 3 && maxPayload > 65536 && rng.chance(0.15)) return rng.pick([65535, 65536, 65537]);
    return rng.int(Math.min(maxPayload, 400) + 1);
  };
  const control = () => {
    const op = rng.pick([PING, PONG]);
    const payload = rng.bytes(rng.pick([0, 1, rng.int(126), 125]));
    frames.push({ fin: true, rsv1: false, opcode: op, payload });
    expected.push(ctl(op, payload));
  };
  const messages = rng.range(1, 5);
  for (let m = 0; m < messages; m++) {
    if (rng.chance(0.2)) control();
    const opcode = rng.pick([TEXT, BINARY]);
    const nfrag = rng.range(1, 4);
    const compressed = allowRsv1 && rng.chance(0.5);
    for (let k = 0; k < nfrag; k++) {
      if (k > 0 && rng.chance(0.3)) control();
      const payload = rng.bytes(size());
      const fin = k === nfrag - 1;
      frames.push({ fin, rsv1: k === 0 && compressed, opcode: k === 0 ? opcode : 0, payload });
      expected.push(frameEv(opcode, payload, fin, k === 0, k === 0 && compressed));
    }
  }
  if (rng.chance(0.3)) {
    const payload = Buffer.concat([hx('03 e8'), Buffer.from(rng.chars(rng.int(20), 'abc xyz'))]);
    frames.push({ fin: true, rsv1: false, opcode: CLOSE, payload });
    expected.push(ctl(CLOSE, payload));
  }
  for (const f of frames) {
    if (isServer) f.mask = rng.bytes(4);
    const n = f.payload.length;
    // Sometimes a wider length field than needed (never on control frames, which must use 7 bits).
    if (f.opcode < 0x8 && rng.chance(0.1)) f.width = n < 65536 && rng.chance(0.5) ? 16 : 64;
  }
  return { bytes: Buffer.concat(frames.map(encode)), expected };
}

describe('WsParser: seeded random streams', () => {
  test('valid streams give the frames sent, whole or split anywhere, with or without pauses', () => {
    seeded('ws valid split', 150, (rng) => {
      const isServer = rng.chance(0.5);
      const allowRsv1 = rng.chance(0.3);
      const s = randomStream(rng, isServer, allowRsv1, 70000);
      const o = { isServer, allowRsv1 };
      const w = whole(s.bytes, o);
      assert.deepEqual(w.events, s.expected, 'whole');
      assert.equal(w.inMessage, false);
      const pieces = randomPieces(rng, s.bytes);
      const sp = run(pieces, { ...o, pauses: rng });
      assert.deepEqual(sp.events, s.expected, `split into ${pieces.length} pieces`);
    });
  });

  test('buildFrame output parses back to the same frame, masked or not', () => {
    seeded('ws buildFrame', 100, (rng) => {
      const n = rng.pick([0, 1, 125, 126, 65535, 65536, rng.int(2000)]);
      const data = rng.bytes(n);
      const op = rng.pick([TEXT, BINARY]);
      const mask = rng.chance(0.5) ? rng.bytes(4) : undefined;
      const f = buildFrame(op, true, false, data, mask);
      assert.deepEqual(f, encode({ fin: true, rsv1: false, opcode: op, payload: data, mask }), 'byte for byte as RFC 6455 5.2');
      assert.deepEqual(run(randomPieces(rng, f), { isServer: mask !== undefined }).events, [frameEv(op, data)]);
    });
  });

  test('unmask at any offset and alignment is XOR with the key at the payload position', () => {
    // Short payloads go 32 bits at a time, long ones 64: both, at every alignment of 8.
    seeded('ws unmask', 300, (rng) => {
      const n = rng.chance(0.5) ? rng.int(200) : 500 + rng.int(2600);
      const data = rng.bytes(n);
      const mask = rng.bytes(4);
      const offset = rng.int(8);
      const host = Buffer.alloc(n + 16);
      const at = rng.int(8);
      data.copy(host, at);
      const view = host.subarray(at, at + n);
      unmask(view, mask, offset);
      for (let i = 0; i < n; i++) assert.equal(view[i], data[i] ^ mask[(offset + i) & 3], `byte ${i}`);
    });
  });

  test('mutated streams: only close codes 1002/1009 through the sink, limits held, same answer whole or split', () => {
    const limits = { maxFrameSize: 64, maxMessageSize: 150 };
    const stats = { errors: 0, tooLarge: 0, clean: 0 };
    seeded('ws mutated', 400, (rng) => {
      const isServer = rng.chance(0.5);
      const allowRsv1 = rng.chance(0.3);
      const s = randomStream(rng, isServer, allowRsv1, 90);
      const { out, ops } = mutate(rng, s.bytes, { dictionary: [hx('80'), hx('00'), hx('7e'), hx('7f'), hx('88 00'), hx('89 7d'), hx('01 00'), hx('ff ff ff ff')] });
      const o = { isServer, allowRsv1, limits };
      const w = whole(out, o);
      const sp = run(randomPieces(rng, out), { ...o, pauses: rng });
      const ctx = `${ops.join(', ')}; input ${show(out, 80)}`;
      assert.deepEqual(sp.events, w.events, `split differs: ${ctx}`);
      assert.equal(sp.inMessage, w.inMessage, ctx);
      let msg = 0;
      w.events.forEach((e, i) => {
        if (e.t === 'error') {
          assert.ok(e.code === 1002 || e.code === 1009, `close code ${e.code}: ${ctx}`);
          assert.equal(i, w.events.length - 1, 'the error is the last thing reported');
          stats.errors++;
          if (e.code === 1009) stats.tooLarge++;
        } else if (e.t === 'control') {
          assert.ok(e.data.length <= 125, 'control payload within 125 bytes');
        } else {
          // partial frames count too: what was delivered must fit.
          const frameLen = e.data.length + (e.t === 'partial' ? e.remaining : 0);
          assert.ok(frameLen <= limits.maxFrameSize, `frame of ${frameLen} bytes passed maxFrameSize: ${ctx}`);
          if (e.first) msg = 0;
          msg += frameLen;
          assert.ok(msg <= limits.maxMessageSize, `message of ${msg} bytes passed maxMessageSize: ${ctx}`);
        }
      });
      if (!w.events.some((e) => e.t === 'error')) stats.clean++;
    });
    // The mutations must reach both outcomes, and the size limit, to mean anything.
    assert.ok(stats.errors > 100, `errors ${stats.errors}`);
    assert.ok(stats.tooLarge > 10, `1009s ${stats.tooLarge}`);
    assert.ok(stats.clean > 20, `clean ${stats.clean}`);
  });
});

// ---- UTF-8 across pieces ----

/** Could `b` still become valid UTF-8 with more bytes? (a reference: try the completions) */
function validPrefixRef(b: Buffer): boolean {
  if (isUtf8(b)) return true;
  const tails = [[0x80], [0x90], [0xa0], [0xbf]];
  let forms: number[][] = tails;
  for (let k = 1; k <= 3; k++) {
    for (const t of forms) if (isUtf8(Buffer.concat([b, Buffer.from(t)]))) return true;
    forms = forms.flatMap((f) => tails.map((t) => [...f, ...t]));
  }
  return false;
}

describe('Utf8Validator', () => {
  const check = (pieces: string[]) => {
    const v = new Utf8Validator();
    const pushed = pieces.map((p) => v.push(hx(p)));
    return { pushed, end: v.end() };
  };

  test('valid text in one piece, including the extremes of each length', () => {
    for (const s of ['', '41', 'c2 80', 'c3 a9', 'df bf', 'e0 a0 80', 'e2 82 ac', 'ed 9f bf', 'ee 80 80', 'ef bf bf', 'f0 90 80 80', 'f0 9d 84 9e', 'f4 8f bf bf']) {
      assert.deepEqual(check([s]), { pushed: [true], end: true }, s);
    }
  });

  test('invalid bytes: overlongs, surrogates, past U+10FFFF, stray continuations', () => {
    for (const s of ['c0 80', 'c1 bf', 'e0 80 80', 'e0 9f bf', 'ed a0 80', 'ed bf bf', 'f0 80 80 80', 'f4 90 80 80', 'f5 80 80 80', 'ff', '80', '41 bf 41', 'c3 41']) {
      assert.equal(check([s]).pushed[0], false, s);
    }
  });

  test('a character split between pieces is checked as it arrives, and an unfinished one fails at the end', () => {
    assert.deepEqual(check(['f0', '9d', '84', '9e']), { pushed: [true, true, true, true], end: true });
    assert.deepEqual(check(['41 e2', '82 ac 42']), { pushed: [true, true], end: true });
    assert.deepEqual(check(['e2 82']), { pushed: [true], end: false }, 'truncated at the end');
    // Fail fast: the second byte already rules the character out.
    assert.deepEqual(check(['f0', '28']).pushed, [true, false]);
    assert.deepEqual(check(['e0', '80']).pushed, [true, false], 'overlong seen from its second byte');
    assert.deepEqual(check(['ed', 'a0']).pushed, [true, false], 'a surrogate seen from its second byte');
    assert.deepEqual(check(['f4 8f', 'bf', 'c0']).pushed, [true, true, false]);
  });

  test('reset() forgets an unfinished character', () => {
    const v = new Utf8Validator();
    assert.equal(v.push(hx('e2 82')), true);
    v.reset();
    assert.equal(v.push(hx('41')), true);
    assert.equal(v.end(), true);
  });

  test('random byte strings split anywhere: fails at the first piece that rules the text out, else ends as isUtf8 says', () => {
    const frags = ['41', 'c3 a9', 'e2 82 ac', 'f0 9d 84 9e', 'f4 8f bf bf', 'ed 9f bf', 'e0 a0 80', 'c0', 'ed a0', 'f4 90', '80', 'bf', 'ff', 'e2', 'f0 9d'];
    let invalid = 0;
    seeded('utf8 split', 400, (rng) => {
      const parts: Buffer[] = [];
      for (let i = rng.int(12); i >= 0; i--) parts.push(rng.chance(0.9) ? hx(rng.pick(frags.slice(0, 7))) : hx(rng.pick(frags)));
      const text = Buffer.concat(parts);
      const pieces = randomPieces(rng, text);
      const v = new Utf8Validator();
      let seen = 0;
      let failedAt = -1;
      for (let k = 0; k < pieces.length; k++) {
        seen += pieces[k].length;
        const ok = v.push(pieces[k]);
        assert.equal(ok, validPrefixRef(text.subarray(0, seen)), `piece ${k} (to byte ${seen}) of ${text.toString('hex')}`);
        if (!ok) {
          failedAt = k;
          break;
        }
      }
      if (failedAt < 0) assert.equal(v.end(), isUtf8(text), text.toString('hex'));
      if (!isUtf8(text)) invalid++;
    });
    assert.ok(invalid > 50, `invalid cases ${invalid}`);
  });
});
