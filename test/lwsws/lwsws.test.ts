import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync, chmodSync, statSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWs, waitFor } from '../helpers/plugin-ws-client.js';
import { checkTestAppDeflate } from '../helpers/ws-peer.js';
import {
  confDir, removeDir, freePort, startLwsws, failLwsws, stopLwsws, vhostFile, httpGet, type Child,
} from '../helpers/lwsws.js';
import { resolveIds } from '../../src/lwsws/ids.js';
import { PKG_ROOT, distSrcUrl } from '../helpers/paths.js';


async function withLwsws(files: Record<string, string>, fn: (child: Child, dir: string) => Promise<void>, args: string[] = []): Promise<void> {
  const dir = confDir(files);
  const child = await startLwsws(['-c', dir, ...args]);
  try {
    await fn(child, dir);
  } finally {
    await stopLwsws(child);
    removeDir(dir);
  }
}

function site(): string {
  const d = mkdtempSync(join(tmpdir(), 'tslws-site-'));
  writeFileSync(join(d, 'index.html'), '<p>index</p>');
  writeFileSync(join(d, 'home.html'), '<p>home</p>');
  writeFileSync(join(d, 'data.weird'), 'weird');
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'sub', 'index.html'), 'sub index');
  return d;
}

test('the shipped config serves www/ with dumb-increment and mirror, permessage-deflate on', async () => {
  const port = await freePort();
  const conf = readFileSync(join(PKG_ROOT, 'lwsws/conf'), 'utf8');
  const vh = readFileSync(join(PKG_ROOT, 'lwsws/conf.d/test-server'), 'utf8').replace('"7681"', `"${port}"`);
  assert.notEqual(vh, readFileSync(join(PKG_ROOT, 'lwsws/conf.d/test-server'), 'utf8'), 'the shipped vhost listens on 7681');
  await withLwsws({ conf, 'conf.d/test-server': vh }, async () => {
    const r = await httpGet(port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, readFileSync(join(PKG_ROOT, 'www/test.html'), 'latin1'));
    assert.equal(r.headers.server, 'lwsws');
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
    const di = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await waitFor(() => di.messages.length >= 2, 'dumb-increment numbers');
    assert.deepEqual(di.texts().slice(0, 2), ['0', '1']);
    di.ws.close();
    const m1 = await openWs(`ws://127.0.0.1:${port}/`, 'lws-mirror-protocol');
    const m2 = await openWs(`ws://127.0.0.1:${port}/`, 'lws-mirror-protocol');
    m1.ws.send('c #000000 1 2 3;');
    await waitFor(() => m2.messages.length >= 1, 'the mirrored message');
    assert.equal(m2.texts()[0], 'c #000000 1 2 3;');
    m1.ws.close();
    m2.ws.close();
    // lwsws offers permessage-deflate on every vhost, as lws's does.
    await checkTestAppDeflate(port);
  });
});

