/**
 * The package as users get it. The working tree is copied aside and packed
 * there with `npm pack` (its `prepare` builds dist/src; packing in place
 * would rebuild the dist/src the other tests are running), the tarball is
 * installed into a fresh project, and there: every entry point is imported
 * and required, a TypeScript file using it is type-checked with --strict,
 * a program serves a FILE mount and a WebSocket echo, the README's first
 * example runs (as an ES module, and as CommonJS) and type-checks, and
 * the bins run.
 * Then the repository at HEAD is cloned and installed with
 * `npm install git+file://…`, which builds dist/ through `prepare`.
 *
 * Needs git and npm; npm works from its cache (--prefer-offline) and asks
 * the registry only for what is not there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { PKG_ROOT, pkgPath } from '../helpers/paths.js';

const pkg = JSON.parse(readFileSync(pkgPath('package.json'), 'utf8')) as {
  name: string; version: string; exports: Record<string, unknown>; bin: Record<string, string>;
};
const SUBPATHS = Object.keys(pkg.exports).filter((k) => k !== './package.json');

/** A few names each entry point must give, to import and to require. */
const NAMES: Record<string, string[]> = {
  '.': ['createContext', 'Mount', 'Reason', 'Write', 'echoProtocol', 'LwswsServer', 'zipFileOps'],
  './plugins': ['builtinPlugin', 'loadPlugins', 'dumbIncrementProtocol', 'BUILTIN_PLUGINS'],
  './lwsws': ['LwswsServer', 'readConfigDir', 'ConfigError'],
  './fops': ['platformFops', 'zipFileOps', 'writeZip', 'ZipArchive'],
  './node': ['createWebSocketServer', 'connect', 'MessageSocket', 'WebSocketServer'],
};

