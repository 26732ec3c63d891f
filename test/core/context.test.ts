import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createContext, Option, Mount, Reason, setLogLevel, getLogLevel, type Protocol } from '../../src/index.js';
import { start, raw, parseResponses } from '../helpers/common.js';

test('EXPLICIT_VHOSTS makes no vhost until createVhost is called', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS, port: 0 });
  try {
    assert.equal(ctx.vhosts.length, 0);
    const vh = ctx.createVhost({ vhostName: 'only', port: 0, iface: '127.0.0.1' });
    await vh.listening;
    assert.equal(ctx.getVhost('only'), vh);
    const r = await raw(vh.port as number, 'GET / HTTP/1.1\r\nHost: only\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].status, 404);
  } finally {
    await ctx.destroy();
  }
  assert.throws(() => ctx.createVhost({ port: 0 }), /destroyed/);
});

test('a port already in use rejects listening with the system error', async () => {
  const { ctx, port } = await start();
  const level = getLogLevel();
  setLogLevel(0);
  const other = createContext({ port, iface: '127.0.0.1' });
  try {
    await assert.rejects(other.listening, /EADDRINUSE/);
  } finally {
    setLogLevel(level);
    await other.destroy();
    await ctx.destroy();
  }
});

test('misconfiguration is refused with an error that says what is wrong', () => {
  assert.throws(() => createContext({ options: 1 << 30 }), /unknown option bits/);
  assert.throws(() => createContext({ port: 70000 }), /port must be 0\.\.65535/);
  assert.throws(() => createContext({ limits: { maxHeaderBytes: -1 } }), /non-negative/);
  assert.throws(() => createContext({ limits: { nonsense: 1 } as never }), /unknown limit "nonsense"/);
  assert.throws(() => createContext({ mounts: [{ mountpoint: 'x', origin: '/tmp', originProtocol: Mount.FILE }] }), /must start with "\/"/);
  assert.throws(() => createContext({ mounts: [{ mountpoint: '/cgi', origin: '/bin/true', originProtocol: Mount.CGI, cgiTimeout: -1 }] }), /cgiTimeout must be a positive number/);
  assert.throws(() => createContext({ protocols: [{ name: 'x' } as unknown as Protocol] }), /needs a name and a callback/);
  assert.throws(() => createContext({ headers: { 'bad name': 'v' } }), /invalid header/);
});

test('vhost headers and server string appear on every response', async () => {
  const { ctx, port } = await start({ serverString: 'tslws-test', headers: { 'X-Frame-Options': 'DENY' } });
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const res = parseResponses(r.data)[0];
    assert.equal(res.status, 404);
    assert.equal(res.headers['server'], 'tslws-test');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['connection'], 'close');
    assert.ok(!Number.isNaN(Date.parse(res.headers['date'])));
  } finally {
    await ctx.destroy();
  }
});

test('callbackOnWritableAllProtocol reaches every connection of the protocol on the vhost', async () => {
  const waiting = new Set<unknown>();
  const p: Protocol = {
    name: 'all',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.HTTP) {
        waiting.add(wsi);
        return 0;
      }
      if (reason === Reason.HTTP_WRITEABLE) return wsi.returnHttpStatus(200, 'woken');
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const reqs = [1, 2, 3].map(() => raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 }));
    for (let i = 0; i < 100 && waiting.size < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ctx.vhosts[0].callbackOnWritableAllProtocol(p), 3);
    const res = await Promise.all(reqs);
    for (const r of res) assert.equal(parseResponses(r.data)[0].body.toString(), '<html><body><h1>200</h1>woken</body></html>');
  } finally {
    await ctx.destroy();
  }
});
