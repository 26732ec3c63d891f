/**
 * h2spec (the HTTP/2 conformance suite, run from ../shared/tools) against
 * tslws: every case, default and strict, over clear text (a vhost that
 * serves only HTTP/2, as h2c servers do) and over TLS (ALPN h2 on a vhost
 * with the defaults), three runs in a row each.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createContext, Mount, type Context } from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { pkgPath } from '../helpers/paths.js';

// h2spec is not packaged by Debian: the prebuilt binary beside the checkout
// (../shared/tools), the machine's shared tools, or where $H2SPEC says.
const H2SPEC_PLACES = [process.env.H2SPEC, pkgPath('..', 'shared', 'tools', 'h2spec'), '/work/shared/tools/h2spec'].filter((p): p is string => !!p);
const H2SPEC = H2SPEC_PLACES.find((p) => existsSync(p)) ?? H2SPEC_PLACES[0];
const RUNS = 3;

let clear: Context;
let tls: Context;

before(async () => {
  if (!existsSync(H2SPEC)) throw new Error(`h2spec not found (looked at ${H2SPEC_PLACES.join(', ')}): set H2SPEC to its path`);
  const mounts = [{ mountpoint: '/', origin: pkgPath('www'), def: 'test.html', originProtocol: Mount.FILE }];
  clear = createContext({ port: 0, iface: '127.0.0.1', h2: { only: true }, mounts });
  const c = makeSelfSignedCert();
  tls = createContext({ port: 0, iface: '127.0.0.1', sslCert: c.cert, sslPrivateKey: c.key, mounts });
  await Promise.all([clear.listening, tls.listening]);
});

after(async () => {
  await Promise.all([clear?.destroy(), tls?.destroy()]);
});

function h2spec(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(H2SPEC, [...args, '-o', '5'], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

/** The summary line, and the failed cases when there are any. */
function verdict(out: string): { summary: string; failures: string } {
  const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(out)?.[0] ?? 'no summary';
  const i = out.indexOf('Failures:');
  return { summary, failures: i >= 0 ? out.slice(i, i + 4000) : '' };
}

for (const [name, strict] of [['default', false], ['strict', true]] as const) {
  for (const over of ['h2c', 'TLS'] as const) {
    test(`h2spec ${name} over ${over}: every case passes, ${RUNS} runs in a row`, async () => {
      const port = (over === 'h2c' ? clear : tls).vhosts[0].port!;
      for (let run = 1; run <= RUNS; run++) {
        const args = ['-h', '127.0.0.1', '-p', String(port), ...(over === 'TLS' ? ['-t', '-k'] : []), ...(strict ? ['-S'] : [])];
        const r = await h2spec(args);
        const v = verdict(r.out);
        assert.match(v.summary, /^\d+ tests, \d+ passed, 0 skipped, 0 failed$/, `run ${run}: ${v.summary}\n${v.failures}`);
        assert.equal(r.code, 0, `run ${run}: h2spec exited ${r.code}`);
        const [, total] = /(\d+) tests/.exec(v.summary) as RegExpExecArray;
        assert.ok(Number(total) >= (strict ? 147 : 146), `all of h2spec's cases ran (${total})`);
      }
    });
  }
}
