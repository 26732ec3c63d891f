/**
 * Every error tslws throws to its users has a stable `code` (see
 * src/core/errors.ts). The source scan keeps it so: a plain
 * `new Error(` / `new TypeError(` / `new RangeError(` in src/ fails unless
 * it is one of the few internal errors listed below, and every error class
 * of tslws's own is coded unless it is internal too. The rest misuses the
 * public API end to end and checks each error's code, class and message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import {
  createContext, clientConnect, loadPlugins, setLogLevel, getLogLevel, pvoNumber, createEchoProtocol, readConfigDir,
  writeZip, ZipArchive, ZipFormatError, ConfigError, LwswsServer, Spa, SpaError, AccessLog, Mount, Option, Reason,
  ErrorCode, createRedisTopicBus, type TslwsError, type Protocol, type RedisModuleLike,
} from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { parseTarget } from '../../src/bin/test-client/target.js';
import { readTlsFiles } from '../../src/bin/test-client/tls-files.js';
import { start, raw } from '../helpers/common.js';
import { RawWs, until } from '../helpers/ws.js';
import { freePort } from '../helpers/lwsws.js';
import { pkgPath } from '../helpers/paths.js';
import { sourceFiles as sources } from '../helpers/paths.js';

const SRC = pkgPath('src');

/**
 * The only plain errors allowed in src/, by file: how many, and why they
 * need no code. Each is made and caught inside tslws, or is a bug of
 * tslws itself; none reaches user code.
 */
const INTERNAL_ERRORS: Readonly<Record<string, { count: number; why: string }>> = {
  'core/errors.ts': { count: 3, why: 'the coded helpers themselves: every coded error is made here' },
  'core/features.ts': { count: 1, why: 'extendApi: a method defined twice by two layers is a bug in tslws, thrown while its modules load' },
  'responders/cgi/headers.ts': { count: 3, why: "a CGI program's malformed header block: the CGI responder catches it, logs it and answers 500" },
  'client/http-body.ts': { count: 2, why: "a server's body framing the client cannot follow: caught and reported as CLIENT_CONNECTION_ERROR" },
  'bin/lws-test-ping.ts': { count: 2, why: "the tool's own argument parser (not exported): main() prints the message and exits 2" },
};

/** Own error classes that need no code: thrown and caught inside tslws. */
const INTERNAL_CLASSES: Readonly<Record<string, string>> = {
  HttpError: 'a request the server refuses: the HTTP/1 role answers its status and closes; user code never sees it',
  H2ConnectionError: 'an HTTP/2 connection error, on either end: GOAWAY with its code, then the connection closes (a client\'s requests fail with its words); user code never sees it',
  HpackError: 'a malformed HPACK block: the h2 role turns it into a COMPRESSION_ERROR GOAWAY; user code never sees it',
};

/** Code lines only: comment lines (`//`, JSDoc `*`, `/*`) are skipped. */
function codeLines(file: string): Array<[number, string]> {
  return readFileSync(file, 'utf8').split('\n').map((l, i) => [i + 1, l] as [number, string])
    .filter(([, l]) => !/^\s*(\/\/|\/?\*)/.test(l));
}

const key = (file: string) => relative(SRC, file).split(sep).join('/');

test('src/ makes no uncoded Error, TypeError or RangeError outside the short internal list', () => {
  const found = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    for (const [n, line] of codeLines(file)) {
      if (!/\bnew\s+(Error|TypeError|RangeError)\s*\(/.test(line)) continue;
      const k = key(file);
      found.set(k, [...(found.get(k) ?? []), `src/${k}:${n}: ${line.trim()}`]);
    }
  }
  const wrong: string[] = [];
  for (const [k, lines] of found) {
    const allowed = INTERNAL_ERRORS[k];
    if (!allowed) wrong.push(...lines);
    else if (lines.length !== allowed.count)
      wrong.push(`src/${k}: ${lines.length} plain errors, ${allowed.count} allowed (${allowed.why}):\n    ${lines.join('\n    ')}`);
  }
  for (const k of Object.keys(INTERNAL_ERRORS)) if (!found.has(k)) wrong.push(`src/${k} is listed in INTERNAL_ERRORS but has no plain error: remove it`);
  assert.deepEqual(wrong, [], 'throw typeError / rangeError / stateError(ErrorCode.X, message) from src/core/errors.ts instead:\n' + wrong.join('\n'));
});