test('global and vhost keys take effect: server-string, headers, sts, mounts, cache, mimetypes, redirect, reject-service-keywords, pvo', async () => {
  const port = await freePort();
  const www = site();
  const conf = `# a comment line
{
  "global": {
    "server-string": "first",   # overridden by conf.d
    "timeout-secs": 7,
    "reject-service-keywords": [{ "scumbot": "403 Go away, <it's \\"closed\\"> & gone" }]
  }
}`;
  const later = JSON.stringify({ global: { 'server-string': 'from-conf.d' } });
  const vh = `{ "vhosts": [{
    "name": "main", "port": ${port}, "interface": "127.0.0.1",
    "sts": "on",
    "headers": [{ "X-Test": "yes # not a comment" }, { "X-Other": "2" }],
    "mounts": [
      { "mountpoint": "/", "origin": "file://${www}", "default": "home.html",
        "cache-max-age": "30", "cache-reuse": "1", "cache-revalidate": "0", "cache-intermediaries": "1",
        "extra-mimetypes": { ".weird": "application/x-weird" } },
      { "mountpoint": "/ddir", "origin": "file://_lws_ddir_/www", "default": "test.html" },
      { "mountpoint": "/old", "origin": ">https://example.com/new/" },
      { "mountpoint": "/older", "origin": "^http://example.com/older/" }
    ],
    "ws-protocols": [{ "dumb-increment-protocol": { "closetest": "1" } }]
  }]}`;
  await withLwsws({ conf, 'conf.d/10-global': later, 'conf.d/20-vhost': vh }, async (child) => {
    const r = await httpGet(port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, '<p>home</p>', '"default" picks the file for the mountpoint');
    assert.equal(r.headers.server, 'from-conf.d', 'a later global scalar wins');
    assert.equal(r.headers['x-test'], 'yes # not a comment', '# inside strings is literal');
    assert.equal(r.headers['x-other'], '2');
    assert.equal(r.headers['strict-transport-security'], undefined, 'STS is for TLS responses only (RFC 6797 7.2)');
    assert.match(child.stderr(), /"sts": vhost "main": has no effect without TLS/);
    assert.equal(r.headers['cache-control'], 'public, max-age=30');
    const w = await httpGet(port, '/data.weird');
    assert.equal(w.headers['content-type'], 'application/x-weird');
    const d = await httpGet(port, '/ddir/');
    assert.equal(d.body, readFileSync(join(PKG_ROOT, 'www/test.html'), 'latin1'), '_lws_ddir_ is the package directory');
    const red = await httpGet(port, '/old');
    assert.equal(red.status, 301);
    assert.equal(red.headers.location, 'https://example.com/new/');
    const red2 = await httpGet(port, '/older');
    assert.equal(red2.status, 301, 'the README\'s ^ prefix works too');
    assert.equal(red2.headers.location, 'http://example.com/older/');
    const rej = await httpGet(port, '/', { 'user-agent': 'Mozilla scumbot/1.0' });
    assert.equal(rej.status, 403);
    assert.match(rej.body, /Go away, &#60;it&#39;s &#34;closed&#34;&#62; &#38; gone/, 'the text is HTML-escaped, \' too');
    // The pvo reaches the plugin: closetest closes after 50 numbers.
    const di = await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    await di.closed;
    assert.equal(di.messages.length, 50);
  });
  removeDir(www);
});

/** How long an idle keep-alive connection lasts after one answered request; -1 past 4 s. */
async function idleKeepaliveMs(port: number): Promise<number> {
  const { connect } = await import('node:net');
  const s = connect({ port, host: '127.0.0.1' });
  const t0 = Date.now();
  const closed = new Promise<number>((r) => s.on('close', () => r(Date.now() - t0)));
  s.on('data', () => {});
  s.on('error', () => {});
  s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 4000))]);
  s.destroy();
  return ms;
}

test('keepalive_timeout (and the README spelling keeplive-timeout) closes idle connections', async () => {
  const [port, port2] = [await freePort(), await freePort()];
  const www = site();
  const vh = vhostFile({ name: 'k', port, interface: '127.0.0.1', 'keeplive-timeout': '1',
    mounts: [{ mountpoint: '/', origin: `file://${www}` }] },
  { name: 'k2', port: port2, interface: '127.0.0.1', 'keepalive_timeout': '1',
    mounts: [{ mountpoint: '/', origin: `file://${www}` }] });
  await withLwsws({ conf: '{"global":{}}', 'conf.d/v': vh }, async (child) => {
    assert.match(child.stderr(), /keeplive-timeout.*misspelt/);
    assert.doesNotMatch(child.stderr(), /"keepalive_timeout":/, 'the right spelling is taken without a warning');
    const ms = await idleKeepaliveMs(port);
    assert.ok(ms > 500 && ms < 3000, `idle keep-alive closed after ~1 s, took ${ms}`);
    const ms2 = await idleKeepaliveMs(port2);
    assert.ok(ms2 > 500 && ms2 < 3000, `keepalive_timeout: idle keep-alive closed after ~1 s, took ${ms2}`);
  });
  removeDir(www);
});

