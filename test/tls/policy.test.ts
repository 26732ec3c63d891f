import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, Mount, Option, Reason, SslInfo, type SslInfoEvent, type ClientCertVerification } from '../../src/index.js';
import { makePki } from '../helpers/pki.js';
import { namedHttp, readUntil, run, tlsGet, tlsOpen } from '../helpers/tls.js';

const pki = makePki();
const leaf = pki.issue('localhost');
after(() => pki.cleanup());
import { raw, sleep } from '../helpers/common.js';

test('client certificates: required ones verified against the vhost CA; optional ones reported', async () => {
  const good = pki.issue('alice', { client: true });
  const rogue = pki.selfSigned('mallory');
  const verdicts: ClientCertVerification[] = [];
  const required = createContext({
    port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, sslCa: pki.ca.cert, options: Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT,
    protocols: [namedHttp('required', undefined, (reason, input) => {
      if (reason === Reason.OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION) verdicts.push(input as ClientCertVerification);
    })],
  });
  const optional = createContext({
    port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, sslCa: pki.ca.cert,
    options: Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT | Option.PEER_CERT_NOT_REQUIRED,
    protocols: [namedHttp('optional')],
  });
  try {
    await Promise.all([required.listening, optional.listening]);
    const rp = required.vhosts[0].port!;
    const curl = (port: number, extra: string[]) => run('curl', ['-sS', '--cacert', pki.ca.certPath, ...extra, `https://localhost:${port}/`]);
    const ok = await curl(rp, ['--cert', good.certPath, '--key', good.keyPath]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /vhost required/);
    assert.deepEqual(verdicts.at(-1), { authorized: true, error: null, subjectCN: 'alice' });
    const none = await curl(rp, []);
    assert.notEqual(none.code, 0, 'no client certificate must be refused');
    assert.equal(verdicts.at(-1)?.error, 'NO_CERTIFICATE');
    const bad = await curl(rp, ['--cert', rogue.certPath, '--key', rogue.keyPath]);
    assert.notEqual(bad.code, 0, 'a certificate from another CA must be refused');
    assert.equal(verdicts.at(-1)?.authorized, false);
    assert.equal(verdicts.at(-1)?.subjectCN, 'mallory');
    const op = optional.vhosts[0].port!;
    const anon = await curl(op, []);
    assert.equal(anon.code, 0, anon.stderr);
    assert.match(anon.stdout, /vhost optional/);
  } finally {
    await Promise.all([required.destroy(), optional.destroy()]);
  }
});

test('a client certificate the user callback refuses is refused even when it verifies', async () => {
  const bob = pki.issue('bob', { client: true });
  const ctx = createContext({
    port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, sslCa: pki.ca.cert, options: Option.REQUIRE_VALID_OPENSSL_CLIENT_CERT,
    protocols: [namedHttp('x', undefined, (reason, input) =>
      reason === Reason.OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION && (input as ClientCertVerification).subjectCN === 'bob' ? 1 : undefined)],
  });
  try {
    await ctx.listening;
    await assert.rejects(tlsGet(ctx.vhosts[0].port!, { servername: 'localhost', ca: pki.ca.cert, cert: bob.cert, key: bob.key }));
  } finally {
    await ctx.destroy();
  }
});

test('sslCipherList, tls13CipherList and tlsMinVersion restrict what clients can negotiate', async () => {
  const ctx = createContext({
    port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, sslCipherList: 'ECDHE-RSA-AES128-GCM-SHA256',
    tls13CipherList: 'TLS_CHACHA20_POLY1305_SHA256', protocols: [namedHttp('c')],
  });
  const strict = createContext({ port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, tlsMinVersion: 'TLSv1.3', protocols: [namedHttp('s')] });
  try {
    await Promise.all([ctx.listening, strict.listening]);
    const port = ctx.vhosts[0].port!;
    const base = { servername: 'localhost', ca: pki.ca.cert };
    const t12 = await tlsGet(port, { ...base, maxVersion: 'TLSv1.2' });
    assert.equal(t12.version, 'TLSv1.2');
    assert.equal(t12.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
    await assert.rejects(tlsGet(port, { ...base, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }), /handshake failure|alert/i);
    const t13 = await tlsGet(port, base);
    assert.equal(t13.version, 'TLSv1.3');
    assert.equal(t13.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
    // openssl's view of the same restriction.
    const s = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'AES256-SHA']);
    assert.notEqual(s.code, 0);
    const sp = strict.vhosts[0].port!;
    await assert.rejects(tlsGet(sp, { ...base, maxVersion: 'TLSv1.2' }), /protocol version|alert|unsupported/i);
    assert.equal((await tlsGet(sp, base)).version, 'TLSv1.3');
  } finally {
    await Promise.all([ctx.destroy(), strict.destroy()]);
  }
});

