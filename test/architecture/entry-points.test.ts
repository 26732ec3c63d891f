/**
 * The package's entry points: the main export keeps every name it has
 * always had, and `tslws/plugins`, `tslws/lwsws`, `tslws/fops`, `tslws/node` and `tslws/redis` give
 * the optional parts on their own (each but tslws/node loads every layer, so a context
 * made through any of them has every role).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import ts from 'typescript';
import { distSrc } from '../helpers/paths.js';

/** Every name (values and types) an entry point's declarations export. */
function exportedNames(dts: string): Set<string> {
  const program = ts.createProgram([dts], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, skipLibCheck: true, noEmit: true, types: ['node'],
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(dts);
  assert.ok(sf, `cannot read ${dts}`);
  const mod = checker.getSymbolAtLocation(sf);
  assert.ok(mod);
  return new Set(checker.getExportsOfModule(mod).map((s) => s.name));
}

/** What the main export offered before its entry points were split (values and types). */
const MAIN_BEFORE = [
  'AccessLog', 'AccessLogOptions', 'AccessRecord', 'BUILTIN_PLUGINS', 'BUILTIN_PLUGIN_DIR', 'CallbackInput',
  'ClientCertVerification', 'ClientConnectInfo', 'ClientHeaderAppender', 'ClientSslOptions', 'CloseStatus',
  'ConfigError', 'ConfigWarning', 'Context', 'ContextCreationInfo', 'DEFAULT_HTTP_LIMITS', 'DEFAULT_WS_OPTIONS',
  'DEFAULT_ZIP_LIMITS', 'EchoOptions', 'FileOps', 'FopFd', 'FopFlag', 'GlobalConfig', 'HttpLimits', 'HttpMount',
  'LoadPluginsOptions', 'LogEmitter', 'LogLevel', 'LwswsConfig', 'LwswsOptions', 'LwswsServer', 'Mount',
  'MountConfig', 'Option', 'POST_DEMO_PROTOCOL_NAME', 'PendingTimeout', 'PerMessageDeflateOptions', 'Plugin',
  'Protocol', 'ProtocolCallback', 'Pvo', 'PvoOptions', 'ReadConfigOptions', 'Reason', 'ReloadResult',
  'SERVER_STATUS_PROTOCOL_NAME', 'Spa', 'SpaError', 'SpaFilePart', 'SpaFileState', 'SpaOptions', 'SslInfo',
  'SslInfoEvent', 'SyslogOptions', 'TO_KILL_ASYNC', 'TO_KILL_SYNC', 'Token', 'Vhost', 'VhostConfig',
  'VhostCreationInfo', 'VhostTlsInfo', 'VhostTlsSetup', 'Write', 'WsOptions', 'Wsi', 'ZipArchive', 'ZipEntry',
  'ZipFormatError', 'ZipInput', 'ZipLimits', 'attachAccessLog', 'buildStatus', 'builtinPlugin', 'callbackHttpDummy',
  'clientConnect', 'createContext', 'createContextAsync', 'createEchoProtocol', 'createSpa', 'createSyslogEmitter',
  'dumbIncrementPlugin', 'dumbIncrementProtocol', 'echoPlugin', 'echoProtocol', 'emitStderr', 'emitSyslog',
  'formatAccessLine', 'getLogLevel', 'getMimetype', 'isPlugin', 'loadPlugins', 'log', 'mirrorPlugin',
  'mirrorProtocol', 'platformFops', 'postDemoPlugin', 'postDemoProtocol', 'pvoFlag', 'pvoNumber', 'readConfigDir',
  'serverStatusPlugin', 'serverStatusProtocol', 'setLogLevel', 'timestampedLine', 'tokenToName', 'vfsFileClose',
  'vfsFileOpen', 'vfsFileRead', 'vfsFileSeekCur', 'vfsFileSeekEnd', 'vfsFileSeekSet', 'vfsFileWrite', 'vfsGetLength',
  'vfsGetModTime', 'vfsTell', 'vhostAccessLog', 'writeZip',
];

test('the main export still has every name it had, and the new ones', () => {
  const names = exportedNames(distSrc('index.d.ts'));
  assert.deepEqual(MAIN_BEFORE.filter((n) => !names.has(n)), []);
  for (const n of ['ErrorCode', 'TslwsError', 'zipFileOps', 'FOP_READ_AGAIN', 'ReasonInput', 'CallbackArgs', 'createWebSocketServer', 'connect', 'MessageSocket',
    'httpHandler', 'HttpHandler', 'HttpHandlerOptions', 'HttpHandlerRequest', 'HttpHandlerResponse', 'RequestBodyError']) assert.ok(names.has(n), n);
});

test('the sub-path entry points resolve by the package name and give their part', async () => {
  const fops = await import('tslws/fops');
  assert.equal(typeof fops.zipFileOps, 'function');
  assert.equal(typeof fops.platformFops.open, 'function');
  const plugins = await import('tslws/plugins');
  assert.equal(plugins.dumbIncrementProtocol.name, 'dumb-increment-protocol');
  assert.ok(plugins.BUILTIN_PLUGINS.length >= 5);
  const lwsws = await import('tslws/lwsws');
  assert.equal(typeof lwsws.LwswsServer.start, 'function');
  const node = await import('tslws/node');
  assert.equal(typeof node.createWebSocketServer, 'function');
  assert.equal(typeof node.connect, 'function');
  assert.equal(typeof node.httpHandler, 'function');
  const redis = await import('tslws/redis');
  assert.equal(typeof redis.createRedisTopicBus, 'function');
  const main = await import('tslws');
  assert.equal(main.zipFileOps, fops.zipFileOps, 'the same module behind both');
  assert.equal(main.createRedisTopicBus, redis.createRedisTopicBus);
  assert.equal(main.MessageSocket, node.MessageSocket);
  assert.equal(main.httpHandler, node.httpHandler);
  assert.equal(main.LwswsServer, lwsws.LwswsServer);
});

test('every entry point can be required too (require(esm): no top-level await anywhere in its modules)', async () => {
  const require = createRequire(import.meta.url);
  for (const spec of ['tslws', 'tslws/plugins', 'tslws/lwsws', 'tslws/fops', 'tslws/node', 'tslws/redis']) {
    const required = require(spec) as Record<string, unknown>;
    const imported = await import(spec) as Record<string, unknown>;
    assert.deepEqual(Object.keys(required).sort(), Object.keys(imported).sort(), spec);
    for (const k of Object.keys(imported)) assert.equal(required[k], imported[k], `${spec}: ${k} is the same binding`);
  }
});

test('every name of a sub-path entry point is also in the main export', () => {
  const main = exportedNames(distSrc('index.d.ts'));
  for (const sub of ['plugins', 'lwsws', 'fops', 'node', 'redis']) {
    const names = exportedNames(distSrc(sub, 'index.d.ts'));
    assert.ok(names.size > 3, sub);
    assert.deepEqual([...names].filter((n) => !main.has(n)), [], `tslws/${sub} names missing from the main export`);
  }
});