test('conf.d is read in name order; backups and dotfiles are skipped; the first vhost on a port is the default', async () => {
  const port = await freePort();
  const a = site();
  const b = site();
  writeFileSync(join(a, 'index.html'), 'site a');
  writeFileSync(join(b, 'index.html'), 'site b');
  const v = (name: string, dir: string) => vhostFile({ name, port, interface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: `file://${dir}` }] });
  await withLwsws({
    conf: '{ "global": {} }',
    'conf.d/20-b': v('b.example', b),
    'conf.d/10-a': v('a.example', a),
    'conf.d/10-a~': 'not json at all',
    'conf.d/.hidden': 'not json either',
  }, async () => {
    assert.equal((await httpGet(port, '/', { host: 'b.example' })).body, 'site b');
    assert.equal((await httpGet(port, '/', { host: 'a.example' })).body, 'site a');
    assert.equal((await httpGet(port, '/', { host: 'other.example' })).body, 'site a', '10-a was read first');
  });
  removeDir(a);
  removeDir(b);
});

test('a vhost on a UNIX socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-unix-'));
  const www = site();
  const path = join(dir, 'sock');
  await withLwsws({ conf: '{"global":{}}', 'conf.d/u': vhostFile({ name: 'u', port: 1, 'unix-socket': '1', interface: path,
    mounts: [{ mountpoint: '/', origin: `file://${www}` }] }) }, async () => {
    assert.ok(existsSync(path));
    const r = await httpGet(0, '/', {}, 3000, path);
    assert.equal(r.body, '<p>index</p>');
  });
  removeDir(dir);
  removeDir(www);
});

test('http:// mounts proxy; keys this build lacks start with a warning that names file, line and key', async () => {
  const port = await freePort();
  const upstream = createHttpServer((req, res) => res.end(`upstream saw ${req.url}`));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = (upstream.address() as { port: number }).port;
  const www = site();
  const secret = site();
  writeFileSync(join(secret, 'index.html'), 'secret');
  await withLwsws({
    conf: '{"global":{}}',
    'conf.d/m': `{"vhosts": [{ "name": "m", "port": ${port}, "interface": "127.0.0.1",
  "mounts": [{ "mountpoint": "/", "origin": "file://${www}" },
    { "mountpoint": "/x", "origin": "http://127.0.0.1:${up}/app" },
    { "mountpoint": "/p", "origin": "file://${secret}", "basic-auth": "${join(secret, '..', 'logins')}", "auth-mask": "1" },
    { "mountpoint": "/q", "origin": "file://${www}", "interpret": { ".js": "x" } }],
  "noipv6": "1" }]}`,
  }, async (child, dir) => {
    const err = child.stderr();
    assert.doesNotMatch(err, /mount \/x/, 'the proxy mount is taken as it is');
    const proxied = await httpGet(port, '/x/hello?a=1');
    assert.equal(proxied.status, 200);
    assert.equal(proxied.body, 'upstream saw /app/hello?a=1');
    assert.match(err, new RegExp(`${join(dir, 'conf.d/m')}:6: "noipv6": not supported by tslws, ignored`));
    assert.match(err, new RegExp(`${join(dir, 'conf.d/m')}:4: "auth-mask": mount /p: access control is not supported .* left out`));
    assert.match(err, new RegExp(`${join(dir, 'conf.d/m')}:5: "interpret": mount /q: not supported by this build yet, ignored`));
    const p = await httpGet(port, '/p/index.html');
    assert.equal(p.status, 404, 'the protected origin is never served');
    assert.ok(!p.body.includes('secret'));
    assert.equal((await httpGet(port, '/')).status, 200);
  });
  removeDir(www);
  removeDir(secret);
  await new Promise<void>((r) => upstream.close(() => r()));
});

