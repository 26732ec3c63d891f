import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { createContext, Option, Reason, type Context, type Vhost } from '../../src/index.js';
import { createEchoProtocol } from '../../src/plugins/echo.js';
import { makePki } from '../helpers/pki.js';
import { namedHttp, presentedCN, run, tlsGet, tlsOpen } from '../helpers/tls.js';
import { raw } from '../helpers/common.js';

const pki = makePki();
const leaf = pki.issue('localhost');
after(() => pki.cleanup());

const s = {
  a: pki.issue('a.test'),
  b: pki.issue('b.test', { dns: ['b.test', '*.b.test'] }),
  c: pki.issue('cats.b.test'),
};

async function threeVhosts(): Promise<{ ctx: Context; port: number }> {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  const first = ctx.createVhost({ vhostName: 'a.test', port: 0, sslCert: s.a.cert, sslPrivateKey: s.a.key, protocols: [namedHttp('a.test')] });
  await first.listening;
  const port = first.port!;
  ctx.createVhost({ vhostName: 'b.test', port, sslCertFilepath: s.b.certPath, sslPrivateKeyFilepath: s.b.keyPath, protocols: [namedHttp('b.test')] });
  ctx.createVhost({ vhostName: 'cats.b.test', port, sslCert: s.c.cert, sslPrivateKey: s.c.key, protocols: [namedHttp('cats.b.test')] });
  await ctx.listening;
  return { ctx, port };
}

test('SNI picks each vhost\'s certificate on a shared port (openssl s_client -servername)', async () => {
  const { ctx, port } = await threeVhosts();
  try {
    assert.equal(await presentedCN(port, 'a.test'), 'a.test');
    assert.equal(await presentedCN(port, 'b.test'), 'b.test');
    // Exact beats parent-domain: cats.b.test has its own vhost.
    assert.equal(await presentedCN(port, 'cats.b.test'), 'cats.b.test');
    // Parent-domain fallback: dogs.b.test → vhost b.test.
    assert.equal(await presentedCN(port, 'dogs.b.test'), 'b.test');
    // Not a subdomain (no dot before the name) and unknown names → the port's first vhost.
    assert.equal(await presentedCN(port, 'xb.test'), 'a.test');
    assert.equal(await presentedCN(port, 'unknown.example'), 'a.test');
    assert.equal(await presentedCN(port, null), 'a.test');
  } finally {
    await ctx.destroy();
  }
});

test('on TLS the SNI vhost serves the request whatever the Host header says; curl verifies each site', async () => {
  const { ctx, port } = await threeVhosts();
  try {
    const r = await tlsGet(port, { servername: 'a.test', ca: pki.ca.cert, hostHeader: 'b.test' });
    assert.equal(r.status, 200);
    assert.match(r.body, /vhost a\.test/);
    for (const [name, vh] of [['a.test', 'a.test'], ['b.test', 'b.test'], ['dogs.b.test', 'b.test'], ['cats.b.test', 'cats.b.test']]) {
      const c = await run('curl', ['-sS', '--cacert', pki.ca.certPath, '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}/`]);
      assert.equal(c.code, 0, `curl https://${name}: ${c.stderr}`);
      assert.match(c.stdout, new RegExp(`vhost ${vh.replace(/\./g, '\\.')}<`));
    }
  } finally {
    await ctx.destroy();
  }
});

test('HTTP/2 on TLS: an :authority naming another vhost of the port is answered 421 Misdirected Request; the connection serves on', async () => {
  const { ctx, port } = await threeVhosts();
  const get = (sess: ClientHttp2Session, authority: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const r = sess.request({ ':path': '/', ':authority': authority });
      let status = 0;
      const parts: Buffer[] = [];
      r.on('response', (h) => (status = Number(h[':status'])));
      r.on('data', (d: Buffer) => parts.push(d));
      r.on('end', () => resolve({ status, body: Buffer.concat(parts).toString() }));
      r.on('error', reject);
      r.end();
    });
  const a = h2connect(`https://127.0.0.1:${port}`, { servername: 'a.test', ca: pki.ca.cert });
  const dogs = h2connect(`https://127.0.0.1:${port}`, { servername: 'dogs.b.test', ca: pki.ca.cert, checkServerIdentity: () => undefined });
  try {
    assert.equal((await get(a, 'b.test')).status, 421);
    assert.equal((await get(a, `cats.b.test:${port}`)).status, 421);
    // The same connection goes on serving its own vhost, and names of no vhost.
    assert.match((await get(a, `a.test:${port}`)).body, /vhost a\.test/);
    assert.match((await get(a, 'unknown.example')).body, /vhost a\.test/);
    // SNI dogs.b.test chose b.test by parent domain: b.test and its subdomains are served, cats.b.test is not.
    assert.match((await get(dogs, 'b.test')).body, /vhost b\.test/);
    assert.match((await get(dogs, 'dogs.b.test')).body, /vhost b\.test/);
    assert.equal((await get(dogs, 'cats.b.test')).status, 421);
    assert.equal((await get(dogs, 'a.test')).status, 421);
  } finally {
    a.close();
    dogs.close();
    await ctx.destroy();
  }
});

test('clear-text vhosts on one port are picked by Host: exact, parent domain, :port stripped, else the first', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    const first = ctx.createVhost({ vhostName: 'first.test', port: 0, protocols: [namedHttp('first.test')] });
    await first.listening;
    const port = first.port!;
    for (const n of ['abc.com', 'cats.abc.com']) ctx.createVhost({ vhostName: n, port, protocols: [namedHttp(n)] });
    const cases: Array<[string, string]> = [
      ['abc.com', 'abc.com'],
      [`abc.com:${port}`, 'abc.com'],
      ['ABC.com', 'abc.com'],
      ['cats.abc.com', 'cats.abc.com'],
      ['dogs.abc.com', 'abc.com'],
      ['a.b.abc.com:1', 'abc.com'],
      ['xabc.com', 'first.test'],
      ['abc', 'first.test'],
      ['nothing.example', 'first.test'],
    ];
    for (const [host, want] of cases) {
      const r = await raw(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(r.data.toString(), new RegExp(`vhost ${want.replace(/\./g, '\\.')}<`), `Host: ${host}`);
    }
  } finally {
    await ctx.destroy();
  }
});

