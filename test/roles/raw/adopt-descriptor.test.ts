/**
 * vhost.adoptDescriptor(): FIFOs, pipes, ttys and files in the event loop
 * with the RAW_*_FILE callbacks, and the loop never waiting on them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, callbackHttpDummy, Mount, Reason, Write, type Context, type Protocol, type TslwsError, type Wsi } from '../../../src/index.js';
import { raw, sleep } from '../../helpers/common.js';

const dir = mkdtempSync(join(tmpdir(), 'tslws-adoptfd-'));
writeFileSync(join(dir, 'index.html'), 'still served\n');
after(() => rmSync(dir, { recursive: true, force: true }));

interface Watch {
  events: string[];
  rx: Buffer[];
  /** Called at each event, to act on it. */
  on?: (wsi: Wsi, reason: Reason) => number | void;
}

function watcher(name: string, w: Watch): Protocol {
  return {
    name,
    callback(wsi: Wsi, reason: Reason, _u: unknown, input: unknown) {
      if (reason >= Reason.RAW_ADOPT_FILE && reason <= Reason.RAW_CLOSE_FILE) w.events.push(Reason[reason]);
      if (reason === Reason.RAW_RX_FILE) w.rx.push(Buffer.from(input as Uint8Array));
      return w.on?.(wsi, reason) ?? 0;
    },
  };
}

