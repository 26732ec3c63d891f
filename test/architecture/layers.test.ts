/**
 * The layers only call downward: each folder of src/ may import from the
 * folders listed for it and from itself, nothing else (type imports
 * included). Core imports nothing outside itself; HTTP responders never
 * reach a wire's role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { pkgPath } from '../helpers/paths.js';
import { sourceFiles as sources } from '../helpers/paths.js';

const ROOT = pkgPath('src');

/** Each layer and the layers below it that it may use. */
const MAY_USE: Record<string, readonly string[]> = {
  core: [],
  tls: ['core'],
  fops: ['core'],
  zip: ['core', 'fops'],
  http: ['core'],
  responders: ['http', 'fops', 'zip', 'core'],
  roles: ['responders', 'http', 'tls', 'fops', 'zip', 'core'],
  client: ['roles', 'http', 'tls', 'core'],
  // Service processes: the listen sockets hand connections to them.
  smp: ['roles', 'core'],
  // The Redis topic bus: a TopicBus (roles/ws/topics) over an optional client package.
  redis: ['roles', 'core'],
  plugins: ['smp', 'client', 'roles', 'responders', 'http', 'tls', 'fops', 'zip', 'core'],
  // lwsws makes whole contexts: it loads every layer through src/setup.ts.
  lwsws: ['redis', 'smp', 'plugins', 'client', 'roles', 'responders', 'http', 'tls', 'fops', 'zip', 'core', 'setup.ts'],
  // The message layer is written on the public API: core, client and http
  // for the names src/index.ts exports, and src/index.ts itself for types.
  node: ['client', 'http', 'core', '.'],
  bin: ['lwsws', 'redis', 'smp', 'plugins', 'client', 'roles', 'responders', 'http', 'tls', 'fops', 'zip', 'core', '.'],
  // src/index.ts and src/setup.ts assemble everything.
  '.': ['node', 'bin', 'lwsws', 'redis', 'smp', 'plugins', 'client', 'roles', 'responders', 'http', 'tls', 'fops', 'zip', 'core'],
};

/**
 * The layer a file of src/ belongs to: its first folder, or '.' at the
 * top. A folder's `index.ts` is an entry point (`tslws/fops` …): like the
 * top level, it assembles the layers it exports.
 */
function layerOf(file: string): string {
  const rel = relative(ROOT, file);
  const i = rel.indexOf(sep);
  if (i >= 0 && rel.endsWith(`${sep}index.ts`) && rel.indexOf(sep, i + 1) < 0) return '.';
  return i < 0 ? '.' : rel.slice(0, i);
}

// Static imports and re-exports (type-only ones too), and dynamic import() of a literal.
const IMPORT = /(?:^|[\s;])(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** Every import that crosses layers the wrong way: `file -> target`. */
function violations(): string[] {
  const bad: string[] = [];
  for (const file of sources(ROOT)) {
    const from = layerOf(file);
    const allowed = MAY_USE[from];
    assert.ok(allowed, `${relative(ROOT, file)}: folder "${from}" has no place in the layer table; add it`);
    for (const spec of importsOf(file)) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const to = layerOf(target);
      if (allowed.includes(relative(ROOT, target))) continue;
      if (to !== from && !allowed.includes(to)) bad.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
    }
  }
  return bad;
}

test('the import scanner sees static, type-only, re-export and dynamic imports', () => {
  const src = `import a from './a.js';\nimport type { B } from '../b.js';\nexport { c } from "./c.js";\nexport * from './d.js';\n` +
    `const e = await import('./e.js');\nimport './f.js';\n// import { no } from './commented.js';\n`;
  const specs = [...src.replace(/^\s*\/\/.*$/gm, '').matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
  assert.deepEqual(specs, ['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js']);
});

test('src/core imports nothing outside src/core, types included', () => {
  const bad = violations().filter((v) => v.startsWith(`core${sep}`));
  assert.deepEqual(bad, []);
});

test('HTTP responders never import a role (they speak to the HTTP exchange)', () => {
  const bad = violations().filter((v) => v.startsWith(`responders${sep}`) || v.startsWith(`http${sep}`));
  assert.deepEqual(bad, []);
});

test('every layer imports only from the layers below it', () => {
  assert.deepEqual(violations(), []);
});
