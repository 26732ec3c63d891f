/**
 * context.drain(): nothing new accepted, work in flight finished, the
 * rest closed at the deadline; and the bins stop this way on SIGTERM.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createContext, callbackHttpDummy, echoProtocol, Mount, Reason, type TslwsError, type Wsi } from '../../src/index.js';
import { raw, sleep } from '../helpers/common.js';
import { spawnBin, portOf, killChild } from '../helpers/plugin-ws-client.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-drain-'));
const big = randomBytes(10 * 1024 * 1024);
writeFileSync(join(dir, 'big.bin'), big);
writeFileSync(join(dir, 'small.txt'), 'small\n');
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function refused(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(false);
    });
    s.once('error', () => res(true));
  });
}

test('drain: an in-flight 10 MiB download completes, a WebSocket gets 1001, an idle keep-alive connection closes, a new connection is refused', async () => {
  // A hot file would be one write; the file is read from disk as the reader goes.
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', fileCacheBytes: 0,
    protocols: [{ name: 'http', callback: callbackHttpDummy }, echoProtocol],
    pvo: { 'lws-echo': { default: '1' } },
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }],
  });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((r) => ws.once('open', r));
  const wsClosed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, String(reason)])));
  const idle = await new Promise<import('node:net').Socket>((res) => {
    const s = connect(port, '127.0.0.1', () => s.write('GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.once('data', () => res(s));
  });
  const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));
  // The download starts and its reader pauses, so most of it is still to come when the drain begins.
  const parts: Buffer[] = [];
  let started!: () => void;
  const got = new Promise<{ status: number; body: Buffer }>((res, rej) => {
    const q = httpRequest({ host: '127.0.0.1', port, path: '/big.bin' }, (r) => {
      r.pause();
      started();
      setTimeout(() => r.resume(), 300);
      r.on('data', (d: Buffer) => parts.push(d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(parts) }));
      r.on('error', rej);
    });
    q.on('error', rej);
    q.end();
  });
  await new Promise<void>((r) => (started = r));
  const drained = ctx.drain({ timeoutSecs: 20 });
  assert.equal(ctx.draining, true);
  assert.equal(await refused(port), true, 'nothing new is accepted');
  assert.equal((await wsClosed)[0], 1001);
  await idleClosed;
  const r = await got;
  assert.equal(r.status, 200);
  assert.equal(sha(r.body), sha(big), 'the whole file arrived');
  await drained;
  assert.equal(ctx.destroyed, true);
});

test('drain: an HTTP/2 stream in flight completes after GOAWAY', async () => {
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', fileCacheBytes: 0,
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }],
  });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const goaway = new Promise<number>((r) => session.once('goaway', (code) => r(code)));
  const body = await new Promise<Buffer>((res, rej) => {
    const q = session.request({ ':path': '/big.bin' });
    const parts: Buffer[] = [];
    q.once('response', () => void ctx.drain({ timeoutSecs: 20 }));
    q.on('data', (d: Buffer) => parts.push(d));
    q.on('end', () => res(Buffer.concat(parts)));
    q.on('error', rej);
  });
  assert.equal(await goaway, 0, 'GOAWAY NO_ERROR');
  assert.equal(sha(body), sha(big));
  session.close();
  await ctx.drain();
});

test('drain: what does not finish is closed at the deadline', async () => {
  let closedHttp = 0;
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{
      name: 'http',
      callback(wsi: Wsi, reason: Reason, _user: unknown, _input: unknown) {
        // Never answers: the exchange can only end by the deadline.
        if (reason === Reason.HTTP) return 0;
        if (reason === Reason.CLOSED_HTTP) closedHttp++;
        return callbackHttpDummy(wsi, reason, _user, _input as never);
      },
    }],
  });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const pending = raw(port, 'GET /hang HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 8000 });
  await sleep(200);
  const t0 = Date.now();
  await ctx.drain({ timeoutSecs: 1 });
  const r = await pending;
  assert.ok(r.closed, 'the hanging connection was closed');
  assert.ok(Date.now() - t0 >= 900, 'not before the deadline');
  assert.equal(closedHttp, 1);
  const idle = createContext({ port: 0, iface: '127.0.0.1' });
  try {
    assert.throws(() => idle.drain({ timeoutSecs: -1 }), (e: TslwsError) => e.code === 'TSLWS_INVALID_OPTION');
  } finally {
    idle.destroy();
  }
});

test('lws-test-server on SIGTERM: WebSockets get 1001, it exits 0', async () => {
  const s = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1', '--raw-fifo', join(dir, 'ts.fifo')]);
  try {
    const port = await portOf(s, 10000);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    s.proc.kill('SIGTERM');
    assert.equal(await closed, 1001);
    const e = await s.exited;
    assert.equal(e.code, 0, s.stderr());
    assert.match(s.stdout(), /exited cleanly/);
  } finally {
    killChild(s);
  }
});