const BAD: Array<[string, string, RegExp]> = [
  ['a JSON syntax error', '{ "vhosts": [ { "name": "x",\n  "port": 1 ,, } ] }', /conf\.d\/bad:2: "port": expected/],
  ['a vhost without a port', '{ "vhosts": [\n  { "name": "x" } ] }', /conf\.d\/bad:2: "port": vhost "x": port required/],
  ['an unknown origin scheme', '{ "vhosts": [ { "name": "x", "port": 1,\n "mounts": [ { "mountpoint": "/",\n "origin": "gzip://x" } ] } ] }', /conf\.d\/bad:3: "origin": unknown origin scheme/],
  ['a mount without an origin', '{ "vhosts": [ { "name": "x", "port": 1,\n "mounts": [\n { "mountpoint": "/" } ] } ] }', /conf\.d\/bad:3: "origin": mount \/ without an origin/],
  ['a port that is not a number', '{ "vhosts": [ { "name": "x",\n "port": "eighty" } ] }', /conf\.d\/bad:2: "port": must be a whole number/],
  ['a boolean that is not one', '{ "vhosts": [ { "name": "x", "port": 1,\n "sts": "maybe" } ] }', /conf\.d\/bad:2: "sts": is not a boolean/],
  ['text after the object', '{ "global": {} }\n}', /conf\.d\/bad:2: text after/],
  ['a misspelt mount key', '{ "vhosts": [ { "name": "x", "port": 1,\n "mounts": [ { "mountpoint": "/", "origin": "file:///tmp",\n "defualt": "index.html" } ] } ] }',
    /conf\.d\/bad:3: "defualt": unknown mount key; did you mean "default"\?/],
  ['a FILE mount whose origin does not exist', '{ "vhosts": [ { "name": "x", "port": 1,\n "mounts": [ { "mountpoint": "/",\n "origin": "file:///nonexistent/www" } ] } ] }',
    /conf\.d\/bad:3: "origin": mount \/: origin \/nonexistent\/www does not exist/],
  ['a certificate file that does not exist', '{ "global": { "init-ssl": "1" },\n "vhosts": [ { "name": "x",\n "port": 1,\n "host-ssl-cert": "/nonexistent/c.pem",\n "host-ssl-key": "/nonexistent/k.pem" } ] }',
    /conf\.d\/bad:4: "host-ssl-cert": vhost "x": cannot read .*"\/nonexistent\/c\.pem": ENOENT/],
  ['an option a built-in protocol does not read', '{ "vhosts": [ { "name": "x", "port": 1,\n "ws-protocols": [ { "lws-server-status": {\n "update_ms": "500" } } ] } ] }',
    /conf\.d\/bad:3: "update_ms": protocol "lws-server-status" has no option "update_ms"; did you mean "update-ms"\?/],
];

for (const [what, text, re] of BAD) {
  test(`lwsws refuses to start on ${what}, naming file, line and key`, async () => {
    const dir = confDir({ conf: '{ "global": {} }', 'conf.d/bad': text });
    try {
      const r = await failLwsws(['-c', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, re);
      assert.ok(r.stderr.includes(join(dir, 'conf.d/bad')), r.stderr);
      assert.match(r.stderr, /not starting/);
    } finally {
      removeDir(dir);
    }
  });
}

test('lwsws refuses a config dir without conf, and one with no vhost', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'tslws-empty-'));
  const r1 = await failLwsws(['-c', empty]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, new RegExp(`${join(empty, 'conf')}:0: cannot read`));
  writeFileSync(join(empty, 'conf'), '{ "global": { "server-string": "x" } }');
  const r2 = await failLwsws(['-c', empty]);
  assert.match(r2.stderr, /"vhosts": need at least one vhost/);
  removeDir(empty);
});

test('-h prints usage and exits 1, as lwsws', async () => {
  const r = await failLwsws(['-h']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Usage: lwsws \[-c CONFIG_DIR\] \[-d LOGLEVEL\] \[-D\] \[-h\]/);
});

