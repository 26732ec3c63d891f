/**
 * Node's floor: the least a server on `node:net` can do for the work the
 * benchmarks measure, so that tslws's figures can be read against what
 * Node itself allows on this machine. Each makes the same system calls as
 * the real work ('data' events, one `write` per answer, `cork` around
 * several) and nothing else: no vhosts, no callbacks, no limits, no
 * validation beyond what the load generator checks.
 *
 *   ws    WebSocket echo: the upgrade answered with the computed accept key;
 *         then every whole frame of a read is answered with the same
 *         payload, unmasked, in one frame (ping: pong; Close: Close, then end)
 *   http  HTTP/1.1: every request head of a read is answered with a canned
 *         response for its path, from memory (keep-alive, pipelining)
 *
 *   node bench/lib/floor-servers.mjs ws PORT
 *   node bench/lib/floor-servers.mjs http DIR PORT     (serves DIR's files, read once at start)
 *
 * Node's `onread` (reading into one reused buffer) is not measured: Node
 * gives it only to sockets it makes itself (`new net.Socket` /
 * `net.connect`), not to the sockets a `net.Server` accepts, so no public
 * API lets a server use it.
 */
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// The key rotated to a phase and repeated, read back as one word of 32 or 64 bits.
const keyBytes = new Uint8Array(8);
const key32 = new Uint32Array(keyBytes.buffer, 0, 1);
const key64 = new BigUint64Array(keyBytes.buffer);

/**
 * XOR `n` bytes of `b` from `off` with the 4-byte key, a word at a time
 * where aligned: 64-bit words (BigUint64Array, which V8's optimising
 * compiler XORs in registers) from 512 bytes, 32-bit below; one loop per
 * word size, so each stays monomorphic.
 */
function unmask(b, off, n, key) {
  const size = n >= 512 ? 8 : 4;
  let i = 0;
  // Bytes up to an aligned address, then words, then the tail.
  const lead = Math.min(n, (size - ((b.byteOffset + off) & (size - 1))) & (size - 1));
  for (; i < lead; i++) b[off + i] ^= key[i & 3];
  if (n - i >= size) {
    for (let k = 0; k < 8; k++) keyBytes[k] = key[(i + k) & 3];
    i += size === 8 ? xor64(b, off + i, n - i) : xor32(b, off + i, n - i);
  }
  for (; i < n; i++) b[off + i] ^= key[i & 3];
}

/** XOR the whole 64-bit words of `n` bytes from `at` (aligned) with key64; how many bytes that was. */
function xor64(b, at, n) {
  const words = new BigUint64Array(b.buffer, b.byteOffset + at, n >>> 3);
  const k = key64[0];
  for (let w = 0; w < words.length; w++) words[w] ^= k;
  return words.length * 8;
}

/** XOR the whole 32-bit words of `n` bytes from `at` (aligned) with key32; how many bytes that was. */
function xor32(b, at, n) {
  const words = new Uint32Array(b.buffer, b.byteOffset + at, n >>> 2);
  const k = key32[0];
  for (let w = 0; w < words.length; w++) words[w] ^= k;
  return words.length * 4;
}

function frameHeader(op, len) {
  if (len < 126) return Buffer.from([0x80 | op, len]);
  if (len < 65536) return Buffer.from([0x80 | op, 126, len >> 8, len & 255]);
  const h = Buffer.alloc(10);
  h[0] = 0x80 | op;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

/** One connection of the WebSocket floor. */
function wsConnection(s) {
  s.setNoDelay(true);
  let upgraded = false;
  let pending = null; // bytes of an incomplete head or frame
  const key = Buffer.alloc(4);
  s.on('error', () => {});
  s.on('data', (d) => {
    let b = pending ? Buffer.concat([pending, d]) : d;
    pending = null;
    let off = 0;
    if (!upgraded) {
      const end = b.indexOf('\r\n\r\n');
      if (end < 0) {
        pending = b;
        return;
      }
      const head = b.toString('latin1', 0, end);
      const m = /\r\nsec-websocket-key:\s*([^\r\n]+)/i.exec(head);
      if (!m) {
        s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const accept = createHash('sha1').update(m[1].trim() + GUID).digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      upgraded = true;
      off = end + 4;
    }
    s.cork();
    while (b.length - off >= 2) {
      const op = b[off] & 0x0f;
      let len = b[off + 1] & 0x7f;
      let p = off + 2;
      if (len === 126) {
        if (b.length - p < 2) break;
        len = b.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (b.length - p < 8) break;
        len = Number(b.readBigUInt64BE(p));
        p += 8;
      }
      if (b.length - p < 4 + len) break;
      for (let i = 0; i < 4; i++) key[i] = b[p + i];
      p += 4;
      unmask(b, p, len, key);
      const payload = b.subarray(p, p + len);
      off = p + len;
      if (op === 8) {
        s.write(Buffer.concat([frameHeader(8, payload.length), payload]));
        s.uncork();
        s.end();
        return;
      }
      const out = op === 9 ? 10 : op;
      if (len < 16384) s.write(Buffer.concat([frameHeader(out, len), payload]));
      else {
        // Large: header and payload as two writes of one corked writev, no copy.
        s.write(frameHeader(out, len));
        s.write(payload);
      }
    }
    s.uncork();
    if (off < b.length) pending = Buffer.from(b.subarray(off));
  });
}

/** The WebSocket floor on 127.0.0.1:`port`. */
export function serveWsFloor(port) {
  const server = createServer({ noDelay: true }, wsConnection);
  server.listen(port, '127.0.0.1', () => process.stdout.write(`floor: ws echo on 127.0.0.1:${port}\n`));
  return server;
}

/** Canned responses of `dir`'s files, by path; 404 for the rest. */
function cannedResponses(dir) {
  const map = new Map();
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (!statSync(file).isFile()) continue;
    const body = readFileSync(file);
    const head = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n\r\n`);
    // Small answers leave as one buffer; large ones as head + body in one writev.
    map.set('/' + name, body.length < 16384 ? [Buffer.concat([head, body])] : [head, body]);
  }
  return map;
}

/** The HTTP floor on 127.0.0.1:`port`, answering for `dir`'s files. */
export function serveHttpFloor(port, dir) {
  const canned = cannedResponses(dir);
  const notFound = [Buffer.from('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')];
  const server = createServer({ noDelay: true }, (s) => {
    let pending = '';
    s.on('error', () => {});
    s.on('data', (d) => {
      const text = pending + d.toString('latin1');
      let off = 0;
      s.cork();
      for (;;) {
        const end = text.indexOf('\r\n\r\n', off);
        if (end < 0) break;
        const sp = text.indexOf(' ', off);
        const path = text.slice(sp + 1, text.indexOf(' ', sp + 1));
        for (const b of canned.get(path) ?? notFound) s.write(b);
        off = end + 4;
      }
      s.uncork();
      pending = text.slice(off);
    });
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`floor: http on 127.0.0.1:${port} for ${dir}\n`));
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [kind, a, b] = process.argv.slice(2);
  if (kind === 'ws' && a) serveWsFloor(Number(a));
  else if (kind === 'http' && a && b) serveHttpFloor(Number(b), a);
  else {
    process.stderr.write('usage: floor-servers.mjs ws PORT | http DIR PORT\n');
    process.exit(2);
  }
}
