/**
 * lws-test-server reads its FILE mount through wrapped file ops (its
 * file-ops example): ranges and conditional requests work there as on a
 * plain mount, checked with curl, as a user would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { distSrc } from '../helpers/paths.js';

const BIN = distSrc('bin', 'lws-test-server.js');

function curl(args: string[]): { head: string; body: Buffer } {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('this test needs curl (apt-get install curl)');
  }
  const out = execFileSync('curl', ['-s', '-D', '-', '--max-time', '5', ...args]);
  const end = out.indexOf('\r\n\r\n');
  return { head: out.subarray(0, end).toString('latin1'), body: out.subarray(end + 4) };
}

async function startServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, '-i', '127.0.0.1', '-p', '0', '-r', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 10000;
  for (;;) {
    const m = /serving .* on http:\/\/[^:]+:(\d+)\//.exec(out);
    if (m) return { child, port: Number(m[1]) };
    if (child.exitCode !== null || Date.now() > end) {
      child.kill();
      throw new Error(`lws-test-server did not start: ${out}`);
    }
    await sleep(20);
  }
}

test('lws-test-server: curl -r 0-9 on a 100k file gets 206 and those ten bytes; If-None-Match gets 304', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-ts-files-'));
  const data = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 13) & 0xff));
  writeFileSync(join(dir, 'some-100k-file.bin'), data);
  writeFileSync(join(dir, 'test.html'), '<html></html>');
  const { child, port } = await startServer(dir);
  try {
    const url = `http://127.0.0.1:${port}/some-100k-file.bin`;
    let r = curl(['-r', '0-9', url]);
    assert.match(r.head, /^HTTP\/1\.1 206 /);
    assert.match(r.head, /\r\ncontent-range: bytes 0-9\/102400\r\n/i);
    assert.deepEqual(r.body, data.subarray(0, 10));
    r = curl([url]);
    assert.match(r.head, /^HTTP\/1\.1 200 /);
    const etag = /\r\netag: ("[^"]+")/i.exec(r.head)?.[1];
    assert.ok(etag, 'an etag');
    assert.equal(r.body.length, data.length);
    r = curl(['-H', `If-None-Match: ${etag}`, url]);
    assert.match(r.head, /^HTTP\/1\.1 304 /);
    // HEAD: curl -I prints the response head and nothing else.
    const head = execFileSync('curl', ['-s', '-I', '--max-time', '5', url]).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /\r\ncontent-length: 102400\r\n/i);
    assert.ok(head.endsWith('\r\n\r\n'), 'no body after the head');
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
