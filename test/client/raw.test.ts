/**
 * RAW client sockets (`method: 'RAW'`) against a plain net.Server echo:
 * RAW_ADOPT once connected, RAW_WRITEABLE on request, RAW_RX with exactly
 * the bytes sent back, RAW_CLOSE when either side ends it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Reason, Write, type Wsi } from '../../src/index.js';
import { Recorder, clientContext } from '../helpers/client.js';

async function echoServer(): Promise<{ port: number; socks: Socket[]; ended: number[]; close(): Promise<void> }> {
  const socks: Socket[] = [];
  const ended: number[] = [];
  const server = createServer((s) => {
    socks.push(s);
    s.on('error', () => {});
    s.on('data', (d) => s.write(d));
    s.on('end', () => { ended.push(socks.indexOf(s)); s.end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port, socks, ended,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

test('RAW: adopt, write when writeable, receive the echo, close from our side', async () => {
  const srv = await echoServer();
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const payload = randomBytes(200 * 1024);
    const got: Buffer[] = [];
    let sent = false;
    rec.on = (wsi, reason, input) => {
      if (reason === Reason.RAW_ADOPT) wsi.callbackOnWritable();
      if (reason === Reason.RAW_WRITEABLE && !sent) {
        sent = true;
        assert.equal(wsi.write(payload, Write.HTTP), payload.length);
      }
      if (reason === Reason.RAW_RX) {
        got.push(Buffer.from(input as Uint8Array));
        // Done once everything came back: close from our side.
        if (got.reduce((n, b) => n + b.length, 0) >= payload.length) return -1;
      }
    };
    const pwsi: { wsi?: Wsi } = {};
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port: srv.port, method: 'RAW', pwsi });
    assert.equal(pwsi.wsi, wsi);
    await rec.until(() => rec.has(Reason.RAW_CLOSE), 'RAW_CLOSE');
    assert.ok(Buffer.concat(got).equals(payload));
    assert.equal(wsi.roleName, 'raw'); // one RAW role for client and server sides
    const rs = rec.reasons(wsi).filter((r) => r !== Reason.WSI_CREATE && r !== Reason.WSI_DESTROY);
    assert.equal(rs[0], Reason.RAW_ADOPT);
    assert.equal(rs.filter((r) => r === Reason.RAW_CLOSE).length, 1);
    await rec.until(() => srv.ended.length === 1, 'server saw our end');
  } finally {
    await ctx.destroy();
    await srv.close();
  }
});

test('RAW: the server closing gives RAW_CLOSE; no HTTP is ever sent', async () => {
  const srv = await echoServer();
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const seen: Buffer[] = [];
    ctx.clientConnect({ address: 'localhost', port: srv.port, method: 'RAW' });
    await rec.until(() => rec.has(Reason.RAW_ADOPT) && srv.socks.length === 1, 'adopted');
    srv.socks[0].on('data', (d) => seen.push(d));
    srv.socks[0].write('from server\n');
    await rec.until(() => rec.has(Reason.RAW_RX), 'RAW_RX');
    assert.equal(Buffer.from(rec.first(Reason.RAW_RX)!.input as Uint8Array).toString(), 'from server\n');
    srv.socks[0].end();
    await rec.until(() => rec.has(Reason.RAW_CLOSE), 'RAW_CLOSE');
    assert.equal(Buffer.concat(seen).length, 0, 'the client sent nothing by itself');
  } finally {
    await ctx.destroy();
    await srv.close();
  }
});