const specifier = (sub: string) => (sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`);

/**
 * npm hands its own settings to the scripts it runs (npm_config_prefix,
 * npm_config_local_prefix, …); a child npm would take them and act on this
 * repository instead of the project it is started in. The cache, user
 * config and registry are kept, so the child npm finds what this one has.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_(cache|userconfig|registry)$/i.test(k)) continue;
    if (k === 'INIT_CWD' || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}
const ENV = childEnv();

interface Ran {
  stdout: string;
  stderr: string;
}

/**
 * Run a command to its end within `timeoutMs`; rejects with its output if
 * it exits otherwise than `okCodes` (by default 0). It runs in its own
 * process group, and a timeout kills the whole group (npm's scripts and
 * tsc included).
 */
function sh(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv; okCodes?: number[] }): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    const what = `${cmd} ${args.join(' ')} (in ${opts.cwd})`;
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if ((opts.okCodes ?? [0]).includes(code as number) && !timedOut) resolveRun({ stdout, stderr });
      else {
        const why = timedOut ? `killed after ${opts.timeoutMs} ms` : `exit ${code ?? signal}`;
        reject(new Error(`${what}: ${why}\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`));
      }
    });
  });
}

/** The tools this test drives; a missing one fails the test with what to install. */
async function needTools(): Promise<void> {
  for (const [tool, install] of [['npm', 'npm (it comes with Node.js)'], ['git', 'git (apt-get install -y git)']]) {
    try {
      await sh(tool, ['--version'], { cwd: PKG_ROOT, timeoutMs: 15000 });
    } catch (e) {
      throw new Error(`the packaging test needs ${install} on PATH; it does not skip (${(e as Error).message.split('\n')[0]})`);
    }
  }
}

/** A fresh project to install into: a package.json and nothing else. */
function freshProject(root: string, name: string, extra: Record<string, unknown> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...extra }, null, 2));
  return dir;
}

/**
 * The working tree as git sees it (tracked files and untracked ones not
 * ignored, as they are on disk), copied to `dest`, with node_modules linked
 * to this checkout's so `prepare` finds TypeScript.
 */
async function copyWorkingTree(dest: string): Promise<void> {
  const { stdout } = await sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: PKG_ROOT, timeoutMs: 30000 });
  for (const f of stdout.split('\0')) {
    if (!f || f === 'node_modules' || f.startsWith('node_modules/') || f.startsWith('dist/')) continue;
    const from = join(PKG_ROOT, f);
    if (!existsSync(from) || !statSync(from).isFile()) continue; // deleted or a link: not in the tree as files
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(from, join(dest, f), { preserveTimestamps: true });
  }
  symlinkSync(realpathSync(pkgPath('node_modules')), join(dest, 'node_modules'));
}

/** Every file under `dir`, relative to it, with `/` separators. */
function filesUnder(dir: string, out: string[] = [], base = dir): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, out, base);
    else out.push(relative(base, p).split(sep).join('/'));
  }
  return out;
}

/**
 * Nothing shipped points at a file that is not: every relative import of
 * the declarations resolves to a shipped declaration, every
 * `sourceMappingURL` to a shipped map, and every map's sources exist.
 */
function checkShippedReferences(installed: string): void {
  const files = filesUnder(installed);
  for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
    for (const m of readFileSync(join(installed, f), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      const target = resolve(installed, dirname(f), `${m[1]}.d.ts`);
      assert.ok(existsSync(target), `${f} imports ${m[1]}.js, whose declarations are not shipped`);
    }
  }
  for (const f of files.filter((x) => x.endsWith('.js'))) {
    const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installed, f), 'utf8'));
    if (m) assert.ok(existsSync(resolve(installed, dirname(f), m[1])), `${f} names a source map that is not shipped: ${m[1]}`);
  }
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(installed, f), 'utf8')) as { sources?: string[]; sourceRoot?: string };
    for (const s of map.sources ?? []) {
      const at = resolve(installed, dirname(f), map.sourceRoot ?? '', s);
      assert.ok(existsSync(at), `${f} points at ${s}, which is not shipped`);
    }
  }
}

/** An ES module and a CommonJS file that load every entry point and print what they found. */
function writeLoaders(app: string): void {
  const subs = JSON.stringify(SUBPATHS.map(specifier));
  writeFileSync(join(app, 'load.mjs'), `const out = {};
for (const s of ${subs}) out[s] = Object.keys(await import(s));
process.stdout.write(JSON.stringify(out));
`);
  writeFileSync(join(app, 'load.cjs'), `const out = {};
for (const s of ${subs}) out[s] = Object.keys(require(s));
process.stdout.write(JSON.stringify(out));
`);
}

async function checkLoaders(app: string): Promise<void> {
  writeLoaders(app);
  for (const file of ['load.mjs', 'load.cjs']) {
    const r = await sh(process.execPath, [file], { cwd: app, timeoutMs: 30000 });
    const got = JSON.parse(r.stdout) as Record<string, string[]>;
    for (const sub of SUBPATHS) {
      const names = got[specifier(sub)];
      assert.ok(names, `${file} loaded ${specifier(sub)}`);
      for (const n of NAMES[sub] ?? []) assert.ok(names.includes(n), `${file}: ${specifier(sub)} gives ${n}`);
    }
    // require(esm) of a module graph with top-level await would have failed above (ERR_REQUIRE_ASYNC_MODULE).
  }
}

const TYPED_ESM = `import { createContext, Mount, Reason, Write, echoProtocol, type Context, type Protocol } from 'tslws';
import { builtinPlugin, type Plugin } from 'tslws/plugins';
import { LwswsServer, ConfigError } from 'tslws/lwsws';
import { platformFops, zipFileOps, type FileOps } from 'tslws/fops';

const shout: Protocol<{ n: number }> = {
  name: 'shout',
  createSessionData: () => ({ n: 0 }),
  callback(wsi, reason, user, input) {
    if (reason === Reason.RECEIVE && input instanceof Uint8Array) {
      user.n++;
      wsi.write(input, Write.TEXT);
    }
    return 0;
  },
};
const ctx: Context = createContext({
  port: 0,
  protocols: [shout, echoProtocol],
  mounts: [{ mountpoint: '/', origin: '.', originProtocol: Mount.FILE }],
});
const port: number | undefined = ctx.vhosts[0].port;
const plugin: Plugin | undefined = builtinPlugin('lws-echo');
const fops: FileOps = platformFops;
void [port, plugin, fops, zipFileOps, LwswsServer, ConfigError];
// The types are the library's, not any: a wrong option does not compile.
// @ts-expect-error port is a number
createContext({ port: 'eighty' });
`;

const TYPED_CJS = `import tslws = require('tslws');
import plugins = require('tslws/plugins');
import lwsws = require('tslws/lwsws');
import fops = require('tslws/fops');

const ctx: tslws.Context = tslws.createContext({ port: 0, protocols: [plugins.dumbIncrementProtocol] });
void [ctx, lwsws.LwswsServer, fops.platformFops];
// @ts-expect-error the mount kind is checked
tslws.createContext({ mounts: [{ mountpoint: '/', origin: '.', originProtocol: 'files' }] });
`;

/**
 * Type-check a file of each module kind against the installed package, as
 * strict as it gets, and the README's first example as a TypeScript ES module.
 */
async function checkTypes(app: string): Promise<void> {
  writeFileSync(join(app, 'typed.mts'), TYPED_ESM);
  writeFileSync(join(app, 'typed.cts'), TYPED_CJS);
  writeFileSync(join(app, 'readme-echo.mts'), readmeEcho().code);
  const tsc = pkgPath('node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(existsSync(tsc), `no TypeScript at ${tsc}: run npm ci first`);
  // @types/node comes from this checkout: the package's types refer to
  // Node's, as any TypeScript user's project has them. --skipLibCheck, as
  // most projects have it, spares checking all of @types/node (most of the
  // time this takes); that every declaration the package refers to is
  // shipped is checked by checkShippedReferences.
  await sh(process.execPath, [tsc, '--strict', '--noEmit', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution',
    'nodenext', '--target', 'es2022', '--typeRoots', pkgPath('node_modules', '@types'), '--types', 'node', 'typed.mts', 'typed.cts',
    'readme-echo.mts'],
  { cwd: app, timeoutMs: 90000 });
}

/** The README section whose first example is run as users would paste it. */
const README_ECHO_SECTION = '## A WebSocket echo, server and client';
/** The port the README's example uses; the test runs it on a free one instead, so it cannot meet another server on this machine. */
const README_PORT = '7681';

/**
 * The first ```js block under README_ECHO_SECTION, read from README.md now
 * (not a copy that could drift from it), and the port it names.
 */
function readmeEcho(): { code: string; port: string } {
  const readme = readFileSync(pkgPath('README.md'), 'utf8');
  const at = readme.indexOf(`\n${README_ECHO_SECTION}\n`);
  assert.ok(at >= 0, `README.md has a section "${README_ECHO_SECTION}"`);
  const next = readme.indexOf('\n## ', at + 1);
  const section = readme.slice(at, next < 0 ? undefined : next);
  const m = /\n```js\n([\s\S]*?)\n```/.exec(section);
  assert.ok(m, `the README section "${README_ECHO_SECTION}" has a \`\`\`js block`);
  const code = `${m[1]}\n`;
  // Both ends of the example name the port: the server's option and the client's URL.
  assert.equal(code.split(README_PORT).length - 1, 2, `the README example uses port ${README_PORT} for its server and its client`);
  return { code, port: README_PORT };
}

/** The README example with its port replaced by `port`. */
function readmeEchoOn(port: number): string {
  const { code, port: theirs } = readmeEcho();
  return code.split(theirs).join(String(port));
}

/**
 * The README example as CommonJS: its static imports of 'tslws' become
 * require() calls and the rest runs in an async function (CommonJS has no
 * top-level await). The example is otherwise unchanged.
 */
function asCommonJs(esm: string): string {
  const requires: string[] = [];
  const body = esm.replace(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';\n/gm, (_all, names: string, from: string) => {
    requires.push(`const {${names}} = require('${from}');`);
    return '';
  });
  assert.ok(requires.length > 0 && !/^import\b/m.test(body), 'the README example imports only by name, so it has a CommonJS form');
  return `'use strict';\n${requires.join('\n')}\n\n(async () => {\n${body}})().catch((e) => {\n  console.error(e);\n  process.exitCode = 1;\n});\n`;
}

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolvePort(a.port) : reject(new Error('no port'))));
    });
  });
}

