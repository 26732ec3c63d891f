/**
 * maxConnections against a real file descriptor limit: a server started
 * with `ulimit -n 128` takes 128 less its reserve of 32, closes the
 * connections past that at once (they do not hang in the accept queue or
 * run the process out of descriptors), counts them in
 * `context.refusedConnections`, logs the burst once, and serves a new
 * connection as soon as others have closed. (128, not less: Node's ESM
 * loader opens the library's modules in parallel, and at 64 descriptors
 * loading it can fail with EMFILE before any connection is made.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distSrcUrl } from '../helpers/paths.js';
import { waitFor, within } from '../helpers/plugin-ws-client.js';

/** The server: prints its port and limit, then answers `stats` lines on stdin with its counters. */
const SERVER = `
import { createContext, callbackHttpDummy } from ${JSON.stringify(distSrcUrl('index.js'))};
import { createInterface } from 'node:readline';
const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }] });
await ctx.listening;
console.log(JSON.stringify({ port: ctx.vhosts[0].port, max: ctx.maxConnections }));
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l === 'stats') console.log(JSON.stringify({ connections: ctx.connectionCount, refused: ctx.refusedConnections }));
});
rl.on('close', () => void ctx.destroy().then(() => process.exit(0)));
`;

interface Conn {
  s: Socket;
  text(): string;
  /** ms from connect to close, or -1 while open. */
  closedAfter(): number;
}

function open(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let text = '';
    let at = 0;
    let closedAfter = -1;
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('close', () => (closedAfter = Date.now() - at));
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET') reject(e);
    });
    s.once('connect', () => {
      at = Date.now();
      resolve({ s, text: () => text, closedAfter: () => closedAfter });
    });
  });
}

async function get(c: Conn, path: string): Promise<string> {
  const before = c.text().length;
  c.s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  await waitFor(() => c.text().indexOf('\r\n\r\n', before) >= 0 || c.closedAfter() >= 0, `an answer to ${path}`);
  return c.text().slice(before);
}

test('maxConnections under `ulimit -n 128`: past the limit closed at once and counted, the server stays up and takes new ones after closes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-maxconn-'));
  const script = join(dir, 'server.mjs');
  writeFileSync(script, SERVER);
  const child = spawn('bash', ['-c', 'ulimit -n 128 && exec "$0" "$1"', process.execPath, script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const lines = () => out.split('\n').filter((l) => l.startsWith('{'));
  const stats = async (): Promise<{ connections: number; refused: number }> => {
    const n = lines().length;
    child.stdin.write('stats\n');
    await waitFor(() => lines().length > n, 'the server\'s counters');
    return JSON.parse(lines()[n]) as { connections: number; refused: number };
  };
  const conns: Conn[] = [];
  try {
    await waitFor(() => lines().length > 0 || child.exitCode !== null, 'the server to listen', 10000);
    assert.ok(lines().length > 0, `the server did not start: ${err}`);
    const { port, max } = JSON.parse(lines()[0]) as { port: number; max: number };
    assert.equal(max, 128 - 32, 'maxConnections is the fd limit less 32');

    for (let i = 0; i < max; i++) conns.push(await open(port));
    await waitFor(() => conns.length === max, 'the connections');
    let s = await stats();
    for (let i = 0; i < 50 && s.connections < max; i++) s = await stats();
    assert.deepEqual(s, { connections: max, refused: 0 });
    // Well inside the descriptor limit even at the connection limit.
    const fds = readdirSync(`/proc/${child.pid}/fd`).length;
    assert.ok(fds < 128, `${fds} descriptors open at ${max} connections`);
    t.diagnostic(`${fds} descriptors open at ${max} connections`);

    // Eight more: each closed at once, nothing sent.
    const extra: Conn[] = [];
    for (let i = 0; i < 8; i++) extra.push(await open(port));
    await waitFor(() => extra.every((c) => c.closedAfter() >= 0), 'the connections past the limit to be closed', 2000);
    for (const c of extra) {
      assert.ok(c.closedAfter() < 1000, `closed after ${c.closedAfter()} ms`);
      assert.equal(c.text(), '');
    }
    assert.deepEqual(await stats(), { connections: max, refused: 8 });
    assert.equal(err.match(/connection limit 96 reached/g)?.length, 1, `the burst is logged once: ${err}`);

    // The ones it holds are served; once some close, a new one is taken.
    assert.match(await get(conns[0], '/held'), /^HTTP\/1\.1 404 /);
    for (const c of conns.splice(0, 5)) c.s.destroy();
    await waitFor(() => /connection limit 96: 8 connections were closed on accept/.test(err), 'the burst total');
    for (let i = 0; i < 50 && (await stats()).connections > max - 5; i++) await new Promise((r) => setTimeout(r, 20));
    const fresh = await open(port);
    conns.push(fresh);
    assert.match(await get(fresh, '/fresh'), /^HTTP\/1\.1 404 /);
    assert.equal(fresh.closedAfter(), -1);
    assert.deepEqual(await stats(), { connections: max - 4, refused: 8 });
  } finally {
    for (const c of conns) c.s.destroy();
    child.stdin.end();
    const code = await within(exited, 5000, 'the server to exit').catch(() => {
      child.kill('SIGKILL');
      return null;
    });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, err);
  }
});
