/**
 * Every way a client attempt fails ends in one CLIENT_CONNECTION_ERROR with
 * a reason a person can read, on the connection's own protocol, and
 * nothing after it but WSI_DESTROY.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Reason, type Wsi } from '../../src/index.js';
import { Recorder, clientContext, fakeServer, good101 } from '../helpers/client.js';

/** Connect with `info`, wait for the error, check nothing else follows, return its text. */
async function failWith(info: Parameters<ReturnType<typeof clientContext>['clientConnect']>[0], ms = 5000, rec = new Recorder()): Promise<string> {
  const ctx = clientContext(rec);
  try {
    const wsi = ctx.clientConnect(info);
    await rec.until(() => rec.has(Reason.CLIENT_CONNECTION_ERROR), 'CLIENT_CONNECTION_ERROR', ms);
    await new Promise((r) => setTimeout(r, 30));
    const rs = rec.reasons(wsi);
    const after = rs.slice(rs.indexOf(Reason.CLIENT_CONNECTION_ERROR) + 1);
    assert.deepEqual(after.filter((r) => r !== Reason.WSI_DESTROY), [], 'no callbacks after the error');
    assert.equal(rs.filter((r) => r === Reason.CLIENT_CONNECTION_ERROR).length, 1);
    assert.ok(!rs.includes(Reason.CLIENT_ESTABLISHED) && !rs.includes(Reason.CLIENT_CLOSED));
    assert.ok(wsi.closed);
    const input = rec.first(Reason.CLIENT_CONNECTION_ERROR)!.input;
    assert.equal(typeof input, 'string');
    return input as string;
  } finally {
    await ctx.destroy();
  }
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('refused: a closed port', async () => {
  const why = await failWith({ address: '127.0.0.1', port: await closedPort() });
  assert.match(why, /refused/);
});

test('DNS failure: a name that cannot exist', async () => {
  const why = await failWith({ address: 'nonexistent.invalid', port: 80, connectTimeoutSecs: 4 }, 6000);
  assert.match(why, /^DNS lookup of "nonexistent.invalid" failed \(E[A-Z_]+\)$/);
});

test('TLS failure: TLS to a plain server', async () => {
  const socks = new Set<import('node:net').Socket>();
  const plain = createServer((s) => { socks.add(s); s.on('error', () => {}); s.end('HTTP/1.1 400 Bad Request\r\n\r\n'); });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  try {
    const why = await failWith({ address: '127.0.0.1', port: (plain.address() as { port: number }).port, ssl: true });
    assert.match(why, /^TLS handshake with 127\.0\.0\.1:\d+ failed/);
  } finally {
    for (const s of socks) s.destroy();
    await new Promise<void>((r) => plain.close(() => r()));
  }
});

test('not 101: an HTTP server answering 200', async () => {
  const fs = await fakeServer(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi');
  try {
    const why = await failWith({ address: '127.0.0.1', port: fs.port });
    assert.match(why, /^HS: ws upgrade response not 101 \(got 200 OK\)/);
  } finally {
    await fs.close();
  }
});

test('wrong Sec-WebSocket-Accept', async () => {
  const fs = await fakeServer(() => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
  try {
    assert.equal(await failWith({ address: '127.0.0.1', port: fs.port }), 'HS: Accept hash wrong');
  } finally {
    await fs.close();
  }
});

test('a subprotocol we did not offer', async () => {
  const fs = await fakeServer((head) => good101(head, 'Sec-WebSocket-Protocol: other\r\n'));
  try {
    const why = await failWith({ address: '127.0.0.1', port: fs.port, protocol: 'a, b' });
    assert.match(why, /subprotocol "other", which was not offered/);
  } finally {
    await fs.close();
  }
});

test('timeout: a server that accepts and never answers', async () => {
  const fs = await fakeServer(() => null);
  try {
    const t0 = Date.now();
    const why = await failWith({ address: '127.0.0.1', port: fs.port, connectTimeoutSecs: 1 }, 4000);
    assert.match(why, /^timed out after 1 s waiting for the server to answer/);
    assert.ok(Date.now() - t0 >= 900, 'not before the timeout');
  } finally {
    await fs.close();
  }
});

test('refused by CLIENT_FILTER_PRE_ESTABLISH, and a server that closes before answering', async () => {
  const fs = await fakeServer((head) => good101(head));
  const rec = new Recorder();
  rec.on = (_wsi, reason) => (reason === Reason.CLIENT_FILTER_PRE_ESTABLISH ? -1 : 0);
  const closer = await fakeServer(() => '');
  try {
    assert.match(await failWith({ address: '127.0.0.1', port: fs.port }, 5000, rec), /CLIENT_FILTER_PRE_ESTABLISH/);
    closer.server.on('connection', (s) => setTimeout(() => s.destroy(), 50));
    assert.match(await failWith({ address: '127.0.0.1', port: closer.port }), /^HS: connection closed before the server answered/);
  } finally {
    await fs.close();
    await closer.close();
  }
});

test('an immediate failure is reported before clientConnect returns; pwsi identifies it', async () => {
  const rec = new Recorder('local');
  const other = new Recorder('other');
  const ctx = clientContext(other);
  const vh = ctx.createVhost({ vhostName: 'client-vh', protocols: [other.protocol, rec.protocol] });
  const pwsi: { wsi?: Wsi } = {};
  let sawPwsi: Wsi | undefined;
  let errWsi: Wsi | undefined;
  rec.on = (wsi, reason) => {
    if (reason === Reason.CLIENT_CONNECTION_ERROR) {
      sawPwsi = pwsi.wsi;
      errWsi = wsi;
    }
  };
  try {
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port: 70000, vhost: vh, localProtocolName: 'local', pwsi });
    assert.ok(errWsi, 'reported synchronously');
    assert.equal(sawPwsi, errWsi);
    assert.equal(wsi, errWsi);
    assert.match(rec.first(Reason.CLIENT_CONNECTION_ERROR)!.input as string, /connect to 127\.0\.0\.1:70000 failed/);
    assert.ok(!other.has(Reason.CLIENT_CONNECTION_ERROR), 'only on the local protocol');
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, localProtocolName: 'missing' }), /no protocol "missing"/);
  } finally {
    await ctx.destroy();
  }
});
