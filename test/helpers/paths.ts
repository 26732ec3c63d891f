/**
 * Where the package's files are, for tests that start the bins, import the
 * compiled library by URL or read the package's own files (www/, lwsws/,
 * src/). Worked out once from this file's place (dist/test/helpers/ once
 * compiled), so no test depends on how deep in test/ it lives.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** dist/: the compiled tree (dist/src and dist/test). */
const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The package root: package.json, www/, lwsws/ and the TypeScript sources in src/. */
export const PKG_ROOT = dirname(DIST);

/** dist/src: the compiled library and bins. */
export const DIST_SRC = join(DIST, 'src');

if (!existsSync(join(PKG_ROOT, 'package.json')) || !existsSync(join(DIST_SRC, 'index.js'))) {
  throw new Error(`test/helpers/paths: no package.json in ${PKG_ROOT} or no index.js in ${DIST_SRC}; was this file moved?`);
}

/** A path under the package root, e.g. `pkgPath('www', 'test.html')`. */
export function pkgPath(...parts: string[]): string {
  return join(PKG_ROOT, ...parts);
}

/** A path under dist/src, e.g. `distSrc('bin', 'lwsws.js')`. */
export function distSrc(...parts: string[]): string {
  return join(DIST_SRC, ...parts);
}

/** The file: URL of a module under dist/src, for code the tests generate to import. */
export function distSrcUrl(...parts: string[]): string {
  return pathToFileURL(distSrc(...parts)).href;
}

/** Every `.ts` file under `dir`, in any folder (the sources the architecture tests read). */
export function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}
