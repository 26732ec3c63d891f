import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePki } from '../helpers/pki.js';
import { tlsGet } from '../helpers/tls.js';
import { confDir, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet, waitFor } from '../helpers/lwsws.js';
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