test('cgi:// mounts with cgi-env and cgi-timeout, callback:// mounts bound to a plugin protocol', async () => {
  const port = await freePort();
  const bin = mkdtempSync(join(tmpdir(), 'tslws-cgi-'));
  const script = join(bin, 'hello.sh');
  writeFileSync(script, '#!/bin/sh\nprintf "content-type: text/plain\\r\\n\\r\\nsetting=%s\\n" "$MY_SETTING"\n', { mode: 0o755 });
  await withLwsws({
    conf: '{"global":{}}',
    'conf.d/c': vhostFile({ name: 'c', port, interface: '127.0.0.1',
      mounts: [
        { mountpoint: '/cgi', origin: `cgi://${script}`, 'cgi-timeout': '10', 'cgi-env': [{ MY_SETTING: '42' }] },
        { mountpoint: '/formtest', origin: 'callback://protocol-post-demo' },
        { mountpoint: '/notenabled', origin: 'callback://lws-echo' },
      ],
      'ws-protocols': [{ 'protocol-post-demo': {} }] }),
  }, async (child, dir) => {
    assert.match(child.stderr(), new RegExp(`${join(dir, 'conf.d/c')}:\\d+: "origin": mount /notenabled: protocol "lws-echo" is not enabled`));
    const r = await httpGet(port, '/cgi');
    assert.equal(r.status, 200);
    assert.match(r.body, /setting=42/);
    const f = await httpGet(port, '/formtest');
    assert.equal(f.status, 405, 'the post-demo plugin answers its callback mount');
  });
  removeDir(bin);
});

test('global ws-pingpong-secs, timeout-secs and count-threads', async () => {
  const port = await freePort();
  await withLwsws({
    conf: '{ "global": { "ws-pingpong-secs": "1", "timeout-secs": "1", "count-threads": "2" } }',
    'conf.d/p': vhostFile({ name: 'p', port, interface: '127.0.0.1',
      mounts: [{ mountpoint: '/formtest', origin: 'callback://protocol-post-demo' }],
      'ws-protocols': [{ 'lws-mirror-protocol': {}, 'protocol-post-demo': {} }] }),
  }, async (child) => {
    // Two service processes serve it (test/smp/lwsws.test.ts shows them apart); the settings hold in each.
    assert.doesNotMatch(child.stderr(), /count-threads/);
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-mirror-protocol');
    let pinged = 0;
    c.ws.on('ping', () => pinged++);
    await waitFor(() => pinged > 0, 'a PING on an idle connection', 4000);
    c.ws.close();
    const { connect } = await import('node:net');
    const s = connect({ port, host: '127.0.0.1' });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => {});
    s.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    await waitFor(() => got.includes('408'), 'a 408 for the unfinished head', 4000);
    s.destroy();
    assert.ok(Date.now() - t0 < 3000);
    // The body timeout too: a body that stops coming ends the connection after ~1 s (the default is 20 s).
    const b = connect({ port, host: '127.0.0.1' });
    b.on('data', () => {});
    b.on('error', () => {});
    b.write('POST /formtest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
      'Content-Length: 100\r\n\r\ntext=');
    const t1 = Date.now();
    const ms = await Promise.race([new Promise<number>((r) => b.on('close', () => r(Date.now() - t1))),
      new Promise<number>((r) => setTimeout(() => r(-1), 4000))]);
    b.destroy();
    assert.ok(ms > 500 && ms < 3000, `the stalled body ended the connection after ~1 s, took ${ms}`);
  });
});

/** The name of the entry with id `id` in /etc/passwd or /etc/group. */
function nameOf(db: 'passwd' | 'group', id: number): string | undefined {
  return readFileSync(`/etc/${db}`, 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(id))?.[0];
}

