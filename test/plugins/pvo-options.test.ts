/**
 * Each built-in protocol lists the per-vhost options it reads
 * (`pvoOptions`), since lwsws refuses any other: an option read in the
 * source but missing from the list would be refused in a config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  dumbIncrementProtocol, mirrorProtocol, serverStatusProtocol, postDemoProtocol, echoProtocol, rawTestProtocol, type Protocol,
} from '../../src/index.js';
import { pkgPath } from '../helpers/paths.js';

const FILES: Array<[string, Protocol<never>]> = [
  ['dumb-increment.ts', dumbIncrementProtocol as Protocol<never>],
  ['mirror.ts', mirrorProtocol as Protocol<never>],
  ['server-status.ts', serverStatusProtocol as Protocol<never>],
  ['post-demo.ts', postDemoProtocol as Protocol<never>],
  ['echo.ts', echoProtocol as Protocol<never>],
  ['raw-test.ts', rawTestProtocol as Protocol<never>],
];

/** Option names the source reads: through pvoFlag / pvoNumber, `o['x']` or `options?.x`. */
function optionsRead(source: string): string[] {
  const found = new Set<string>();
  for (const re of [/pvo(?:Flag|Number)\(\s*\w+\s*,\s*'([^']+)'/g, /\bo\['([^']+)'\]/g, /\boptions\?\.(\w+)/g, /\boptions\?\.\['([^']+)'\]/g]) {
    for (const m of source.matchAll(re)) found.add(m[1]);
  }
  return [...found].sort();
}

for (const [file, proto] of FILES) {
  test(`${proto.name}: pvoOptions lists every option ${file} reads`, () => {
    const read = optionsRead(readFileSync(pkgPath('src', 'plugins', file), 'utf8'));
    assert.ok(proto.pvoOptions, 'the list is given');
    assert.deepEqual(read.filter((o) => !proto.pvoOptions?.includes(o)), []);
  });
}
