import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createContext, createContextAsync, loadPlugins, builtinPlugin, BUILTIN_PLUGINS, Option, setLogLevel, getLogLevel,
} from '../../src/index.js';
import { openWs, waitFor } from '../helpers/plugin-ws-client.js';
import { distSrcUrl } from '../helpers/paths.js';

const INDEX = distSrcUrl('index.js');

interface Journal { events: string[] }
const journal = (globalThis as unknown as { __pluginJournal?: Journal });

/** A plugin module written to disk: its protocol greets with its pvo `greeting`. */
function pluginSource(protoName: string): string {
  return `import { Reason, Write } from ${JSON.stringify(INDEX)};
const j = () => (globalThis.__pluginJournal ??= { events: [] });
const proto = {
  name: ${JSON.stringify(protoName)},
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.PROTOCOL_INIT: j().events.push('init ' + wsi.vhost.name + ' ' + JSON.stringify(input ?? null)); return 0;
      case Reason.PROTOCOL_DESTROY: j().events.push('destroy ' + wsi.vhost.name); return 0;
      case Reason.ESTABLISHED: wsi.callbackOnWritable(); return 0;
      case Reason.SERVER_WRITEABLE: wsi.write(Buffer.from(wsi.vhost.protocolOptions(wsi.protocol).greeting ?? 'none'), Write.TEXT); return 0;
    }
    return 0;
  },
};
export const plugin = {
  name: 'test_' + ${JSON.stringify(protoName)},
  protocols: [proto],
  init() { j().events.push('context-init'); },
  destroy() { j().events.push('context-destroy'); },
};
`;
}

function pluginDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-plugins-'));
  writeFileSync(join(dir, 'greeter.mjs'), pluginSource('greeter-protocol'));
  writeFileSync(join(dir, 'helper.js'), 'export const notAPlugin = 1;\n');
  writeFileSync(join(dir, 'greeter.mjs~'), 'this is an editor backup and not JavaScript');
  writeFileSync(join(dir, 'broken.mjs'), 'export const plugin = ;\n');
  return dir;
}

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const lv = getLogLevel();
  setLogLevel(0);
  try {
    return await fn();
  } finally {
    setLogLevel(lv);
  }
}

test('loadPlugins takes modules exporting a plugin, skips helpers, backups and broken modules', async () => {
  const dir = pluginDir();
  try {
    const plugins = await quietly(() => loadPlugins([dir, join(dir, 'does-not-exist')]));
    assert.deepEqual(plugins.map((p) => p.name), ['test_greeter-protocol']);
    assert.equal(plugins[0].protocols[0].name, 'greeter-protocol');
    await assert.rejects(loadPlugins(Array.from({ length: 11 }, () => dir)), /at most 10/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('createContext refuses pluginDirs and points at createContextAsync', () => {
  assert.throws(() => createContext({ pluginDirs: ['/tmp'] }), /createContextAsync/);
});

test('built-in plugins are found by plugin name or protocol name', () => {
  assert.equal(builtinPlugin('protocol_lws_mirror')?.protocols[0].name, 'lws-mirror-protocol');
  assert.equal(builtinPlugin('dumb-increment-protocol')?.name, 'protocol_dumb_increment');
  assert.equal(builtinPlugin('lws-echo')?.name, 'protocol_lws_echo');
  assert.equal(builtinPlugin('nope'), undefined);
});

test('plugin protocols join only the vhosts that name them, with their pvos; init and destroy per vhost and context', async () => {
  const dir = pluginDir();
  journal.__pluginJournal = { events: [] };
  const ctx = await quietly(() => createContextAsync({
    options: Option.EXPLICIT_VHOSTS, pluginDirs: [dir], plugins: BUILTIN_PLUGINS,
  }));
  try {
    const a = ctx.createVhost({ vhostName: 'a', port: 0, iface: '127.0.0.1',
      pvo: { 'greeter-protocol': { greeting: 'hello from a' } } });
    const b = ctx.createVhost({ vhostName: 'b', port: 0, iface: '127.0.0.1',
      pvo: { 'dumb-increment-protocol': {} } });
    const c = ctx.createVhost({ vhostName: 'c', port: 0, iface: '127.0.0.1' });
    await ctx.listening;
    assert.deepEqual(a.protocols.map((p) => p.name), ['http-only', 'greeter-protocol']);
    assert.deepEqual(b.protocols.map((p) => p.name), ['http-only', 'dumb-increment-protocol']);
    // No pvo at all: every plugin protocol, as lws's compatibility rule.
    assert.deepEqual(c.protocols.map((p) => p.name),
      ['http-only', ...BUILTIN_PLUGINS.flatMap((p) => p.protocols.map((x) => x.name)), 'greeter-protocol']);
    const ev = journal.__pluginJournal.events;
    assert.equal(ev[0], 'context-init');
    assert.ok(ev.includes('init a {"greeting":"hello from a"}'), ev.join('\n'));
    assert.ok(ev.includes('init c {}'), ev.join('\n'));
    assert.ok(!ev.some((e) => e.startsWith('init b')), 'b does not enable the greeter');

    const ws = await openWs(`ws://127.0.0.1:${a.port}/`, 'greeter-protocol');
    await waitFor(() => ws.messages.length > 0, 'the greeting');
    assert.equal(ws.texts()[0], 'hello from a');
    ws.ws.close();
    await assert.rejects(openWs(`ws://127.0.0.1:${b.port}/`, 'greeter-protocol'), /400/);
  } finally {
    await ctx.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const ev = journal.__pluginJournal.events;
  assert.ok(ev.includes('destroy a') && ev.includes('destroy c') && !ev.includes('destroy b'), ev.join('\n'));
  assert.equal(ev.at(-1), 'context-destroy');
  assert.equal(ev.filter((e) => e === 'context-init').length, 1);
});
