import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import type { HttpExchange, ResponsePump, BodySink } from '../../http/exchange.js';
import { bareOrigin, type ResolvedMount } from '../../http/mount.js';
import { Write } from '../../core/write.js';
import { log } from '../../core/log.js';
import { ChunkedDecoder } from '../../http/chunked.js';
import { cgiEnv } from './env.js';
import { findHeadEnd, parseCgiHead } from './headers.js';
import { SilenceTimer } from '../silence.js';

/** Default seconds a CGI program may go without output (lws's 5). */
export const DEFAULT_CGI_TIMEOUT_SECS = 5;
/** Largest header block a program may write before its body. */
const MAX_CGI_HEAD = 16384;
/** Longest stderr line passed to the log; the rest of a longer line is cut. */
const MAX_STDERR_LINE = 1024;
/** Seconds between asking the program to stop and killing it. */
const KILL_GRACE_MS = 1000;

/**
 * One CGI program serving one request: the body goes to its stdin with
 * flow control both ways, its stdout becomes the response (headers parsed,
 * body framed by us), its stderr goes to the log. The program runs in its
 * own process group, which is killed when it goes quiet for `cgiTimeout`
 * seconds, or when the client leaves.
 */
class CgiRun implements ResponsePump, BodySink {
  #head: Buffer | null = Buffer.alloc(0);
  #finished = false;
  #dechunk: ChunkedDecoder | null = null;
  #timer: SilenceTimer | null = null;
  #stdoutPaused = false;
  #stdinChoked = false;
  /** The request body is still coming from the client. */
  #awaitingBody = false;
  #stderrLine = '';
  #exited = false;

  constructor(readonly ex: HttpExchange, readonly child: ChildProcess, readonly timeoutMs: number, readonly script: string) {}