test('every error class of tslws carries its code, unless it never leaves the library', () => {
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bclass\s+(\w+)\s+extends\s+(?:Error|TypeError|RangeError)\b/g)) {
      seen.add(m[1]);
      if (INTERNAL_CLASSES[m[1]]) continue;
      if (!/coded\(this,\s*ErrorCode\.\w+\)/.test(text)) wrong.push(`src/${key(file)}: class ${m[1]} has no code: call coded(this, ErrorCode.X) in its constructor`);
    }
  }
  for (const c of Object.keys(INTERNAL_CLASSES)) if (!seen.has(c)) wrong.push(`INTERNAL_CLASSES lists ${c}, which no longer exists`);
  assert.deepEqual(wrong, []);
});

/** `err` is of class `cls`, carries `code` and has a message matching `says` (which names the fix or the culprit). */
function expectCode(err: unknown, code: ErrorCode, cls: abstract new (...a: never[]) => Error, says: RegExp): TslwsError {
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${String(err)}`);
  const e = err as TslwsError;
  assert.equal(e.code, code, `${e.message}: code`);
  assert.match(e.message, says);
  // The code is part of the error as Node's own are: enumerable, read-only.
  assert.ok(Object.keys(e).includes('code'), 'code is enumerable');
  assert.throws(() => { (e as { code: string }).code = 'X'; }, TypeError);
  return e;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tslws-codes-'));
}

test('every code is TSLWS_ plus its key, and ErrorCode is exported', () => {
  for (const [k, v] of Object.entries(ErrorCode)) assert.equal(v, `TSLWS_${k}`);
});

test('creation options: bad values, unknown bits, limits and ws options, bad mounts', () => {
  expectCode(thrown(() => createContext({ port: 70000 })), ErrorCode.INVALID_OPTION, RangeError, /port must be 0\.\.65535, got 70000/);
  expectCode(thrown(() => createContext({ options: 1 << 30 })), ErrorCode.UNKNOWN_OPTION, RangeError, /unknown option bits 0x40000000/);
  expectCode(thrown(() => createContext({ limits: { nonsense: 1 } as never })), ErrorCode.UNKNOWN_OPTION, TypeError,
    /unknown limit "nonsense"; known limits: .*maxHeaderBytes/);
  expectCode(thrown(() => createContext({ limits: { maxHeaderBytes: -1 } })), ErrorCode.INVALID_OPTION, RangeError, /maxHeaderBytes must be a non-negative number/);
  expectCode(thrown(() => createContext({ mounts: [{ mountpoint: 'x', origin: '/tmp', originProtocol: Mount.FILE }] })),
    ErrorCode.INVALID_OPTION, TypeError, /mountpoint must start with "\/"/);
  expectCode(thrown(() => createContext({ ws: { maxFrameSize: -1 } })), ErrorCode.INVALID_OPTION, TypeError, /ws option maxFrameSize must be a number >= 0/);
  expectCode(thrown(() => createContext({ ws: { nope: 1 } as never })), ErrorCode.UNKNOWN_OPTION, TypeError, /unknown ws option "nope"; known: /);
  expectCode(thrown(() => createContext({ ws: { perMessageDeflate: { level: 12 } } })), ErrorCode.INVALID_OPTION, RangeError, /level must be an integer from 0 to 9/);
  expectCode(thrown(() => setLogLevel(-1)), ErrorCode.INVALID_ARGUMENT, RangeError, /mask must be a non-negative integer/);
  expectCode(thrown(() => pvoNumber({ 'max-storage': 'lots' }, 'max-storage', 1)), ErrorCode.INVALID_OPTION, RangeError, /pvo "max-storage" must be a number/);
  expectCode(thrown(() => createEchoProtocol('e', { rxBufferSize: 0 })), ErrorCode.INVALID_OPTION, RangeError, /rxBufferSize must be a positive integer/);
  const dir = tmp();
  try {
    expectCode(thrown(() => new AccessLog(join(dir, 'log'), { maxLineBytes: 0 })), ErrorCode.INVALID_OPTION, RangeError, /maxLineBytes must be a positive integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a destroyed context refuses new vhosts', async () => {
  const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
  await ctx.destroy();
  expectCode(thrown(() => ctx.createVhost({ port: 0 })), ErrorCode.DESTROYED, Error, /destroyed/);
});

test('clientConnect: no address, no context', async () => {
  const proto: Protocol = { name: 'c', callback: () => 0 };
  const ctx = createContext({ protocols: [proto] });
  try {
    expectCode(thrown(() => ctx.clientConnect({ port: 7681 } as never)), ErrorCode.INVALID_OPTION, TypeError, /info\.address is required/);
    expectCode(thrown(() => clientConnect({ address: 'localhost' } as never)), ErrorCode.INVALID_OPTION, TypeError, /info\.context \(or info\.vhost\) is required/);
    expectCode(thrown(() => ctx.clientConnect({ address: 'localhost', port: 1, headers: { 'bad name': 'v' } })), ErrorCode.INVALID_HEADER, TypeError, /not a token/);
  } finally {
    await ctx.destroy();
  }
});

test('TLS: a missing certificate file, no certificate at all, a key change reloadTls cannot make', async () => {
  const dir = tmp();
  try {
    const missing = join(dir, 'missing.pem');
    expectCode(thrown(() => createContext({ port: 0, sslCertFilepath: missing, sslPrivateKeyFilepath: missing })),
      ErrorCode.TLS_SETUP, Error, new RegExp(`cannot read sslCertFilepath "${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    const ctx = createContext({ options: Option.EXPLICIT_VHOSTS });
    try {
      expectCode(thrown(() => ctx.createVhost({ vhostName: 'none', port: 0, iface: '127.0.0.1', options: Option.CREATE_VHOST_SSL_CTX })),
        ErrorCode.TLS_SETUP, Error, /TLS needs a certificate: give sslCertFilepath \(or sslCert\)/);
      const { cert, key } = makeSelfSignedCert({ days: 1 });
      expectCode(thrown(() => ctx.createVhost({ vhostName: 'alpn', port: 0, iface: '127.0.0.1', sslCert: cert, sslPrivateKey: key, alpn: 'h2,bad name' })),
        ErrorCode.INVALID_OPTION, TypeError, /bad ALPN protocol name "bad name"/);
      expectCode(thrown(() => ctx.createVhost({ vhostName: 'pem', port: 0, iface: '127.0.0.1', sslCert: 42 as never, sslPrivateKey: key })),
        ErrorCode.TLS_SETUP, TypeError, /sslCert: PEM text \(string or Buffer\) expected/);
      const vh = ctx.createVhost({ vhostName: 'tls', port: 0, iface: '127.0.0.1', sslCert: cert, sslPrivateKey: key });
      expectCode(thrown(() => vh.reloadTls({ alpn: 'h2' })), ErrorCode.INVALID_ARGUMENT, TypeError, /alpn cannot be changed while running; only sslCertFilepath/);
      expectCode(thrown(() => vh.reloadTls({ sslCertFilepath: missing })), ErrorCode.TLS_SETUP, Error, /cannot read sslCertFilepath/);
      const plain = ctx.createVhost({ vhostName: 'plain', port: 0, iface: '127.0.0.1' });
      expectCode(thrown(() => plain.reloadTls()), ErrorCode.TLS_SETUP, Error, /has no TLS/);
    } finally {
      await ctx.destroy();
    }
    expectCode(thrown(() => makeSelfSignedCert({ ipAddresses: ['localhost'] })), ErrorCode.INVALID_OPTION, TypeError, /"localhost" is not an IP address/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from callbacks: addHttpHeaderStatus twice, closeReason on HTTP, closeReason(999) on a WebSocket', async () => {
  const errs: Record<string, unknown> = {};
  const proto: Protocol = {
    name: 'misuse',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.HTTP) {
        errs.notWs = thrown(() => wsi.closeReason(1000));
        wsi.addHttpHeaderStatus(200);
        errs.twice = thrown(() => wsi.addHttpHeaderStatus(404));
        errs.badStatus = thrown(() => wsi.httpRedirect(200, '/x'));
        return wsi.returnHttpStatus(204);
      }
      if (reason === Reason.ESTABLISHED) {
        errs.bad = thrown(() => wsi.closeReason(999));
        errs.long = thrown(() => wsi.closeReason(1000, 'x'.repeat(124)));
        errs.notHttpClient = thrown(() => wsi.httpClientRead());
        return -1;
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expectCode(errs.notWs, ErrorCode.NOT_WEBSOCKET, Error, /closeReason: connection \d+ is not a WebSocket/);
    expectCode(errs.twice, ErrorCode.RESPONSE_ORDER, Error, /status was already added/);
    expectCode(errs.badStatus, ErrorCode.INVALID_ARGUMENT, RangeError, /200 is not a redirect status/);
    const ws = await RawWs.open(port);
    try {
      assert.ok(await until(() => errs.notHttpClient !== undefined, 3000), 'ESTABLISHED ran');
    } finally {
      ws.destroy();
    }
    expectCode(errs.bad, ErrorCode.INVALID_ARGUMENT, RangeError, /closeReason: 999 cannot be sent in a Close frame/);
    expectCode(errs.long, ErrorCode.INVALID_ARGUMENT, RangeError, /at most 123 bytes/);
    expectCode(errs.notHttpClient, ErrorCode.NOT_HTTP_CLIENT, Error, /not an HTTP client connection/);
  } finally {
    await ctx.destroy();
  }
});

