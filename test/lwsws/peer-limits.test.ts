/**
 * lwsws's global `ip-limit-wsi` and `ip-limit-ah` reach the context: a peer
 * address past `ip-limit-wsi` connections has its new ones closed on
 * accept. The limits belong to the context, which a reload keeps: a reload
 * that changes them says they need a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { LwswsServer, type ConfigWarning } from '../../src/index.js';
import { confDir, writeConf, removeDir, freePort, vhostFile } from '../helpers/lwsws.js';
import { waitFor } from '../helpers/plugin-ws-client.js';
import { PKG_ROOT } from '../helpers/paths.js';

function open(port: number): Promise<{ s: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let closed = false;
    s.on('close', () => (closed = true));
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET') reject(e);
    });
    s.once('connect', () => resolve({ s, closed: () => closed }));
  });
}

test('global ip-limit-wsi and ip-limit-ah are applied to the context; a reload that changes them asks for a restart', async () => {
  const port = await freePort();
  const dir = confDir({
    conf: '{ "global": { "ip-limit-wsi": "2", "ip-limit-ah": "1" } }',
    'conf.d/v': vhostFile({ name: 'v', port, interface: '127.0.0.1' }),
  });
  const warnings: ConfigWarning[] = [];
  const server = await LwswsServer.start({ configDir: dir, dataDir: PKG_ROOT, onWarning: (w) => warnings.push(w) });
  const socks: Socket[] = [];
  try {
    assert.deepEqual([server.context.ipLimitWsi, server.context.ipLimitAh], [2, 1]);
    assert.equal(warnings.length, 0, JSON.stringify(warnings));
    const a = await open(port);
    const b = await open(port);
    socks.push(a.s, b.s);
    await waitFor(() => server.context.connectionCount === 2, 'two connections');
    const c = await open(port);
    socks.push(c.s);
    await waitFor(() => c.closed(), 'the third connection to be closed on accept', 1000);
    assert.equal(server.context.refusedPeerConnections, 1);
    assert.equal(a.closed(), false);

    writeConf(dir, { conf: '{ "global": { "ip-limit-wsi": "5" } }' });
    await server.reload();
    assert.deepEqual(warnings.map((w) => [w.key, w.message]), [
      ['ip-limit-wsi', 'changed from 2 to 5: restart lwsws to apply it'],
      ['ip-limit-ah', 'changed from 1 to 0: restart lwsws to apply it'],
    ]);
    assert.equal(server.context.ipLimitWsi, 2, 'the running limit stays');
  } finally {
    for (const s of socks) s.destroy();
    await server.stop();
    removeDir(dir);
  }
});
