/**
 * RFC 6455 framing, modelled on Autobahn case groups 1-6 and 9: literal
 * frames written by a raw client, echoed by a protocol written as a user
 * would, and every protocol violation answered with its close code. The
 * same cases run on an HTTP/1.1 upgrade and on an HTTP/2 stream (RFC 8441
 * keeps RFC 6455 framing, masking included): see frames.test.ts and
 * ../h2/ws-frames.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reason, Write, type Protocol, type Wsi } from '../../../src/index.js';
import { start, sleep } from '../../helpers/common.js';
import { OP, encodeFrame, expectClose, echoProtocol, until, type WsWire } from '../../helpers/ws.js';

function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function text(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + (i % 26);
  return b;
}

/** Register every framing case, reaching the server through `wire`. */
export function frameRuleTests(wire: WsWire): void {
  const t = (name: string, fn: () => Promise<void>): void => {
    test(`${name} [${wire.name}]`, fn);
  };
  const closeOn = (port: number, frames: Buffer | Buffer[], code: number, what: string): Promise<void> =>
    expectClose(port, frames, code, what, wire);

  t('text and binary messages of 7-, 16- and 64-bit lengths are echoed exactly', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const c = await wire.open(port);
      for (const n of [0, 125, 126, 127, 65535, 65536, 1024 * 1024]) {
        for (const opcode of [OP.TEXT, OP.BINARY]) {
          const payload = opcode === OP.TEXT ? text(n) : pattern(n, n);
          c.send(opcode, payload);
          const m = await c.message(5000);
          assert.equal(m.opcode, opcode, `type kept for length ${n}`);
          assert.equal(m.data.length, n, `length ${n}`);
          assert.ok(m.data.equals(payload), `payload of length ${n} intact`);
        }
      }
      // the server's own frames use the right length encoding
      const hdr = c.all.filter((f) => f.opcode !== OP.CONT);
      assert.equal(hdr.length, 14);
      assert.equal(log.messages.length, 14);
      assert.equal(c.parseError, null, 'server frames are unmasked');
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('an unmasked frame from a client is a protocol error (1002)', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      await closeOn(port, encodeFrame(OP.TEXT, 'hello', { mask: false }), 1002, 'unmasked text');
      assert.equal(log.messages.length, 0, 'nothing delivered from an unmasked frame');
    } finally {
      await ctx.destroy();
    }
  });

  t('RSV bits without an extension are a protocol error (1002), on data and control frames', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      for (const rsv of [1, 2, 3, 4, 5, 6, 7]) {
        await closeOn(port, encodeFrame(OP.TEXT, 'abc', { rsv }), 1002, `text with RSV ${rsv}`);
      }
      await closeOn(port, encodeFrame(OP.BINARY, pattern(10), { rsv: 4 }), 1002, 'binary with RSV1');
      await closeOn(port, encodeFrame(OP.PING, 'p', { rsv: 2 }), 1002, 'ping with RSV2');
      // Autobahn 3.2: a valid message first is echoed, then the bad frame fails
      const c = await wire.open(port);
      c.sendRaw(Buffer.concat([encodeFrame(OP.TEXT, 'ok'), encodeFrame(OP.TEXT, 'bad', { rsv: 2 })]));
      const m = await c.message();
      assert.equal(m.data.toString(), 'ok');
      assert.equal((await c.close()).code, 1002);
      c.destroy();
      assert.ok(!log.messages.some((x) => x.data.toString() === 'abc' || x.data.toString() === 'bad'));
    } finally {
      await ctx.destroy();
    }
  });

  t('reserved opcodes 3-7 and 0xB-0xF are a protocol error (1002)', async () => {
    const { proto } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      await Promise.all([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op) =>
        closeOn(port, encodeFrame(op, op >= 8 ? '' : 'x'), 1002, `opcode ${op}`)));
      // Autobahn 4.1.3: a good message, a bad opcode and a ping in one segment:
      // the message is answered, then 1002, and the ping after it is ignored
      const c = await wire.open(port);
      c.sendRaw(Buffer.concat([encodeFrame(OP.TEXT, 'good'), encodeFrame(5, 'bad'), encodeFrame(OP.PING, 'late')]));
      assert.equal((await c.message()).data.toString(), 'good');
      assert.equal((await c.close()).code, 1002);
      assert.ok(!c.all.some((f) => f.opcode === OP.PONG), 'nothing after the bad frame is processed');
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('control frames: over 125 bytes or fragmented is 1002; pings get pongs with the same payload', async () => {
    const { proto } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      await closeOn(port, encodeFrame(OP.PING, Buffer.alloc(126, 1)), 1002, 'ping of 126 bytes');
      await closeOn(port, encodeFrame(OP.PONG, Buffer.alloc(126, 1)), 1002, 'pong of 126 bytes');
      await closeOn(port, encodeFrame(OP.PING, 'frag', { fin: false }), 1002, 'fragmented ping');
      await closeOn(port, [encodeFrame(OP.PING, 'a', { fin: false }), encodeFrame(OP.CONT, 'b')], 1002, 'ping continued');

      const c = await wire.open(port);
      for (const p of [Buffer.alloc(0), Buffer.from('hello'), pattern(125), Buffer.from([0xff, 0xfe, 0])]) {
        c.send(OP.PING, p);
        const f = await c.next();
        assert.equal(f.opcode, OP.PONG);
        assert.ok(f.fin);
        assert.ok(f.payload.equals(p), `pong payload echoes ping of ${p.length} bytes`);
      }
      // an unsolicited pong is ignored; the connection goes on
      c.send(OP.PONG, 'unasked');
      c.send(OP.TEXT, 'still here');
      assert.equal((await c.message()).data.toString(), 'still here');
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('a ping inside a fragmented message is answered and the message still arrives whole', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const c = await wire.open(port);
      c.send(OP.TEXT, 'frag1-', { fin: false });
      c.send(OP.PING, 'in the middle');
      c.send(OP.CONT, 'frag2-', { fin: false });
      c.send(OP.PING, 'again');
      c.send(OP.CONT, 'frag3');
      const p1 = await c.next();
      assert.equal(p1.opcode, OP.PONG);
      assert.equal(p1.payload.toString(), 'in the middle');
      const p2 = await c.next();
      assert.equal(p2.opcode, OP.PONG);
      assert.equal(p2.payload.toString(), 'again');
      const m = await c.message();
      assert.equal(m.opcode, OP.TEXT);
      assert.equal(m.data.toString(), 'frag1-frag2-frag3');
      assert.equal(log.messages.length, 1);
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('continuation rules: no continuation without a start, no new message inside one (1002)', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      await closeOn(port, encodeFrame(OP.CONT, 'orphan'), 1002, 'continuation first');
      await closeOn(port, encodeFrame(OP.CONT, 'orphan', { fin: false }), 1002, 'unfinished continuation first');
      await closeOn(port, [encodeFrame(OP.TEXT, 'a', { fin: false }), encodeFrame(OP.TEXT, 'b')], 1002, 'text inside text');
      await closeOn(port, [encodeFrame(OP.BINARY, 'a', { fin: false }), encodeFrame(OP.TEXT, 'b')], 1002, 'text inside binary');
      // a finished message followed by a continuation
      await closeOn(port, [encodeFrame(OP.TEXT, 'done'), encodeFrame(OP.CONT, 'late')], 1002, 'continuation after fin');
      assert.ok(!log.messages.some((m) => m.data.toString().includes('orphan')));
    } finally {
      await ctx.destroy();
    }
  });

  t('frames split byte by byte across writes are reassembled', async () => {
    const { proto } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const c = await wire.open(port);
      const bytes = Buffer.concat([
        encodeFrame(OP.TEXT, 'Hello, '),
        encodeFrame(OP.BINARY, pattern(130), { fin: false }),
        encodeFrame(OP.PING, 'pp'),
        encodeFrame(OP.CONT, pattern(3, 9)),
        encodeFrame(OP.CLOSE, Buffer.from([0x0f, 0xa0, 0x62, 0x79, 0x65])),
      ]);
      await c.sendBytewise(bytes, 1);
      const m1 = await c.message();
      assert.equal(m1.data.toString(), 'Hello, ');
      const pong = c.all.find((f) => f.opcode === OP.PONG);
      const m2 = await c.message();
      assert.equal(m2.opcode, OP.BINARY);
      assert.ok(m2.data.equals(Buffer.concat([pattern(130), pattern(3, 9)])));
      assert.equal((pong ?? c.all.find((f) => f.opcode === OP.PONG))?.payload.toString(), 'pp');
      const cl = await c.close();
      assert.deepEqual([cl.code, cl.reason], [4000, 'bye'], 'a Close split byte by byte is echoed');
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  const VALID_UTF8 = Buffer.from('κόσμε ü € 𝄞 😀 ✓ ascii', 'utf8');

  t('valid UTF-8 split at every byte boundary across fragments is accepted', async () => {
    const { proto, log } = echoProtocol({ mode: 'pieces' });
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const c = await wire.open(port);
      for (let i = 0; i <= VALID_UTF8.length; i++) {
        c.send(OP.TEXT, VALID_UTF8.subarray(0, i), { fin: false });
        c.send(OP.CONT, VALID_UTF8.subarray(i));
        const m = await c.message();
        assert.equal(m.opcode, OP.TEXT);
        assert.ok(m.data.equals(VALID_UTF8), `split at ${i}`);
      }
      // one byte per fragment
      for (let i = 0; i < VALID_UTF8.length; i++) {
        c.send(i === 0 ? OP.TEXT : OP.CONT, VALID_UTF8.subarray(i, i + 1), { fin: i === VALID_UTF8.length - 1 });
      }
      const m = await c.message();
      assert.ok(m.data.equals(VALID_UTF8), 'one byte per fragment');
      assert.ok(log.pieces.length > 0);
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('invalid UTF-8 in text (overlong, surrogate, past U+10FFFF, truncated) closes with 1007', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const bad: Array<[string, number[]]> = [
        ['overlong 2-byte', [0xc0, 0xaf]],
        ['overlong 2-byte C1', [0xc1, 0xbf]],
        ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
        ['overlong 4-byte', [0xf0, 0x80, 0x80, 0xaf]],
        ['high surrogate', [0xed, 0xa0, 0x80]],
        ['low surrogate', [0xed, 0xbf, 0xbf]],
        ['U+110000', [0xf4, 0x90, 0x80, 0x80]],
        ['lead F5', [0xf5, 0x80, 0x80, 0x80]],
        ['lone continuation', [0x80]],
        ['0xFE', [0xfe]],
        ['0xFF', [0xff]],
        ['truncated at end of message', [0x61, 0xce]],
        ['truncated 4-byte at end', [0xf0, 0x9f, 0x98]],
      ];
      await Promise.all(bad.map(([what, bytes]) =>
        closeOn(port, encodeFrame(OP.TEXT, Buffer.from([0x41, ...bytes])), 1007, what)));
      // truncated across fragments: the message ends mid-character
      await closeOn(port, [encodeFrame(OP.TEXT, Buffer.from([0x41, 0xe2, 0x82]), { fin: false }), encodeFrame(OP.CONT, '')],
        1007, 'message ends inside a character');
      // binary messages are not text: the same bytes are fine
      const c = await wire.open(port);
      c.send(OP.BINARY, Buffer.from([0xc0, 0xaf, 0xff]));
      assert.ok((await c.message()).data.equals(Buffer.from([0xc0, 0xaf, 0xff])));
      c.destroy();
      assert.equal(log.messages.filter((m) => !m.binary).length, 0, 'no invalid text message was delivered');
    } finally {
      await ctx.destroy();
    }
  });

  t('UTF-8 fail-fast: an invalid first fragment or frame prefix gets 1007 before the rest is sent', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      // invalid byte in the first fragment; the rest of the message never comes
      const c1 = await wire.open(port);
      c1.send(OP.TEXT, Buffer.from([0x41, 0x42, 0xed, 0xa0, 0x80]), { fin: false });
      assert.equal((await c1.close(2000)).code, 1007);
      assert.ok(await c1.closedWithin(2000));
      c1.destroy();
      // invalid bytes at the start of one big frame; only its first bytes are sent
      const c2 = await wire.open(port);
      const frame = encodeFrame(OP.TEXT, Buffer.concat([Buffer.from([0x41, 0xf4, 0x90, 0x80, 0x80]), text(1000)]));
      c2.sendRaw(frame.subarray(0, 8 + 20));
      assert.equal((await c2.close(2000)).code, 1007);
      c2.destroy();
      // a character cut between fragments that cannot become valid fails at once
      const c3 = await wire.open(port);
      c3.send(OP.TEXT, Buffer.from([0x41, 0xf0]), { fin: false });
      c3.send(OP.CONT, Buffer.from([0x80]), { fin: false });
      assert.equal((await c3.close(2000)).code, 1007);
      c3.destroy();
      assert.equal(log.messages.length, 0);
    } finally {
      await ctx.destroy();
    }
  });

  t('ws maxFrameSize and maxMessageSize are enforced with 1009', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto], ws: { maxFrameSize: 1000, maxMessageSize: 3000 } });
    try {
      // at the limits: accepted
      const c = await wire.open(port);
      c.send(OP.BINARY, pattern(1000));
      assert.equal((await c.message()).data.length, 1000);
      c.send(OP.TEXT, text(1000), { fin: false });
      c.send(OP.CONT, text(1000), { fin: false });
      c.send(OP.CONT, text(1000));
      assert.equal((await c.message()).data.length, 3000);
      c.destroy();
      // past them: 1009, detected from the header, before the payload arrives
      await closeOn(port, encodeFrame(OP.BINARY, pattern(1001)).subarray(0, 8), 1009, 'frame of 1001 bytes');
      await closeOn(port, encodeFrame(OP.TEXT, text(70000)).subarray(0, 14), 1009, 'frame of 70000 bytes (64-bit length)');
      await closeOn(port, [
        encodeFrame(OP.TEXT, text(1000), { fin: false }), encodeFrame(OP.CONT, text(1000), { fin: false }),
        encodeFrame(OP.CONT, text(1000), { fin: false }), encodeFrame(OP.CONT, text(1)),
      ], 1009, 'message of 3001 bytes');
      // a 64-bit length far past any limit
      const huge = Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
      await closeOn(port, huge, 1009, 'frame claiming 4 GiB');
      assert.equal(log.messages.length, 2);
    } finally {
      await ctx.destroy();
    }
  });

  t('RECEIVE pieces never exceed rxBufferSize and the seed\'s fragment gathering reassembles exactly', async () => {
    const first: boolean[] = [];
    const finals: boolean[] = [];
    const remainingSeen: number[] = [];
    const { proto, log } = echoProtocol({
      rxBufferSize: 1000,
      hook(wsi: Wsi, reason) {
        if (reason === Reason.RECEIVE) {
          first.push(wsi.isFirstFragment());
          finals.push(wsi.isFinalFragment());
          remainingSeen.push(wsi.remainingPacketPayload());
        }
      },
    });
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const c = await wire.open(port);
      const big = pattern(300 * 1024 + 17, 5);
      c.send(OP.BINARY, big);
      const m = await c.message(5000);
      assert.ok(m.data.equals(big));
      assert.ok(Math.max(...log.pieces) <= 1000, `largest piece ${Math.max(...log.pieces)}`);
      assert.ok(log.pieces.length >= Math.ceil(big.length / 1000));
      assert.equal(first.filter(Boolean).length, 1, 'isFirstFragment once per message');
      assert.equal(finals.filter(Boolean).length, 1, 'isFinalFragment once per message');
      assert.equal(finals.at(-1), true);
      assert.equal(remainingSeen.at(-1), 0);
      // remaining counts down within the frame
      for (let i = 1; i < remainingSeen.length; i++) assert.ok(remainingSeen[i] < remainingSeen[i - 1]);

      // a fragmented text message, with an empty fragment and odd sizes
      first.length = 0;
      finals.length = 0;
      const parts = [text(1), Buffer.alloc(0), text(2500), text(999), text(1000), text(7)];
      parts.forEach((p, i) => c.send(i === 0 ? OP.TEXT : OP.CONT, p, { fin: i === parts.length - 1 }));
      const m2 = await c.message();
      assert.equal(m2.opcode, OP.TEXT);
      assert.ok(m2.data.equals(Buffer.concat(parts)));
      assert.equal(log.messages.length, 2, 'gathered into exactly one message each');
      assert.ok(log.messages[1].data.equals(Buffer.concat(parts)));
      assert.equal(log.messages[1].binary, false);
      assert.equal(log.messages[0].binary, true);
      assert.equal(first.filter(Boolean).length, 1);
      assert.equal(finals.filter(Boolean).length, 1);
      assert.ok(Math.max(...log.pieces) <= 1000);
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('an empty text message and empty fragments are delivered', async () => {
    const { proto, log } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto] });
    try {
      const c = await wire.open(port);
      c.send(OP.TEXT, '');
      const m = await c.message();
      assert.equal(m.opcode, OP.TEXT);
      assert.equal(m.data.length, 0);
      c.send(OP.BINARY, '', { fin: false });
      c.send(OP.CONT, '', { fin: false });
      c.send(OP.CONT, '');
      const m2 = await c.message();
      assert.equal(m2.opcode, OP.BINARY);
      assert.equal(m2.data.length, 0);
      assert.ok(await until(() => log.messages.length === 2, 1000));
      c.destroy();
      await sleep(10);
    } finally {
      await ctx.destroy();
    }
  });

  t('validateUtf8: false lets text through unchecked', async () => {
    const { proto } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto], ws: { validateUtf8: false } });
    try {
      const c = await wire.open(port);
      c.send(OP.TEXT, Buffer.from([0x41, 0xed, 0xa0, 0x80, 0xff]));
      const m = await c.message();
      assert.equal(m.opcode, OP.TEXT);
      assert.deepEqual([...m.data], [0x41, 0xed, 0xa0, 0x80, 0xff]);
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });

  t('wsi.write builds the frames asked for: NO_FIN/CONTINUATION fragments, PING, PONG, 64-bit lengths', async () => {
    const errors: string[] = [];
    const p: Protocol = {
      name: 'writer',
      callback(wsi, reason, _user, _input) {
        if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
        if (reason !== Reason.SERVER_WRITEABLE) return 0;
        wsi.write(Buffer.from('ab'), Write.TEXT | Write.NO_FIN);
        wsi.write(Buffer.from('cd'), Write.CONTINUATION | Write.NO_FIN);
        // a control frame between fragments is allowed
        wsi.write(Buffer.from('srv-ping'), Write.PING);
        wsi.write(Buffer.from('ef'), Write.CONTINUATION);
        wsi.write(Buffer.from('unasked'), Write.PONG);
        wsi.write(pattern(70000), Write.BINARY);
        const tryIt = (what: string, f: () => void) => {
          try {
            f();
            errors.push(`${what}: accepted`);
          } catch (e) {
            errors.push(`${what}: ${(e as Error).constructor.name}`);
          }
        };
        tryIt('continuation with nothing to continue', () => wsi.write(Buffer.from('x'), Write.CONTINUATION));
        tryIt('ping of 126 bytes', () => wsi.write(Buffer.alloc(126), Write.PING));
        wsi.write(Buffer.from('x'), Write.BINARY | Write.NO_FIN);
        tryIt('a new message inside a fragmented one', () => wsi.write(Buffer.from('y'), Write.TEXT));
        wsi.write(Buffer.from('z'), Write.CONTINUATION);
        return 0;
      },
    };
    const { ctx, port } = await start({ protocols: [p] });
    try {
      const c = await wire.open(port);
      const want: Array<[number, boolean, string | number]> = [
        [OP.TEXT, false, 'ab'], [OP.CONT, false, 'cd'], [OP.PING, true, 'srv-ping'], [OP.CONT, true, 'ef'],
        [OP.PONG, true, 'unasked'], [OP.BINARY, true, 70000], [OP.BINARY, false, 'x'], [OP.CONT, true, 'z'],
      ];
      for (const [op, fin, body] of want) {
        const f = await c.next();
        assert.equal(f.opcode, op);
        assert.equal(f.fin, fin);
        assert.equal(f.rsv, 0);
        assert.equal(f.masked, false);
        if (typeof body === 'number') assert.ok(f.payload.equals(pattern(body)));
        else assert.equal(f.payload.toString(), body);
      }
      assert.deepEqual(errors, [
        'continuation with nothing to continue: Error', 'ping of 126 bytes: RangeError', 'a new message inside a fragmented one: Error',
      ]);
      c.destroy();
    } finally {
      await ctx.destroy();
    }
  });
}
