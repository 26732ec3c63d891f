/**
 * Independent peers for interop tests: Python's `websockets` (the Debian
 * package python3-websockets, run with /usr/bin/python3) and headless
 * Chromium (Debian's `chromium`, driven by playwright-core), found where
 * the other interop and browser tests find them. A missing peer fails the
 * test with a message saying what to install; nothing is skipped.
 */
import { accessSync, constants, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** The Debian interpreter, not a pyenv python3 on PATH (which lacks the Debian package). */
export const PY = '/usr/bin/python3';
const PY_MISSING = `Python's websockets is needed: install the Debian package python3-websockets (apt-get install -y python3-websockets); the test runs it with ${PY}`;

/** Throws, saying what to install, unless `PY` can import websockets. */
export function needPythonWebsockets(): void {
  if (!existsSync(PY)) throw new Error(`${PY} not found. ${PY_MISSING}`);
  const probe = spawnSync(PY, ['-c', 'import websockets'], { encoding: 'utf8', timeout: 10000 });
  if (probe.status !== 0) throw new Error(`${PY} cannot import websockets (${probe.stderr.trim().split('\n').at(-1) ?? ''}). ${PY_MISSING}`);
}

function scriptFile(source: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tslws-py-')), 'script.py');
  writeFileSync(file, source);
  return file;
}

/** Run a Python script to its end; bounded by `timeoutMs`. */
export function runPython(source: string, args: string[], timeoutMs = 30000): Promise<{ code: number; stdout: string; stderr: string }> {
  needPythonWebsockets();
  const file = scriptFile(source);
  return new Promise((resolve) => {
    execFile(PY, [file, ...args], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A long-running Python script, with what it has printed so far. */
export interface PythonProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Wait (bounded) until stdout matches `re`; returns the match. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  kill(): void;
}

/** Start a Python script that keeps running (a server). */
export function spawnPython(source: string, args: string[] = []): PythonProcess {
  needPythonWebsockets();
  const child = spawn(PY, ['-u', scriptFile(source), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return {
    child,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    async waitFor(re: RegExp, timeoutMs = 10000): Promise<RegExpExecArray> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > end) throw new Error(`python did not print ${re} (exit ${child.exitCode}); stdout: ${out.trim()}; stderr: ${err.trim()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Debian's Chromium, as test/e2e drives it. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium; throws, saying what to install, when it is missing. */
export async function launchChromium(): Promise<Browser> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM} not found: install the Debian package chromium (apt-get install -y chromium); the browser tests need it and do not skip`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
}