/** A program of the installed package: a FILE mount and the echo protocol, then a tslws WebSocket client to it. */
const SERVE_PROGRAM = `import { createContext, Mount, Reason, Write, echoProtocol, callbackHttpDummy } from 'tslws';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const site = mkdtempSync(join(tmpdir(), 'tslws-pack-site-'));
writeFileSync(join(site, 'index.html'), '<p>served from the installed package</p>');
const server = createContext({
  port: 0, iface: '127.0.0.1',
  protocols: [{ name: 'http-only', callback: callbackHttpDummy }, echoProtocol],
  mounts: [{ mountpoint: '/', origin: site, def: 'index.html', originProtocol: Mount.FILE }],
});
await server.listening;
const port = server.vhosts[0].port;
const page = await (await fetch('http://127.0.0.1:' + port + '/')).text();
const echoed = await new Promise((resolve, reject) => {
  const client = createContext({ protocols: [{ name: 'client', callback(wsi, reason, _user, input) {
    if (reason === Reason.CLIENT_ESTABLISHED) wsi.callbackOnWritable();
    if (reason === Reason.CLIENT_WRITEABLE) wsi.write(new TextEncoder().encode('hello'), Write.TEXT);
    if (reason === Reason.CLIENT_RECEIVE) { resolve(new TextDecoder().decode(input)); void client.destroy(); }
    if (reason === Reason.CLIENT_CONNECTION_ERROR) reject(new Error(String(input)));
    return 0;
  } }] });
  client.clientConnect({ address: '127.0.0.1', port, protocol: 'lws-echo' });
});
await server.destroy();
rmSync(site, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ page, echoed }));
`;

