/**
 * Interop with another implementation: Node's own HTTP/2 client (nghttp2's
 * HPACK) talks to a bare-bones HTTP/2 server made of a TCP socket, a
 * handful of frames, and our decoder and encoder. Requests nghttp2 encodes
 * must decode to what the client sent, responses we encode must reach the
 * client as we meant them (never-indexed fields included), across many
 * requests on one connection so both dynamic tables fill and evict, with
 * each side lowering the other's table size through SETTINGS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import * as http2 from 'node:http2';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../../src/roles/h2/hpack/index.js';
import { seeded, type Rng } from '../../../helpers/random.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const HEADERS = 0x1;
const SETTINGS = 0x4;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const HEADER_TABLE_SIZE = 0x1;

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

interface Peer {
  server: Server;
  port: number;
  /** Every request as decoded, in order. */
  requests: HeaderField[][];
  decoder: HpackDecoder;
  encoder: HpackEncoder;
}

/**
 * A server that answers each request with `respond(request)`, encoded by
 * our encoder. `ourTableSize`: a HEADER_TABLE_SIZE to advertise, applied
 * to the decoder when the client acks it.
 */
async function startPeer(respond: (req: HeaderField[]) => Array<[string, string, boolean?]>, ourTableSize?: number): Promise<Peer> {
  const peer = { requests: [], decoder: new HpackDecoder(), encoder: new HpackEncoder() } as unknown as Peer;
  peer.server = createServer((sock: Socket) => {
    let buf = Buffer.alloc(0);
    let prefaced = false;
    let block: Buffer[] = [];
    let blockStream = 0;
    const settings = ourTableSize === undefined ? Buffer.alloc(0) : Buffer.from([0, HEADER_TABLE_SIZE, 0, 0, 0, 0]);
    if (ourTableSize !== undefined) settings.writeUInt32BE(ourTableSize, 2);
    sock.write(frame(SETTINGS, 0, 0, settings));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!prefaced) {
        if (buf.length < PREFACE.length) return;
        assert.equal(buf.subarray(0, PREFACE.length).toString('latin1'), PREFACE);
        buf = buf.subarray(PREFACE.length);
        prefaced = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const type = buf[3];
        const flags = buf[4];
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        let payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === SETTINGS) {
          if (flags & ACK) {
            if (ourTableSize !== undefined) peer.decoder.setMaxTableSize(ourTableSize);
            continue;
          }
          for (let i = 0; i + 6 <= payload.length; i += 6) {
            if (payload.readUInt16BE(i) === HEADER_TABLE_SIZE) peer.encoder.setMaxTableSize(payload.readUInt32BE(i + 2));
          }
          sock.write(frame(SETTINGS, ACK, 0));
        } else if (type === HEADERS || type === CONTINUATION) {
          if (type === HEADERS) {
            let pad = 0;
            if (flags & PADDED) {
              pad = payload[0];
              payload = payload.subarray(1);
            }
            if (flags & PRIORITY) payload = payload.subarray(5);
            payload = payload.subarray(0, payload.length - pad);
            blockStream = stream;
          }
          block.push(payload);
          if (flags & END_HEADERS) {
            const r = peer.decoder.decode(Buffer.concat(block));
            block = [];
            peer.requests.push(r.fields);
            const out = peer.encoder.encode(respond(r.fields));
            sock.write(frame(HEADERS, END_HEADERS | END_STREAM, blockStream, out));
          }
        }
      }
    });
    sock.on('end', () => sock.end());
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve) => peer.server.listen(0, '127.0.0.1', resolve));
  peer.port = (peer.server.address() as AddressInfo).port;
  return peer;
}

/** One request on `client`; resolves with the response headers Node decoded. */
function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: true });
    req.on('response', (h) => {
      resolve(h);
      req.resume();
    });
    req.on('error', reject);
  });
}

const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789-';
const VALUE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,;:/=?&%"()[]{}<>@!*+~`^|#$';

function randomHeaders(rng: Rng): Array<[string, string]> {
  const n = rng.range(0, 8);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    // A few names and values come back often, so the tables get hits.
    const name = rng.chance(0.5) ? `x-${rng.int(6)}` : `x-${rng.chars(rng.range(1, 12), TOKEN)}`;
    const value = rng.chance(0.5) ? `v${rng.int(5)}` : rng.chars(rng.range(0, rng.chance(0.1) ? 600 : 40), VALUE).trim();
    if (!out.some(([n2]) => n2 === name)) out.push([name, value]);
  }
  return out;
}

