/**
 * The README's first example (the WebSocket echo after "Install") runs as
 * written: the code block is taken from README.md itself, with only the
 * package import pointed at the build and the port made free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distSrcUrl, pkgPath } from '../helpers/paths.js';

function firstExample(): string {
  const readme = readFileSync(pkgPath('README.md'), 'utf8');
  const at = readme.indexOf('## A WebSocket echo, server and client');
  assert.ok(at > 0 && at < readme.indexOf('## Quick start'), 'the example comes right after Install');
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m?.[1], 'a js code block');
  return m[1];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test("the README's first example: the client's hello comes back and the process exits by itself", async () => {
  const code = firstExample();
  assert.equal(code.trim().split('\n').filter((l) => l.trim() && !l.startsWith('import')).length, 5, 'five lines besides the import');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tslws-readme-'));
  try {
    const file = join(dir, 'echo.mjs');
    writeFileSync(file, code.replace("from 'tslws'", `from '${distSrcUrl('index.js')}'`).replaceAll('7681', String(port)));
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [file], { timeout: 20000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
      void child;
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'echo: hello');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
