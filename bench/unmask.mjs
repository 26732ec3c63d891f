#!/usr/bin/env node
/**
 * WebSocket unmasking alone: tslws's `unmask` (dist/src/roles/ws/frame.js:
 * 64-bit words from 512 bytes, 32-bit below) against the same done 32 bits
 * at a time throughout (how tslws did it before, and how `ws` does it
 * without bufferutil, in JS) and against bufferutil's C++ `unmask` (what
 * `ws` uses when the addon is installed), on payloads 14 bytes past an
 * aligned address as a 64 KiB frame's are. Best of --rounds, ns per call.
 *
 *   node bench/unmask.mjs [--rounds N (3)] [--sizes 64,1024,65536,1048576] [--json]
 *
 * Every implementation is first checked to give the same bytes as a byte
 * loop at every offset, length up to 4 KiB and mask phase. Run it alone,
 * pinned: `taskset -c 0 node bench/unmask.mjs`.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { parseBenchArgs, usageError } from './lib/cli.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FRAME_JS = join(REPO, 'dist/src/roles/ws/frame.js');
const USAGE = 'usage: unmask.mjs [--rounds N (3)] [--sizes LIST (64,512,1024,65536,1048576)] [--json]\n';

const kb = new Uint8Array(4);
const kw = new Int32Array(kb.buffer);

/** The 32-bit form: words from the first 4-aligned byte, eight to a loop turn. */
function unmask32(buf, mask, offset) {
  const len = buf.length;
  let i = 0;
  if (len >= 32) {
    const lead = (4 - (buf.byteOffset & 3)) & 3;
    for (; i < lead; i++) buf[i] ^= mask[(offset + i) & 3];
    for (let k = 0; k < 4; k++) kb[k] = mask[(offset + i + k) & 3];
    const m = kw[0];
    const words = (len - i) >>> 2;
    const a = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    let w = 0;
    for (const end = words - 7; w < end; w += 8) {
      a[w] ^= m; a[w + 1] ^= m; a[w + 2] ^= m; a[w + 3] ^= m;
      a[w + 4] ^= m; a[w + 5] ^= m; a[w + 6] ^= m; a[w + 7] ^= m;
    }
    for (; w < words; w++) a[w] ^= m;
    i += words * 4;
  }
  for (; i < len; i++) buf[i] ^= mask[(offset + i) & 3];
}

function byteLoop(buf, mask, offset) {
  for (let i = 0; i < buf.length; i++) buf[i] ^= mask[(offset + i) & 3];
}

async function main() {
  const opts = parseBenchArgs(USAGE, {
    rounds: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '64,512,1024,65536,1048576' },
    json: { type: 'boolean', default: false },
  }).values;
  const rounds = Number(opts.rounds);
  const sizes = opts.sizes.split(',').map(Number);
  if (!Number.isInteger(rounds) || rounds < 1) usageError('unmask', USAGE, '--rounds must be a positive integer');
  if (!sizes.every((n) => Number.isInteger(n) && n > 0 && n <= 1 << 26)) usageError('unmask', USAGE, '--sizes must be byte counts up to 64 MiB');
  if (!existsSync(FRAME_JS)) {
    process.stderr.write(`unmask: ${FRAME_JS} missing: run \`npx tsc -p tsconfig.json\` first\n`);
    process.exit(1);
  }
  const { unmask } = await import(pathToFileURL(FRAME_JS).href);
  const impls = [['tslws', unmask], ['32-bit JS', unmask32]];
  try {
    const bu = createRequire(import.meta.url)('bufferutil');
    impls.push(['bufferutil (C++)', (buf, mask, offset) => {
      // bufferutil's unmask starts at the mask's first byte: rotate it to the offset.
      const m = offset & 3 ? Buffer.from([0, 1, 2, 3].map((k) => mask[(offset + k) & 3])) : mask;
      bu.unmask(buf, m);
    }]);
  } catch {
    process.stderr.write('unmask: bufferutil not installed (npm ci installs it as a dev dependency): left out\n');
  }

  // Same bytes as a byte loop, at every offset and length up to 4 KiB.
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const host = Buffer.alloc(4096 + 64);
  for (let i = 0; i < host.length; i++) host[i] = (i * 131) & 255;
  for (const [name, f] of impls) {
    for (let len = 0; len <= 4096; len += len < 80 ? 1 : 97) {
      for (let at = 0; at < 8; at++) {
        for (const offset of [0, 1, 2, 3]) {
          const a = Buffer.from(host.subarray(at, at + len));
          const b = Buffer.from(a);
          const ha = Buffer.alloc(len + 16); a.copy(ha, at);
          f(ha.subarray(at, at + len), mask, offset);
          byteLoop(b, mask, offset);
          if (!ha.subarray(at, at + len).equals(b)) {
            process.stderr.write(`unmask: ${name} is wrong at length ${len}, byte offset ${at}, mask phase ${offset}\n`);
            process.exit(1);
          }
        }
      }
    }
  }

  const max = Math.max(...sizes);
  const buf = Buffer.alloc(max + 64);
  const at = ((64 - (buf.byteOffset & 63)) & 63) + 14;
  const results = {};
  for (const size of sizes) {
    const view = buf.subarray(at, at + size);
    const calls = Math.max(50, Math.floor(2e8 / (size + 200)));
    results[size] = {};
    for (const [name, f] of impls) {
      let best = Infinity;
      for (let r = 0; r < rounds + 1; r++) {
        const t = process.hrtime.bigint();
        // Mask phase 0: bufferutil takes no phase (a rotated key would be timed too).
        for (let k = 0; k < calls; k++) f(view, mask, 0);
        const ns = Number(process.hrtime.bigint() - t) / calls;
        if (r > 0) best = Math.min(best, ns); // the first round warms the JIT
      }
      results[size][name] = best;
    }
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ node: process.version, results }, null, 2) + '\n');
    return;
  }
  const names = impls.map(([n]) => n);
  const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} us` : `${ns.toFixed(0)} ns`);
  const rows = [['payload', ...names, ...names.slice(1).map((n) => `${n} / tslws`)]];
  for (const size of sizes) {
    const r = results[size];
    rows.push([size >= 1024 ? `${size / 1024} KiB` : `${size} B`, ...names.map((n) => fmt(r[n])), ...names.slice(1).map((n) => (r[n] / r.tslws).toFixed(2))]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  process.stdout.write(`unmask, ns per call (best of ${rounds}), node ${process.version}\n`);
  for (const row of rows) process.stdout.write(row.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ') + '\n');
}

await main();
