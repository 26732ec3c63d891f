/**
 * The message layer against independent peers: Python's `websockets` as a
 * client of createWebSocketServer and as a server for connect(), and
 * headless Chromium's WebSocket against createWebSocketServer (on its own
 * port, and on a node:http server's port through `server`). Text stays
 * text, binary stays binary, large messages arrive whole, close codes and
 * reasons cross both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, createWebSocketServer, type MessageSocket, type WebSocketServer } from '../../src/index.js';
import { launchChromium, runPython, spawnPython, needPythonWebsockets } from '../helpers/peers.js';
import { listen, next, within } from './helpers.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Echo, except 'close me', which the server answers by closing with 4002. */
function serve(server: WebSocketServer): { got: Array<[string, boolean]>; closes: Array<[number, string]> } {
  const got: Array<[string, boolean]> = [];
  const closes: Array<[number, string]> = [];
  server.on('connection', (s: MessageSocket) => {
    s.on('message', (data, isBinary) => {
      got.push([isBinary ? `${(data as Buffer).length} bytes ${sha(data as Buffer).slice(0, 16)}` : (data as string), isBinary]);
      if (data === 'close me') s.close(4002, 'server bye');
      else s.send(data, { binary: isBinary });
    });
    s.on('close', (code, reason) => closes.push([code, reason]));
  });
  return { got, closes };
}