  start(): void {
    const c = this.child;
    this.#awaitingBody = this.ex.hasRequestBody;
    c.stdout?.on('data', (d: Buffer) => this.#stdout(d));
    c.stdout?.on('end', () => this.#stdoutEnd());
    c.stderr?.on('data', (d: Buffer) => this.#stderr(d));
    c.stderr?.on('end', () => this.#flushStderr());
    // A program that exits without reading its stdin makes writes fail: that is its choice.
    c.stdin?.on('error', () => {});
    c.stdin?.on('drain', () => {
      if (!this.#stdinChoked) return;
      this.#stdinChoked = false;
      this.ex.wsi.rxFlowControl(true);
      // It read: it is alive (and if the body is still coming, we wait on the client again).
      this.#timer?.touch();
    });
    c.on('error', (e) => {
      log.err('cgi %s: %s', this.script, e.message);
      this.#fail(500);
    });
    c.on('exit', (code, sig) => {
      this.#exited = true;
      log.info('cgi %s exited (%s)', this.script, sig ?? code);
    });
    this.#timer = new SilenceTimer(this.ex.wsi.context.timers, this.timeoutMs, () => this.#waitingOnProgram(), () => this.#silent());
  }

  // ---- request body → stdin ----

  piece(buf: Buffer): void {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || this.#finished) return;
    if (!stdin.write(buf) && !this.#stdinChoked) {
      // The program reads slower than the client sends: stop reading the client,
      // and from now on we wait on the program.
      this.#stdinChoked = true;
      this.ex.wsi.rxFlowControl(false);
      this.#timer?.touch();
    }
  }

  complete(): void {
    this.#awaitingBody = false;
    this.child.stdin?.end();
    this.#timer?.touch();
  }

  // ---- stdout → response ----

  #stdout(d: Buffer): void {
    if (this.#finished) return;
    this.#timer?.touch();
    const ex = this.ex;
    if (this.#head) {
      const searched = this.#head.length;
      const all = searched ? Buffer.concat([this.#head, d]) : d;
      // What was searched before held no blank line; only its last 2 bytes may begin one now.
      const end = findHeadEnd(all, Math.max(0, searched - 2));
      if (end ? end[0] > MAX_CGI_HEAD : all.length > MAX_CGI_HEAD) {
        log.err('cgi %s: header block larger than %d bytes', this.script, MAX_CGI_HEAD);
        this.#fail(500);
        return;
      }
      if (!end) {
        this.#head = all;
        return;
      }
      this.#head = null;
      let head;
      try {
        head = parseCgiHead(all.toString('latin1', 0, end[0]));
      } catch (e) {
        log.err('cgi %s: %s', this.script, (e as Error).message);
        this.#fail(500);
        return;
      }
      try {
        ex.headers.status(head.status);
        for (const [k, v] of head.headers) ex.headers.header(k, v);
        if (head.contentLength >= 0 && !head.chunked) ex.headers.header('content-length', String(head.contentLength));
      } catch (e) {
        log.err('cgi %s: %s', this.script, (e as Error).message);
        this.#fail(500);
        return;
      }
      // The program's own chunking is undone; ours (or a length) frames the answer.
      if (head.chunked) this.#dechunk = new ChunkedDecoder(ex.limits);
      if (ex.write(ex.finalizeHeaders(), Write.HTTP_HEADERS) < 0) return;
      d = all.subarray(end[1]);
      if (head.contentLength === 0 && !head.chunked) {
        this.#finish();
        return;
      }
    }
    if (d.length) this.#body(d);
  }

  #body(d: Buffer): void {
    const wsi = this.ex.wsi;
    if (this.#dechunk) {
      try {
        this.#dechunk.feed(d, 0, (piece) => {
          if (!wsi.closed) this.ex.write(piece, Write.HTTP);
        });
      } catch {
        log.err('cgi %s: malformed chunked output', this.script);
        wsi.close(false);
        return;
      }
      if (this.#dechunk.done) this.#finish();
    } else if (this.ex.write(d, Write.HTTP) < 0) return;
    // Reaching a declared length completed the transaction, which closed us.
    if (wsi.closed || this.#finished) return;
    if (wsi.sendPipeChoked()) {
      // The client reads slower than the program writes: stop reading the program
      // (and its silence is no longer its own).
      this.#stdoutPaused = true;
      this.child.stdout?.pause();
    }
  }

  /** The socket drained: read the program again. */
  pump(): void {
    if (!this.#stdoutPaused || this.#finished) return;
    this.#stdoutPaused = false;
    this.#timer?.touch();
    this.child.stdout?.resume();
  }

  #stdoutEnd(): void {
    if (this.#finished) return;
    if (this.#head) {
      log.err('cgi %s: ended without a complete header block', this.script);
      this.#fail(500);
      return;
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#disarm();
    const wsi = this.ex.wsi;
    // Detach first: completing the transaction closes its pump.
    if (this.ex.producer === this) this.ex.producer = null;
    if (!wsi.closed) this.ex.write(new Uint8Array(0), Write.HTTP_FINAL);
    this.#stop();
  }

  #fail(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#disarm();
    const ex = this.ex;
    // Detach first: answering completes the transaction, which would close us again.
    if (ex.producer === this) ex.producer = null;
    this.#stop();
    ex.abandon(status);
  }

  // ---- stderr → log ----

  #stderr(d: Buffer): void {
    const text = this.#stderrLine + d.toString('utf8');
    const lines = text.split('\n');
    this.#stderrLine = (lines.pop() ?? '').slice(0, MAX_STDERR_LINE);
    for (const l of lines) log.warn('cgi %s: %s', this.script, l.slice(0, MAX_STDERR_LINE));
  }

  #flushStderr(): void {
    if (this.#stderrLine) log.warn('cgi %s: %s', this.script, this.#stderrLine);
    this.#stderrLine = '';
  }

  // ---- timeout and teardown ----

  /**
   * Are we waiting on the program? Not while the client reads slower than
   * it writes, nor while its request body is still coming and it keeps up
   * with it: then we wait on the client, whose own timeout applies.
   */
  #waitingOnProgram(): boolean {
    return !this.#finished && !this.#stdoutPaused && (!this.#awaitingBody || this.#stdinChoked);
  }

  #silent(): void {
    log.warn('cgi %s: no output for %d ms, killed', this.script, this.timeoutMs);
    this.#fail(504);
  }

  #disarm(): void {
    this.#timer?.disarm();
    this.#timer = null;
  }

  /** The transaction or the connection ended (the client may have left). */
  close(): void {
    this.#disarm();
    if (this.ex.bodySink === this) this.ex.bodySink = null;
    if (this.#finished) return;
    this.#finished = true;
    this.#stop();
  }

  /** Stop the program's whole process group: TERM now, KILL if it lingers. */
  #stop(): void {
    const c = this.child;
    if (this.#stdinChoked) {
      // Whatever of the body remains must still be read (and dropped).
      this.#stdinChoked = false;
      this.ex.wsi.rxFlowControl(true);
    }
    c.stdout?.destroy();
    c.stdin?.destroy();
    // stderr is left to drain, so the program's last words reach the log;
    // it is cut if something the program started keeps it open. These two
    // waits are plain timers, not the context's: they outlive the
    // connection and must still stop the program after a context destroy.
    const cutStderr = () => {
      const t = setTimeout(() => c.stderr?.destroy(), KILL_GRACE_MS);
      t.unref();
    };
    if (this.#exited || c.pid === undefined) {
      cutStderr();
      return;
    }
    c.once('exit', cutStderr);
    const pid = c.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        /* already gone */
      }
    };
    signal('SIGTERM');
    const t = setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS);
    t.unref();
    c.once('exit', () => {
      clearTimeout(t);
      // Whatever it started may outlive it in the group.
      signal('SIGKILL');
    });
  }
}

/**
 * Serve a request from a CGI mount: `origin` is the program (lwsws's
 * `cgi://` prefix allowed). Always answers (500 when it cannot start).
 */
export function startCgi(ex: HttpExchange, m: ResolvedMount, path: string): boolean {
  const req = ex.req;
  // Absolute, so running it from its own directory still finds it.
  const script = resolve(bareOrigin(m));
  const env = cgiEnv(ex.wsi, req, m, script, path, ex.localPort);
  let child: ChildProcess;
  try {
    // detached: its own process group, so a timeout can stop everything it started.
    child = spawn(script, [], { env, cwd: dirname(script), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    log.err('cgi %s: cannot start: %s', script, (e as Error).message);
    ex.returnStatus(500);
    return true;
  }
  const run = new CgiRun(ex, child, (m.cgiTimeout ?? DEFAULT_CGI_TIMEOUT_SECS) * 1000, script);
  ex.producer = run;
  ex.bodySink = run;
  run.start();
  if (!ex.hasRequestBody) child.stdin?.end();
  return true;
}
