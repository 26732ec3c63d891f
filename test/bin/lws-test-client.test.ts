/**
 * The lws-test-client bin against our own lws-test-server, a plain TCP
 * echo and node:http(s) servers: what a user sees on stdout and the exit
 * status of each mode and option.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createH2cServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnBin, portOf, within, waitFor, killChild, type Child } from '../helpers/plugin-ws-client.js';
import { parseTarget } from '../../src/bin/test-client/target.js';
import { randomCircle } from '../../src/bin/test-client/ws-mode.js';
import { PolyRand } from '../../src/bin/test-client/lfsr.js';
import { ECHO_BLOCK_SIZE } from '../../src/bin/test-client/echo-mode.js';
import { createContext, callbackHttpDummy, mirrorProtocol, dumbIncrementProtocol, Reason, type Protocol } from '../../src/index.js';
import { freePort } from '../helpers/lws-c-apps.js';
import { makePki } from '../helpers/pki.js';
import { crlOf } from '../helpers/client.js';
import { pkgPath, distSrc } from '../helpers/paths.js';


async function withOurServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1']);
  try {
    await fn(await portOf(server));
  } finally {
    killChild(server);
  }
}

async function run(child: Child, ms: number): Promise<number | null> {
  try {
    return (await within(child.exited, ms, 'lws-test-client to exit')).code;
  } finally {
    killChild(child);
  }
}

test('--h2 -O: the dumb-increment and mirror WebSockets ride HTTP/2 streams of one connection to our server (RFC 8441)', async () => {
  const seen: Array<[string, number | null]> = [];
  const onStreams = <T>(p: Protocol<T>): Protocol<T> => ({
    ...p,
    callback(...args) {
      const [wsi, reason] = args;
      if (reason === Reason.ESTABLISHED) seen.push([p.name, wsi.parent?.id ?? null]);
      return p.callback(...args);
    },
  });
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, onStreams(dumbIncrementProtocol), onStreams(mirrorProtocol)],
  });
  try {
    await ctx.listening;
    const c = spawnBin('lws-test-client', ['--h2', '-O', `ws://127.0.0.1:${ctx.vhosts[0].port}/`]);
    assert.equal(await run(c, 15000), 0, c.stderr());
    assert.match(c.stdout(), /mirror: 100 sent, 100 mirrored back/);
    const parents = new Map(seen);
    assert.deepEqual([...parents.keys()].sort(), ['dumb-increment-protocol', 'lws-mirror-protocol']);
    assert.notEqual(parents.get('lws-mirror-protocol'), null, 'established on an HTTP/2 stream');
    assert.equal(parents.get('dumb-increment-protocol'), parents.get('lws-mirror-protocol'), 'the two streams share one connection');
  } finally {
    await ctx.destroy();
  }
});

test('circles look like the C client\'s and URLs pick the mode', () => {
  for (let i = 0; i < 50; i++) assert.match(randomCircle(), /^c #[0-9A-F]{6} \d{1,3} \d{1,3} \d{1,2};$/);
  assert.deepEqual(parseTarget('localhost', undefined, false),
    { mode: 'ws', host: 'localhost', port: 7681, path: '/', hostHeader: 'localhost:7681', tls: false, allowSelfSigned: false });
  assert.equal(parseTarget('http://[::1]:80/x?y=1', undefined, false).path, '/x?y=1');
  assert.equal(parseTarget('raw://h:99', undefined, true).tls, true);
  assert.throws(() => parseTarget('raw://h', undefined, false), /port/);
  assert.throws(() => parseTarget('ftp://h', undefined, false), /scheme/);
});

test('-O against our test server: dumb numbers printed, 100 circles mirrored, exit 0', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', ['-O', `ws://127.0.0.1:${port}/`]);
    assert.equal(await run(c, 10000), 0, c.stderr());
    assert.match(c.stdout(), /mirror: 100 sent, 100 mirrored back/);
  });
});

test('it offers permessage-deflate as the C client does, and reads a compressed dumb-increment stream', async () => {
  const offers = new Map<string, { offer: string | undefined; active: boolean }>();
  // Each protocol as shipped, noting the offer and whether compression was agreed.
  const noting = <T>(p: Protocol<T>, extra: Partial<Protocol<T>> = {}): Protocol<T> => ({
    ...p,
    ...extra,
    callback(...args) {
      const [wsi, reason] = args;
      if (reason === Reason.ESTABLISHED) {
        offers.set(p.name, {
          offer: wsi.hdrCopy('sec-websocket-extensions'),
          active: wsi.setExtensionOption('permessage-deflate', 'compression_level', '1') === 0,
        });
      }
      return p.callback(...args);
    },
  });
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    // dumb-increment with an rx buffer big enough for lws's rule, so it takes compression; every message compressed.
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, noting(dumbIncrementProtocol, { rxBufferSize: 128 }), noting(mirrorProtocol)],
    ws: { perMessageDeflate: { threshold: 0 } },
  });
  try {
    await ctx.listening;
    const c = spawnBin('lws-test-client', [`ws://127.0.0.1:${ctx.vhosts[0].port}/`]);
    try {
      await waitFor(() => /^rx 3$/m.test(c.stdout()), 'four compressed numbers', 5000);
      c.proc.kill('SIGINT');
      assert.equal(await run(c, 3000), 0, c.stderr());
    } finally {
      killChild(c);
    }
    const want = 'permessage-deflate; client_no_context_takeover; client_max_window_bits';
    assert.deepEqual(offers.get('dumb-increment-protocol'), { offer: want, active: true });
    assert.deepEqual(offers.get('lws-mirror-protocol'), { offer: want, active: false }, 'the mirror protocol vetoes it');
    const nums = [...c.stdout().matchAll(/^rx (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(nums.slice(0, 4), [0, 1, 2, 3]);
  } finally {
    await ctx.destroy();
  }
});

test('without -O it prints consecutive numbers until SIGINT, then exits cleanly', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', [`ws://127.0.0.1:${port}/`]);
    try {
      await waitFor(() => /^rx 3$/m.test(c.stdout()), 'four numbers', 5000);
      const nums = [...c.stdout().matchAll(/^rx (\d+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(nums.slice(0, 4), [0, 1, 2, 3]);
      c.proc.kill('SIGINT');
      assert.equal(await run(c, 3000), 0);
      assert.match(c.stdout(), /exited cleanly/);
    } finally {
      killChild(c);
    }
  });
});

test('-j -O sends one circle and gets it back; -n -O stays connected sending nothing', async () => {
  await withOurServer(async (port) => {
    const j = spawnBin('lws-test-client', ['-j', '-O', `ws://127.0.0.1:${port}/`]);
    assert.equal(await run(j, 5000), 0, j.stderr());
    assert.match(j.stdout(), /mirror: 1 sent, 1 mirrored back/);
    assert.doesNotMatch(j.stdout(), /dumb-increment/);
    const n = spawnBin('lws-test-client', ['-n', '-O', '-p', String(port), '127.0.0.1']);
    assert.equal(await run(n, 5000), 0, n.stderr());
    assert.match(n.stdout(), /stayed connected, sent nothing/);
  });
});

test('http:// prints the body; a 404 exits 1', async () => {
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', [`http://127.0.0.1:${port}/test.html`]);
    assert.equal(await run(c, 5000), 0, c.stderr());
    assert.equal(c.stdout(), readFileSync(pkgPath('www', 'test.html'), 'utf8'));
    const missing = spawnBin('lws-test-client', [`http://127.0.0.1:${port}/nope.html`]);
    assert.equal(await run(missing, 5000), 1);
    assert.match(missing.stderr(), /HTTP status 404/);
  });
});

test('--h2 speaks HTTP/2 by prior knowledge to an h2c-only server; without it the same URL fails', async () => {
  const h2 = createH2cServer();
  h2.on('stream', (st, hd) => {
    st.respond({ ':status': 200 });
    st.end(`over h2 ${String(hd[':path'])}\n`);
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  const port = (h2.address() as { port: number }).port;
  try {
    const c = spawnBin('lws-test-client', ['--h2', `http://127.0.0.1:${port}/x`]);
    assert.equal(await run(c, 5000), 0, c.stderr());
    assert.equal(c.stdout(), 'over h2 /x\n');
    const plain = spawnBin('lws-test-client', [`http://127.0.0.1:${port}/x`]);
    assert.equal(await run(plain, 5000), 1);
    const raw = spawnBin('lws-test-client', ['--h2', `raw://127.0.0.1:${port}`]);
    assert.equal(await run(raw, 5000), 1);
    assert.match(raw.stderr(), /--h2 is for http\(s\):\/\/ and the ws\(s\):\/\/ mirror mode/);
  } finally {
    await new Promise<void>((r) => h2.close(() => r()));
  }
});

test('raw:// copies stdin to the socket and the socket to stdout', async () => {
  // Answers in upper case and hangs up once it has seen a full line.
  const server = createServer((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) s.end(got.toUpperCase());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const proc = spawn(process.execPath, [distSrc('bin', 'lws-test-client.js'), `raw://127.0.0.1:${port}`],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    proc.stdin.write('hello raw\n');
    assert.equal(await within(exited, 5000, 'the raw client to exit when the peer closes'), 0);
    assert.equal(out, 'HELLO RAW\n');
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    server.close();
  }
});

// ---- options beyond the basic modes ----

const pki = makePki();
after(() => pki.cleanup());

test('-o POSTs the form, --help lists the options, -v is ignored with a notice', async () => {
  let seen = { method: '', ctype: '', clen: '', body: '' };
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen = { method: req.method ?? '', ctype: req.headers['content-type'] ?? '', clen: req.headers['content-length'] ?? '', body };
      res.end('thanks');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const c = spawnBin('lws-test-client', ['-o', '-v', '13', `http://127.0.0.1:${port}/formtest`]);
    assert.equal(await run(c, 5000), 0, c.stderr());
    assert.deepEqual(seen, { method: 'POST', ctype: 'application/x-www-form-urlencoded', clen: '29', body: 'text=hello&send=Send+the+form' });
    assert.equal(c.stdout(), 'thanks');
    assert.match(c.stderr(), /-v 13 ignored/);
    const ws = spawnBin('lws-test-client', ['-o', `ws://127.0.0.1:${port}/`]);
    assert.equal(await run(ws, 5000), 1);
    assert.match(ws.stderr(), /-o needs an http/);
  } finally {
    server.close();
  }
  const h = spawnBin('lws-test-client', ['--help']);
  assert.equal(await run(h, 5000), 0);
  for (const o of ['--strict-ssl', '--multi-test', '--longlived', '--echo', '--post', '-C, --cert', '-K, --key', '-A, --ca', '-R, --crl'])
    assert.ok(h.stdout().includes(o), `help mentions ${o}`);
});

test('-m keeps 3 dumb-increment connections, asks WRITEABLE of all of them, and reconnects at most every 2 s', async () => {
  // -c: the server closes each dumb-increment connection after 50 numbers (2.5 s).
  const server = spawnBin('lws-test-server', ['-p', '0', '-i', '127.0.0.1', '-c']);
  try {
    const port = await portOf(server);
    const c = spawnBin('lws-test-client', ['-m', `ws://127.0.0.1:${port}/`]);
    try {
      const out = c.stdout;
      await waitFor(() => [0, 1, 2].every((n) => new RegExp(`^dumb ${n}: rx 3$`, 'm').test(out())), 'numbers on all three', 5000);
      await waitFor(() => /^callbackOnWritableAllProtocol: 3 connections$/m.test(out()), 'a WRITEABLE for all three', 3000);
      await waitFor(() => [0, 1, 2].every((n) => new RegExp(`^dumb ${n}: writeable$`, 'm').test(out())), 'WRITEABLE on each', 3000);
      assert.doesNotMatch(out(), /mirror/);
      // Closed by the server after 50 numbers, each is opened again.
      await waitFor(() => (out().match(/^dumb 0: connected$/gm) ?? []).length >= 2, 'dumb 0 to reconnect', 6000);
      assert.match(out(), /^dumb 0: closed$/m);
    } finally {
      c.proc.kill('SIGINT');
      await within(c.exited, 3000, 'lws-test-client -m to exit on SIGINT');
    }
  } finally {
    killChild(server);
  }
  // Nothing listening: each slot tries once, then once more 2 s later, not in a loop.
  const port = await freePort();
  const c = spawnBin('lws-test-client', ['-m', `ws://127.0.0.1:${port}/`]);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of [0, 1, 2]) {
      const tries = (c.stdout().match(new RegExp(`^dumb ${n}: connecting$`, 'gm')) ?? []).length;
      assert.ok(tries >= 1 && tries <= 2, `dumb ${n} tried ${tries} times in 3 s`);
    }
  } finally {
    killChild(c);
  }
});

test('-l makes the mirror lifetime 500000 longer', async () => {
  await withOurServer(async (port) => {
    const lifetime = async (extra: string[]): Promise<number> => {
      const c = spawnBin('lws-test-client', ['-n', ...extra, `ws://127.0.0.1:${port}/`]);
      try {
        await waitFor(() => /opened mirror connection with \d+ lifetime/.test(c.stdout()), 'the mirror lifetime', 5000);
        return Number(/opened mirror connection with (\d+) lifetime/.exec(c.stdout())?.[1]);
      } finally {
        killChild(c);
      }
    };
    const normal = await lifetime([]);
    const long = await lifetime(['-l']);
    assert.ok(normal >= 16384 && normal < 16384 + 65536, `normal ${normal}`);
    assert.ok(long >= 516384 && long < 516384 + 65536, `long-lived ${long}`);
  });
});

test('-e echoes 1024 blocks of 12288 bytes through a non-validating mirror, checked byte by byte', async () => {
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', ws: { validateUtf8: false },
    protocols: [{ name: 'http-only', callback: callbackHttpDummy }, mirrorProtocol],
  });
  try {
    await ctx.listening;
    const c = spawnBin('lws-test-client', ['-e', `ws://127.0.0.1:${ctx.vhosts[0].port}/`]);
    assert.equal(await run(c, 30000), 0, c.stderr());
    assert.match(c.stdout(), /^Everything received: errs 0$/m);
    assert.doesNotMatch(c.stdout(), /dumb-increment/);
  } finally {
    await ctx.destroy();
  }
  // Our test server checks text is UTF-8, so it closes the connection (1007): a failure, not a hang.
  await withOurServer(async (port) => {
    const c = spawnBin('lws-test-client', ['-e', `ws://127.0.0.1:${port}/`]);
    assert.equal(await run(c, 10000), 1);
    assert.match(c.stderr(), /echo connection closed after/);
  });
});

test('the -e byte stream: two LFSRs as lws, deterministic and not trivially repeating', () => {
  const a = new PolyRand().fill(ECHO_BLOCK_SIZE);
  const b = new PolyRand().fill(ECHO_BLOCK_SIZE);
  assert.ok(a.equals(b));
  assert.ok(new Set(a).size > 250, 'every byte value appears');
  assert.ok(!a.subarray(0, 4096).equals(a.subarray(4096, 8192)));
});

test('-S verifies fully (-A our CA), -s accepts any certificate, -C/-K present a client certificate, -R refuses a revoked server', async () => {
  const leaf = pki.issue('localhost');
  const me = pki.issue('tester', { client: true });
  const revoked = pki.issue('localhost');
  const crl = crlOf(pki, [revoked]);
  const serve = async (cert: typeof leaf, wantClient: boolean) => {
    const s = createHttpsServer({ cert: cert.cert, key: cert.key, ca: pki.ca.cert, requestCert: wantClient, rejectUnauthorized: wantClient }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(peer && peer.subject ? `hi ${peer.subject.CN}` : 'hi');
    });
    s.on('tlsClientError', () => {});
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { s, url: `https://localhost:${(s.address() as { port: number }).port}/` };
  };
  const open = await serve(leaf, false);
  const mutual = await serve(leaf, true);
  const bad = await serve(revoked, false);
  try {
    const go = async (args: string[]): Promise<Child & { code: number | null }> => {
      const c = spawnBin('lws-test-client', args);
      return Object.assign(c, { code: await run(c, 8000) });
    };
    const strict = await go(['-S', '-A', pki.ca.certPath, open.url]);
    assert.equal(strict.code, 0, strict.stderr());
    assert.equal(strict.stdout(), 'hi');
    const unknownCa = await go(['-S', open.url]);
    assert.equal(unknownCa.code, 1);
    assert.match(unknownCa.stderr(), /TLS handshake .*failed/);
    assert.equal((await go(['-s', open.url])).code, 0);
    const withCert = await go(['-S', '-A', pki.ca.certPath, '-C', me.certPath, '-K', me.keyPath, mutual.url]);
    assert.equal(withCert.code, 0, withCert.stderr());
    assert.equal(withCert.stdout(), 'hi tester');
    assert.equal((await go(['-S', '-A', pki.ca.certPath, mutual.url])).code, 1);
    const rev = await go(['-S', '-A', pki.ca.certPath, '-R', crl, bad.url]);
    assert.equal(rev.code, 1);
    assert.match(rev.stderr(), /revoked/i);
    assert.equal((await go(['-S', '-A', pki.ca.certPath, '-R', crl, open.url])).code, 0);
    const missing = await go(['-S', '-A', '/nonexistent/ca.pem', open.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr(), /cannot read -A file \/nonexistent\/ca\.pem/);
    assert.match((await go(['-s', '-S', open.url])).stderr(), /exclude each other/);
  } finally {
    for (const x of [open, mutual, bad]) { x.s.closeAllConnections(); x.s.close(); }
  }
});
