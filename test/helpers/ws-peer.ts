/**
 * `ws` as the peer: clients with or without compression, message
 * collection with bounded waits, and raw compressed frames for the
 * permessage-deflate tests.
 */
import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import WebSocket, { WebSocketServer } from 'ws';

export type PmdWsOptions = WebSocket.PerMessageDeflateOptions;

const agreedExtensions = new WeakMap<WebSocket, string>();

/** The Sec-WebSocket-Extensions header of the 101 a `ws` client got. */
export function agreedOf(ws: WebSocket): string {
  return agreedExtensions.get(ws) ?? '';
}

/** Open a `ws` client; resolves with it and the extension header it agreed. */
export function openWs(url: string, pmd: PmdWsOptions | boolean, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: pmd, maxPayload: 64 * 1024 * 1024 });
    const t = setTimeout(() => reject(new Error('ws: no open in 5 s')), 5000);
    ws.once('upgrade', (res) => {
      agreedExtensions.set(ws, String(res.headers['sec-websocket-extensions'] ?? ''));
    });
    ws.once('open', () => {
      clearTimeout(t);
      resolve(ws);
    });
    ws.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export interface Msg {
  data: Buffer;
  binary: boolean;
}

/** Resolve with the next `n` messages. */
export function nextMessages(ws: WebSocket, n: number, timeoutMs = 10000): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const out: Msg[] = [];
    const t = setTimeout(() => {
      ws.off('message', on);
      reject(new Error(`ws: got ${out.length} of ${n} messages in ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (data: WebSocket.RawData, binary: boolean) => {
      out.push({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), binary });
      if (out.length === n) {
        clearTimeout(t);
        ws.off('message', on);
        resolve(out);
      }
    };
    ws.on('message', on);
  });
}

export function wsClosed(ws: WebSocket, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) {
      resolve({ code: -1, reason: 'already closed' });
      return;
    }
    const t = setTimeout(() => reject(new Error('ws: no close')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(t);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** A `ws` echo server with compression settings; resolves with its port. */
export function wsEchoServer(pmd: PmdWsOptions | boolean): Promise<{ wss: WebSocketServer; port: number; extensions: string[] }> {
  return new Promise((resolve) => {
    const extensions: string[] = [];
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: pmd, maxPayload: 64 * 1024 * 1024 });
    wss.on('headers', (h) => {
      const e = h.find((l) => /^sec-websocket-extensions:/i.test(l));
      extensions.push(e ?? '');
    });
    wss.on('connection', (ws) => {
      ws.on('message', (data, binary) => ws.send(data as Buffer, { binary }));
    });
    wss.on('listening', () => resolve({ wss, port: (wss.address() as { port: number }).port, extensions }));
  });
}

/** Compress a whole message as a permessage-deflate sender would (trailer removed). */
export function pmdCompress(data: Buffer | string, windowBits = 15): Buffer {
  const out = deflateRawSync(typeof data === 'string' ? Buffer.from(data) : data, { finishFlush: constants.Z_SYNC_FLUSH, windowBits });
  return out.subarray(0, out.length - 4);
}

/** A text of `n` bytes that compresses well but not trivially. */
export function textOf(n: number): Buffer {
  const words = ['alpha ', 'beta ', 'gamma ', 'délta ', 'epsilon ', 'zêta ', 'eta ', 'theta '];
  const parts: Buffer[] = [];
  let len = 0;
  let i = 0;
  while (len < n) {
    const w = Buffer.from(words[(i * 7 + (i >> 3)) % words.length] + (i % 97) + ' ');
    parts.push(w);
    len += w.length;
    i++;
  }
  const b = Buffer.concat(parts).subarray(0, n);
  // Never cut a multi-byte character in half: keep the text valid UTF-8.
  let end = b.length;
  while (end > 0 && (b[end - 1] & 0xc0) === 0x80) end--;
  if (end > 0 && b[end - 1] >= 0xc0) end--;
  return Buffer.concat([b.subarray(0, end), Buffer.alloc(n - end, 0x61)]);
}

/** The value of a header in a response head (lower-cased name), or undefined. */
export function headerOf(head: string, name: string): string | undefined {
  const m = new RegExp(`^${name}: *(.*)$`, 'im').exec(head);
  return m ? m[1].trim() : undefined;
}

/**
 * Inflate a whole message (frames' payloads joined), as a receiver does;
 * a smaller `windowBits` refuses data that reaches back further (output
 * is taken in small chunks, so back-references must come from the window).
 */
export function pmdInflate(payload: Buffer, windowBits = 15): Buffer {
  const input = Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]);
  return inflateRawSync(input, { finishFlush: constants.Z_SYNC_FLUSH, windowBits, ...(windowBits < 15 ? { chunkSize: 64 } : {}) });
}

/**
 * A test app's permessage-deflate, as in lws's test server: lws-server-status
 * (rx buffer 128) agrees it with a `ws` client compressing everything,
 * sends its JSON and takes the two large compressed JSON messages of the
 * page's "Test pmd" without closing; dumb-increment (rx buffer 10, under
 * the 128 lws needs) and lws-mirror-protocol (its veto) go uncompressed.
 */
export async function checkTestAppDeflate(port: number): Promise<void> {
  const url = `ws://127.0.0.1:${port}/`;
  for (const p of ['dumb-increment-protocol', 'lws-mirror-protocol']) {
    const c = await openWs(url, { threshold: 0 }, [p]);
    c.close();
    if (agreedOf(c) !== '') throw new Error(`${p} agreed "${agreedOf(c)}": it must go uncompressed, as in lws`);
  }
  const st = await openWs(url, { threshold: 0 }, ['lws-server-status']);
  try {
    if (!/^permessage-deflate\b/.test(agreedOf(st))) throw new Error(`lws-server-status agreed "${agreedOf(st)}", not permessage-deflate`);
    const closed = wsClosed(st, 60000).then((c) => { throw new Error(`lws-server-status closed ${c.code} "${c.reason}"`); });
    closed.catch(() => {});
    const [first] = await Promise.race([nextMessages(st, 1, 3000), closed]);
    JSON.parse(first.data.toString());
    for (let i = 0; i < 2; i++) st.send(JSON.stringify({ test: 'pmd', n: i, text: textOf(20000 + i).toString() }));
    // Still open and still sending after the server inflated both.
    const [later] = await Promise.race([nextMessages(st, 1, 7000), closed]); // update-ms may be 5 s
    JSON.parse(later.data.toString());
  } finally {
    st.close();
  }
}
