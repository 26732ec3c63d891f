/**
 * Layers a server may never use are loaded when first needed: a server
 * made from `tslws/node` has no client until its first `connect()`, and
 * in any process the HTTP/2 role loads with the first connection that
 * speaks HTTP/2, which is served in full meanwhile (its bytes wait, none
 * is lost). Each case runs in a fresh process, where nothing is loaded yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distSrcUrl } from '../helpers/paths.js';

/** Run an ES module in a fresh node; its stdout lines are JSON records. */
async function runScript(code: string): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-lazy-'));
  try {
    const file = join(dir, 'script.mjs');
    writeFileSync(file, code);
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [file], { timeout: 20000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
    });
    assert.equal(out.code, 0, `script failed: ${out.stderr}`);
    return out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tslws/node: no client in a server until the first connect(), which then works', async () => {
  const records = await runScript(`
import { createWebSocketServer, connect } from '${distSrcUrl('node', 'index.js')}';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const server = createWebSocketServer({ port: 0, iface: '127.0.0.1' });
server.on('connection', (s) => s.on('message', (d, bin) => s.send(d, { binary: bin })));
await new Promise((r) => server.once('listening', r));
say({ before: typeof server.context.clientConnect });
const socket = await connect('ws://127.0.0.1:' + server.port + '/');
const echoed = await new Promise((r) => { socket.once('message', (d) => r(String(d))); socket.send('hello'); });
say({ echoed, after: typeof server.context.clientConnect });
socket.close();
await server.close();
`);
  assert.deepEqual(records, [{ before: 'undefined' }, { echoed: 'hello', after: 'function' }]);
});

test('the HTTP/2 role loads with the first HTTP/2 connection; requests sent at once on it, and on a second one, are answered', async () => {
  const records = await runScript(`
import { createContext, Reason, Write } from '${distSrcUrl('index.js')}';
import http2 from 'node:http2';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const ctx = createContext({
  port: 0, iface: '127.0.0.1',
  protocols: [{ name: 'http', callback: (wsi, reason, user, input) => {
    if (reason !== Reason.HTTP) return 0;
    const body = Buffer.from('path ' + input);
    wsi.addHttpHeaderStatus(200); wsi.addHttpHeaderContentLength(body.length);
    wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS); wsi.write(body, Write.HTTP_FINAL);
    return 0;
  } }],
});
await ctx.listening;
const port = ctx.vhosts[0].port;
async function session() {
  const s = http2.connect('http://127.0.0.1:' + port);
  // Three requests written before the server has said anything: they reach it while the role is loading.
  const bodies = await Promise.all(['/a', '/b', '/c'].map((p) => new Promise((resolve, reject) => {
    const r = s.request({ ':path': p });
    let b = '';
    r.setEncoding('utf8');
    r.on('data', (c) => (b += c));
    r.on('end', () => resolve(b));
    r.on('error', reject);
  })));
  s.close();
  return bodies;
}
say({ first: await session() });
say({ second: await session() });
await ctx.destroy();
`);
  assert.deepEqual(records, [{ first: ['path /a', 'path /b', 'path /c'] }, { second: ['path /a', 'path /b', 'path /c'] }]);
});