test('username and groupname are looked up in the user and group databases', () => {
  const root = { user: nameOf('passwd', 0), group: nameOf('group', 0) };
  assert.ok(root.user && root.group, 'this system names uid 0 and gid 0');
  assert.deepEqual(resolveIds(root.user, root.group), { uid: 0, gid: 0 });
  assert.deepEqual(resolveIds(7, undefined), { uid: 7, gid: undefined }, 'numbers stay');
  assert.deepEqual(resolveIds('no-such-user-tslws', 'no-such-group-tslws'), { uid: 'no-such-user-tslws', gid: 'no-such-group-tslws' },
    'an unknown name stays a name, for the switch to report');
});

for (const by of ['ids', 'names'] as const) {
  test(`${by === 'ids' ? 'uid and gid' : 'username and groupname'}: the server drops to them after binding; the access log is theirs and reopens on SIGHUP`, async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root');
      return;
    }
    const user = nameOf('passwd', 65534);
    const group = nameOf('group', 65534);
    assert.ok(user && group, 'this system names uid and gid 65534');
    const global = by === 'ids' ? { uid: '65534', gid: '65534' } : { username: user, groupname: group };
    const port = await freePort();
    const www = site();
    chmodSync(www, 0o755);
    chmodSync(join(www, 'index.html'), 0o644);
    const logs = mkdtempSync(join(tmpdir(), 'tslws-logs-'));
    chmodSync(logs, 0o755);
    const log = join(logs, 'access.log');
    await withLwsws({
      conf: JSON.stringify({ global }),
      'conf.d/u': vhostFile({ name: 'u', port, interface: '127.0.0.1', 'access-log': log,
        mounts: [{ mountpoint: '/', origin: `file://${www}` }] }),
    }, async (child, dir) => {
      const status = readFileSync(`/proc/${child.proc.pid}/status`, 'latin1');
      assert.match(status, /^Uid:\s+65534\s/m);
      assert.match(status, /^Gid:\s+65534\s/m);
      assert.equal((await httpGet(port, '/')).status, 200);
      await waitFor(() => statSync(log).size > 0, 'a log line');
      assert.equal(statSync(log).uid, 65534, 'the access log is given to the user dropped to');
      assert.equal(statSync(log).gid, 65534, 'and to the group');
      // SIGHUP reopens the same file as the user the server now runs as: it can, the file is its own.
      chmodSync(dir, 0o755);
      const size = statSync(log).size;
      child.proc.kill('SIGHUP');
      await waitFor(() => child.stdout().includes('reloaded'), 'the reload', 5000);
      await httpGet(port, '/');
      await waitFor(() => statSync(log).size > size, 'a line in the reopened log');
      // A rotated log is made again by name, as that user.
      renameSync(log, log + '.1');
      chmodSync(logs, 0o777);
      child.proc.kill('SIGHUP');
      await waitFor(() => child.stdout().split('reloaded').length === 3, 'the second reload', 5000);
      await httpGet(port, '/');
      await waitFor(() => existsSync(log) && statSync(log).size > 0, 'a line in the new log');
      assert.equal(statSync(log).uid, 65534);
      assert.doesNotMatch(child.stderr(), /EACCES|cannot change its owner/);
    });
    removeDir(www);
    removeDir(logs);
  });
}

test('a "default" pvo takes upgrades naming no protocol; "interface" takes an interface name', async () => {
  const port = await freePort();
  await withLwsws({
    conf: '{ "global": {} }',
    'conf.d/d': vhostFile({ name: 'd', port, interface: 'lo',
      'ws-protocols': [{ 'dumb-increment-protocol': {}, 'lws-mirror-protocol': { default: '1' }, 'lws-echo': 'not an object' }] }),
  }, async (child) => {
    assert.match(child.stderr(), /"lws-echo": a protocol is enabled by an object value/);
    const c = await openWs(`ws://127.0.0.1:${port}/`);
    c.ws.send('via default');
    await waitFor(() => c.messages.length > 0, 'the mirrored message');
    assert.equal(c.texts()[0], 'via default');
    c.ws.close();
    await assert.rejects(openWs(`ws://127.0.0.1:${port}/`, 'lws-echo'), /400/);
  });
});

