/**
 * lws-test-server's mounts beyond `/`: the form handler at /formtest and
 * the zip book at /ziptest/, as the C test server has them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { raw, parseResponses } from '../helpers/common.js';
import { within, spawnBin, portOf, killChild } from '../helpers/plugin-ws-client.js';

test('lws-test-server answers the form at /formtest and serves the book at /ziptest/', async () => {
  const child = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    const port = await portOf(child);
    const body = 'text=hello&send=Send+the+form';
    let r = await raw(port, `POST /formtest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    let [res] = parseResponses(r.data);
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /<tr><td><b>send<\/b><\/td><td>13<\/td><td>Send the form<\/td><\/tr>/);
    r = await raw(port, 'GET /ziptest/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n');
    [res] = parseResponses(r.data);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(res.body).toString(), /Served from inside a zip archive/);
    r = await raw(port, 'GET /ziptest/images/waves.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    [res] = parseResponses(r.data);
    assert.equal(res.headers['content-type'], 'image/png');
    child.proc.kill('SIGINT');
    const done = await within(child.exited, 5000, 'exit after SIGINT');
    assert.equal(done.code, 0);
  } finally {
    killChild(child);
  }
});
