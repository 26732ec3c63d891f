/**
 * A 1 GiB file served to a reader that stops reading: the server's memory
 * must stay bounded (it reads the file only as the socket drains), other
 * clients must still be served, and once the reader resumes the whole file
 * must arrive intact. The server runs in a child process so its RSS can be
 * measured on its own.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, parseResponses, sleep } from '../helpers/common.js';
import { distSrcUrl } from '../helpers/paths.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const SIZE = GiB;
/** 16-byte markers at the start, the middle and the end of the sparse file. */
const MARKS: Array<[number, Buffer]> = [
  [0, Buffer.from('BEGIN-BIG-FILE!!')],
  [SIZE / 2, Buffer.from('MIDDLE-OF-FILE!!')],
  [SIZE - 16, Buffer.from('END-OF-BIG-FILE!')],
];
const SMALL = '<p>small page served meanwhile</p>';

/** The server: the built library, one FILE mount, its port on stdout. */
const SERVER = `
import { createContext, Mount, setLogLevel, LogLevel } from ${JSON.stringify(distSrcUrl('index.js'))};
setLogLevel(LogLevel.ERR);
const ctx = createContext({ port: 0, iface: '127.0.0.1',
  mounts: [{ mountpoint: '/', origin: process.argv[2], originProtocol: Mount.FILE }] });
await ctx.listening;
process.stdout.write(JSON.stringify({ port: ctx.vhosts[0].port }) + '\\n');
process.on('SIGTERM', () => { ctx.destroy().then(() => process.exit(0)); });
`;

