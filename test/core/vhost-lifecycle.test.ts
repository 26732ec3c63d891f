import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createContext, Option, Reason, type Protocol } from '../../src/index.js';
import { listenerOf } from '../../src/roles/listen/listen-feature.js';
import { createEchoProtocol } from '../../src/plugins/echo.js';
import { makePki } from '../helpers/pki.js';
import { namedHttp, run } from '../helpers/tls.js';
import { raw } from '../helpers/common.js';

const body = async (port: number, host: string) =>
  (await raw(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).data.toString();

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1' });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('vhosts come and go while the context runs: WebSockets on a destroyed vhost get 1001, the port closes with its last vhost', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  const events: string[] = [];
  const life: Protocol = {
    name: 'life',
    callback(_wsi, reason, _user, _input) {
      if (reason === Reason.PROTOCOL_INIT) events.push('init');
      if (reason === Reason.PROTOCOL_DESTROY) events.push('destroy');
      return 0;
    },
  };
  try {
    const main = ctx.createVhost({ vhostName: 'main.test', port: 0, protocols: [namedHttp('main.test')] });
    await main.listening;
    const port = main.port!;
    const extra = ctx.createVhost({ vhostName: 'extra.test', port, protocols: [namedHttp('extra.test'), createEchoProtocol('lws-echo'), life] });
    assert.match(await body(port, 'extra.test'), /vhost extra\.test</);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'lws-echo', { headers: { host: 'extra.test' } });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, String(reason)])));
    await extra.destroy();
    assert.deepEqual(await closed, [1001, 'vhost going away']);
    assert.deepEqual(events, ['init', 'destroy']);
    // Its Host now falls back to the port's first vhost; the port stays open.
    assert.match(await body(port, 'extra.test'), /vhost main\.test</);
    assert.equal(ctx.getVhost('extra.test'), undefined);
    // A vhost made again on the same port joins the live listen socket.
    ctx.createVhost({ vhostName: 'extra.test', port, protocols: [namedHttp('extra again')] });
    assert.match(await body(port, 'extra.test'), /vhost extra again</);
    for (const v of [...ctx.vhosts]) await v.destroy();
    assert.ok(await refused(port), 'listen socket closed with the last vhost');
  } finally {
    await ctx.destroy();
  }
});

