import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext } from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { namedHttp, run } from '../helpers/tls.js';

test('makeSelfSignedCert: a valid self-signed ECDSA certificate openssl and curl accept', async () => {
  const { cert, key } = makeSelfSignedCert({ commonName: 'test.local', dnsNames: ['test.local', 'localhost'], days: 3 });
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'CN=test.local');
  assert.equal(x.issuer, 'CN=test.local');
  assert.ok(x.verify(x.publicKey), 'signed by its own key');
  assert.equal(x.checkHost('localhost'), 'localhost');
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('::1'), '::1');
  const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 2.9 && days <= 3, `valid for 3 days, got ${days}`);
  const dir = mkdtempSync(join(tmpdir(), 'tslws-ss-'));
  const ctx = createContext({ port: 0, sslCert: cert, sslPrivateKey: key, protocols: [namedHttp('self')] });
  try {
    const pem = join(dir, 'c.pem');
    writeFileSync(pem, cert);
    const text = await run('openssl', ['x509', '-in', pem, '-noout', '-text']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /ecdsa-with-SHA256/);
    assert.match(text.stdout, /DNS:test\.local, DNS:localhost, IP Address:127\.0\.0\.1/);
    await ctx.listening;
    const c = await run('curl', ['-sS', '--cacert', pem, `https://localhost:${ctx.vhosts[0].port}/`]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /vhost self/);
  } finally {
    await ctx.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => makeSelfSignedCert({ ipAddresses: ['nope'] }), /not an IP address/);
});

test('makeSelfSignedCert: IPv4-mapped IPv6 addresses are encoded right; zone indexes are refused', () => {
  const { cert } = makeSelfSignedCert({ ipAddresses: ['::ffff:127.0.0.1', '::1.2.3.4', '2001:db8::7'] });
  const x = new X509Certificate(cert);
  assert.match(x.subjectAltName ?? '', /IP Address:0:0:0:0:0:FFFF:7F00:1/i);
  assert.match(x.subjectAltName ?? '', /IP Address:0:0:0:0:0:0:102:304/i);
  assert.match(x.subjectAltName ?? '', /IP Address:2001:DB8:0:0:0:0:0:7/i);
  assert.throws(() => makeSelfSignedCert({ ipAddresses: ['fe80::1%eth0'] }), /zone index/);
});