/** Resident set size of a process, in bytes. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]) * 1024;
}

function startServer(dir: string, script: string): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in 10 s: ${err}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port, stderr: () => err });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${err}`));
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 3000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

/** A small request on its own connection; resolves with the parsed response and its duration. */
async function fetchOnce(port: number, target: string, headers = ''): Promise<{ status: number; body: Buffer; ms: number; headers: Record<string, string> }> {
  const t0 = Date.now();
  const r = await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`, { timeoutMs: 3000 });
  assert.ok(r.closed, `${target}: answered within 3 s`);
  const [res] = parseResponses(r.data);
  return { status: res.status, body: res.body, headers: res.headers, ms: Date.now() - t0 };
}

describe('a 1 GiB file', () => {
  let dir: string;
  let srv: { child: ChildProcess; port: number; stderr: () => string };
  let pid: number;
  let sock: Socket | null = null;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tslws-big-'));
    const big = join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    for (const [pos, mark] of MARKS) writeSync(fd, mark, 0, mark.length, pos);
    closeSync(fd);
    truncateSync(big, SIZE);
    assert.equal(statSync(big).size, SIZE);
    assert.ok(statSync(big).blocks * 512 < 16 * MiB, 'sparse: takes almost no disk');
    writeFileSync(join(dir, 'small.html'), SMALL);
    const script = join(dir, 'server.mjs');
    writeFileSync(script, SERVER);
    srv = await startServer(dir, script);
    pid = srv.child.pid as number;
  });
  after(async () => {
    sock?.destroy();
    if (srv) await stopServer(srv.child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('to a paused reader: bounded server memory, others served, then all of it arrives', { timeout: 70_000 }, async () => {
    try {
      // Warm up the paths we will use (small file, streamed range), then take the baseline.
      for (let i = 0; i < 5; i++) assert.equal((await fetchOnce(srv.port, '/small.html')).status, 200);
      const tail = await fetchOnce(srv.port, '/big.bin', 'Range: bytes=-16\r\n');
      assert.equal(tail.status, 206);
      assert.equal(tail.headers['content-range'], `bytes ${SIZE - 16}-${SIZE - 1}/${SIZE}`);
      assert.ok(tail.body.equals(MARKS[2][1]));
      await sleep(300);
      const baseline = Math.max(rss(pid), rss(pid));

      // The slow reader: read the response head, then stop reading.
      const s = connect({ port: srv.port, host: '127.0.0.1' });
      sock = s;
      let closedEarly = false;
      s.on('close', () => { closedEarly = true; });
      s.on('error', () => { /* reported through closedEarly */ });
      const chunks: Buffer[] = [];
      let received = 0;
      const head = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no response head in 5 s')), 5000);
        const onData = (d: Buffer) => {
          chunks.push(d);
          received += d.length;
          const all = Buffer.concat(chunks);
          const he = all.indexOf('\r\n\r\n');
          if (he < 0) return;
          s.pause();
          s.off('data', onData);
          clearTimeout(t);
          resolve(all.toString('latin1', 0, he + 4));
        };
        s.on('data', onData);
        s.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.match(head, new RegExp(`\r\ncontent-length: ${SIZE}\r\n`));
      const headLen = Buffer.byteLength(head, 'latin1');

      // Paused for 5 s: sample the server's memory; meanwhile another client is served.
      let peakPaused = 0;
      const meanwhile: Array<{ status: number; ms: number; ok: boolean }> = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 5000) {
        peakPaused = Math.max(peakPaused, rss(pid));
        if (meanwhile.length < 3 && Date.now() - t0 > 1000 * (meanwhile.length + 1)) {
          const r = meanwhile.length === 1
            ? await fetchOnce(srv.port, '/big.bin', 'Range: bytes=0-15\r\n')
            : await fetchOnce(srv.port, '/small.html');
          meanwhile.push({ status: r.status, ms: r.ms, ok: r.body.equals(meanwhile.length === 1 ? MARKS[0][1] : Buffer.from(SMALL)) });
        }
        await sleep(200);
      }
      const growth = peakPaused - baseline;
      console.log(`# paused reader: baseline RSS ${(baseline / MiB).toFixed(1)} MiB, peak ${(peakPaused / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(1)} MiB; others: ${JSON.stringify(meanwhile)}`);
      assert.ok(growth < 32 * MiB, `server RSS grew by ${(growth / MiB).toFixed(1)} MiB while the reader was paused`);
      assert.equal(meanwhile.length, 3);
      for (const m of meanwhile) {
        assert.equal(m.status, m === meanwhile[1] ? 206 : 200);
        assert.ok(m.ok, 'the right bytes');
        assert.ok(m.ms < 2000, `served in ${m.ms} ms while the big download was stalled`);
      }
      assert.equal(closedEarly, false, 'the paused connection is still open');

      // Resume and read everything at speed, checking length and the markers.
      const total = headLen + SIZE;
      const bodyMarks = MARKS.map(([pos, m]) => ({ pos, want: m, got: Buffer.alloc(m.length) }));
      let bodyOff = 0;
      const absorb = (d: Buffer, from: number) => {
        const piece = d.subarray(from);
        for (const bm of bodyMarks) {
          const a = Math.max(bm.pos, bodyOff);
          const b = Math.min(bm.pos + bm.want.length, bodyOff + piece.length);
          if (a < b) piece.copy(bm.got, a - bm.pos, a - bodyOff, b - bodyOff);
        }
        bodyOff += piece.length;
      };
      const already = Buffer.concat(chunks);
      absorb(already, headLen);
      chunks.length = 0;
      let peakRun = 0;
      const sampler = setInterval(() => { try { peakRun = Math.max(peakRun, rss(pid)); } catch { /* gone */ } }, 200);
      const tStart = Date.now();
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`only ${received} of ${total} bytes in 45 s`)), 45_000);
          s.on('data', (d: Buffer) => {
            received += d.length;
            absorb(d, 0);
            if (received >= total) {
              clearTimeout(t);
              resolve();
            }
          });
          s.once('close', () => {
            clearTimeout(t);
            if (received < total) reject(new Error(`closed after ${received} of ${total} bytes`));
          });
          s.resume();
        });
      } finally {
        clearInterval(sampler);
      }
      const secs = (Date.now() - tStart) / 1000;
      console.log(`# resumed: ${SIZE / MiB} MiB in ${secs.toFixed(1)} s; peak RSS while streaming ${(peakRun / MiB).toFixed(1)} MiB`);
      assert.equal(received, total, 'exactly content-length bytes, nothing more');
      for (const bm of bodyMarks) assert.ok(bm.got.equals(bm.want), `marker at ${bm.pos}: ${JSON.stringify(bm.got.toString('latin1'))}`);
      assert.ok(peakRun - baseline < 128 * MiB, `server RSS grew by ${((peakRun - baseline) / MiB).toFixed(1)} MiB while streaming at speed`);

      // The same connection is still usable (keep-alive) after 1 GiB.
      const after = await new Promise<string>((resolve, reject) => {
        let txt = '';
        const t = setTimeout(() => reject(new Error(`no second response in 3 s: ${JSON.stringify(txt)}`)), 3000);
        s.removeAllListeners('data');
        s.on('data', (d: Buffer) => {
          txt += d.toString('latin1');
          if (txt.endsWith(SMALL)) {
            clearTimeout(t);
            resolve(txt);
          }
        });
        s.write('GET /small.html HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      assert.match(after, /^HTTP\/1\.1 200 /);
      assert.equal(closedEarly, false);
    } catch (e) {
      console.log('# server stderr: ' + srv.stderr());
      throw e;
    } finally {
      sock?.destroy();
      sock = null;
    }
  });

  test('aborted downloads release their file descriptors and memory', { timeout: 20_000 }, async () => {
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    await sleep(300);
    const fdBefore = fds();
    const rssBefore = rss(pid);
    for (let round = 0; round < 3; round++) {
      const socks = await Promise.all(Array.from({ length: 8 }, () => new Promise<Socket>((resolve, reject) => {
        const c = connect({ port: srv.port, host: '127.0.0.1' });
        const t = setTimeout(() => reject(new Error('no response head in 3 s')), 3000);
        c.on('error', () => { /* destroyed below */ });
        c.once('data', () => { clearTimeout(t); c.pause(); resolve(c); });
        c.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      })));
      assert.ok(fds() >= fdBefore + 16, 'each download holds a socket and an open file');
      for (const c of socks) c.destroy();
    }
    const t0 = Date.now();
    while (fds() > fdBefore && Date.now() - t0 < 3000) await sleep(50);
    assert.equal(fds(), fdBefore, 'every socket and file was closed');
    assert.ok(rss(pid) - rssBefore < 32 * MiB, 'memory did not pile up');
    const r = await fetchOnce(srv.port, '/small.html');
    assert.equal(r.status, 200);
  });
});
