/**
 * permessage-deflate interop: `ws` (client and server, each parameter
 * combination) and Python's `websockets` (python3-websockets, compression
 * on by default) against tslws, with messages of 0 B, 1 B, 64 KB, 16 MB
 * and fragmented ones, compressed in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { Reason, Write, type Wsi, type PerMessageDeflateOptions } from '../../src/index.js';
import { start } from '../helpers/common.js';
import { echoProtocol } from '../helpers/ws.js';
import { Recorder, clientContext } from '../helpers/client.js';
import { openWs, agreedOf, nextMessages, wsClosed, wsEchoServer, textOf, type PmdWsOptions } from '../helpers/ws-peer.js';

const wireIn = (ws: WebSocket) => (ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
const wireOut = (ws: WebSocket) => (ws as unknown as { _socket: { bytesWritten: number } })._socket.bytesWritten;

interface Combo {
  name: string;
  client: PmdWsOptions;
  server?: PerMessageDeflateOptions;
  /** Parameters the agreed extension header must carry. */
  expect: RegExp[];
}

const COMBOS: Combo[] = [
  { name: 'no parameters', client: {}, expect: [/^permessage-deflate$/] },
  { name: 'server_no_context_takeover', client: { serverNoContextTakeover: true }, expect: [/server_no_context_takeover/] },
  { name: 'client_no_context_takeover', client: { clientNoContextTakeover: true }, expect: [/client_no_context_takeover/] },
  { name: 'server_max_window_bits=8', client: { serverMaxWindowBits: 8 }, expect: [/server_max_window_bits=8/] },
  { name: 'server_max_window_bits=10', client: { serverMaxWindowBits: 10 }, expect: [/server_max_window_bits=10/] },
  { name: 'client_max_window_bits=8', client: { clientMaxWindowBits: 8 }, expect: [/^permessage-deflate$/] },
  { name: 'client offers no client_max_window_bits', client: { clientMaxWindowBits: false as unknown as number }, expect: [/^permessage-deflate$/] },
  { name: 'server limits the client window to 9', client: {}, server: { clientMaxWindowBits: 9 }, expect: [/client_max_window_bits=9/] },
  { name: 'server limits its own window to 11', client: {}, server: { serverMaxWindowBits: 11 }, expect: [/server_max_window_bits=11/] },
  { name: 'server asks no client context takeover', client: {}, server: { clientNoContextTakeover: true }, expect: [/client_no_context_takeover/] },
  {
    name: 'every parameter', client: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 8 },
    server: { clientMaxWindowBits: 12 },
    expect: [/server_no_context_takeover/, /client_no_context_takeover/, /server_max_window_bits=9/, /client_max_window_bits=8/],
  },
];

test('ws client → tslws server: every parameter combination, compressed both ways', async () => {
  for (const c of COMBOS) {
    const { proto } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto], ws: { perMessageDeflate: { threshold: 0, ...c.server } } });
    try {
      const ws = await openWs(`ws://127.0.0.1:${port}/`, { threshold: 0, ...c.client }, ['echo']);
      const ext = agreedOf(ws);
      for (const re of c.expect) assert.match(ext, re, `${c.name}: agreed "${ext}"`);
      const msgs: Array<[Buffer, boolean]> = [
        [Buffer.alloc(0), false], [Buffer.from('x'), false], [Buffer.from([7]), true],
        [textOf(64 * 1024), false], [textOf(64 * 1024), false], [randomBytes(64 * 1024), true],
      ];
      const inBefore = wireIn(ws);
      const outBefore = wireOut(ws);
      const p = nextMessages(ws, msgs.length + 1);
      for (const [m, binary] of msgs) ws.send(m, { binary });
      // a fragmented compressed message
      ws.send(textOf(3000).subarray(0, 1000), { fin: false });
      ws.send(textOf(3000).subarray(1000, 2000), { fin: false });
      ws.send(textOf(3000).subarray(2000), { fin: true });
      const got = await p;
      msgs.forEach(([m, binary], i) => {
        assert.equal(got[i].binary, binary, `${c.name}: message ${i} type`);
        assert.ok(got[i].data.equals(m), `${c.name}: message ${i} (${m.length} B) intact`);
      });
      assert.ok(got[msgs.length].data.equals(textOf(3000)), `${c.name}: fragmented message intact`);
      // 2 x 64 KB of text each way went compressed (the random 64 KB does not shrink)
      assert.ok(wireIn(ws) - inBefore < 64 * 1024 + 40 * 1024, `${c.name}: server→client not compressed (${wireIn(ws) - inBefore} B)`);
      assert.ok(wireOut(ws) - outBefore < 64 * 1024 + 40 * 1024, `${c.name}: client→server not compressed (${wireOut(ws) - outBefore} B)`);
      ws.close(1000);
      assert.equal((await wsClosed(ws)).code, 1000);
    } finally {
      await ctx.destroy();
    }
  }
});

