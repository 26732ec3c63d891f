import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createContext, Mount } from '../../src/index.js';
import { createEchoProtocol } from '../../src/plugins/echo.js';
import { run } from '../helpers/tls.js';

test('basicAuthLoginFile: 401 with a Basic challenge until listed credentials come; the file is read again when it changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-auth-'));
  const logins = join(dir, 'logins');
  writeFileSync(logins, '# users\nalice:wonder land\n\nbob:builder\n');
  writeFileSync(join(dir, 'index.html'), 'members only');
  writeFileSync(join(dir, 'open.html'), 'for everyone');
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{ name: 'http', callback: () => 0 }, createEchoProtocol('lws-echo')],
    mounts: [
      { mountpoint: '/', origin: dir, originProtocol: Mount.FILE, def: 'open.html' },
      { mountpoint: '/members', origin: dir, originProtocol: Mount.FILE, basicAuthLoginFile: logins },
    ],
  });
  try {
    await ctx.listening;
    const base = `http://127.0.0.1:${ctx.vhosts[0].port}`;
    const none = await run('curl', ['-sS', '-i', `${base}/members/`]);
    assert.match(none.stdout, /^HTTP\/1\.1 401/);
    assert.match(none.stdout, /www-authenticate: Basic realm="lwsws"/i);
    assert.doesNotMatch(none.stdout, /members only/);
    const wrong = await run('curl', ['-sS', '-i', '-u', 'alice:wonder', `${base}/members/`]);
    assert.match(wrong.stdout, /^HTTP\/1\.1 401/);
    const ok = await run('curl', ['-sS', '-u', 'alice:wonder land', `${base}/members/`]);
    assert.equal(ok.stdout, 'members only');
    assert.equal((await run('curl', ['-sS', `${base}/open.html`])).stdout, 'for everyone', 'other mounts stay open');
    // WebSocket upgrades under the mount need the login too.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/members/`, 'lws-echo');
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    assert.equal(refused, 401);
    const opened = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/members/`, 'lws-echo', { headers: { authorization: 'Basic ' + Buffer.from('bob:builder').toString('base64') } });
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(opened, 101);
    // Bob is removed: the change is seen on the next request.
    writeFileSync(logins, 'alice:wonder land\n');
    const bob = await run('curl', ['-sS', '-i', '-u', 'bob:builder', `${base}/members/`]);
    assert.match(bob.stdout, /^HTTP\/1\.1 401/);
    assert.throws(() => ctx.createVhost({ vhostName: 'x', mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE, basicAuthLoginFile: '' }] }), /basicAuthLoginFile/);
  } finally {
    await ctx.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
