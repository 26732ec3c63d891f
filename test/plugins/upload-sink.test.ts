import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadSink } from '../../src/plugins/upload-sink.js';

test('UploadSink: abort lifts the back-pressure it applied', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-sink-'));
  try {
    const calls: boolean[] = [];
    const sink = new UploadSink(join(dir, 'up'), 10, (on) => calls.push(on));
    sink.push(Buffer.alloc(100));
    assert.deepEqual(calls, [true], 'more than highWater waits: pressure on');
    sink.abort();
    assert.deepEqual(calls, [true, false], 'aborted: pressure off, so reading resumes');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(calls, [true, false], 'and only once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
