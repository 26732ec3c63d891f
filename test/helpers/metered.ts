/**
 * A server with known answers and a scripted load for the diagnostics and
 * metrics tests: HTTP requests with known statuses and bodies, WebSocket
 * messages of known sizes, closes with known codes, a refused upgrade and
 * a callback that throws. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import {
  createContext, createEchoProtocol, Reason, Write, type Context, type HttpMount, type Protocol, type Wsi,
} from '../../src/index.js';
import { raw, parseResponses } from './common.js';
import { openWs, waitFor, within } from './plugin-ws-client.js';

interface UploadSession {
  bytes: number;
}

/** Answer `status` with a text body of a known length. */
export function answer(wsi: Wsi, status: number, body: string): number {
  const b = Buffer.from(body);
  wsi.addHttpHeaderStatus(status);
  wsi.addHttpHeaderByName('content-type', 'text/plain');
  wsi.addHttpHeaderContentLength(b.length);
  wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
  return wsi.write(b, Write.HTTP_FINAL) < 0 ? -1 : 0;
}

/**
 * protocols[0], answering by path: /ok 200 "hello"; POST /created 201
 * "got N" once its body is read; /throw throws; /drop closes before any
 * status; /cut sends its status and half its declared body, then closes;
 * anything else 404.
 */
export const site: Protocol<UploadSession> = {
  name: 'site',
  createSessionData: () => ({ bytes: 0 }),
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.HTTP: {
        const path = input as string;
        if (path === '/ok') return answer(wsi, 200, 'hello');
        if (path === '/created' && wsi.method === 'POST') return 0;
        if (path === '/throw') throw new Error('a callback that throws, on purpose');
        if (path === '/drop') return -1;
        if (path === '/cut') {
          wsi.addHttpHeaderStatus(200);
          wsi.addHttpHeaderContentLength(10);
          wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
          wsi.write(Buffer.from('12345'), Write.HTTP);
          return -1;
        }
        return wsi.returnHttpStatus(404);
      }
      case Reason.HTTP_BODY:
        user.bytes += (input as Buffer).length;
        return 0;
      case Reason.HTTP_BODY_COMPLETION:
        return answer(wsi, 201, `got ${user.bytes}`);
      default:
        return 0;
    }
  },
};

/** Echoes every message. */
export const echo: Protocol = createEchoProtocol('test-echo') as Protocol;

/** Closes with 4321 "asked to" when told `close-me`. */
export const closer: Protocol = {
  name: 'closer',
  callback(wsi, reason, _user, input) {
    if (reason === Reason.RECEIVE && (input as Buffer).toString() === 'close-me') {
      wsi.closeReason(4321, Buffer.from('asked to'));
      return -1;
    }
    return 0;
  },
};

/** The vhost `metered` on a free port with `site`, `test-echo`, `closer` and `extra`. */
export async function startMetered(extra: Protocol[] = [], mounts: HttpMount[] = []): Promise<{ ctx: Context; port: number }> {
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', vhostName: 'metered',
    protocols: [site, echo, closer, ...extra],
    mounts,
  });
  await ctx.listening;
  return { ctx, port: ctx.vhosts[0].port as number };
}

export const TEXT_SIZES = [0, 5, 125, 70_000];
export const BINARY_SIZES = [1, 4096];
export const UPLOAD = 'x'.repeat(1234);

/**
 * The load, on five connections: five requests on one kept-alive
 * connection (200, 200, 404, a POST of UPLOAD answered 201, 200), /throw
 * (500), a refused upgrade (426), a WebSocket echoing TEXT_SIZES then
 * BINARY_SIZES closed by the client with 4001, and one the server closes
 * with 4321 after one message.
 */
export async function scriptedLoad(port: number): Promise<void> {
  const keepAlive = await raw(port,
    'GET /ok HTTP/1.1\r\nHost: metered\r\n\r\n' +
    'GET /ok HTTP/1.1\r\nHost: metered\r\n\r\n' +
    'GET /nothing-here HTTP/1.1\r\nHost: metered\r\n\r\n' +
    `POST /created HTTP/1.1\r\nHost: metered\r\nContent-Length: ${UPLOAD.length}\r\n\r\n${UPLOAD}` +
    'GET /ok HTTP/1.1\r\nHost: metered\r\nConnection: close\r\n\r\n');
  assert.deepEqual(parseResponses(keepAlive.data).map((r) => r.status), [200, 200, 404, 201, 200]);
  const thrown = await raw(port, 'GET /throw HTTP/1.1\r\nHost: metered\r\nConnection: close\r\n\r\n');
  assert.equal(parseResponses(thrown.data)[0].status, 500);
  // A version tslws does not speak.
  const refused = await raw(port, 'GET / HTTP/1.1\r\nHost: metered\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    'Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.equal(parseResponses(refused.data)[0].status, 426);

  const c = await openWs(`ws://127.0.0.1:${port}/`, 'test-echo');
  for (const n of TEXT_SIZES) c.ws.send('t'.repeat(n));
  for (const n of BINARY_SIZES) c.ws.send(Buffer.alloc(n, 7));
  await waitFor(() => c.messages.length === TEXT_SIZES.length + BINARY_SIZES.length, 'every message echoed');
  c.ws.close(4001, 'bye');
  assert.equal((await within(c.closed, 3000, 'the echo socket closes')).code, 4001);

  const k = await openWs(`ws://127.0.0.1:${port}/`, 'closer');
  k.ws.send('close-me');
  assert.deepEqual(await within(k.closed, 3000, 'the server closes'), { code: 4321, reason: 'asked to' });
}

/** One request over an HTTP/2 session: status and body. */
export function h2request(s: ClientHttp2Session, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ':method': method, ':path': path });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve({ status, body: text }));
    req.on('error', reject);
    req.end(body);
  });
}
