import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readConfigDir, ConfigError, type ConfigWarning } from '../../src/index.js';
import { parseConfigText } from '../../src/lwsws/jsonc.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { confDir, removeDir, failLwsws } from '../helpers/lwsws.js';

function read(files: Record<string, string>, warnings: ConfigWarning[] = []) {
  const dir = confDir(files);
  try {
    return { cfg: readConfigDir(dir, { dataDir: '/DATA' }, warnings), dir };
  } finally {
    removeDir(dir);
  }
}

function fails(files: Record<string, string>): ConfigError {
  try {
    read(files);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  throw new Error('expected a ConfigError');
}

test('the lejp dialect: # comments outside strings, CRLF lines, escapes, bare numbers and JSON booleans', () => {
  const root = parseConfigText('# top\r\n{ "a": "x # y", # trailing\r\n "b": 12, "c": true, "d": "\\u0041\\n" }', 'f');
  assert.equal(root.kind, 'object');
  if (root.kind !== 'object') return;
  assert.deepEqual(root.entries.map((e) => [e.key, e.line, e.value.kind === 'scalar' ? e.value.value : null]),
    [['a', 2], ['b', 3], ['c', 3], ['d', 3]].map(([k, l], i) => [k, l, ['x # y', 12, true, 'A\n'][i]]));
  assert.throws(() => parseConfigText('{ "a": ' + '['.repeat(20) + ']'.repeat(20) + ' }', 'f'), /nested deeper than 12/);
  assert.throws(() => parseConfigText(`{ "a": "${'x'.repeat(5000)}" }`, 'f'), /longer than 4096/);
  assert.throws(() => parseConfigText('[1]', 'f'), /one JSON object/);
  assert.throws(() => parseConfigText('{ "a": "x\n" }', 'f'), /f:1: .*newline inside a string/);
});

test('globals: last writer wins for scalars; plugin-dir and reject-service-keywords accumulate', () => {
  const { cfg } = read({
    conf: '{ "global": { "server-string": "a", "plugin-dir": "/p1", "reject-service-keywords": [{ "bot1": "404 Not Found" }] } }',
    'conf.d/1': '{ "global": { "server-string": "b", "plugin-dir": "/p2", "reject-service-keywords": [{ "bot2": "403 No" }] }, "vhosts": [{ "port": 1 }] }',
  });
  assert.equal(cfg.global.serverString, 'b');
  assert.deepEqual(cfg.global.pluginDirs, ['/p1', '/p2']);
  assert.deepEqual(cfg.global.rejectServiceKeywords.map((r) => [r.substring, r.status, r.text]).sort(),
    [['bot1', 404, 'Not Found'], ['bot2', 403, 'No']]);
});

test('vhosts: defaults reset per vhost, _lws_ddir_ replaced once in vhost values, a second callback:// origin binds a protocol', () => {
  const w: ConfigWarning[] = [];
  const { cfg } = read({
    conf: '{ "global": { "server-string": "_lws_ddir_" } }',
    'conf.d/v': JSON.stringify({ vhosts: [
      { name: 'a', port: 1, sts: 'on', headers: [{ 'X-A:': '1' }],
        mounts: [{ mountpoint: '/', origin: 'file://_lws_ddir_/x/_lws_ddir_', origin2: 'ignored' }] },
      { name: 'b', port: '2' },
    ] }).replace('"origin2":"ignored"', '"origin":"callback://proto"'),
  }, w);
  assert.equal(cfg.global.serverString, '_lws_ddir_', 'not replaced in global values');
  const [a, b] = cfg.vhosts;
  assert.equal(a.mounts[0].target, '/DATA/x/_lws_ddir_');
  assert.equal(a.mounts[0].boundProtocol, 'proto');
  assert.deepEqual(a.headers, { 'X-A': '1' });
  assert.deepEqual([b.sts, b.headers, b.mounts, b.port, b.keepaliveTimeout], [false, {}, [], 2, undefined]);
  assert.equal(w.length, 0, JSON.stringify(w));
});

test('config errors carry file, line and key', () => {
  const e1 = fails({ conf: '{}', 'conf.d/x': '{ "vhosts": [ {\n "port": 1,\n "mounts": [ { "origin": "file:///tmp" } ] } ] }' });
  assert.deepEqual([e1.file.endsWith(join('conf.d', 'x')), e1.line, e1.key], [true, 3, 'mountpoint']);
  const e2 = fails({ conf: '{ "global": {\n "uid": "root" } }' });
  assert.deepEqual([e2.line, e2.key], [2, 'uid']);
  const e3 = fails({ conf: '{ "vhosts": [ { "port": 1,\n "name": "x",\n "mounts": [ { "mountpoint": "/", "origin": "file://a", "origin": "file://b" } ] } ] }' });
  assert.deepEqual([e3.line, e3.key], [3, 'origin']);
  assert.match(e3.message, /only a callback:\/\/ origin may follow/);
  const e4 = fails({ conf: '{ "vhosts": [ { "port": 1, "unix-socket": "1" } ] }' });
  assert.equal(e4.key, 'interface');
});

test('unknown keys are refused at their own line with the nearest known key; keys lwsws has and tslws lacks are warned about', () => {
  const cases: Array<[string, number, string, RegExp]> = [
    ['{\n "vhost": [] }', 2, 'vhost', /unknown top-level key; did you mean "vhosts"\?/],
    ['{ "global": {\n "server-string": "x",\n "init_ssl": "1" } }', 3, 'init_ssl', /unknown global key; did you mean "init-ssl"\?/],
    ['{ "vhosts": [ {\n "port": 1,\n "mount": [] } ] }', 3, 'mount', /unknown vhost key; did you mean "mounts"\?/],
    ['{ "vhosts": [ { "port": 1, "mounts": [ {\n "mountpoint": "/",\n "origin": "file:///tmp",\n "defualt": "a.html" } ] } ] }', 4,
      'defualt', /unknown mount key; did you mean "default"\?/],
    ['{ "vhosts": [ { "port": 1,\n "something-else-entirely": "1" } ] }', 2, 'something-else-entirely', /unknown vhost key$/],
  ];
  for (const [text, line, key, re] of cases) {
    const e = fails({ conf: text });
    assert.deepEqual([e.line, e.key], [line, key], e.message);
    assert.match(e.message, re);
    assert.ok(e.file.endsWith('conf'), e.file);
  }
  const w: ConfigWarning[] = [];
  read({ conf: '{ "global": {\n "rlimit-nofile": "1000" },\n "vhosts": [ { "port": 1,\n "noipv6": "1",\n "mounts": [ { "mountpoint": "/", "origin": "file:///tmp",\n "cache-no": "1" } ] } ] }' }, w);
  assert.deepEqual(w.map((x) => [x.line, x.key, x.message]), [
    [2, 'rlimit-nofile', 'not supported by tslws, ignored'],
    [4, 'noipv6', 'not supported by tslws, ignored'],
    [6, 'cache-no', 'not supported by tslws, ignored'],
  ]);
});

test('ip-limit-wsi and ip-limit-ah: whole numbers from 0, the last file wins; bad values and misspellings refused at their line', () => {
  const w: ConfigWarning[] = [];
  const { cfg } = read({
    conf: '{ "global": { "ip-limit-wsi": "10", "ip-limit-ah": 2 } }',
    'conf.d/g': '{ "global": { "ip-limit-wsi": 24 }, "vhosts": [ { "port": 1 } ] }',
  }, w);
  assert.deepEqual([cfg.global.ipLimitWsi, cfg.global.ipLimitAh], [24, 2]);
  assert.equal(w.length, 0, JSON.stringify(w));
  const none = read({ conf: '{ "vhosts": [ { "port": 1 } ] }' }).cfg.global;
  assert.deepEqual([none.ipLimitWsi, none.ipLimitAh], [undefined, undefined], 'off unless set');
  const e1 = fails({ conf: '{ "global": {\n "ip-limit-wsi": "-1" } }' });
  assert.deepEqual([e1.line, e1.key], [2, 'ip-limit-wsi']);
  assert.match(e1.message, /must be between 0 and/);
  const e2 = fails({ conf: '{ "global": {\n\n "ip-limit-ah": "many" } }' });
  assert.deepEqual([e2.line, e2.key], [3, 'ip-limit-ah']);
  assert.match(e2.message, /must be a whole number/);
  const e3 = fails({ conf: '{ "global": {\n "ip-limit-wis": "3" } }' });
  assert.deepEqual([e3.line, e3.key], [2, 'ip-limit-wis']);
  assert.match(e3.message, /unknown global key; did you mean "ip-limit-wsi"\?/);
});

test('alpn and default-alpn: comma-separated lists, the last default-alpn wins, no inheritance between vhosts; bad lists refused', () => {
  const w: ConfigWarning[] = [];
  const { cfg } = read({
    conf: '{ "global": { "default-alpn": "h2" } }',
    'conf.d/g': '{ "global": { "default-alpn": "http/1.1, h2" }, "vhosts": [ { "port": 1, "alpn": "h2,http/1.1" }, { "port": 2 } ] }',
  }, w);
  assert.deepEqual(cfg.global.defaultAlpn, ['http/1.1', 'h2']);
  assert.deepEqual(cfg.vhosts.map((v) => v.alpn), [['h2', 'http/1.1'], undefined]);
  assert.equal(w.length, 0, JSON.stringify(w));
  const e1 = fails({ conf: '{ "vhosts": [ { "port": 1,\n "alpn": " , " } ] }' });
  assert.deepEqual([e1.line, e1.key], [2, 'alpn']);
  assert.match(e1.message, /lists no protocol/);
  const e2 = fails({ conf: '{ "global": {\n "default-alpn": "h2,http 1.1" } }' });
  assert.deepEqual([e2.line, e2.key], [2, 'default-alpn']);
  assert.match(e2.message, /bad ALPN protocol name "http 1.1"/);
});

test('limits: a config file over 1 MiB and more than 256 files in conf.d are refused', () => {
  const big = fails({ conf: `{}${' '.repeat(1024 * 1024)}` });
  assert.match(big.message, /larger than 1048576 bytes/);
  const exact = read({ conf: `{ "vhosts": [ { "port": 1 } ] }`.padEnd(1024 * 1024, ' ') });
  assert.equal(exact.cfg.vhosts.length, 1, 'exactly 1 MiB is read');
  const many: Record<string, string> = { conf: '{ "vhosts": [ { "port": 1 } ] }' };
  for (let i = 0; i < 256; i++) many[`conf.d/f${String(i).padStart(3, '0')}`] = '{}';
  assert.equal(read(many).cfg.vhosts.length, 1, '256 files are read');
  many['conf.d/g'] = '{}';
  assert.match(fails(many).message, /more than 256 files/);
  const dir = confDir({ conf: '{ "vhosts": [ { "port": 1 } ] }', 'conf.d/x': '{}'.padEnd(101, ' ') });
  try {
    assert.throws(() => readConfigDir(dir, { dataDir: '/D', maxFileBytes: 100 }), /conf\.d\/x.*larger than 100 bytes/);
    assert.throws(() => readConfigDir(dir, { dataDir: '/D', maxFiles: 0 }), /more than 0 files/);
  } finally {
    removeDir(dir);
  }
});

test('a FIFO (or anything not a regular file) in conf.d is refused without blocking', async () => {
  const dir = confDir({ conf: '{ "vhosts": [ { "port": 1 } ] }' });
  try {
    mkdirSync(join(dir, 'conf.d'));
    execFileSync('mkfifo', [join(dir, 'conf.d', 'pipe')]);
    // In a child: a read that blocked would hang the test process itself.
    const r = await failLwsws(['-c', dir], 5000);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /conf\.d\/pipe.*not a regular file/);
  } finally {
    removeDir(dir);
  }
});
