/**
 * The complete lwsws example of the C lwsws's documentation (a global
 * conf and a conf.d vhost file with a test-server site, a TLS site and a
 * redirecting one), run with only what ties it to one machine replaced:
 * ports, file paths, the certificate files and the user to run as.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { makePki } from '../helpers/pki.js';
import { run } from '../helpers/tls.js';
import { confDir, freePort, httpGet, removeDir, startLwsws, stopLwsws, waitFor } from '../helpers/lwsws.js';

const CONF = `# global settings only; vhosts live in conf.d/
{
  "global": {
    "uid": "48",
    "gid": "48",
    "count-threads": "1",
    "init-ssl": "yes",
    "server-string": "lwsws",
    "ws-pingpong-secs": "200",
    "timeout-secs": "5",
    "reject-service-keywords": [{
      "scumbot": "404 Not Found",
      "badbot": "403 Go away"
    }]
#   ,"default-alpn": "h2,http/1.1"        # 3.0+
  }
}
`;

const VHOSTS = `{
  "vhosts": [{
    "name": "localhost",
    "port": "7681",
    "interface": "lo",
    "access-log": "/var/log/lwsws/test-access-log",
    "keepalive_timeout": "60",
    "headers": [{
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "SAMEORIGIN"
    }],
    "mounts": [{
        "mountpoint": "/",
        "origin": "file://_lws_ddir_/libwebsockets-test-server",
        "default": "test.html",
        "cache-max-age": "60",
        "cache-reuse": "1",
        "cache-revalidate": "1",
        "cache-intermediaries": "0",
        "extra-mimetypes": { ".zip": "application/zip", ".map": "application/json" }
      }, {
        "mountpoint": "/server-status",
        "origin": "file://_lws_ddir_/libwebsockets-test-server/server-status",
        "default": "server-status.html"
      }, {
        "mountpoint": "/testcgi",
        "origin": "cgi://_lws_ddir_/libwebsockets-test-server/lws-cgi-test.sh",
        "cgi-timeout": "30",
        "cgi-env": [{ "MY_SETTING": "42" }]
      }, {
        "mountpoint": "/formtest",
        "origin": "callback://protocol-post-demo"
      }, {
        "mountpoint": "/private",
        "origin": "file://_lws_ddir_/libwebsockets-test-server/private",
        "basic-auth": "/var/www/balogins-private"
      }, {
        "mountpoint": "/old",
        "origin": ">https://example.com/new/"
      }, {
        "mountpoint": "/proxytest",
        "origin": "http://127.0.0.1:8080/app"
      }],
    "ws-protocols": [{
      "dumb-increment-protocol": { "status": "ok" },
      "lws-mirror-protocol":     { "status": "ok", "default": "1" },
      "lws-status":              { "status": "ok" },
      "protocol-post-demo":      { "status": "ok" },
      "protocol-lws-raw-test":   { "status": "ok", "raw": "1", "fifo-path": "/tmp/lws-test-raw" },
      "lws-server-status":       { "status": "ok", "update-ms": "5000", "hide-vhosts": "0",
                                   "filepath": "/sys/class/thermal/thermal_zone0/temp" }
    }]
  }, {
    "name": "localhost",
    "port": "443",
    "host-ssl-key":  "/etc/pki/tls/private/localhost.key",
    "host-ssl-cert": "/etc/pki/tls/certs/localhost.crt",
    "host-ssl-ca":   "/etc/pki/tls/certs/localhost.cer",
    "sts": "on",
    "ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL:!MD5",
    "ecdh-curve": "prime256v1",
    "enable-client-ssl": "1",
    "mounts": [{ "mountpoint": "/", "origin": "file:///var/www/html", "default": "index.html" }]
#   ,"allow-non-tls": "1", "redirect-http": "1"      # 3.2+: plaintext on :443 -> 301 https
  }, {
    "name": "localhost",
    "port": "80",
    "mounts": [{ "mountpoint": "/", "origin": ">https://localhost" }]
  }]
}
`;

test('the C lwsws documentation\'s complete example runs with only ports, paths, certificates and user replaced', async () => {
  const pki = makePki();
  const leaf = pki.issue('localhost');
  const root = mkdtempSync(join(tmpdir(), 'tslws-example-'));
  chmodSync(root, 0o755);
  const site = join(root, 'data/libwebsockets-test-server');
  for (const d of ['server-status', 'private']) mkdirSync(join(site, d), { recursive: true });
  mkdirSync(join(root, 'html'));
  mkdirSync(join(root, 'log'));
  writeFileSync(join(site, 'test.html'), '<!DOCTYPE html><title>example</title>example site');
  writeFileSync(join(site, 'server-status/server-status.html'), 'status page');
  writeFileSync(join(site, 'private/index.html'), 'private page');
  writeFileSync(join(site, 'lws-cgi-test.sh'), '#!/bin/sh\nprintf "content-type: text/plain\\r\\n\\r\\nMY_SETTING=%s\\n" "$MY_SETTING"\n');
  chmodSync(join(site, 'lws-cgi-test.sh'), 0o755);
  writeFileSync(join(root, 'html/index.html'), 'tls site');
  writeFileSync(join(root, 'balogins'), 'user:secret\n');
  const upstream = createHttpServer((req, res) => res.end(`upstream ${req.url}`));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = (upstream.address() as { port: number }).port;
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  const uid = String(process.getuid?.() ?? 0);
  const gid = String(process.getgid?.() ?? 0);

  const conf = CONF.replace(/"uid": "48"/, `"uid": "${uid}"`).replace(/"gid": "48"/, `"gid": "${gid}"`);
  const vhosts = VHOSTS
    .replace('"port": "7681"', `"port": "${p1}"`)
    .replace('"port": "443"', `"port": "${p2}"`)
    .replace('"port": "80"', `"port": "${p3}"`)
    .replace('/var/log/lwsws/test-access-log', join(root, 'log/access'))
    .replace('/var/www/balogins-private', join(root, 'balogins'))
    .replace('127.0.0.1:8080', `127.0.0.1:${up}`)
    .replace('/etc/pki/tls/private/localhost.key', leaf.keyPath)
    .replace('/etc/pki/tls/certs/localhost.crt', leaf.certPath)
    .replace('/etc/pki/tls/certs/localhost.cer', pki.ca.certPath)
    .replace('file:///var/www/html', `file://${join(root, 'html')}`)
    .replace('/tmp/lws-test-raw', join(root, 'raw.fifo'));
  const dir = confDir({ conf, 'conf.d/test-server': vhosts });
  const child = await startLwsws(['-c', dir, '--data-dir', join(root, 'data')], 15000);
  try {
    const home = await httpGet(p1, '/');
    assert.equal(home.status, 200);
    assert.match(home.body, /example site/);
    assert.equal(home.headers['x-content-type-options'], 'nosniff');
    assert.equal(home.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(home.headers.server, 'lwsws');
    assert.match(home.headers['cache-control'] ?? '', /max-age=60/);
    assert.match((await httpGet(p1, '/server-status/')).body, /status page/);
    assert.match((await httpGet(p1, '/testcgi')).body, /MY_SETTING=42/);
    assert.equal((await httpGet(p1, '/private/')).status, 401);
    const priv = await httpGet(p1, '/private/', { authorization: 'Basic ' + Buffer.from('user:secret').toString('base64') });
    assert.match(priv.body, /private page/);
    const old = await httpGet(p1, '/old');
    assert.equal(old.status, 301);
    assert.equal(old.headers.location, 'https://example.com/new/');
    assert.equal((await httpGet(p1, '/proxytest/x')).body, 'upstream /app/x');
    assert.equal((await httpGet(p1, '/', { 'user-agent': 'a scumbot crawler' })).status, 404);
    assert.equal((await httpGet(p1, '/', { 'user-agent': 'badbot/1.0' })).status, 403);
    const form = await run('curl', ['-sS', '-d', 'text=hello&send=Send+the+form', `http://127.0.0.1:${p1}/formtest`]);
    assert.match(form.stdout, /hello/);
    // No subprotocol: the "default" pvo sends it to the mirror.
    const ws = new WebSocket(`ws://127.0.0.1:${p1}/`);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('c #000000 1 2 3;'));
      ws.on('message', (d) => resolve(String(d)));
      ws.on('error', reject);
    });
    assert.equal(echoed, 'c #000000 1 2 3;');
    ws.close();
    const tls = await run('curl', ['-sS', '-i', '--cacert', pki.ca.certPath, `https://localhost:${p2}/`]);
    assert.equal(tls.code, 0, tls.stderr);
    assert.match(tls.stdout, /strict-transport-security: max-age/i);
    assert.match(tls.stdout, /tls site/);
    const r80 = await httpGet(p3, '/anything');
    assert.equal(r80.status, 301);
    assert.equal(r80.headers.location, 'https://localhost');
    await waitFor(() => readFileSync(join(root, 'log/access'), 'utf8').includes('"GET /testcgi HTTP/1.1" 200'), 'the access log line', 5000);
    // protocol-lws-raw-test made its FIFO from the example's fifo-path.
    assert.ok(lstatSync(join(root, 'raw.fifo')).isFIFO());
    // Only the protocol no plugin provides is warned about, once (with its file and line).
    const unprovided = child.stderr().split('\n').filter((l) => /no plugin provides/.test(l));
    const lines = unprovided.filter((l) => l.includes('"lws-status"'));
    assert.equal(lines.length, 1, `one warning for lws-status: ${JSON.stringify(lines)}`);
    assert.match(lines[0], /conf\.d\/[^:]+:\d+: /);
    assert.equal(unprovided.length, 1, JSON.stringify(unprovided));
  } finally {
    await stopLwsws(child);
    await new Promise<void>((r) => upstream.close(() => r()));
    removeDir(dir);
    removeDir(root);
    pki.cleanup();
  }
});