async function start(w: Watch): Promise<{ ctx: Context; port: number }> {
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{ name: 'http', callback: callbackHttpDummy }, watcher('fd', w)],
    mounts: [{ mountpoint: '/', origin: dir, originProtocol: Mount.FILE }],
  });
  await ctx.listening;
  return { ctx, port: ctx.vhosts[0].port as number };
}

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function fifo(name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

async function served(port: number): Promise<void> {
  const r = await raw(port, 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(r.text, /^HTTP\/1\.1 200 OK[\s\S]*still served/);
}

test('a FIFO by path: a writer\'s bytes come as RAW_RX_FILE, its going away as one RAW_CLOSE_FILE; with no writer the loop goes on', async (t) => {
  const w: Watch = { events: [], rx: [] };
  const { ctx, port } = await start(w);
  t.after(() => ctx.destroy());
  const p = fifo('in.fifo');
  const wsi = ctx.vhosts[0].adoptDescriptor(p, 'fd');
  assert.ok(wsi);
  assert.deepEqual(w.events, ['RAW_ADOPT_FILE']);
  // Nobody writes yet: other connections are served meanwhile.
  await served(port);
  // One writer, two writes, then it closes its end: the last writer gone is the FIFO's end.
  const child = spawn('sh', ['-c', `exec 3>${p}; printf 'hello ' >&3; sleep 0.2; printf fifo >&3`], { timeout: 5000 });
  const exited = new Promise((r) => child.on('exit', r));
  await until('the close', () => w.events.includes('RAW_CLOSE_FILE'));
  assert.equal(await exited, 0);
  assert.equal(Buffer.concat(w.rx).toString(), 'hello fifo');
  assert.equal(w.events.filter((e) => e === 'RAW_CLOSE_FILE').length, 1);
  assert.equal(wsi.closed, true);
});

test('writing into a pipe nobody reads: WRITEABLE stops when it is full, the loop goes on, and it all arrives once read', async (t) => {
  const total = 512 * 1024;
  let written = 0;
  const w: Watch = {
    events: [], rx: [],
    on(wsi, reason) {
      if (reason === Reason.RAW_ADOPT_FILE) wsi.callbackOnWritable();
      if (reason === Reason.RAW_WRITEABLE_FILE && written < total) {
        const n = Math.min(16384, total - written);
        if (wsi.write(Buffer.alloc(n, 0x61), Write.HTTP) < n) return -1;
        written += n;
        if (written < total) wsi.callbackOnWritable();
      }
      return 0;
    },
  };
  const { ctx, port } = await start(w);
  t.after(() => ctx.destroy());
  const p = fifo('out.fifo');
  // Our own reader end, opened first (a FIFO opened to write needs one), and not read yet.
  const rfd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => closeSync(rfd));
  const wsi = ctx.vhosts[0].adoptDescriptor(p, 'fd', { flags: 'w' });
  assert.ok(wsi);
  await sleep(400);
  await served(port);
  assert.ok(written < total, 'stopped before the end');
  // The pipe (64 KiB) plus about one high-water mark and a chunk: nothing unbounded.
  assert.ok(written <= 64 * 1024 + 2 * 16384 + 16384, `${written} bytes accepted while nobody read`);
  let got = 0;
  const buf = Buffer.alloc(65536);
  const end = Date.now() + 10000;
  while (got < total && Date.now() < end) {
    try {
      const n = readSync(rfd, buf, 0, buf.length, null);
      got += n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(5);
    }
  }
  assert.equal(got, total);
  assert.equal(written, total);
  wsi.close();
  assert.deepEqual(w.events.filter((e) => e !== 'RAW_WRITEABLE_FILE'), ['RAW_ADOPT_FILE', 'RAW_CLOSE_FILE']);
});

test('a regular file given as a descriptor: read whole, paused by rx flow control, then one RAW_CLOSE_FILE at its end; the descriptor is closed', async (t) => {
  const data = randomBytes(300 * 1024);
  writeFileSync(join(dir, 'data.bin'), data);
  let pausedAt = -1;
  const w: Watch = {
    events: [], rx: [],
    on(wsi, reason) {
      if (reason === Reason.RAW_RX_FILE && pausedAt < 0) {
        pausedAt = w.rx.length;
        wsi.rxFlowControl(false);
        setTimeout(() => {
          assert.equal(w.rx.length, pausedAt, 'nothing delivered while paused');
          wsi.rxFlowControl(true);
        }, 200);
      }
      return 0;
    },
  };
  const { ctx } = await start(w);
  t.after(() => ctx.destroy());
  const fd = openSync(join(dir, 'data.bin'), 'r');
  const wsi = ctx.vhosts[0].adoptDescriptor(fd, 'fd', { chunkSize: 32 * 1024 });
  assert.ok(wsi);
  await until('the end of the file', () => w.events.includes('RAW_CLOSE_FILE'));
  assert.ok(Buffer.concat(w.rx).equals(data));
  assert.ok(w.rx.length >= 2);
  assert.equal(w.events.filter((e) => e === 'RAW_CLOSE_FILE').length, 1);
  await sleep(50);
  assert.throws(() => fstatSync(fd), /EBADF/, 'the adopted descriptor was closed');
});

test('a tty: what is typed on the other side of a pty arrives as RAW_RX_FILE', async (t) => {
  const w: Watch = { events: [], rx: [] };
  const { ctx } = await start(w);
  t.after(() => ctx.destroy());
  // python3 holds a pty pair, says the terminal's name, then types into it.
  const py = spawn('python3', ['-c', [
    'import os, pty, sys, time',
    'm, s = pty.openpty()',
    'print(os.ttyname(s), flush=True)',
    'sys.stdin.readline()',
    'os.write(m, b"typed on a tty\\n")',
    'time.sleep(3)',
  ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => py.kill());
  py.on('error', (e) => assert.fail(`python3 is needed for the pty (apt-get install python3): ${e.message}`));
  const name = await new Promise<string>((res) => py.stdout.once('data', (d) => res(String(d).trim())));
  assert.match(name, /^\/dev\/pts\/\d+$/);
  const wsi = ctx.vhosts[0].adoptDescriptor(name, 'fd');
  assert.ok(wsi);
  py.stdin.write('go\n');
  await until('the typed line', () => Buffer.concat(w.rx).toString().includes('typed on a tty'));
  wsi.close();
  assert.deepEqual(w.events.at(-1), 'RAW_CLOSE_FILE');
});

test('adoptDescriptor refuses with a code what it cannot adopt', async (t) => {
  const w: Watch = { events: [], rx: [] };
  const { ctx } = await start(w);
  t.after(() => ctx.destroy());
  const vh = ctx.vhosts[0];
  const err = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return (e as TslwsError).code;
    }
    return undefined;
  };
  assert.equal(err(() => vh.adoptDescriptor(join(dir, 'index.html'), 'no-such-protocol')), 'TSLWS_INVALID_ARGUMENT');
  assert.equal(err(() => vh.adoptDescriptor(join(dir, 'absent'), 'fd')), 'ENOENT');
  assert.equal(err(() => vh.adoptDescriptor(dir, 'fd')), 'TSLWS_INVALID_ARGUMENT', 'a directory');
  assert.equal(err(() => vh.adoptDescriptor(-1, 'fd')), 'TSLWS_INVALID_ARGUMENT');
  assert.equal(err(() => vh.adoptDescriptor(join(dir, 'index.html'), 'fd', { flags: 'x' as 'r' })), 'TSLWS_INVALID_ARGUMENT');
  assert.deepEqual(w.events, [], 'nothing was adopted');
});
