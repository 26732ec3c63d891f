import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { createContext, Reason } from '../../src/index.js';
import { namedHttp, run } from '../helpers/tls.js';
import { distSrc } from '../helpers/paths.js';

/** `ss`'s line for the TCP connection between these two local ports, with its timer. */
async function ssLine(localPort: number, peerPort: number): Promise<string> {
  const r = await run('ss', ['-tnoH', 'state', 'established', `( sport = :${localPort} and dport = :${peerPort} )`]);
  if (r.code !== 0) throw new Error(`ss failed (the iproute2 package provides it): ${r.stderr}`);
  return r.stdout.trim();
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

test('kaTime turns TCP keepalive on for accepted and client sockets, with that idle time; off by default', async () => {
  const ka = createContext({ port: 0, kaTime: 7, kaProbes: 3, kaInterval: 2, protocols: [namedHttp('ka')] });
  const plain = createContext({ port: 0, protocols: [namedHttp('plain')] });
  try {
    await Promise.all([ka.listening, plain.listening]);
    const kp = ka.vhosts[0].port!;
    const s1 = await open(kp);
    const line = await ssLine(kp, s1.localPort!);
    const m = /timer:\(keepalive,([\d.]+)(m?s|sec|min)/.exec(line);
    assert.ok(m, `keepalive timer on the accepted socket: ${line}`);
    // ss prints the time left as e.g. `6.992ms` (seconds.millis) or `7sec`; the system default would be ~2 hours.
    assert.ok(m[3] !== 'min' && Number(m[1]) <= 7, `idle time at most 7 s: ${line}`);
    const pp = plain.vhosts[0].port!;
    const s2 = await open(pp);
    assert.doesNotMatch(await ssLine(pp, s2.localPort!), /keepalive/);
    s1.destroy();
    s2.destroy();
    // A client connection of the keepalive context gets it too.
    let established = false;
    const client = createContext({
      kaTime: 9,
      protocols: [{ name: 'c', callback(_w, reason, _user, _input) { if (reason === Reason.ESTABLISHED_CLIENT_HTTP) established = true; return 0; } }],
    });
    try {
      const wsi = client.clientConnect({ address: '127.0.0.1', port: pp, method: 'GET' });
      const until = Date.now() + 5000;
      while (!established && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(established);
      const local = wsi.socket!.localPort!;
      assert.match(await ssLine(local, pp), /timer:\(keepalive/);
    } finally {
      await client.destroy();
    }
    assert.throws(() => createContext({ kaTime: -1 }), /kaTime/);
    assert.throws(() => createContext({ kaTime: 5, kaProbes: 1.5 }), /kaProbes/);
  } finally {
    await Promise.all([ka.destroy(), plain.destroy()]);
  }
});

test('uid/gid: privileges are dropped once the listen sockets are bound (or the failure is reported)', async () => {
  const index = distSrc('index.js');
  const common = `import { createContext, Option } from ${JSON.stringify(index)};`;
  const implicit = `${common}
    const ctx = createContext({ port: 0, iface: '127.0.0.1', uid: 'nobody', gid: 'nogroup' });
    try {
      await ctx.listening;
      console.log('dropped', process.getuid(), process.getgid(), ctx.vhosts[0].port);
    } catch (e) {
      console.log('refused', e.message);
    }
    await ctx.destroy();
    // A failed switch closes the context: nothing goes on being served privileged.
    const bad = createContext({ port: 0, iface: '127.0.0.1', uid: 'no-such-user-here' });
    await bad.vhosts[0].listening;
    const port = bad.vhosts[0].port;
    try {
      await bad.listening;
      console.log('bad dropped');
    } catch (e) {
      const net = await import('node:net');
      await new Promise((r) => setTimeout(r, 50));
      const open = await new Promise((res) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); res(true); });
        s.once('error', () => res(false));
      });
      console.log('bad refused, still listening:', open);
    }
    await bad.destroy();
  `;
  // Explicit vhosts: nothing happens until finalizeStartup(), after the vhosts are made.
  const explicit = `${common}
    const ex = createContext({ options: Option.EXPLICIT_VHOSTS, uid: 'nobody', gid: 'nogroup' });
    await new Promise((r) => setTimeout(r, 50));
    console.log('before', process.getuid());
    const vh = ex.createVhost({ port: 0, iface: '127.0.0.1' });
    try {
      await ex.finalizeStartup();
      console.log('explicit', process.getuid(), vh.port);
    } catch (e) {
      console.log('refused', e.message);
    }
    await ex.destroy();
  `;
  const r = await run(process.execPath, ['--input-type=module', '-e', implicit]);
  const x = await run(process.execPath, ['--input-type=module', '-e', explicit]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(x.code, 0, x.stderr);
  assert.match(r.stdout, /^bad refused, still listening: false$/m, r.stdout + r.stderr);
  if (process.getuid?.() === 0) {
    const m = /^dropped (\d+) (\d+) (\d+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    assert.notEqual(Number(m[1]), 0, 'no longer root');
    assert.notEqual(Number(m[2]), 0, 'no longer group root');
    assert.ok(Number(m[3]) > 0, 'the port was bound before the drop');
    assert.match(x.stdout, /^before 0$/m, 'explicit vhosts: still root until finalizeStartup');
    const e = /^explicit (\d+) (\d+)$/m.exec(x.stdout);
    assert.ok(e, x.stdout + x.stderr);
    assert.notEqual(Number(e[1]), 0);
    assert.ok(Number(e[2]) > 0);
  } else {
    // Without root the switch cannot happen, and that must not pass quietly.
    assert.match(r.stdout, /^refused cannot drop privileges to uid nobody gid nogroup/m);
    assert.match(x.stdout, /^refused cannot drop privileges to uid nobody gid nogroup/m);
  }
});
