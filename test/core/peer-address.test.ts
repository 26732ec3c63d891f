/**
 * An IPv4 peer reaching a server listening on IPv6 (`::`) arrives as
 * `::ffff:127.0.0.1`; tslws reports it as `127.0.0.1` everywhere a user
 * or a log tool sees it: wsi.peerAddress, FILTER_NETWORK_CONNECTION, the
 * access log and a CGI program's REMOTE_ADDR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createContext, AccessLog, attachAccessLog, Mount, Reason, callbackHttpDummy, type Protocol } from '../../src/index.js';
import { peerAddressOf } from '../../src/core/peer.js';

test('peerAddressOf: IPv4-mapped IPv6 becomes IPv4; everything else is kept', () => {
  assert.equal(peerAddressOf('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(peerAddressOf('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(peerAddressOf('0:0:0:0:0:ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(peerAddressOf('::1'), '::1');
  assert.equal(peerAddressOf('2001:db8::ffff:1.2.3.4'), '2001:db8::ffff:1.2.3.4');
  assert.equal(peerAddressOf('fe80::1'), 'fe80::1');
  assert.equal(peerAddressOf('192.0.2.7'), '192.0.2.7');
  assert.equal(peerAddressOf(undefined), '');
});

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

test('an IPv4 client of an IPv6 listener is 127.0.0.1 in callbacks, the access log and CGI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-peer-'));
  const script = join(dir, 'addr.sh');
  writeFileSync(script, '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s" "$REMOTE_ADDR"\n');
  chmodSync(script, 0o755);
  const seen: string[] = [];
  const http: Protocol = {
    name: 'http',
    callback(wsi, reason, user, input) {
      if (reason === Reason.FILTER_NETWORK_CONNECTION) seen.push(`filter ${String(input)} ${wsi.peerAddress}`);
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const ctx = createContext({
    port: 0, iface: '::', protocols: [http],
    mounts: [{ mountpoint: '/cgi', origin: script, originProtocol: Mount.CGI }],
  });
  const logPath = join(dir, 'access.log');
  const al = new AccessLog(logPath);
  try {
    await ctx.listening;
    await al.ready();
    attachAccessLog(ctx.vhosts[0], al);
    const port = ctx.vhosts[0].port!;
    assert.equal(await get(port, '/cgi'), '127.0.0.1');
    assert.deepEqual(seen, ['filter 127.0.0.1 127.0.0.1']);
    const end = Date.now() + 3000;
    while (!(existsSync(logPath) && readFileSync(logPath, 'utf8').includes('/cgi'))) {
      if (Date.now() > end) throw new Error('no access log line');
      await sleep(20);
    }
    assert.match(readFileSync(logPath, 'utf8'), /^127\.0\.0\.1 - - \[/);
  } finally {
    await ctx.destroy();
    await al.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