test('wss from ws and https from curl reach a TLS vhost; ECDSA certificate with Option.SSL_ECDH', async () => {
  const ec = pki.issue('localhost', { ec: true });
  const ctx = createContext({
    port: 0, sslCertFilepath: ec.certPath, sslPrivateKeyFilepath: ec.keyPath, options: Option.SSL_ECDH,
    protocols: [namedHttp('localhost'), createEchoProtocol('lws-echo')],
  });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port!;
    const c = await run('curl', ['-sS', '-v', '--cacert', pki.ca.certPath, `https://localhost:${port}/`]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /vhost localhost/);
    assert.match(c.stderr, /ECDHE-ECDSA|TLS_AES|TLS_CHACHA/);
    const r = await tlsGet(port, { servername: 'localhost', ca: pki.ca.cert, maxVersion: 'TLSv1.2' });
    assert.match(r.cipher, /^ECDHE-ECDSA-/);
    const ws = new WebSocket(`wss://localhost:${port}/`, 'lws-echo', { ca: pki.ca.cert });
    const got = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('over tls'));
      ws.on('message', (d) => resolve(String(d)));
      ws.on('error', reject);
      setTimeout(() => reject(new Error('no echo over wss')), 5000);
    });
    assert.equal(got, 'over tls');
    ws.close();
  } finally {
    await ctx.destroy();
  }
});

test('passphrase-protected keys load with the passphrase and fail clearly without it', async () => {
  const enc = pki.issue('localhost', { passphrase: 's3cret' });
  assert.throws(() => createContext({ port: 0, sslCertFilepath: enc.certPath, sslPrivateKeyFilepath: enc.keyPath }),
    /sslPrivateKeyPassword/);
  assert.throws(() => createContext({ port: 0, sslCertFilepath: enc.certPath, sslPrivateKeyFilepath: enc.keyPath, sslPrivateKeyPassword: 'wrong' }),
    /cannot set up TLS/);
  assert.throws(() => createContext({ port: 0, sslCertFilepath: join(pki.dir, 'missing.pem'), sslPrivateKeyFilepath: enc.keyPath }),
    /cannot read sslCertFilepath/);
  const ctx = createContext({ port: 0, sslCertFilepath: enc.certPath, sslPrivateKeyFilepath: enc.keyPath, sslPrivateKeyPassword: 's3cret', protocols: [namedHttp('enc')] });
  try {
    await ctx.listening;
    const r = await tlsGet(ctx.vhosts[0].port!, { servername: 'localhost', ca: pki.ca.cert });
    assert.equal(r.status, 200);
  } finally {
    await ctx.destroy();
  }
});