test('zip: a corrupt central directory is a ZipFormatError with TSLWS_ZIP_FORMAT', () => {
  const dir = tmp();
  try {
    const zip = writeZip([{ name: 'a.txt', data: Buffer.from('hello') }]);
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    assert.ok(cd > 0);
    zip[cd + 3] = 0x09; // the central entry's signature is broken
    const path = join(dir, 'bad.zip');
    writeFileSync(path, zip);
    const e = expectCode(thrown(() => ZipArchive.open(path)), ErrorCode.ZIP_FORMAT, ZipFormatError, /central directory entry 0 is malformed/);
    assert.equal(e.name, 'ZipFormatError');
    writeFileSync(path, 'not a zip');
    expectCode(thrown(() => ZipArchive.open(path)), ErrorCode.ZIP_FORMAT, ZipFormatError, /too small to be a zip archive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forms: a SpaError keeps its HTTP status and has TSLWS_FORM; misuse of the parser is coded too', () => {
  const notForm = expectCode(thrown(() => new Spa('text/plain', { params: [] })), ErrorCode.FORM, SpaError, /not a form: Content-Type "text\/plain"/);
  assert.equal((notForm as SpaError).status, 415);
  const spa = new Spa('application/x-www-form-urlencoded', { params: ['a'] });
  const bad = expectCode(thrown(() => spa.process(Buffer.from('a=%zz'))), ErrorCode.FORM, SpaError, /malformed %-escape/);
  assert.equal((bad as SpaError).status, 400);
  const multi = expectCode(thrown(() => new Spa('multipart/form-data', { params: [] })), ErrorCode.FORM, SpaError, /without a valid boundary/);
  assert.equal((multi as SpaError).status, 400);
  expectCode(thrown(() => new Spa('application/x-www-form-urlencoded', { params: 'a' as never })), ErrorCode.INVALID_OPTION, TypeError, /params must be an array/);
  expectCode(thrown(() => new Spa('application/x-www-form-urlencoded', { params: [], maxParts: -1 })), ErrorCode.INVALID_OPTION, RangeError, /maxParts must be a non-negative number/);
  const done = new Spa('application/x-www-form-urlencoded', { params: ['a'] });
  done.process(Buffer.from('a=1'));
  done.finalize();
  expectCode(thrown(() => done.process(Buffer.from('&b=2'))), ErrorCode.WRITE_MISUSE, Error, /called after finalize\(\)/);
});

test('lwsws: a config error is a ConfigError with TSLWS_CONFIG; a vhost the library refuses keeps its code as the cause', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'conf'), '{ "vhosts": [{ "name": "a" }] }');
    const e = expectCode(thrown(() => readConfigDir(dir, { dataDir: dir })), ErrorCode.CONFIG, ConfigError, /conf:\d+: "port": vhost "a": port required/);
    assert.equal((e as ConfigError).file, join(dir, 'conf'));
    writeFileSync(join(dir, 'conf'), JSON.stringify({ global: { 'init-ssl': 'on' }, vhosts: [{ name: 't', port: await freePort(), 'host-ssl-cert': join(dir, 'missing.pem'), 'host-ssl-key': join(dir, 'missing.key') }] }));
    const lv = getLogLevel();
    setLogLevel(0);
    let err: unknown;
    try {
      const server = await LwswsServer.start({ configDir: dir, dataDir: dir, builtinPlugins: false, onWarning: () => {} });
      await server.stop(1000);
    } catch (e) {
      err = e;
    } finally {
      setLogLevel(lv);
    }
    const c = expectCode(err, ErrorCode.CONFIG, ConfigError, /vhost "t": .*cannot read sslCertFilepath/);
    assert.equal(((c as ConfigError).cause as TslwsError).code, ErrorCode.TLS_SETUP);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plugins: loadPlugins on a path instead of a list, too many directories, a non-plugin in `plugins`', async () => {
  const dir = tmp();
  try {
    expectCode(await rejected(loadPlugins(dir as never)), ErrorCode.PLUGIN, TypeError, /dirs must be an array of directory paths, as loadPlugins\(\[dir\]\); got "/);
    expectCode(await rejected(loadPlugins([dir, 7] as never)), ErrorCode.PLUGIN, TypeError, /got an array with a non-string entry/);
    expectCode(await rejected(loadPlugins(Array.from({ length: 11 }, () => dir))), ErrorCode.PLUGIN, RangeError, /at most 10 plugin directories \(maxDirs\)/);
    expectCode(thrown(() => createContext({ plugins: [{ name: 'half', protocols: [{ name: 'p' }] } as never] })), ErrorCode.PLUGIN, TypeError,
      /plugins\[0\] is not a plugin: a plugin is \{ name, protocols/);
    expectCode(thrown(() => createContext({ pluginDirs: [dir] })), ErrorCode.INVALID_OPTION, TypeError, /use `await createContextAsync\(info\)`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('topics on Redis: the redis package missing, a publish over the outbox bound', async () => {
  const missing = await rejected(createRedisTopicBus({ url: 'redis://127.0.0.1:1', loader: () => import('no-such-redis-client' as string) as never }));
  expectCode(missing, ErrorCode.REDIS_CLIENT_MISSING, Error, /needs the optional 'redis' package .*npm install redis/);
  // A client that never connects: publishes wait in the outbox, the one past its bound is refused.
  const never: RedisModuleLike = {
    createClient: () => ({
      connect: () => new Promise(() => {}), on: () => undefined, isReady: false,
      sendCommand: () => Promise.reject(new Error('down')), subscribe: () => new Promise(() => {}), unsubscribe: async () => {},
      sSubscribe: () => new Promise(() => {}), sUnsubscribe: async () => {}, destroy: () => {},
    }),
  };
  const bus = await createRedisTopicBus({ url: 'redis://127.0.0.1:1', loader: async () => never, maxBufferedMessages: 2 });
  const ctx = createContext({ port: 0, iface: '127.0.0.1' });
  try {
    const vh = ctx.vhosts[0];
    vh.attachTopicBus(bus);
    vh.publish('t', 'one');
    vh.publish('t', 'two');
    expectCode(thrown(() => vh.publish('t', 'three')), ErrorCode.TOPIC_BUS_FULL, Error, /2 publishes \(6 bytes\) wait for Redis .* publish refused/);
    assert.equal(bus.stats().buffered, 2);
  } finally {
    bus.close();
    await ctx.destroy();
  }
});

test('command-line helpers that are reused: parseTarget and readTlsFiles', () => {
  expectCode(thrown(() => parseTarget('ftp://h', undefined, false)), ErrorCode.INVALID_ARGUMENT, TypeError, /unsupported scheme ftp: \(ws, wss, http, https, raw\)/);
  expectCode(thrown(() => parseTarget('raw://h', undefined, false)), ErrorCode.INVALID_ARGUMENT, RangeError, /bad or missing port in raw:\/\/h: give one/);
  expectCode(thrown(() => readTlsFiles({ cert: '/c.pem' })), ErrorCode.INVALID_OPTION, TypeError, /-C \(client certificate\) and -K \(its key\) go together/);
  expectCode(thrown(() => readTlsFiles({ ca: '/nonexistent/ca.pem' })), ErrorCode.TLS_SETUP, Error, /cannot read -A file \/nonexistent\/ca\.pem/);
});
