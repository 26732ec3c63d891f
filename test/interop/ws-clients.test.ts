/**
 * Interop with independent WebSocket clients: `ws` 8 (Node) and Python's
 * `websockets` (the Debian package python3-websockets, run with
 * /usr/bin/python3). Each talks to an echo protocol written as a user would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { Reason, Write, type Wsi } from '../../src/index.js';
import { start } from '../helpers/common.js';
import { echoProtocol, until } from '../helpers/ws.js';
import { nextMessages, openWs } from '../helpers/ws-peer.js';

const open = (url: string, protocols?: string[]): Promise<WebSocket> => openWs(url, false, protocols);


function closed(ws: WebSocket, timeoutMs = 3000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ws: no close')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(t);
      resolve({ code, reason: reason.toString() });
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('ws client: text, binary, fragmented and 16 MB messages are echoed with their type', async () => {
  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const ws = await open(`ws://127.0.0.1:${port}/`, ['echo']);
    assert.equal(ws.protocol, 'echo');
    let p = nextMessages(ws, 2);
    ws.send('héllo wörld ✓ 😀');
    ws.send(Buffer.from([0, 1, 2, 254, 255]));
    let got = await p;
    assert.deepEqual([got[0].binary, got[0].data.toString()], [false, 'héllo wörld ✓ 😀']);
    assert.deepEqual([got[1].binary, [...got[1].data]], [true, [0, 1, 2, 254, 255]]);

    // fragmented, text then binary; a ws.ping in between fragments is fine
    p = nextMessages(ws, 2);
    ws.send('part one, ', { fin: false });
    ws.send('part two, ', { fin: false });
    ws.send('and the end');
    ws.send(Buffer.alloc(3000, 1), { binary: true, fin: false });
    ws.send(Buffer.alloc(5000, 2), { binary: true, fin: true });
    got = await p;
    assert.deepEqual([got[0].binary, got[0].data.toString()], [false, 'part one, part two, and the end']);
    assert.equal(got[1].binary, true);
    assert.ok(got[1].data.equals(Buffer.concat([Buffer.alloc(3000, 1), Buffer.alloc(5000, 2)])));
    assert.equal(log.messages.length, 4, 'each fragmented message gathered once');

    // 16 MB
    const big = Buffer.allocUnsafe(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    p = nextMessages(ws, 1, 20000);
    ws.send(big);
    got = await p;
    assert.equal(got[0].binary, true);
    assert.equal(got[0].data.length, big.length);
    assert.equal(sha(got[0].data), sha(big));
    const bigText = 'ŝ'.repeat(8 * 1024 * 1024); // 16 MiB of UTF-8
    p = nextMessages(ws, 1, 20000);
    ws.send(bigText);
    got = await p;
    assert.equal(got[0].binary, false);
    assert.equal(got[0].data.toString() === bigText, true);

    const c = closed(ws);
    ws.close(1000, 'done');
    assert.deepEqual(await c, { code: 1000, reason: 'done' });
  } finally {
    await ctx.destroy();
  }
});

test('ws client: many messages in flight come back in order', async () => {
  const { proto } = echoProtocol({ mode: 'pieces' });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const ws = await open(`ws://127.0.0.1:${port}/`);
    const N = 3000;
    const sent: Buffer[] = [];
    const p = nextMessages(ws, N, 20000);
    for (let i = 0; i < N; i++) {
      const size = (i * 7919) % 9000;
      const b = Buffer.alloc(size + 4, i & 0xff);
      b.writeUInt32BE(i, 0);
      sent.push(b);
      if (i % 3 === 0) ws.send(b.toString('hex'));
      else ws.send(b);
    }
    const got = await p;
    for (let i = 0; i < N; i++) {
      if (i % 3 === 0) {
        assert.equal(got[i].binary, false);
        assert.equal(got[i].data.toString(), sent[i].toString('hex'), `message ${i}`);
      } else {
        assert.equal(got[i].binary, true);
        assert.ok(got[i].data.equals(sent[i]), `message ${i}`);
      }
    }
    ws.terminate();
  } finally {
    await ctx.destroy();
  }
});

test('ws client: ping/pong, close codes both ways, and a dropped connection', async () => {
  let pingWanted = false;
  const { proto, log } = echoProtocol({
    hook(wsi: Wsi, reason, input) {
      if (reason === Reason.RECEIVE && Buffer.from(input as Uint8Array).toString() === 'ping me') {
        pingWanted = true;
        wsi.callbackOnWritable();
        return 0;
      }
      if (reason === Reason.SERVER_WRITEABLE && pingWanted) {
        pingWanted = false;
        wsi.write(Buffer.from('from server'), Write.PING);
        return 0;
      }
      if (reason === Reason.RECEIVE) {
        const m = /^close (\d+) (.*)$/.exec(Buffer.from(input as Uint8Array).toString());
        if (m) {
          wsi.closeReason(Number(m[1]), m[2]);
          return -1;
        }
      }
    },
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const url = `ws://127.0.0.1:${port}/`;
    const ws = await open(url);
    const pong = new Promise<Buffer>((res) => ws.once('pong', res));
    ws.ping(Buffer.from('payload'));
    assert.equal((await pong).toString(), 'payload');
    // a ping from the server: ws answers it by itself and RECEIVE_PONG sees the answer
    const ping = new Promise<Buffer>((res) => ws.once('ping', res));
    ws.send('ping me');
    assert.equal((await ping).toString(), 'from server');
    assert.ok(await until(() => log.pongs.some((b) => b.toString() === 'from server'), 2000), 'RECEIVE_PONG got the answer');

    for (const [code, reason] of [[1000, ''], [1001, 'away'], [3000, 'app'], [4999, 'last']] as const) {
      const w = await open(url);
      const c = closed(w);
      w.close(code, reason);
      assert.deepEqual(await c, { code, reason }, `client close ${code}`);
    }
    for (const [code, reason] of [[1001, 'seeya'], [1011, 'oops'], [4002, 'kicked']] as const) {
      const w = await open(url);
      const c = closed(w);
      w.send(`close ${code} ${reason}`);
      assert.deepEqual(await c, { code, reason }, `server close ${code}`);
    }
    const before = log.closed;
    ws.terminate();
    assert.ok(await until(() => log.closed === before + 1, 2000), 'CLOSED after the client vanished');
    assert.deepEqual(log.peerCloses.map((b) => b.readUInt16BE(0)), [1000, 1001, 3000, 4999], 'WS_PEER_INITIATED_CLOSE saw each client code');
  } finally {
    await ctx.destroy();
  }
});

const PY = '/usr/bin/python3';
const PY_MISSING = `Python's websockets client is needed: install the Debian package python3-websockets (apt-get install -y python3-websockets); the test runs it with ${PY} (the Debian interpreter, not a pyenv python3 on PATH)`;

const PY_CLIENT = String.raw`
import asyncio, json, sys, hashlib
import websockets

async def main(port):
    out = {}
    async with websockets.connect('ws://127.0.0.1:%d/py?x=1' % port, subprotocols=['echo'], max_size=None, open_timeout=5, close_timeout=5) as ws:
        out['subprotocol'] = ws.subprotocol
        await ws.send('hello from python ✓')
        out['text'] = await asyncio.wait_for(ws.recv(), 5)
        await ws.send(b'\x00\x01\xfe\xff')
        r = await asyncio.wait_for(ws.recv(), 5)
        out['binary'] = list(r) if isinstance(r, bytes) else 'not bytes'
        big = bytes(i % 251 for i in range(3 * 1024 * 1024))
        await ws.send(big)
        r = await asyncio.wait_for(ws.recv(), 20)
        out['big_ok'] = isinstance(r, bytes) and hashlib.sha256(r).hexdigest() == hashlib.sha256(big).hexdigest()
        out['big_len'] = len(r)
        await ws.send(['frag-a ', 'frag-b ', 'frag-c'])
        out['fragmented'] = await asyncio.wait_for(ws.recv(), 5)
        waiter = await ws.ping(b'py-ping')
        await asyncio.wait_for(waiter, 5)
        out['pong'] = True
        await ws.close(code=4001, reason='py bye')
        out['close_code'] = ws.close_code
        out['close_reason'] = ws.close_reason
    print(json.dumps(out))

asyncio.run(main(int(sys.argv[1])))
`;

test('Python websockets client (python3-websockets): text, binary, large, fragmented, ping, close with a code', async () => {
  if (!existsSync(PY)) assert.fail(`${PY} not found. ${PY_MISSING}`);
  const probe = spawnSync(PY, ['-c', 'import websockets; print(websockets.__version__)'], { encoding: 'utf8', timeout: 10000 });
  if (probe.status !== 0) assert.fail(`${PY} cannot import websockets (${probe.stderr.trim().split('\n').at(-1)}). ${PY_MISSING}`);

  const { proto, log } = echoProtocol();
  const { ctx, port } = await start({ protocols: [{ name: 'http-ish', callback: () => 0 }, proto] });
  try {
    const dir = mkdtempSync(join(tmpdir(), 'tslws-py-'));
    const script = join(dir, 'client.py');
    writeFileSync(script, PY_CLIENT);
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(PY, [script, String(port)], { timeout: 30000, encoding: 'utf8' }, (err, so, se) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: so, stderr: se });
      });
    });
    assert.equal(code, 0, `the Python client failed:\n${stderr}`);
    const out = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    assert.deepEqual(out, {
      subprotocol: 'echo',
      text: 'hello from python ✓',
      binary: [0, 1, 254, 255],
      big_ok: true,
      big_len: 3 * 1024 * 1024,
      fragmented: 'frag-a frag-b frag-c',
      pong: true,
      close_code: 4001,
      close_reason: 'py bye',
    });
    await until(() => log.closed === 1, 2000);
    assert.equal(log.peerCloses.length, 1);
    assert.equal(log.peerCloses[0].readUInt16BE(0), 4001);
    assert.equal(log.peerCloses[0].subarray(2).toString(), 'py bye');
    assert.equal(log.closed, 1);
  } finally {
    await ctx.destroy();
  }
});