async function session(port: number, settings: http2.Settings): Promise<http2.ClientHttp2Session> {
  const client = http2.connect(`http://127.0.0.1:${port}`, { settings });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

async function run(ourTableSize: number | undefined, clientTableSize: number | undefined, seedName: string): Promise<Peer> {
  // The response echoes the request's x- headers, plus fields of each kind.
  const respond = (req: HeaderField[]): Array<[string, string, boolean?]> => [
    [':status', req.find(([n]) => n === 'x-status')?.[1] ?? '200'],
    ['content-type', 'text/plain'],
    ['date', `Mon, 21 Oct 2013 20:13:${String(req.length).padStart(2, '0')} GMT`],
    ['etag', `"${req.length}"`],
    ['set-cookie', 'a=b'],
    ['x-secret', 'hush', true],
    ...req.filter(([n]) => n.startsWith('x-') && n !== 'x-status').map(([n, v]): [string, string] => [`r${n}`, v]),
  ];
  const peer = await startPeer(respond, ourTableSize);
  const client = await session(peer.port, clientTableSize === undefined ? {} : { headerTableSize: clientTableSize });
  try {
    const rounds: Array<Array<[string, string]>> = [];
    seeded(seedName, 40, (rng) => rounds.push(randomHeaders(rng)));
    for (let i = 0; i < rounds.length; i++) {
      const sent = rounds[i];
      const status = ['200', '204', '302', '404', '503'][i % 5];
      const headers: http2.OutgoingHttpHeaders = { ':path': `/r/${i}?q=${i * 7}`, 'x-status': status, 'x-private': 'p' };
      for (const [n, v] of sent) headers[n] = v;
      (headers as Record<symbol, unknown>)[http2.sensitiveHeaders] = ['x-private'];
      const got = await request(client, headers);
      // What the client sent, as our decoder read it (pseudo-headers first).
      const req = peer.requests[i];
      assert.deepEqual(req.filter(([n]) => n.startsWith(':')).map(([n]) => n).sort(), [':authority', ':method', ':path', ':scheme']);
      assert.equal(req.find(([n]) => n === ':path')?.[1], `/r/${i}?q=${i * 7}`);
      for (const [n, v] of sent) assert.deepEqual(req.find(([n2]) => n2 === n), [n, v], `request ${i}: ${n}`);
      assert.deepEqual(req.find(([n]) => n === 'x-private'), ['x-private', 'p', true], 'never-indexed as the client asked');
      // What we answered, as nghttp2 read it.
      assert.equal(String(got[':status']), status);
      assert.equal(got['content-type'], 'text/plain');
      assert.equal(got.date, `Mon, 21 Oct 2013 20:13:${String(req.length).padStart(2, '0')} GMT`);
      assert.equal(got.etag, `"${req.length}"`);
      assert.deepEqual(got['set-cookie'], ['a=b']);
      assert.equal(got['x-secret'], 'hush');
      for (const [n, v] of sent) assert.equal(got[`r${n}`], v, `response ${i}: r${n}`);
      const sensitive = (got as Record<symbol, unknown>)[http2.sensitiveHeaders] as string[];
      assert.deepEqual([...sensitive].sort(), ['set-cookie', 'x-secret'], 'nghttp2 saw our never-indexed fields');
    }
  } finally {
    client.close();
    await new Promise<void>((resolve) => peer.server.close(() => resolve()));
  }
  return peer;
}

test('nghttp2 requests decode and our responses reach it, with default table sizes', async () => {
  const peer = await run(undefined, undefined, 'nghttp2 interop default');
  assert.ok(peer.decoder.tableSize > 0 && peer.decoder.tableSize <= 4096);
});

test('both sides lower the other’s table: size updates are sent and honoured', async () => {
  const peer = await run(300, 200, 'nghttp2 interop small tables');
  assert.ok(peer.decoder.tableSize <= 300, `our table ${peer.decoder.tableSize}`);
});

test('a zero-size table on both sides', async () => {
  const peer = await run(0, 0, 'nghttp2 interop zero tables');
  assert.equal(peer.decoder.tableSize, 0);
});
