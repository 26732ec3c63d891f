import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { raw, parseResponses, sleep } from '../helpers/common.js';
import { openWs, waitFor, within, spawnBin, portOf, killChild, type Child } from '../helpers/plugin-ws-client.js';
import { checkTestAppDeflate } from '../helpers/ws-peer.js';
import { pkgPath } from '../helpers/paths.js';

const www = pkgPath('www');

async function withServer(args: string[], fn: (port: number, child: Child) => Promise<void>): Promise<void> {
  const child = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1', ...args]);
  try {
    const port = await portOf(child);
    await fn(port, child);
    child.proc.kill('SIGINT');
    const r = await within(child.exited, 5000, 'exit after SIGINT');
    assert.equal(r.code, 0, `clean exit, stderr: ${child.stderr()}`);
    assert.match(child.stdout(), /exited cleanly/);
  } finally {
    killChild(child);
  }
}

test('lws-test-server serves test.html at /, counts on dumb-increment and mirrors on lws-mirror-protocol; dumb-increment takes permessage-deflate', async () => {
  await withServer([], async (port) => {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const [res] = parseResponses(r.data);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/html/);
    assert.ok(res.body.equals(readFileSync(resolve(www, 'test.html'))), 'the body is www/test.html');

    const dumb = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await waitFor(() => dumb.messages.length >= 5, 'five numbers');
    assert.deepEqual(dumb.texts().slice(0, 5), ['0', '1', '2', '3', '4']);
    dumb.ws.send('closeme\n');
    assert.deepEqual(await within(dumb.closed, 2000, 'closeme'), { code: 1001, reason: 'seeya' });

    const m1 = await openWs(`ws://127.0.0.1:${port}/?mirror=t`, 'lws-mirror-protocol');
    const m2 = await openWs(`ws://127.0.0.1:${port}/?mirror=t`, 'lws-mirror-protocol');
    m1.ws.send('d #000000 1 2 3 4;');
    await waitFor(() => m1.messages.length >= 1 && m2.messages.length >= 1, 'the mirrored line');
    assert.deepEqual(m2.texts(), ['d #000000 1 2 3 4;']);
    assert.deepEqual(m1.texts(), ['d #000000 1 2 3 4;']);

    // No subprotocol: bound to http-only (index 0), which sends nothing.
    const plain = await openWs(`ws://127.0.0.1:${port}/`);
    await sleep(150);
    assert.equal(plain.messages.length, 0);
    for (const c of [m1, m2, plain]) c.ws.close();
    await checkTestAppDeflate(port);
  });
});

test('lws-test-server serves its metrics at /metrics, Prometheus text or OpenMetrics', async () => {
  await withServer([], async (port) => {
    const dumb = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await waitFor(() => dumb.messages.length >= 3, 'three numbers');
    const r = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const [res] = parseResponses(r.data);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const text = res.body.toString();
    assert.match(text, /^tslws_ws_open\{vhost="localhost",protocol="dumb-increment-protocol"\} 1$/m);
    const sent = /^tslws_ws_messages_total\{vhost="localhost",protocol="dumb-increment-protocol",direction="out"\} (\d+)$/m.exec(text);
    assert.ok(sent && Number(sent[1]) >= 3, 'the numbers sent are counted');
    const om = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: application/openmetrics-text\r\nConnection: close\r\n\r\n');
    const [omRes] = parseResponses(om.data);
    assert.equal(omRes.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(omRes.body.toString().endsWith('# EOF\n'));
    dumb.ws.close();
  });
});

test('lws-test-server -c closes dumb-increment connections after 50 numbers', async () => {
  await withServer(['-c'], async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await within(c.closed, 6000, 'the close-test close');
    assert.deepEqual(c.texts(), Array.from({ length: 50 }, (_, i) => String(i)));
  });
});

test('lws-test-server -n: dumb-increment sends nothing, but still answers closeme', async () => {
  await withServer(['-n'], async (port) => {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await sleep(300);
    assert.equal(c.messages.length, 0);
    c.ws.send('closeme\n');
    assert.equal((await within(c.closed, 2000, 'closeme')).code, 1001);
  });
});

test('lws-test-server -h prints usage with the test options; a bad port exits non-zero with a message', async () => {
  const help = spawnBin('lws-test-server', ['-h']);
  try {
    const h = await within(help.exited, 5000, '-h to exit');
    assert.equal(h.code, 0);
    assert.match(help.stdout(), /^Usage: lws-test-server/);
    assert.match(help.stdout(), /-c, --closetest/);
    assert.match(help.stdout(), /-n, --nosend/);
  } finally {
    killChild(help);
  }
  for (const port of ['99999', 'abc']) {
    const bad = spawnBin('lws-test-server', ['-p', port]);
    try {
      const b = await within(bad.exited, 5000, 'bad port to exit');
      assert.notEqual(b.code, 0);
      assert.match(bad.stderr(), new RegExp(`bad port ${port}`));
    } finally {
      killChild(bad);
    }
  }
});