/** Start `bin` with `args`, wait for it to say where it serves, then stop it; resolves with that URL and its output. */
function startBin(app: string, bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<void> }> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(join(app, 'node_modules', '.bin', bin), args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${bin} did not say where it serves within 15 s:\n${out}`));
    }, 15000);
    const look = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveStart({ url: m[1], stop });
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited (${code}) before serving:\n${out}`));
    });
  });
}

test('npm pack of the working tree installs into a fresh project and works there', { timeout: 300_000 }, async (t) => {
  await needTools();
  const root = mkdtempSync(join(tmpdir(), 'tslws-pack-'));
  try {
    const tree = join(root, 'tree');
    mkdirSync(tree);
    await copyWorkingTree(tree);
    let tarball = '';
    let packed: Array<{ path: string }> = [];

    await t.test('npm pack builds dist/src and ships only what the package needs', async () => {
      const r = await sh('npm', ['pack', '--json', '--pack-destination', root], { cwd: tree, timeoutMs: 180_000 });
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
      tarball = join(root, out[0].filename);
      packed = out[0].files;
      const paths = packed.map((f) => f.path);
      for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'www/test.html', 'lwsws/conf'])
        assert.ok(paths.includes(f), `the tarball has ${f}`);
      for (const sub of SUBPATHS) {
        const target = (pkg.exports[sub] as { default: string }).default.slice(2);
        assert.ok(paths.includes(target), `the tarball has ${target} for ${specifier(sub)}`);
      }
      for (const b of Object.values(pkg.bin)) assert.ok(paths.includes(b.replace(/^\.\//, '')), `the tarball has the bin ${b}`);
      assert.deepEqual(paths.filter((p) => p.startsWith('dist/test/') || p.includes('/generated/')), [], 'no tests, nothing generated');
      assert.match(readFileSync(join(tree, 'LICENSE'), 'utf8'), /^MIT License/);
    });

    const app = freshProject(root, 'app');
    const installed = join(app, 'node_modules', pkg.name);

    await t.test('the tarball installs offline (it has no dependencies) with no map pointing at missing sources', async () => {
      await sh('npm', ['install', '--offline', tarball], { cwd: app, timeoutMs: 120_000 });
      assert.ok(existsSync(join(installed, 'dist', 'src', 'index.js')));
      checkShippedReferences(installed);
    });

    await t.test('every entry point can be imported and required (Node 20.19+)', () => checkLoaders(app));

    await t.test("TypeScript --strict (module nodenext) type-checks ESM and CommonJS files using it, and the README's first example", () => checkTypes(app));

    const before = filesUnder(installed).sort();

    await t.test('a program serves a FILE mount and a WebSocket echo from the installed package', async () => {
      writeFileSync(join(app, 'serve.mjs'), SERVE_PROGRAM);
      const r = await sh(process.execPath, ['serve.mjs'], { cwd: app, timeoutMs: 30000 });
      assert.deepEqual(JSON.parse(r.stdout), { page: '<p>served from the installed package</p>', echoed: 'hello' });
    });

    // The program must end by itself: the client's close and server.close()
    // leave nothing holding the event loop. sh() kills it past the bound.
    await t.test("the README's first example runs as an ES module: it prints the echo and exits 0 by itself", async () => {
      writeFileSync(join(app, 'readme-echo.mjs'), readmeEchoOn(await freePort()));
      const r = await sh(process.execPath, ['readme-echo.mjs'], { cwd: app, timeoutMs: 15000 });
      assert.equal(r.stdout, 'echo: hello\n');
    });

    await t.test("the README's first example runs as CommonJS (require('tslws'), await in an async function)", async () => {
      writeFileSync(join(app, 'readme-echo.cjs'), asCommonJs(readmeEchoOn(await freePort())));
      const r = await sh(process.execPath, ['readme-echo.cjs'], { cwd: app, timeoutMs: 15000 });
      assert.equal(r.stdout, 'echo: hello\n');
    });

    await t.test('the bins run; lws-test-server keeps its zip book in the cache, not in the package', async () => {
      const cache = join(root, 'cache');
      const env = { ...ENV, XDG_CACHE_HOME: cache };
      const help = await sh(join(app, 'node_modules', '.bin', 'lws-test-server'), ['-h'], { cwd: app, timeoutMs: 15000, env });
      assert.match(help.stdout, /^Usage: lws-test-server/);
      const s = await startBin(app, 'lws-test-server', ['-p', '0', '-i', '127.0.0.1'], env);
      try {
        const page = await fetch(s.url, { signal: AbortSignal.timeout(10000) });
        assert.equal(page.status, 200);
        assert.match(await page.text(), /tslws test server/);
        const book = await fetch(`${s.url}ziptest/book.html`, { signal: AbortSignal.timeout(10000) });
        assert.equal(book.status, 200);
        assert.match(await book.text(), /Served from inside a zip archive/);
      } finally {
        await s.stop();
      }
      assert.ok(readdirSync(join(cache, 'tslws', 'test-server')).some((f) => /^book-[0-9a-f]+\.zip$/.test(f)), 'the book is in the cache');
      assert.deepEqual(filesUnder(installed).sort(), before, 'nothing was written into the installed package');
      // As the C lwsws, --help prints the usage and exits 1.
      const lwsws = await sh(join(app, 'node_modules', '.bin', 'lwsws'), ['--help'], { cwd: app, timeoutMs: 15000, env, okCodes: [1] });
      assert.match(lwsws.stderr, /^Usage: lwsws/);
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('npm install git+file:// of a clone at HEAD builds dist/ through prepare', { timeout: 300_000 }, async () => {
  await needTools();
  const root = mkdtempSync(join(tmpdir(), 'tslws-git-'));
  try {
    const clone = join(root, 'clone');
    await sh('git', ['clone', '--quiet', '--depth', '1', `file://${PKG_ROOT}`, clone], { cwd: root, timeoutMs: 60000 });
    assert.ok(!existsSync(join(clone, 'dist')), 'the clone has no dist/');
    // npm 11.16+ asks projects to list the dependencies whose install scripts
    // may run; a git dependency's prepare is one.
    const app = freshProject(root, 'app', { allowScripts: { [pkg.name]: true } });
    await sh('npm', ['install', '--prefer-offline', `git+file://${clone}`], { cwd: app, timeoutMs: 240_000 });
    const installed = join(app, 'node_modules', pkg.name);
    assert.ok(existsSync(join(installed, 'dist', 'src', 'index.js')), 'prepare built dist/src');
    assert.ok(!existsSync(join(installed, 'dist', 'test')), 'without the tests');
    checkShippedReferences(installed);
    await checkLoaders(app);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
