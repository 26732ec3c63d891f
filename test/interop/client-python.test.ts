/**
 * Our WebSocket client against an independent server: Python's
 * `websockets` (Debian package python3-websockets, run with /usr/bin/python3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Reason, Write } from '../../src/index.js';
import { Recorder, clientContext } from '../helpers/client.js';

const PY = '/usr/bin/python3';
const MISSING = `Python's websockets server is needed: install the Debian package python3-websockets (apt-get install -y python3-websockets); the test runs it with ${PY}`;

// An echo server that reports its port, then the close code and reason it saw.
const SERVER = `
import asyncio, sys, websockets
async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.exceptions.ConnectionClosed:
        pass  # a close code other than 1000/1001 ends the loop this way
    print("closed", ws.close_code, ws.close_reason, flush=True)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=4 * 1024 * 1024) as server:
        print("port", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(30)
asyncio.run(main())
`;

test('our client against Python websockets: text, binary, fragmented, 1 MiB, close with a code', async () => {
  assert.ok(existsSync(PY), MISSING);
  const py = spawn(PY, ['-c', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  py.stdout.on('data', (d: Buffer) => (out += d.toString()));
  py.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    const end = Date.now() + 10000;
    while (!/port (\d+)/.test(out)) {
      if (py.exitCode !== null || Date.now() > end) assert.fail(`${MISSING}\npython said: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const port = Number(/port (\d+)/.exec(out)?.[1]);
    const big = randomBytes(1024 * 1024);
    const queue: Array<[Buffer, number]> = [
      [Buffer.from('héllo python'), Write.TEXT],
      [Buffer.from([1, 2, 3, 255]), Write.BINARY],
      [Buffer.from('frag'), Write.TEXT | Write.NO_FIN],
      [Buffer.from('ment'), Write.CONTINUATION],
      [big, Write.BINARY],
    ];
    let closing = false;
    rec.on = (wsi, reason) => {
      if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
      if (reason === Reason.CLIENT_WRITEABLE) {
        const next = queue.shift();
        if (next) {
          wsi.write(next[0], next[1]);
          wsi.callbackOnWritable();
        } else if (closing) {
          wsi.closeReason(4003, 'done here');
          return -1;
        }
      }
      if (reason === Reason.CLIENT_RECEIVE && rec.messages.length === 4 && !closing) {
        closing = true;
        wsi.callbackOnWritable();
      }
      return 0;
    };
    ctx.clientConnect({ address: '127.0.0.1', port, path: '/' });
    await rec.until(() => rec.messages.length >= 4, 'four echoes from Python', 15000);
    assert.equal(rec.messages[0].data.toString(), 'héllo python');
    assert.equal(rec.messages[0].binary, false);
    assert.deepEqual([...rec.messages[1].data], [1, 2, 3, 255]);
    assert.equal(rec.messages[1].binary, true);
    assert.equal(rec.messages[2].data.toString(), 'fragment');
    assert.ok(rec.messages[3].data.equals(big), '1 MiB echoed intact');
    const t = Date.now() + 5000;
    while (!/closed/.test(out) && Date.now() < t) await new Promise((r) => setTimeout(r, 20));
    assert.match(out, /closed 4003 done here/, `python said: ${out} ${err}`);
    await rec.until(() => rec.has(Reason.CLIENT_CLOSED), 'CLIENT_CLOSED', 5000);
  } finally {
    await ctx.destroy();
    py.kill('SIGKILL');
  }
});