test('Option.CREATE_VHOST_SSL_CTX: user code supplies the certificate at OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS', async () => {
  const reasons: Reason[] = [];
  const ctx = createContext({
    port: 0, options: Option.CREATE_VHOST_SSL_CTX,
    protocols: [namedHttp('own', undefined, (reason, input) => {
      reasons.push(reason);
      if (reason === Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS) {
        const setup = input as { hasCertificate: boolean; setCertificate(p: Buffer): void; setPrivateKey(p: Buffer): void };
        assert.equal(setup.hasCertificate, false);
        setup.setCertificate(leaf.cert);
        setup.setPrivateKey(leaf.key);
        return 0;
      }
    })],
  });
  try {
    await ctx.listening;
    assert.ok(reasons.indexOf(Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS) < reasons.indexOf(Reason.PROTOCOL_INIT));
    const r = await tlsGet(ctx.vhosts[0].port!, { servername: 'localhost', ca: pki.ca.cert });
    assert.equal(r.status, 200);
    assert.equal(r.peerCN, 'localhost');
    // Without a certificate from anywhere the vhost cannot be made.
    assert.throws(() => ctx.createVhost({ vhostName: 'none', port: 0, options: Option.CREATE_VHOST_SSL_CTX }), /TLS needs a certificate/);
    // TLS options on a vhost without TLS are a mistake, said so.
    assert.throws(() => ctx.createVhost({ vhostName: 'plain', port: 0, options: Option.REDIRECT_HTTP_TO_HTTPS }), /no certificate/);
  } finally {
    await ctx.destroy();
  }
});

test('a TLS and a clear-text vhost cannot share a port', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    const v: Vhost = ctx.createVhost({ vhostName: 'tls', port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key });
    await v.listening;
    assert.throws(() => ctx.createVhost({ vhostName: 'plain', port: v.port }), /must all have TLS certificates or none/);
    assert.equal(ctx.vhosts.length, 1);
  } finally {
    await ctx.destroy();
  }
});

test('ALPN: h2 then http/1.1 by default (as lws), the vhost\'s own list when set, no overlap refused with an alert', async () => {
  const alt = pki.issue('alt.test');
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  try {
    const v = ctx.createVhost({ vhostName: 'localhost', port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, protocols: [namedHttp('localhost')] });
    await v.listening;
    ctx.createVhost({ vhostName: 'alt.test', port: v.port, sslCert: alt.cert, sslPrivateKey: alt.key, alpn: 'x-test, http/1.1', protocols: [namedHttp('alt')] });
    const a = await tlsOpen(v.port!, { servername: 'localhost', ca: pki.ca.cert, ALPNProtocols: ['x-test', 'http/1.1', 'h2'] });
    assert.equal(a.alpnProtocol, 'h2', 'our preference order: h2 first');
    a.destroy();
    const a1 = await tlsGet(v.port!, { servername: 'localhost', ca: pki.ca.cert, ALPNProtocols: ['x-test', 'http/1.1'] });
    assert.equal(a1.alpn, 'http/1.1');
    const b = await tlsGet(v.port!, { servername: 'alt.test', ca: pki.ca.cert, ALPNProtocols: ['http/1.1', 'x-test'] });
    assert.equal(b.alpn, 'x-test');
    await assert.rejects(tlsGet(v.port!, { servername: 'localhost', ca: pki.ca.cert, ALPNProtocols: ['x-nothing'] }), /no_application_protocol|ALPN|alert/i);
    // The refused handshake harmed nothing.
    assert.equal((await tlsGet(v.port!, { servername: 'localhost', ca: pki.ca.cert })).status, 200);
  } finally {
    await ctx.destroy();
  }
});

test('a certificate file with its chain is sent whole; ecdhCurve picks the key-exchange group', async () => {
  const chainPath = join(pki.dir, 'chain.pem');
  writeFileSync(chainPath, Buffer.concat([leaf.cert, pki.ca.cert]));
  const ctx = createContext({ port: 0, sslCertFilepath: chainPath, sslPrivateKeyFilepath: leaf.keyPath, ecdhCurve: 'secp384r1', protocols: [namedHttp('chain')] });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port!;
    const s = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-showcerts']);
    assert.equal((s.stdout.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length, 2, 'leaf and CA sent');
    assert.match(s.stdout, /Server Temp Key: ECDH, (secp384r1|P-384)/);
    const conn = await tlsOpen(port, { servername: 'localhost', ca: pki.ca.cert, maxVersion: 'TLSv1.2' });
    assert.equal((conn.getEphemeralKeyInfo() as { name?: string }).name, 'secp384r1');
    conn.destroy();
  } finally {
    await ctx.destroy();
  }
});