test('plugin-dir in any file adds plugins; their protocols join the vhosts naming them, with pvos; -d sets the log level', async () => {
  const port = await freePort();
  const pdir = mkdtempSync(join(tmpdir(), 'tslws-plugins-'));
  const index = JSON.stringify(distSrcUrl('index.js'));
  writeFileSync(join(pdir, 'hello.mjs'), `import { Reason, Write } from ${index};
export const plugin = { name: 'protocol_hello', protocols: [{
  name: 'hello-protocol',
  callback(wsi, reason) {
    if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
    if (reason === Reason.SERVER_WRITEABLE) wsi.write(Buffer.from('hello ' + wsi.vhost.protocolOptions(wsi.protocol).who), Write.TEXT);
    return 0;
  },
}] };
`);
  await withLwsws({
    conf: '{ "global": {} }',
    'conf.d/00-plugins': JSON.stringify({ global: { 'plugin-dir': pdir } }),
    'conf.d/v': vhostFile({ name: 'p', port, interface: '127.0.0.1', 'ws-protocols': [{ 'hello-protocol': { who: 'world' } }] }),
  }, async (child) => {
    assert.match(child.stderr(), /I: plugin .*hello\.mjs: protocol_hello \(hello-protocol\)/, '-d 15 shows info lines');
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'hello-protocol');
    await waitFor(() => c.messages.length > 0, 'the greeting');
    assert.equal(c.texts()[0], 'hello world');
    c.ws.close();
    await assert.rejects(openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol'), /400/, 'only the named protocols');
  }, ['-d', '15']);
  removeDir(pdir);
});

test('enable-client-ssl gives the vhost client TLS defaults from client-ssl-*', async () => {
  const { LwswsServer } = await import('../../src/lwsws/server.js');
  const { makePki } = await import('../helpers/pki.js');
  const pki = makePki();
  const port = await freePort();
  const dir = confDir({ conf: '{ "global": {} }', 'conf.d/c': vhostFile({ name: 'c', port, interface: '127.0.0.1',
    'enable-client-ssl': 'on', 'client-ssl-ca': pki.ca.certPath }, { name: 'n', port, interface: '127.0.0.1' }) });
  const server = await LwswsServer.start({ configDir: dir, dataDir: PKG_ROOT, onWarning: () => {} });
  try {
    const [c, n] = server.vhosts.map((v) => v.vhost);
    assert.deepEqual(c.clientSsl?.ca, pki.ca.cert);
    assert.equal(n.clientSsl, undefined);
  } finally {
    await server.stop();
    removeDir(dir);
    pki.cleanup();
  }
});

test('lwsws with no arguments serves the test site on :7681 from the shipped config', async (t) => {
  const { createServer } = await import('node:net');
  const free = await new Promise<boolean>((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(7681, () => s.close(() => res(true)));
  });
  if (!free || existsSync('/etc/lwsws/conf')) {
    t.skip('port 7681 is busy or /etc/lwsws/conf exists');
    return;
  }
  const child = await startLwsws([]);
  try {
    assert.match(child.stdout(), new RegExp(`serving \\(config ${join(PKG_ROOT, 'lwsws')}\\)`));
    const r = await httpGet(7681, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, readFileSync(join(PKG_ROOT, 'www/test.html'), 'latin1'));
    const di = await openWs('ws://127.0.0.1:7681/', 'dumb-increment-protocol');
    await waitFor(() => di.messages.length > 0, 'a number');
    di.ws.close();
    const st = await openWs('ws://127.0.0.1:7681/', 'lws-server-status');
    await waitFor(() => st.messages.length > 0, 'a status message');
    st.ws.close();
    const m = await httpGet(7681, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, /^tslws_ws_connections_total\{vhost="localhost",protocol="dumb-increment-protocol",side="server"\} 1$/m);
  } finally {
    await stopLwsws(child);
  }
});
