/**
 * CGI mounts with small sh and python3 programs written at test time: the
 * meta-variables, header parsing, framing, request bodies with flow
 * control, stderr to the log, the inactivity timeout killing the whole
 * process group, and teardown when the client leaves.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mount, LogLevel, setLogLevel, getLogLevel, emitStderr, type HttpMount } from '../../src/index.js';
import { start, raw, parseResponses, openSocket, livePeer, sleep } from '../helpers/common.js';
import { alive } from '../helpers/pids.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-cgi-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  chmodSync(p, 0o755);
  return p;
}

const ENV = script('env.sh', `#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
for v in GATEWAY_INTERFACE SERVER_PROTOCOL SERVER_SOFTWARE REQUEST_METHOD REQUEST_URI QUERY_STRING PATH_INFO SCRIPT_NAME \\
  CONTENT_TYPE CONTENT_LENGTH REMOTE_ADDR SERVER_NAME SERVER_PORT HTTP_HOST HTTP_X_CUSTOM HTTP_COOKIE USER_AGENT \\
  HTTP_USER_AGENT HTTP_PROXY HTTP_AUTHORIZATION HTTP_PROXY_AUTHORIZATION FROM_MOUNT PATH; do
  eval "val=\\\${$v-UNSET}"
  printf '%s=%s\\n' "$v" "$val"
done
`);
const STATUS = script('status.sh', "#!/bin/sh\nprintf 'Status: 404 Not Found\\nX-Extra: yes\\nContent-Length: 4\\n\\nnope'\n");
const LOCATION = script('loc.sh', "#!/bin/sh\nprintf 'Location: /elsewhere\\r\\n\\r\\n'\n");
const ECHO = script('echo.py', `#!/usr/bin/env python3
import hashlib, os, sys
n = os.environ.get('CONTENT_LENGTH')
h = hashlib.sha256(); total = 0
while True:
    want = 65536 if n is None else min(65536, int(n) - total)
    if want <= 0: break
    b = sys.stdin.buffer.read(want)
    if not b: break
    h.update(b); total += len(b)
out = ('%d %s' % (total, h.hexdigest())).encode()
sys.stdout.buffer.write(b'Content-Type: text/plain\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(out) + out)
`);
const SLOWREAD = script('slowread.py', `#!/usr/bin/env python3
import os, sys, time
time.sleep(1.0)
n = int(os.environ['CONTENT_LENGTH']); total = 0
while total < n:
    b = sys.stdin.buffer.read(min(65536, n - total))
    if not b: break
    total += len(b)
sys.stdout.write('Content-Type: text/plain\\n\\n%d' % total)
`);
const SLOW = script('slow.sh', "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nfor i in 1 2 3 4 5; do sleep 0.3; echo tick$i; done\n");
const HUNG = script('hung.sh', `#!/bin/sh
echo $$ > "${dir}/hung.pid"
sleep 30 &
echo $! > "${dir}/hung-child.pid"
wait
`);
const FLOOD = script('flood.sh', `#!/bin/sh
echo $$ > "${dir}/flood.pid"
printf 'Content-Type: application/octet-stream\\n\\n'
exec head -c 30000000 /dev/zero
`);
const EARLY = script('early.sh', "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 5\\n\\nearly'\n");
const STDERR = script('stderr.sh', "#!/bin/sh\necho 'complaint from the script' >&2\nprintf 'Content-Type: text/plain\\n\\nok'\n");
const GARBAGE = script('garbage.sh', "#!/bin/sh\necho 'this is not a header'\necho\necho body\n");
const NOHEAD = script('nohead.sh', '#!/bin/sh\nexit 0\n');
const STATUS101 = script('status101.sh', "#!/bin/sh\nprintf 'Status: 101 Switching Protocols\\nUpgrade: websocket\\n\\n'\n");
// Over 16 KiB of headers and the blank line after them, in one write.
const BIGHEAD = script('bighead.py', `#!/usr/bin/env python3
import sys
head = b''.join(b'X-Filler-%d: %s\\r\\n' % (i, b'f' * 60) for i in range(300))
sys.stdout.buffer.write(b'Content-Type: text/plain\\r\\n' + head + b'\\r\\nbody')
`);
const CHUNKED = script('chunked.sh', "#!/bin/sh\nprintf 'Transfer-Encoding: chunked\\nContent-Type: text/plain\\n\\n5\\r\\nhello\\r\\n6\\r\\n world\\r\\n0\\r\\n\\r\\n'\n");

function cgi(mountpoint: string, origin: string, extra: Partial<HttpMount> = {}): HttpMount {
  return { mountpoint, origin, originProtocol: Mount.CGI, ...extra };
}

const srvP = start({
  mounts: [
    cgi('/env', ENV, { cgienv: { FROM_MOUNT: 'mount value' } }),
    cgi('/status', STATUS), cgi('/loc', 'cgi://' + LOCATION), cgi('/echo', ECHO), cgi('/slowread', SLOWREAD),
    cgi('/slow', SLOW, { cgiTimeout: 1 }), cgi('/hung', HUNG, { cgiTimeout: 1 }), cgi('/flood', FLOOD),
    cgi('/early', EARLY), cgi('/stderr', STDERR), cgi('/garbage', GARBAGE), cgi('/nohead', NOHEAD),
    cgi('/missing', join(dir, 'does-not-exist')), cgi('/chunked', CHUNKED), cgi('/status101', STATUS101), cgi('/bighead', BIGHEAD),
    cgi('/echoquick', ECHO, { cgiTimeout: 0.6 }),
  ],
});
after(async () => (await srvP).ctx.destroy());

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(25);
  }
  return pred();
}

async function request(req: string | Buffer, ms = 5000) {
  const { port } = await srvP;
  const r = await raw(port, req, { timeoutMs: ms });
  return { ...parseResponses(r.data)[0], raw: r };
}

test('meta-variables, cgienv, and chunked framing of output without a length', async () => {
  const r = await request('POST /env/sub/path?a=1&b=two%20x HTTP/1.1\r\nHost: example.test:8080\r\nX-Custom: custom value\r\n' +
    'Cookie: c=1\r\nCookie: d=2\r\nUser-Agent: tester\r\nProxy: http://evil\r\nAuthorization: Basic dTpw\r\nProxy-Authorization: Basic dTpw\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
  assert.equal(r.status, 200);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  const env = Object.fromEntries(r.body.toString().trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const { port } = await srvP;
  assert.deepEqual(env, {
    GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_SOFTWARE: 'tslws', REQUEST_METHOD: 'POST',
    REQUEST_URI: '/env/sub/path?a=1&b=two%20x', QUERY_STRING: 'a=1&b=two%20x', PATH_INFO: '/sub/path', SCRIPT_NAME: '/env',
    CONTENT_TYPE: 'text/plain', CONTENT_LENGTH: '3', REMOTE_ADDR: '127.0.0.1', SERVER_NAME: 'example.test',
    SERVER_PORT: String(port), HTTP_HOST: 'example.test:8080', HTTP_X_CUSTOM: 'custom value', HTTP_COOKIE: 'c=1; d=2',
    USER_AGENT: 'tester', HTTP_USER_AGENT: 'tester', HTTP_PROXY: 'UNSET',
    HTTP_AUTHORIZATION: 'UNSET', HTTP_PROXY_AUTHORIZATION: 'UNSET', FROM_MOUNT: 'mount value',
    PATH: '/bin:/usr/bin:/usr/local/bin:/var/www/cgi-bin',
  });
});

test('Status:, Location: and the program\'s own chunking', async () => {
  let r = await request('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-extra'], 'yes');
  assert.equal(r.body.toString(), 'nope');
  r = await request('GET /loc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, '/elsewhere');
  r = await request('GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello world');
  r = await request('HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(r.raw.text, /^HTTP\/1\.1 404 [^]*\r\n\r\n$/, 'HEAD: headers only');
});

test('a large POST reaches stdin whole, by length and chunked, and keep-alive goes on', async () => {
  const { port } = await srvP;
  const body = Buffer.alloc(6 << 20);
  // Bytes below 128: the request travels as a latin1 string and must not change.
  for (let i = 0; i < body.length; i += 1000) body[i] = (i % 127) + 1;
  const sha = createHash('sha256').update(body).digest('hex');
  const peer = await livePeer(port);
  let r = await peer.ask(Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`), body]).toString('latin1'));
  assert.equal(r.body.toString(), `${body.length} ${sha}`);
  let chunked = 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (let i = 0; i < body.length; i += 1 << 20) chunked += (1 << 20).toString(16) + '\r\n' + body.toString('latin1', i, i + (1 << 20)) + '\r\n';
  r = await peer.ask(chunked + '0\r\n\r\n');
  assert.equal(r.body.toString(), `${body.length} ${sha}`);
  peer.s.destroy();
});

test('a program that reads slowly holds the client back (stdin flow control)', async () => {
  const { port } = await srvP;
  const size = 24 << 20;
  const s = await openSocket(port);
  let got = '';
  s.on('data', (d) => { got += d.toString('latin1'); });
  s.write(`POST /slowread HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
  s.write(Buffer.alloc(size, 0x62));
  await sleep(600);
  assert.ok(s.writableLength > 4 << 20, `client held back while the program sleeps (${s.writableLength} unsent)`);
  assert.ok(await until(() => got.includes(`\r\n${size}\r\n0\r\n`), 15000), `answer: ${got.slice(0, 200)}`);
  s.destroy();
});

test('output that keeps coming is not timed out; a silent program gets 504 and its group is killed', async () => {
  let r = await request('GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.body.toString(), 'tick1\ntick2\ntick3\ntick4\ntick5\n');
  const t0 = Date.now();
  r = await request('GET /hung HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 504);
  assert.ok(Date.now() - t0 < 3000, 'answered about cgiTimeout after');
  const pid = Number(readFileSync(join(dir, 'hung.pid'), 'utf8'));
  const child = Number(readFileSync(join(dir, 'hung-child.pid'), 'utf8'));
  assert.ok(await until(() => !alive(pid) && !alive(child), 3000), 'the program and what it started are gone');
});

test('a client pausing its upload longer than cgiTimeout is waited for; once the body is in, silence is 504', async () => {
  const { port } = await srvP;
  const body = 'first half|second half';
  const sha = createHash('sha256').update(body).digest('hex');
  // The program reads its stdin to the end: while the client pauses, it is waiting, not silent.
  const r = await raw(port, [
    `POST /echoquick HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 11)}`,
    body.slice(11),
  ], { gapMs: 1500, timeoutMs: 5000 });
  const [res] = parseResponses(r.data);
  assert.equal(res?.status, 200, r.text.slice(0, 200));
  assert.equal(res.body.toString(), `${body.length} ${sha}`);
  // A body that arrived whole leaves the wait on the program: silent, it gets 504.
  const t0 = Date.now();
  const h = await request('POST /hung HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
  assert.equal(h.status, 504);
  assert.ok(Date.now() - t0 < 3000, 'answered about cgiTimeout after');
});

test('a flood to a slow reader is paced; a client that leaves stops the program', async () => {
  const { port } = await srvP;
  // Paced: read nothing for a while, then everything must still arrive intact.
  const s = await openSocket(port);
  let bytes = 0;
  s.pause();
  s.write('GET /flood HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await sleep(800);
  const pid = Number(readFileSync(join(dir, 'flood.pid'), 'utf8'));
  assert.ok(alive(pid), 'the program waits for the client rather than being read ahead');
  s.on('data', (d: Buffer) => { bytes += d.length; });
  s.resume();
  await new Promise<void>((res) => { s.on('close', () => res()); setTimeout(res, 20000); });
  assert.ok(bytes > 30000000, `whole flood received (${bytes})`);
  // Leaving early.
  rmSync(join(dir, 'flood.pid'));
  const s2 = await openSocket(port);
  s2.write('GET /flood HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await until(() => existsSync(join(dir, 'flood.pid')), 3000));
  await sleep(100);
  const pid2 = Number(readFileSync(join(dir, 'flood.pid'), 'utf8'));
  s2.destroy();
  assert.ok(await until(() => !alive(pid2), 3000), 'the program is stopped when the client leaves');
});

test('a program that answers without reading a large body; broken programs get 500', async () => {
  const { port } = await srvP;
  const peer = await livePeer(port);
  const big = Buffer.alloc(3 << 20, 0x63);
  const r = await peer.ask(`POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n` + big.toString('latin1'));
  assert.equal(r.body.toString(), 'early');
  const again = await peer.ask('GET /status HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(again.status, 404, 'the connection goes on after the unread body');
  peer.s.destroy();
  for (const p of ['/garbage', '/nohead', '/missing', '/status101', '/bighead']) {
    const res = await request(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 500, p);
  }
});

test('stderr goes to the log', async () => {
  const lines: string[] = [];
  const old = getLogLevel();
  setLogLevel(LogLevel.ERR | LogLevel.WARN, (_l, line) => lines.push(line));
  try {
    const r = await request('GET /stderr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.body.toString(), 'ok');
    assert.ok(await until(() => lines.some((l) => l.includes('complaint from the script')), 2000), lines.join('\n'));
  } finally {
    setLogLevel(old, emitStderr);
  }
});

test('CGI mounts are checked at creation', async () => {
  await assert.rejects(async () => start({ mounts: [cgi('/x', ENV, { cgiTimeout: -1 })] }), /cgiTimeout/);
});
