import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePki } from '../helpers/pki.js';
import { tlsGet } from '../helpers/tls.js';
import { curl } from '../helpers/curl.js';
import { confDir, writeConf, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet, waitFor } from '../helpers/lwsws.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('host-ssl-* with init-ssl serve TLS; sts, ciphers, ecdh-curve, allow-non-tls, redirect-http, enable-client-ssl', async () => {
  const pki = makePki();
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'secure');
  const leaf = pki.issue('localhost');
  const tlsPort = await freePort();
  const plainPort = await freePort();
  const dir = confDir({
    conf: '{ "global": { "init-ssl": "yes" } }',
    'conf.d/tls': vhostFile({
      name: 'localhost', port: String(tlsPort), interface: '127.0.0.1',
      'host-ssl-cert': leaf.certPath, 'host-ssl-key': leaf.keyPath,
      sts: 'on', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256', 'ecdh-curve': 'prime256v1',
      'allow-non-tls': '1', 'redirect-http': '1',
      'enable-client-ssl': '1', 'client-ssl-ca': pki.ca.certPath,
      mounts: [{ mountpoint: '/', origin: `file://${www}` }],
    }, { name: 'plain', port: plainPort, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${www}` }] }),
  });
  const child = await startLwsws(['-c', dir]);
  try {
    assert.match(child.stdout(), new RegExp(`vhost localhost on https://127.0.0.1:${tlsPort}/`));
    const r = await tlsGet(tlsPort, { ca: pki.ca.cert, servername: 'localhost', maxVersion: 'TLSv1.2' });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'secure');
    assert.equal(r.headers['strict-transport-security'], 'max-age=15768000 ; includeSubDomains');
    assert.match(r.cipher, /ECDHE-.*AES128-GCM-SHA256/, 'the configured cipher list is used');
    const red = await httpGet(tlsPort, '/x', { host: 'localhost' });
    assert.equal(red.status, 301, 'clear text on the TLS port is redirected');
    assert.equal(red.headers.location, 'https://localhost/');
    assert.equal((await httpGet(plainPort, '/')).body, 'secure');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
    pki.cleanup();
  }
});

test('without init-ssl a host-ssl-cert is ignored with a warning and the vhost serves clear text, as lwsws does', async () => {
  const pki = makePki();
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'clear');
  const leaf = pki.issue('localhost');
  const port = await freePort();
  const dir = confDir({
    conf: '{ "global": {} }',
    'conf.d/v': vhostFile({ name: 'localhost', port, interface: '127.0.0.1', 'host-ssl-cert': leaf.certPath,
      'host-ssl-key': leaf.keyPath, mounts: [{ mountpoint: '/', origin: `file://${www}` }] }),
  });
  const child = await startLwsws(['-c', dir]);
  try {
    assert.match(child.stderr(), /"host-ssl-cert": vhost "localhost": ignored because global "init-ssl" is not on/);
    assert.equal((await httpGet(port, '/')).body, 'clear');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
    pki.cleanup();
  }
});

test('SIGHUP: a kept TLS vhost re-reads its certificate files', async () => {
  const pki = makePki();
  const first = pki.issue('localhost');
  const second = pki.issue('renewed.localhost', { dns: ['renewed.localhost', 'localhost'] });
  const port = await freePort();
  const dir = confDir({
    conf: '{ "global": { "init-ssl": "yes" } }',
    'conf.d/tls': vhostFile({ name: 'localhost', port, interface: '127.0.0.1',
      'host-ssl-cert': first.certPath, 'host-ssl-key': first.keyPath }),
  });
  const child = await startLwsws(['-c', dir]);
  try {
    const get = () => tlsGet(port, { ca: pki.ca.cert, servername: 'localhost' });
    assert.equal((await get()).peerCN, 'localhost');
    writeFileSync(first.certPath, second.cert);
    writeFileSync(first.keyPath, second.key);
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: '), 'the reload', 5000);
    assert.match(child.stdout(), /reloaded: kept 1, destroyed 0, created 0\n/);
    assert.equal((await get()).peerCN, 'renewed.localhost', 'new handshakes get the new certificate');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    pki.cleanup();
  }
});