test('a vhost can listen on a UNIX domain socket (Option.UNIX_SOCK); a stale socket file is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-unix-'));
  const path = join(dir, 'lws.sock');
  try {
    // A socket file left behind by a process that died without cleaning up.
    const dead = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)})`], { stdio: 'ignore' });
    const until = Date.now() + 5000;
    while (!existsSync(path) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    dead.kill('SIGKILL');
    await new Promise((r) => dead.once('exit', r));
    assert.ok(lstatSync(path).isSocket(), 'stale socket file in place');
    const ctx = createContext({ iface: path, options: Option.UNIX_SOCK, protocols: [namedHttp('unix')] });
    try {
      await ctx.listening;
      const c = await run('curl', ['-sS', '--unix-socket', path, 'http://localhost/']);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /vhost unix</);
    } finally {
      await ctx.destroy();
    }
    // A regular file at the path is never removed: listening fails instead.
    writeFileSync(path, 'not a socket');
    const bad = createContext({ iface: path, options: Option.UNIX_SOCK });
    await assert.rejects(bad.listening, /EADDRINUSE/);
    await bad.destroy();
    assert.equal(readFileSync(path, 'utf8'), 'not a socket');
    assert.throws(() => createContext({ options: Option.UNIX_SOCK, port: 0 }), /UNIX_SOCK needs iface/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('iface takes an interface name; an unknown one is a clear error', async () => {
  const ctx = createContext({ port: 0, iface: 'lo', protocols: [namedHttp('lo')] });
  try {
    await ctx.listening;
    const addr = listenerOf(ctx.vhosts[0])!.server.address();
    assert.equal(typeof addr === 'object' && addr ? addr.address : '', '127.0.0.1');
    assert.match(await body(ctx.vhosts[0].port!, 'x'), /vhost lo</);
  } finally {
    await ctx.destroy();
  }
  assert.throws(() => createContext({ port: 0, iface: 'nosuchif0' }), /neither an IP address nor a network interface \(interfaces: .*lo/);
});

test('bindIface: client connections of the vhost leave from the interface address', async () => {
  const seen: string[] = [];
  const server = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [namedHttp('srv', undefined, (reason, input) => {
      if (reason === Reason.FILTER_NETWORK_CONNECTION) seen.push(String(input));
    })],
  });
  const events: Reason[] = [];
  const client = createContext({
    iface: '127.0.0.2', bindIface: true,
    protocols: [{
      name: 'c',
      callback(w, reason, _user, _input) {
        events.push(reason);
        if (reason === Reason.RECEIVE_CLIENT_HTTP) w.httpClientRead();
        return 0;
      },
    }],
  });
  try {
    await server.listening;
    client.clientConnect({ address: '127.0.0.1', port: server.vhosts[0].port!, method: 'GET', path: '/' });
    const deadline = Date.now() + 5000;
    while (!events.includes(Reason.COMPLETED_CLIENT_HTTP) && !events.includes(Reason.CLIENT_CONNECTION_ERROR) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(events.includes(Reason.ESTABLISHED_CLIENT_HTTP), `events: ${events.map((e) => Reason[e]).join(',')}`);
    assert.deepEqual(seen, ['127.0.0.2']);
  } finally {
    await Promise.all([server.destroy(), client.destroy()]);
  }
});

test('initClientSsl: the vhost\'s CA is used by its TLS client connections; OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS may add to it', async () => {
  const pki = makePki();
  const leaf = pki.issue('localhost');
  const server = createContext({ port: 0, sslCert: leaf.cert, sslPrivateKey: leaf.key, protocols: [namedHttp('tls server')] });
  const outcome = async (setup: (ctx: ReturnType<typeof createContext>) => void): Promise<string> => {
    let result = '';
    const ctx = createContext({
      protocols: [{
        name: 'c',
        callback(_w, reason, _u, input) {
          if (reason === Reason.OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS) (input as { ca?: Buffer }).ca = pki.ca.cert;
          if (reason === Reason.ESTABLISHED_CLIENT_HTTP) result ||= 'established';
          if (reason === Reason.CLIENT_CONNECTION_ERROR) result ||= `error: ${String(input)}`;
          return 0;
        },
      }],
    });
    try {
      setup(ctx);
      ctx.clientConnect({ address: 'localhost', port: server.vhosts[0].port!, method: 'GET', ssl: true });
      const deadline = Date.now() + 5000;
      while (!result && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return result;
    } finally {
      await ctx.destroy();
    }
  };
  try {
    await server.listening;
    assert.match(await outcome(() => {}), /^error: .*certificate/i, 'without the CA the server is not trusted');
    assert.equal(await outcome((ctx) => ctx.vhosts[0].initClientSsl()), 'established');
  } finally {
    await server.destroy();
    pki.cleanup();
  }
});

test('limits: tlsAcceptTimeoutSecs 0 and a clientKeepAliveSecs past what a timer holds are refused', async () => {
  assert.throws(() => createContext({ limits: { tlsAcceptTimeoutSecs: 0 } }), /tlsAcceptTimeoutSecs must be > 0/);
  assert.throws(() => createContext({ limits: { clientKeepAliveSecs: 30 * 86_400 } }), /clientKeepAliveSecs must be at most 2147483\.647/);
  // The largest a timer takes, and 0 (keep nothing), are fine.
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS, limits: { clientKeepAliveSecs: 2_147_483.647 } });
  try {
    assert.equal(ctx.limits.clientKeepAliveSecs, 2_147_483.647);
    assert.throws(() => ctx.createVhost({ vhostName: 'v', limits: { tlsAcceptTimeoutSecs: 0 } }), /tlsAcceptTimeoutSecs must be > 0/);
    assert.throws(() => ctx.createVhost({ vhostName: 'w', limits: { clientKeepAliveSecs: 2_147_484 } }), /clientKeepAliveSecs must be at most/);
    assert.equal(ctx.createVhost({ vhostName: 'x', limits: { clientKeepAliveSecs: 0, tlsAcceptTimeoutSecs: 0.5 } }).limits.clientKeepAliveSecs, 0);
  } finally {
    await ctx.destroy();
  }
});
