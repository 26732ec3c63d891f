/**
 * Client TLS options against node:https servers with certificates made at
 * test time: a client certificate (plain and passphrase-protected key), a
 * CRL, allowExpired and the name check that allowSelfSigned keeps.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Reason, type ClientSslOptions } from '../../src/index.js';
import { Recorder, clientContext, expiredLeaf, crlOf } from '../helpers/client.js';
import { makePki, type Issued } from '../helpers/pki.js';

const pki = makePki();
after(() => pki.cleanup());

interface Served {
  port: number;
  close(): Promise<void>;
}

/** An https server answering every request with the client certificate's CN (or "anonymous"). */
async function serve(leaf: Issued, requireClientCert = false): Promise<Served> {
  const server: Server = createServer({
    cert: leaf.cert, key: leaf.key, ca: pki.ca.cert, requestCert: requireClientCert, rejectUnauthorized: requireClientCert,
  }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.end(`hello ${peer && peer.subject ? peer.subject.CN : 'anonymous'}`);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

interface Outcome {
  status: number;
  body: string;
  error?: string;
}

/** One GET with `ssl`; resolves with what happened. */
async function get(port: number, ssl: ClientSslOptions, host = 'localhost'): Promise<Outcome> {
  const rec = new Recorder();
  const parts: Buffer[] = [];
  rec.on = (wsi, reason) => {
    if (reason === Reason.RECEIVE_CLIENT_HTTP) parts.push(wsi.httpClientRead());
  };
  const ctx = clientContext(rec);
  try {
    const wsi = ctx.clientConnect({ address: '127.0.0.1', port, host, method: 'GET', ssl });
    await rec.until(() => rec.has(Reason.CLOSED_CLIENT_HTTP) || rec.has(Reason.CLIENT_CONNECTION_ERROR), 'the GET to end', 8000);
    const err = rec.first(Reason.CLIENT_CONNECTION_ERROR);
    return { status: wsi.httpClientStatus(), body: Buffer.concat(parts).toString(), error: err ? String(err.input) : undefined };
  } finally {
    await ctx.destroy();
  }
}

test('strict TLS with our CA succeeds; the wrong name or no CA is refused', async () => {
  const s = await serve(pki.issue('localhost'));
  try {
    assert.deepEqual(await get(s.port, { ca: pki.ca.cert }), { status: 200, body: 'hello anonymous', error: undefined });
    const wrong = await get(s.port, { ca: pki.ca.cert }, 'other.example');
    assert.match(wrong.error ?? '', /TLS handshake .*failed: .*other\.example/);
    const noCa = await get(s.port, {});
    assert.match(noCa.error ?? '', /TLS handshake .*failed: .*(self-signed certificate in certificate chain|unable to verify|local issuer)/i);
  } finally {
    await s.close();
  }
});

test('a client certificate is sent when the server asks; without one the server refuses', async () => {
  const s = await serve(pki.issue('localhost'), true);
  const me = pki.issue('client one', { client: true });
  const locked = pki.issue('client two', { client: true, passphrase: 'sesame' });
  try {
    const ok = await get(s.port, { ca: pki.ca.cert, cert: me.cert, key: me.key });
    assert.deepEqual(ok, { status: 200, body: 'hello client one', error: undefined });
    const withPass = await get(s.port, { ca: pki.ca.cert, cert: locked.cert, key: locked.key, passphrase: 'sesame' });
    assert.equal(withPass.body, 'hello client two', withPass.error);
    const badPass = await get(s.port, { ca: pki.ca.cert, cert: locked.cert, key: locked.key, passphrase: 'wrong' });
    assert.equal(badPass.status, 0);
    assert.match(badPass.error ?? '', /failed: .*(decrypt|bad)/i);
    const none = await get(s.port, { ca: pki.ca.cert });
    assert.equal(none.status, 0);
    assert.ok(none.error, 'no certificate: a connection error');
  } finally {
    await s.close();
  }
  const rec = new Recorder();
  const ctx = clientContext(rec);
  try {
    assert.throws(() => ctx.clientConnect({ address: '127.0.0.1', port: 1, method: 'GET', ssl: { cert: me.cert } }),
      /ssl\.cert and ssl\.key go together/);
  } finally {
    await ctx.destroy();
  }
});

test('a CRL listing the server certificate refuses it; one that does not lets it through', async () => {
  const good = pki.issue('localhost');
  const revoked = pki.issue('localhost');
  const cleanCrl = readFileSync(crlOf(pki, []));
  const crl = readFileSync(crlOf(pki, [revoked]));
  const sGood = await serve(good);
  const sRevoked = await serve(revoked);
  try {
    assert.equal((await get(sRevoked.port, { ca: pki.ca.cert, crl: cleanCrl })).status, 200, 'not listed yet');
    assert.match((await get(sRevoked.port, { ca: pki.ca.cert, crl })).error ?? '', /failed: CERT_REVOKED|revoked/i);
    assert.equal((await get(sGood.port, { ca: pki.ca.cert, crl })).status, 200);
    // Without the CRL the revoked certificate is as good as any.
    assert.equal((await get(sRevoked.port, { ca: pki.ca.cert })).status, 200);
  } finally {
    await sGood.close();
    await sRevoked.close();
  }
});

test('allowExpired lets an expired certificate through, and nothing else', async () => {
  const expired = await serve(expiredLeaf(pki, 'localhost'));
  const selfSigned = await serve(pki.selfSigned('localhost'));
  try {
    assert.match((await get(expired.port, { ca: pki.ca.cert })).error ?? '', /failed: certificate has expired/);
    assert.deepEqual(await get(expired.port, { ca: pki.ca.cert, allowExpired: true }), { status: 200, body: 'hello anonymous', error: undefined });
    // The name is still checked.
    assert.match((await get(expired.port, { ca: pki.ca.cert, allowExpired: true }, 'other.example')).error ?? '', /other\.example/);
    assert.match((await get(selfSigned.port, { allowExpired: true })).error ?? '', /failed: DEPTH_ZERO_SELF_SIGNED_CERT/);
    // allowSelfSigned keeps the name check unless skipHostnameCheck says otherwise.
    assert.equal((await get(selfSigned.port, { allowSelfSigned: true })).status, 200);
    assert.match((await get(selfSigned.port, { allowSelfSigned: true }, 'other.example')).error ?? '', /other\.example/);
    assert.equal((await get(selfSigned.port, { allowSelfSigned: true, skipHostnameCheck: true }, 'other.example')).status, 200);
  } finally {
    await expired.close();
    await selfSigned.close();
  }
});