test('alpn and default-alpn: TLS vhosts serve HTTP/2 by default (h2,http/1.1), "alpn" sets a vhost\'s list, "default-alpn" the rest', async () => {
  const pki = makePki();
  const www = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(www, 'index.html'), 'page');
  const leaf = pki.issue('localhost', { dns: ['localhost', 'h1.localhost', 'h2.localhost'] });
  const [p1, p2] = [await freePort(), await freePort()];
  const v = (name: string, port: number, extra: object = {}) => ({ name, port, interface: '127.0.0.1',
    'host-ssl-cert': leaf.certPath, 'host-ssl-key': leaf.keyPath, mounts: [{ mountpoint: '/', origin: `file://${www}` }], ...extra });
  // The version curl got, with the page.
  const get = async (port: number, name = 'localhost', args: string[] = ['--http2']) => {
    const r = await curl([...args, '-k', '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}/`]);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'page');
    return r.version;
  };

  // No alpn anywhere: lws's default, h2 first. A vhost's own list, also per SNI name on a shared port.
  let dir = confDir({
    conf: '{ "global": { "init-ssl": "yes" } }',
    'conf.d/v': vhostFile(v('localhost', p1), v('h1.localhost', p1, { alpn: 'http/1.1' }), v('only-h1', p2, { alpn: ' http/1.1 ' })),
  });
  let child = await startLwsws(['-c', dir]);
  try {
    assert.doesNotMatch(child.stderr(), /alpn/, 'no warning: the keys are supported');
    assert.equal(await get(p1), '2', 'the default list offers h2');
    assert.equal(await get(p1, 'h1.localhost'), '1.1', 'the SNI vhost with "alpn": "http/1.1" offers only HTTP/1.1');
    assert.equal(await get(p2), '1.1');
    assert.equal(await get(p1, 'localhost', ['--http1.1']), '1.1', 'a client asking for HTTP/1.1 still gets it');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
  }

  // default-alpn (in any file's global section) for vhosts without their own; a vhost's alpn wins over it.
  dir = confDir({
    conf: '{ "global": { "init-ssl": "yes" } }',
    'conf.d/g': '{ "global": { "default-alpn": "http/1.1" } }',
    'conf.d/v': vhostFile(v('localhost', p1), v('h2.localhost', p1, { alpn: 'h2,http/1.1' }), { name: 'plain', port: p2, interface: '127.0.0.1', alpn: 'h2', mounts: [{ mountpoint: '/', origin: `file://${www}` }] }),
  });
  child = await startLwsws(['-c', dir]);
  try {
    // default-alpn reaching a clear-text vhost is no mistake (it is global); a clear-text vhost's own alpn is.
    assert.deepEqual(child.stderr().split('\n').filter((l) => l.includes('alpn')).map((l) => l.replace(/^.*?"alpn"/, '"alpn"')),
      ['"alpn": vhost "plain": has no effect without TLS']);
    assert.equal(await get(p1), '1.1', 'default-alpn applies');
    assert.equal(await get(p1, 'h2.localhost'), '2', 'the vhost\'s own alpn wins');
    // Reloaded without default-alpn: the vhost that took it is made again with lws's default.
    writeConf(dir, { 'conf.d/g': '{ "global": {} }' });
    child.proc.kill('SIGHUP');
    await waitFor(() => child.stdout().includes('reloaded: '), 'the reload', 5000);
    // Only the vhost that took default-alpn changed; its neighbours are kept.
    assert.match(child.stdout(), /reloaded: kept 2, destroyed 1, created 1\n/);
    assert.equal(await get(p1), '2');
    assert.equal(await get(p1, 'h2.localhost'), '2');
  } finally {
    await stopLwsws(child);
    removeDir(dir);
    removeDir(www);
    pki.cleanup();
  }
});