test('ws client → tslws server: a 16 MB compressed message each way, with and without context takeover', async () => {
  for (const client of [{}, { serverNoContextTakeover: true, clientNoContextTakeover: true }] as PmdWsOptions[]) {
    const { proto } = echoProtocol();
    const { ctx, port } = await start({ protocols: [proto], ws: { perMessageDeflate: true } });
    try {
      const ws = await openWs(`ws://127.0.0.1:${port}/`, client, ['echo']);
      const big = textOf(16 * 1024 * 1024);
      const p = nextMessages(ws, 1, 30000);
      const before = wireIn(ws);
      ws.send(big);
      const [got] = await p;
      assert.equal(got.data.length, big.length);
      assert.ok(got.data.equals(big), '16 MB echoed intact');
      assert.ok(wireIn(ws) - before < big.length / 4, `compressed on the way back (${wireIn(ws) - before} B)`);
      ws.close();
      await wsClosed(ws);
    } finally {
      await ctx.destroy();
    }
  }
});

/** Drive our client through `writes`, collecting echoes; returns the messages. */
async function ourClient(port: number, pmd: PerMessageDeflateOptions | boolean, writes: Array<[Buffer, number]>, expectMessages: number, ms = 15000) {
  const rec = new Recorder();
  const ctx = clientContext(rec);
  const queue = [...writes];
  let wsi: Wsi | undefined;
  rec.on = (w, reason) => {
    if (reason === Reason.CLIENT_ESTABLISHED) {
      wsi = w;
      w.callbackOnWritable();
    }
    if (reason === Reason.CLIENT_WRITEABLE) {
      while (queue.length && !w.sendPipeChoked()) {
        const [b, f] = queue.shift() as [Buffer, number];
        w.write(b, f);
      }
      if (queue.length) w.callbackOnWritable();
    }
    return 0;
  };
  ctx.clientConnect({ address: '127.0.0.1', port, path: '/', perMessageDeflate: pmd });
  try {
    await rec.until(() => rec.messages.length >= expectMessages || rec.has(Reason.CLIENT_CONNECTION_ERROR), `${expectMessages} echoes`, ms);
    const err = rec.first(Reason.CLIENT_CONNECTION_ERROR);
    assert.equal(err, undefined, `connection error: ${String(err?.input)}`);
    return { messages: rec.messages, wsi: wsi as Wsi, rec, ctx };
  } catch (e) {
    await ctx.destroy();
    throw e;
  }
}

const CLIENT_WRITES = (): Array<[Buffer, number]> => [
  [Buffer.alloc(0), Write.TEXT], [Buffer.from('y'), Write.TEXT], [Buffer.from([9]), Write.BINARY],
  [textOf(64 * 1024), Write.TEXT], [textOf(64 * 1024), Write.BINARY],
  [textOf(3000).subarray(0, 1000), Write.TEXT | Write.NO_FIN],
  [textOf(3000).subarray(1000, 2000), Write.CONTINUATION | Write.NO_FIN],
  [textOf(3000).subarray(2000), Write.CONTINUATION],
];

test('tslws client → ws server: parameter combinations on both sides, compressed both ways', async () => {
  const cases: Array<{ name: string; server: PmdWsOptions; client: PerMessageDeflateOptions; expect: RegExp[] }> = [
    { name: 'defaults', server: {}, client: {}, expect: [/^Sec-WebSocket-Extensions: permessage-deflate/i] },
    { name: 'we ask server_no_context_takeover', server: {}, client: { serverNoContextTakeover: true }, expect: [/server_no_context_takeover/] },
    { name: 'we say client_no_context_takeover', server: {}, client: { clientNoContextTakeover: true }, expect: [/client_no_context_takeover/] },
    { name: 'we limit the server window to 9', server: {}, client: { serverMaxWindowBits: 9 }, expect: [/server_max_window_bits=9/] },
    { name: 'server limits our window to 8', server: { clientMaxWindowBits: 8 }, client: {}, expect: [/client_max_window_bits=8/] },
    { name: 'server keeps no context', server: { serverNoContextTakeover: true, clientNoContextTakeover: true }, client: {}, expect: [/server_no_context_takeover/, /client_no_context_takeover/] },
    { name: 'server window 8 of ours 10', server: { serverMaxWindowBits: 8 }, client: { serverMaxWindowBits: 10, clientMaxWindowBits: 12 }, expect: [/server_max_window_bits=8/] },
  ];
  for (const c of cases) {
    const { wss, port, extensions } = await wsEchoServer({ threshold: 0, ...c.server });
    let bytesIn = 0;
    wss.on('connection', (_ws, req) => req.socket.on('data', (d: Buffer) => (bytesIn += d.length)));
    try {
      const writes = CLIENT_WRITES();
      const r = await ourClient(port, { threshold: 0, ...c.client }, writes, 6);
      try {
        for (const re of c.expect) assert.match(extensions[0], re, `${c.name}: agreed "${extensions[0]}"`);
        const m = r.messages;
        assert.equal(m[0].data.length, 0);
        assert.equal(m[1].data.toString(), 'y');
        assert.deepEqual([m[2].binary, [...m[2].data]], [true, [9]]);
        assert.ok(m[3].data.equals(textOf(64 * 1024)), `${c.name}: 64 KB text`);
        assert.ok(m[4].binary && m[4].data.equals(textOf(64 * 1024)), `${c.name}: 64 KB binary`);
        assert.ok(m[5].data.equals(textOf(3000)), `${c.name}: fragmented`);
        assert.ok(bytesIn < 64 * 1024, `${c.name}: our client compressed (${bytesIn} B for 2 x 64 KB)`);
        assert.ok(r.wsi.setExtensionOption('permessage-deflate', 'compression_level', 9) === 0);
      } finally {
        await r.ctx.destroy();
      }
    } finally {
      await new Promise<void>((res) => wss.close(() => res()));
    }
  }
});

