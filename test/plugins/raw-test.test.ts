/**
 * protocol-lws-raw-test in the shipped servers: `nc`-style sessions
 * against lws-test-server and lwsws (RAW echo beside HTTP on one port),
 * and the FIFO it reads through the event loop.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin, portOf, killChild, waitFor } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, startLwsws, freePort } from '../helpers/lwsws.js';
import { raw } from '../helpers/common.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-rawtest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Write `text` into the FIFO from another process, as `echo text > fifo` would. */
function writeFifo(path: string, text: string): Promise<void> {
  return new Promise((res, rej) => execFile('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', text, path], { timeout: 5000 }, (e) => (e ? rej(e) : res())));
}

test('lws-test-server: a line that is not HTTP is echoed, HTTP is served, the FIFO\'s writers are printed, and the FIFO goes at exit', async () => {
  const fifo = join(dir, 'server.fifo');
  const s = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1', '--raw-fifo', fifo]);
  try {
    const port = await portOf(s, 10000);
    assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was made');
    const echo = await raw(port, 'hello\r\n', { until: (x) => x.length >= 7 });
    assert.equal(echo.text, 'hello\r\n');
    const page = await raw(port, 'GET /test.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(page.text, /^HTTP\/1\.1 200 OK/);
    await writeFifo(fifo, 'hello fifo');
    await waitFor(() => s.stderr().includes('raw-test: FIFO: hello fifo'), 'the FIFO line to be printed', 5000);
    // The writer went away; the next one is read too (the FIFO is opened again).
    await writeFifo(fifo, 'second writer');
    await waitFor(() => s.stderr().includes('raw-test: FIFO: second writer'), 'the second writer to be printed', 5000);
    s.proc.kill('SIGTERM');
    await s.exited;
    assert.equal(existsSync(fifo), false, 'the FIFO was removed at exit');
  } finally {
    killChild(s);
  }
});

test('lwsws: fallback-listen-accept with the raw pvo echoes what is not HTTP; onlyraw makes a port RAW from its first byte', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const fifo = join(dir, 'lwsws.fifo');
  const conf = confDir({
    conf: '{ "global": { "server-string": "tslws" } }',
    'conf.d/site': JSON.stringify({
      vhosts: [{
        name: 'site', port: String(p1), interface: '127.0.0.1', 'fallback-listen-accept': '1',
        mounts: [{ mountpoint: '/', origin: `file://${dir}` }],
        'ws-protocols': [{ 'protocol-lws-raw-test': { status: 'ok', raw: '1', 'fifo-path': fifo } }],
      }, {
        name: 'rawport', port: String(p2), interface: '127.0.0.1', onlyraw: '1',
        'ws-protocols': [{ 'protocol-lws-raw-test': { status: 'ok', raw: '1' } }],
      }],
    }),
  });
  const c = await startLwsws(['-c', conf]);
  try {
    const echo = await raw(p1, 'ssh-like banner\r\n', { until: (x) => x.length >= 17 });
    assert.equal(echo.text, 'ssh-like banner\r\n');
    const http = await raw(p1, 'GET / HTTP/1.1\r\nHost: site\r\nConnection: close\r\n\r\n');
    assert.match(http.text, /^HTTP\/1\.1 \d{3} /);
    const req = 'GET / HTTP/1.1\r\nHost: rawport\r\n\r\n';
    const only = await raw(p2, req, { until: (x) => x.length >= req.length });
    assert.equal(only.text, req, 'echoed, not answered');
    await writeFifo(fifo, 'through lwsws');
    await waitFor(() => c.stderr().includes('raw-test: FIFO: through lwsws'), 'the FIFO line', 5000);
  } finally {
    killChild(c);
    removeDir(conf);
  }
});