test('SSL_INFO: handshake start/done and alerts per sslInfoEventMask; a non-zero answer closes', async () => {
  const events: SslInfoEvent[] = [];
  let refuse = false;
  const ctx = createContext({
    port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key,
    sslInfoEventMask: SslInfo.HANDSHAKE_START | SslInfo.HANDSHAKE_DONE | SslInfo.ALERT,
    protocols: [namedHttp('i', undefined, (reason, input) => {
      if (reason !== Reason.SSL_INFO) return undefined;
      events.push(input as SslInfoEvent);
      return refuse && (input as SslInfoEvent).where === SslInfo.HANDSHAKE_DONE ? 1 : 0;
    })],
  });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port!;
    await tlsGet(port, { servername: 'localhost', ca: pki.ca.cert });
    assert.deepEqual(events.slice(0, 2).map((e) => e.where), [SslInfo.HANDSHAKE_START, SslInfo.HANDSHAKE_DONE]);
    assert.ok(events.some((e) => e.where === SslInfo.WRITE_ALERT && e.ret === 0x100), 'close_notify sent is reported');
    // A client that does not trust our certificate sends a fatal alert.
    events.length = 0;
    const refused = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-verify_return_error']);
    assert.notEqual(refused.code, 0);
    const deadline = Date.now() + 3000;
    while (!events.some((e) => e.where === SslInfo.READ_ALERT) && Date.now() < deadline) await sleep(20);
    const alert = events.find((e) => e.where === SslInfo.READ_ALERT);
    assert.ok(alert, `an alert from the client is reported: ${JSON.stringify(events)}`);
    assert.equal(alert.ret >> 8, 2, 'fatal');
    assert.ok([42, 46, 48].includes(alert.ret & 0xff), `certificate alert, got ${alert.ret & 0xff}`);
    // Returning non-zero at HANDSHAKE_DONE closes the connection.
    refuse = true;
    await assert.rejects(tlsGet(port, { servername: 'localhost', ca: pki.ca.cert }, 3000));
  } finally {
    await ctx.destroy();
  }
});

test('reloadTls replaces the certificate for new handshakes without dropping live connections', async () => {
  const one = leaf;
  const two = pki.issue('localhost', { dns: ['localhost', 'renewed.test'] });
  const certPath = join(pki.dir, 'live.pem');
  const keyPath = join(pki.dir, 'live.key.pem');
  copyFileSync(one.certPath, certPath);
  copyFileSync(one.keyPath, keyPath);
  const ctx = createContext({ port: 0, sslCertFilepath: certPath, sslPrivateKeyFilepath: keyPath, protocols: [namedHttp('r')] });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port!;
    const serialOf = (s: TLSSocket) => s.getPeerCertificate().serialNumber;
    // A keep-alive connection opened before the reload.
    const live = await tlsOpen(port, { servername: 'localhost', ca: pki.ca.cert });
    const before = serialOf(live);
    const ask = () => new Promise<string>((resolve, reject) => {
      let got = '';
      const t = setTimeout(() => reject(new Error(`no answer on the live connection: ${JSON.stringify(got)}`)), 3000);
      const on = (d: Buffer) => {
        got += d.toString();
        if (got.includes('</html>')) {
          clearTimeout(t);
          live.off('data', on);
          resolve(got);
        }
      };
      live.on('data', on);
      live.once('error', reject);
      live.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    assert.match(await ask(), /200 OK/);
    copyFileSync(two.certPath, certPath);
    copyFileSync(two.keyPath, keyPath);
    ctx.vhosts[0].reloadTls();
    assert.match(await ask(), /200 OK/, 'the live connection still works');
    const fresh = await tlsGet(port, { servername: 'renewed.test', ca: pki.ca.cert });
    assert.equal(fresh.status, 200);
    const s2 = await tlsOpen(port, { servername: 'localhost', ca: pki.ca.cert });
    assert.notEqual(serialOf(s2), before, 'new handshakes see the new certificate');
    s2.destroy();
    // A reload that cannot load keeps the working certificate.
    assert.throws(() => ctx.vhosts[0].reloadTls({ sslPrivateKey: one.key }), /cannot set up TLS/);
    assert.equal((await tlsGet(port, { servername: 'localhost', ca: pki.ca.cert })).status, 200);
    assert.throws(() => ctx.vhosts[0].reloadTls({ alpn: 'h2' }), /cannot be changed while running/);
    live.destroy();
  } finally {
    await ctx.destroy();
  }
});

test('bad TLS input hurts only its own connection: garbage, truncated handshake, plain HTTP on a TLS port', async () => {
  const ctx = createContext({ port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, limits: { tlsAcceptTimeoutSecs: 1 }, protocols: [namedHttp('b')] });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port!;
    // A healthy connection open across all of it.
    const live = await tlsOpen(port, { servername: 'localhost', ca: pki.ca.cert });
    const garbage = await raw(port, Buffer.from('\x16\x03\x01\x00\x05garbagegarbage'), { timeoutMs: 3000 });
    assert.ok(garbage.closed, 'garbage: closed');
    const plain = await raw(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', { timeoutMs: 3000 });
    assert.ok(plain.closed, 'plain HTTP on a TLS port: closed');
    assert.doesNotMatch(plain.data.toString('latin1'), /200 OK/);
    // A handshake that stops half way is dropped after tlsAcceptTimeoutSecs.
    const t0 = Date.now();
    const stall = await raw(port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), { timeoutMs: 4000 });
    assert.ok(stall.closed, 'stalled handshake: closed');
    assert.ok(Date.now() - t0 >= 900, 'not before the timeout');
    // The healthy connection still gets answers.
    const answer = readUntil(live, '</html>', 3000);
    live.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(await answer, /vhost b/);
    live.destroy();
    assert.equal(ctx.connectionCount <= 1, true);
  } finally {
    await ctx.destroy();
  }
});