test('tslws client → ws server: 16 MB compressed each way', async () => {
  const { wss, port } = await wsEchoServer({ threshold: 0 });
  try {
    const big = textOf(16 * 1024 * 1024);
    const r = await ourClient(port, true, [[big, Write.TEXT]], 1, 30000);
    try {
      assert.ok(r.messages[0].data.equals(big), '16 MB echoed intact');
    } finally {
      await r.ctx.destroy();
    }
  } finally {
    await new Promise<void>((res) => wss.close(() => res()));
  }
});

const PY = '/usr/bin/python3';
const PY_MISSING = `Python's websockets is needed: install the Debian package python3-websockets; the test runs it with ${PY}`;

function runPython(script: string, args: string[], ms: number): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const py = spawn(PY, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => py.kill('SIGKILL'), ms);
    py.on('close', (code) => {
      clearTimeout(t);
      resolve({ out, err, code });
    });
  });
}

// Sends each size as text and binary, plus a fragmented message, and checks the echoes.
const PY_CLIENT = `
import asyncio, sys, websockets
def text(n):
    s = ("alpha beta gamma delta " * (n // 23 + 1))[:n]
    return s
async def main():
    url = sys.argv[1]
    async with websockets.connect(url, subprotocols=["echo"], max_size=32 * 1024 * 1024, compression="deflate") as ws:
        print("ext", ws.response_headers.get("Sec-WebSocket-Extensions"), flush=True)
        for n in [0, 1, 65536, 16 * 1024 * 1024]:
            t = text(n)
            await ws.send(t)
            assert await ws.recv() == t, "text %d" % n
            b = t.encode()
            await ws.send(b)
            assert await ws.recv() == b, "binary %d" % n
        await ws.send(iter(["frag", "mented ", text(5000)]))
        assert await ws.recv() == "fragmented " + text(5000)
        print("ok", flush=True)
asyncio.run(main())
`;

test('Python websockets client → tslws server: compressed 0 B, 1 B, 64 KB, 16 MB and fragmented', async () => {
  assert.ok(existsSync(PY), PY_MISSING);
  const { proto } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto], ws: { perMessageDeflate: { threshold: 0 } } });
  try {
    const r = await runPython(PY_CLIENT, [`ws://127.0.0.1:${port}/`], 60000);
    assert.match(r.out, /ext permessage-deflate/, `python: ${r.out} ${r.err}`);
    assert.match(r.out, /^ok$/m, `python: ${r.out} ${r.err}`);
  } finally {
    await ctx.destroy();
  }
});

const PY_SERVER = `
import asyncio, sys, websockets
async def echo(ws, path=None):
    print("ext", ws.response_headers.get("Sec-WebSocket-Extensions"), flush=True)
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.exceptions.ConnectionClosed:
        pass
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=32 * 1024 * 1024, compression="deflate") as server:
        print("port", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(60)
asyncio.run(main())
`;

test('tslws client → Python websockets server: compressed both ways, 0 B to 16 MB and fragmented', async () => {
  assert.ok(existsSync(PY), PY_MISSING);
  const py = spawn(PY, ['-c', PY_SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  py.stdout.on('data', (d: Buffer) => (out += d.toString()));
  py.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const end = Date.now() + 10000;
    while (!/port (\d+)/.test(out)) {
      if (py.exitCode !== null || Date.now() > end) assert.fail(`${PY_MISSING}\npython said: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const port = Number(/port (\d+)/.exec(out)?.[1]);
    const big = textOf(16 * 1024 * 1024);
    const writes: Array<[Buffer, number]> = [...CLIENT_WRITES(), [big, Write.TEXT]];
    const r = await ourClient(port, { threshold: 0, clientMaxWindowBits: 10 }, writes, 7, 30000);
    try {
      assert.match(out, /ext permessage-deflate/, `python: ${out}`);
      assert.equal(r.messages[1].data.toString(), 'y');
      assert.ok(r.messages[3].data.equals(textOf(64 * 1024)));
      assert.ok(r.messages[5].data.equals(textOf(3000)), 'fragmented');
      assert.ok(r.messages[6].data.equals(big), '16 MB');
    } finally {
      await r.ctx.destroy();
    }
  } finally {
    py.kill('SIGKILL');
  }
});