async function until(f: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const PY_CLIENT = String.raw`
import asyncio, hashlib, json, sys
import websockets

async def main(port):
    out = {}
    big = bytes((i * 7) % 251 for i in range(1024 * 1024))
    async with websockets.connect('ws://127.0.0.1:%d/py' % port, max_size=None, open_timeout=5, close_timeout=5) as ws:
        await ws.send('héllo from python ✓')
        r = await asyncio.wait_for(ws.recv(), 5)
        out['text'] = [type(r).__name__, r]
        await ws.send(b'\x00\x01\xfe\xff')
        r = await asyncio.wait_for(ws.recv(), 5)
        out['binary'] = [type(r).__name__, list(r)]
        await ws.send(b'')
        r = await asyncio.wait_for(ws.recv(), 5)
        out['empty'] = [type(r).__name__, len(r)]
        await ws.send(big)
        r = await asyncio.wait_for(ws.recv(), 20)
        out['big'] = [type(r).__name__, len(r), hashlib.sha256(r).hexdigest() == hashlib.sha256(big).hexdigest()]
        await ws.send(['frag-a ', 'frag-b ', 'frag-c'])
        out['fragmented'] = await asyncio.wait_for(ws.recv(), 5)
        await ws.close(code=4001, reason='py bye')
        out['close'] = [ws.close_code, ws.close_reason]
    async with websockets.connect('ws://127.0.0.1:%d/py' % port, open_timeout=5, close_timeout=5) as ws:
        await ws.send('close me')
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except websockets.exceptions.ConnectionClosed:
            pass
        out['server_close'] = [ws.close_code, ws.close_reason]
    print(json.dumps(out))

asyncio.run(main(int(sys.argv[1])))
`;

test('a Python websockets client against createWebSocketServer: types, 1 MiB, fragments, close codes both ways', async () => {
  needPythonWebsockets();
  const server = await listen({ path: '/py' });
  try {
    const { got, closes } = serve(server);
    const r = await runPython(PY_CLIENT, [String(server.port)]);
    assert.equal(r.code, 0, `the Python client failed:\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    assert.deepEqual(out, {
      text: ['str', 'héllo from python ✓'],
      binary: ['bytes', [0, 1, 254, 255]],
      empty: ['bytes', 0],
      big: ['bytes', MiB, true],
      fragmented: 'frag-a frag-b frag-c',
      close: [4001, 'py bye'],
      server_close: [4002, 'server bye'],
    });
    const big = Buffer.from(Array.from({ length: MiB }, (_, i) => (i * 7) % 251));
    assert.deepEqual(got, [
      ['héllo from python ✓', false],
      [`4 bytes ${sha(Buffer.from([0, 1, 254, 255])).slice(0, 16)}`, true],
      [`0 bytes ${sha(Buffer.alloc(0)).slice(0, 16)}`, true],
      [`${MiB} bytes ${sha(big).slice(0, 16)}`, true],
      ['frag-a frag-b frag-c', false],
      ['close me', false],
    ]);
    await until(() => closes.length === 2, 'both closes seen by the server');
    assert.deepEqual(closes, [[4001, 'py bye'], [4002, 'server bye']]);
  } finally {
    await server.close();
  }
});

const PY_SERVER = String.raw`
import asyncio, websockets

async def handler(ws, path=None):
    try:
        async for msg in ws:
            if msg == 'close me':
                await ws.close(code=4004, reason='py server bye')
                break
            await ws.send(msg)
    except websockets.exceptions.ConnectionClosed:
        pass
    print('closed', ws.close_code, ws.close_reason, flush=True)

async def main():
    async with websockets.serve(handler, '127.0.0.1', 0, max_size=4 * 1024 * 1024) as server:
        print('port', server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
`;

test('connect() against a Python websockets server: types, 1 MiB, close codes both ways', async () => {
  const py = spawnPython(PY_SERVER);
  try {
    const port = Number((await py.waitFor(/port (\d+)/))[1]);
    const ws = await connect(`ws://127.0.0.1:${port}/`, { timeout: 5000 });
    const back: Array<[Buffer | string, boolean]> = [];
    ws.on('message', (d, b) => back.push([d, b]));
    const big = Buffer.alloc(MiB);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    ws.send('héllo python ✓');
    ws.send(Buffer.from([1, 2, 3, 255]));
    ws.send(Buffer.from('binary, not text'));
    ws.send(big);
    await until(() => back.length === 4, 'four echoes', 20000);
    assert.deepEqual(back.slice(0, 3), [['héllo python ✓', false], [Buffer.from([1, 2, 3, 255]), true], [Buffer.from('binary, not text'), true]]);
    assert.equal(back[3]?.[1], true);
    assert.equal(sha(back[3]?.[0] as Buffer), sha(big), '1 MiB echoed intact');
    const closedA = next<[number, string]>(ws, 'close');
    ws.close(4003, 'done here');
    assert.deepEqual(await closedA, [4003, 'done here']);
    await py.waitFor(/closed 4003 done here/);

    // The server closes this time.
    const ws2 = await connect(`ws://127.0.0.1:${port}/`, { timeout: 5000 });
    const closedB = next<[number, string]>(ws2, 'close');
    ws2.send('close me');
    assert.deepEqual(await closedB, [4004, 'py server bye']);
  } finally {
    py.kill();
  }
});

/** The page: one WebSocket to the `ws` query parameter; echoes text and binary, closes as asked, reports to `window.results`. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>message layer interop</title></head>
<body><pre id="log"></pre>
<script>
const params = new URLSearchParams(location.search);
const results = { messages: [], close: null, done: false };
window.results = results;
const big = new Uint8Array(256 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 255;
const ws = new WebSocket(params.get('ws'));
ws.binaryType = 'arraybuffer';
ws.onopen = () => {
  ws.send('héllo from chromium ✓');
  ws.send(new Uint8Array([0, 1, 2, 254, 255]));
  ws.send(big);
  ws.send(new Blob(['a blob is binary']));
};
ws.onmessage = (e) => {
  if (typeof e.data === 'string') results.messages.push(['text', e.data]);
  else {
    const b = new Uint8Array(e.data);
    let sum = 0;
    for (const x of b) sum = (sum * 31 + x) >>> 0;
    results.messages.push(['binary', b.length, b.length <= 32 ? Array.from(b) : sum]);
  }
  if (results.messages.length === 4) {
    if (params.get('close') === 'server') ws.send('close me');
    else ws.close(4000, 'page bye');
  }
};
ws.onclose = (e) => {
  results.close = [e.code, e.reason, e.wasClean];
  results.done = true;
  document.getElementById('log').textContent = JSON.stringify(results);
};
</script></body></html>`;

function bigSum(): number {
  let sum = 0;
  for (let i = 0; i < 256 * 1024; i++) sum = (sum * 31 + ((i * 13) & 255)) >>> 0;
  return sum;
}

test('Chromium: a page\'s WebSocket echoes text and binary through createWebSocketServer, closes both ways, on its own port and on a node:http port', async () => {
  const pages: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', () => resolve()));
  const pagePort = (pages.address() as { port: number }).port;
  const own = await listen({ path: '/chat' });
  const shared = createWebSocketServer({ server: pages, path: '/ws' });
  await next(shared, 'listening');
  const ownSeen = serve(own);
  const sharedSeen = serve(shared);
  const browser = await launchChromium();
  try {
    const expected = [
      ['text', 'héllo from chromium ✓'],
      ['binary', 5, [0, 1, 2, 254, 255]],
      ['binary', 256 * 1024, bigSum()],
      ['binary', 16, Array.from(Buffer.from('a blob is binary'))],
    ];
    const cases = [
      { ws: `ws://127.0.0.1:${own.port}/chat`, close: 'page', seen: ownSeen, want: [4000, 'page bye', true] },
      { ws: `ws://127.0.0.1:${own.port}/chat`, close: 'server', seen: ownSeen, want: [4002, 'server bye', true] },
      { ws: `ws://127.0.0.1:${pagePort}/ws`, close: 'page', seen: sharedSeen, want: [4000, 'page bye', true] },
    ];
    for (const c of cases) {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${pagePort}/?ws=${encodeURIComponent(c.ws)}&close=${c.close}`);
      await page.waitForFunction('window.results && window.results.done', null, { timeout: 15000 });
      const results = JSON.parse(await page.evaluate('JSON.stringify(window.results)') as string) as { messages: unknown[]; close: unknown[] };
      assert.deepEqual(results.messages, expected, `${c.ws} ${c.close}`);
      assert.deepEqual(results.close, c.want, `${c.ws} ${c.close}`);
      await page.close();
    }
    // What the servers received, with its type.
    await until(() => ownSeen.closes.length === 2 && sharedSeen.closes.length === 1, 'every close seen by the servers');
    assert.deepEqual(ownSeen.closes, [[4000, 'page bye'], [4002, 'server bye']]);
    assert.deepEqual(sharedSeen.closes, [[4000, 'page bye']]);
    assert.deepEqual(sharedSeen.got.map(([d, b]) => [d.split(' ')[0], b]), [['héllo', false], ['5', true], [String(256 * 1024), true], ['16', true]]);
    assert.deepEqual(ownSeen.got.filter(([, b]) => !b).map(([d]) => d), ['héllo from chromium ✓', 'héllo from chromium ✓', 'close me']);
  } finally {
    await browser.close();
    await within(Promise.all([own.close(), shared.close()]), 'servers closed');
    pages.closeAllConnections();
    await new Promise<void>((resolve) => pages.close(() => resolve()));
  }
});