test('a small file answered from kept bytes carries STS over TLS only, on a port serving both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-sts-'));
  writeFileSync(join(dir, 'a.txt'), 'small file\n');
  const ctx = createContext({
    port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, options: Option.ALLOW_NON_SSL_ON_SSL_PORT | Option.STS,
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }],
  });
  try {
    await ctx.listening;
    const p = ctx.vhosts[0].port!;
    // Alternating within the same second: the bytes kept for one kind of connection must not serve the other.
    for (let i = 0; i < 3; i++) {
      const clear = (await raw(p, 'GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).data.toString();
      assert.match(clear, /^HTTP\/1\.1 200 OK/);
      assert.match(clear, /\r\n\r\nsmall file\n$/);
      assert.doesNotMatch(clear, /strict-transport-security/i);
      const sec = await tlsGet(p, { servername: 'localhost', ca: pki.ca.cert, path: '/a.txt' });
      assert.equal(sec.status, 200);
      assert.equal(sec.headers['strict-transport-security'], 'max-age=15768000 ; includeSubDomains');
    }
  } finally {
    await ctx.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ALLOW_NON_SSL_ON_SSL_PORT serves both on one port; REDIRECT_HTTP_TO_HTTPS sends clear text to https; STS header', async () => {
  const both = createContext({ port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, options: Option.ALLOW_NON_SSL_ON_SSL_PORT | Option.STS, protocols: [namedHttp('both')] });
  const redir = createContext({ port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, options: Option.REDIRECT_HTTP_TO_HTTPS, limits: { tlsAcceptTimeoutSecs: 1 }, protocols: [namedHttp('redir')] });
  try {
    await Promise.all([both.listening, redir.listening]);
    const bp = both.vhosts[0].port!;
    const clear = await raw(bp, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.match(clear.data.toString(), /^HTTP\/1\.1 200 OK/);
    // RFC 6797 7.2: never STS over clear text, even on the TLS port.
    assert.doesNotMatch(clear.data.toString(), /strict-transport-security/i);
    const bad = await raw(bp, 'GET / HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n');
    assert.match(bad.data.toString(), /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(bad.data.toString(), /strict-transport-security/i);
    const sec = await tlsGet(bp, { servername: 'localhost', ca: pki.ca.cert });
    assert.equal(sec.status, 200);
    assert.equal(sec.headers['strict-transport-security'], 'max-age=15768000 ; includeSubDomains');
    const rp = redir.vhosts[0].port!;
    const c = await run('curl', ['-sS', '-i', `http://localhost:${rp}/some/path?x=1`]);
    assert.match(c.stdout, /^HTTP\/1\.1 301/);
    assert.match(c.stdout, new RegExp(`location: https://localhost:${rp}/\\r\\n`, 'i'));
    const follow = await run('curl', ['-sS', '-L', '--cacert', pki.ca.certPath, `http://localhost:${rp}/`]);
    assert.equal(follow.code, 0, follow.stderr);
    assert.match(follow.stdout, /vhost redir/);
    // A clear-text client that connects and says nothing is dropped in time.
    const quiet = await new Promise<boolean>((resolve) => {
      const s = netConnect({ port: rp, host: '127.0.0.1' });
      const t = setTimeout(() => resolve(false), 5000);
      s.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.on('error', () => {});
    });
    assert.ok(quiet);
  } finally {
    await Promise.all([both.destroy(), redir.destroy()]);
  }
});
