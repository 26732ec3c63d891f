import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { HttpExchange, ResponsePump, BodySink } from '../../http/exchange.js';
import { Mount, type ResolvedMount } from '../../http/mount.js';
import { encodePath, queryPart } from '../../http/uri.js';
import { proxyTarget, type ProxyTarget } from '../../http/proxy-target.js';
import { Write } from '../../core/write.js';
import { log } from '../../core/log.js';
import { upstreamHeaders, downstreamHeaders } from './headers.js';
import { SilenceTimer } from '../silence.js';

/** Default seconds to wait for the upstream to connect and answer, and between pieces of its body. */
export const DEFAULT_PROXY_TIMEOUT_SECS = 10;

function caOf(ca: string | Uint8Array | undefined): string | Buffer | undefined {
  return ca === undefined || typeof ca === 'string' ? ca : Buffer.from(ca);
}

/**
 * One request relayed to an upstream server. The request body goes up
 * with flow control (reading the client stops while the upstream is
 * slow), the response comes down the same way (reading the upstream stops
 * while the client is slow), so neither side is ever buffered whole.
 * Upstream failures before the response starts are 502, silence past the
 * timeout 504; after it starts, the client's connection is closed.
 */
class ProxyRun implements ResponsePump, BodySink {
  #up: ClientRequest | null = null;
  #res: IncomingMessage | null = null;
  #timer: SilenceTimer | null = null;
  #done = false;
  #upChoked = false;
  /** The request body is still coming from the client. */
  #awaitingBody = false;
  /** Reading the upstream's answer stopped while the client catches up. */
  #resPaused = false;

  constructor(readonly ex: HttpExchange, readonly target: ProxyTarget, readonly timeoutMs: number, readonly tlsOpts: ResolvedMount['proxyTls']) {}

  start(m: ResolvedMount, path: string, upgrade: boolean): void {
    const ex = this.ex;
    const req = ex.req;
    const t = this.target;
    // The origin's path and the mountpoint itself can both be empty: a request line needs at least `/`.
    const upPath = (t.base + upstreamPath(ex.rawPath, m, path) || '/') + queryPart(req.query);
    const hostHeader = (t.host.includes(':') ? `[${t.host}]` : t.host) + ((t.https ? t.port === 443 : t.port === 80) ? '' : `:${t.port}`);
    const headers = upstreamHeaders(ex.wsi, req, hostHeader, upgrade);
    const opts = {
      host: t.host, port: t.port, method: req.method, path: upPath, agent: false as const,
      headers: headers.flat(), setHost: false,
      ...(t.https ? { ca: caOf(this.tlsOpts?.ca), rejectUnauthorized: this.tlsOpts?.rejectUnauthorized ?? true, servername: t.host } : {}),
    };
    const up = (t.https ? httpsRequest : httpRequest)(opts);
    this.#up = up;
    this.#awaitingBody = !upgrade && ex.hasRequestBody;
    this.#timer = new SilenceTimer(ex.wsi.context.timers, this.timeoutMs, () => this.#waitingOnUpstream(), () => this.#silent());
    up.on('response', (res) => this.#response(res));
    up.on('upgrade', (res, socket, head) => this.#upgraded(res, socket, head));
    up.on('error', (e) => this.#fail(502, `upstream ${t.host}:${t.port}: ${e.message}`));
    up.on('drain', () => {
      if (!this.#upChoked) return;
      this.#upChoked = false;
      ex.wsi.rxFlowControl(true);
      // It took the upload: it is alive (and if the body is still coming, we wait on the client again).
      this.#timer?.touch();
    });
    if (upgrade || !ex.hasRequestBody) up.end();
  }

  // ---- request body up ----

  piece(buf: Buffer): void {
    const up = this.#up;
    if (!up || this.#done || up.destroyed) return;
    if (!up.write(buf) && !this.#upChoked) {
      // The upstream takes the upload slower than the client sends: from now on we wait on it.
      this.#upChoked = true;
      this.ex.wsi.rxFlowControl(false);
      this.#timer?.touch();
    }
  }

  complete(): void {
    this.#awaitingBody = false;
    this.#up?.end();
    this.#timer?.touch();
  }

  // ---- response down ----

  #response(res: IncomingMessage): void {
    if (this.#done) {
      res.destroy();
      return;
    }
    this.#res = res;
    const ex = this.ex;
    const wsi = ex.wsi;
    try {
      ex.headers.status(res.statusCode ?? 502);
      for (const [n, v] of downstreamHeaders(res.rawHeaders)) ex.headers.header(n, v);
      const cl = res.headers['content-length'];
      if (cl !== undefined && /^\d+$/.test(cl)) ex.headers.header('content-length', cl);
    } catch (e) {
      this.#fail(502, `upstream sent a header we cannot pass on: ${(e as Error).message}`);
      return;
    }
    if (ex.write(ex.finalizeHeaders(), Write.HTTP_HEADERS) < 0) return;
    this.#timer?.touch();
    res.on('data', (d: Buffer) => {
      if (this.#done) return;
      this.#timer?.touch();
      if (ex.write(d, Write.HTTP) < 0 || wsi.closed) return;
      if (ex.producer !== this) return; // the declared length was reached
      if (wsi.sendPipeChoked()) {
        // The client is slower than the upstream: stop reading the upstream
        // (and its silence is no longer its own).
        this.#resPaused = true;
        res.pause();
      }
    });
    res.on('end', () => this.#finish());
    res.on('error', () => this.#fail(502, 'upstream response broke off'));
    res.on('aborted', () => this.#fail(502, 'upstream response broke off'));
  }

  pump(): void {
    const res = this.#res;
    if (!res || this.#done || !this.#resPaused) return;
    this.#resPaused = false;
    this.#timer?.touch();
    res.resume();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#disarm();
    this.#releaseRx();
    const ex = this.ex;
    if (ex.producer === this) ex.producer = null;
    if (!ex.wsi.closed) ex.write(new Uint8Array(0), Write.HTTP_FINAL);
  }

  // ---- WebSocket ----

  #upgraded(res: IncomingMessage, socket: Socket, head: Buffer): void {
    const ex = this.ex;
    this.#done = true;
    this.#disarm();
    if (ex.producer === this) ex.producer = null;
    // The upstream's 101 goes to the client as it came (hop-by-hop headers are the point here).
    let block = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) block += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
    if (!ex.tunnel(block + '\r\n', socket, head)) {
      socket.destroy();
      ex.abandon(502);
    }
  }

  // ---- failures and teardown ----

  /**
   * Are we waiting on the upstream? Not while the client reads slower than
   * it sends, nor while the request body is still coming and the upstream
   * keeps up with it: then we wait on the client, whose own timeout applies.
   */
  #waitingOnUpstream(): boolean {
    return !this.#done && !this.#resPaused && (!this.#awaitingBody || this.#upChoked);
  }

  #silent(): void {
    this.#fail(504, `upstream ${this.target.host}:${this.target.port} silent for ${this.timeoutMs} ms`);
  }

  #disarm(): void {
    this.#timer?.disarm();
    this.#timer = null;
  }

  #fail(status: number, why: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#disarm();
    log.warn('wsi %d: proxy: %s', this.ex.wsi.id, why);
    const ex = this.ex;
    // Detach first: answering completes the transaction, which would close us again.
    if (ex.producer === this) ex.producer = null;
    this.#teardown();
    ex.abandon(status);
  }

  /** Reading the client must never stay stopped on our account once we are done. */
  #releaseRx(): void {
    if (!this.#upChoked) return;
    this.#upChoked = false;
    this.ex.wsi.rxFlowControl(true);
  }

  #teardown(): void {
    this.#releaseRx();
    this.#res?.destroy();
    this.#up?.destroy();
  }

  close(): void {
    this.#disarm();
    if (this.ex.bodySink === this) this.ex.bodySink = null;
    if (!this.#done) {
      this.#done = true;
      this.#teardown();
    }
  }
}

/** Relay a request (or a WebSocket upgrade) under a proxy mount to its upstream. */
export function startProxy(ex: HttpExchange, m: ResolvedMount, path: string, upgrade: boolean): boolean {
  const run = new ProxyRun(ex, proxyTarget(m.origin, m.originProtocol === Mount.HTTPS), (m.proxyTimeout ?? DEFAULT_PROXY_TIMEOUT_SECS) * 1000, m.proxyTls);
  ex.producer = run;
  ex.bodySink = run;
  run.start(m, path, upgrade);
  return true;
}

/**
 * A `.` or `..` segment, however encoded, counting `%2F` as a separator
 * too: an upstream that decodes before resolving must not climb either.
 */
const DOT_SEGMENT = /(?:^|\/|%2f)(?:\.|%2e){1,2}(?=\/|%2f|$)/i;

/**
 * The path to send below the origin's base: the client's own spelling of
 * what follows the mountpoint, so `;`, `%2F` and other escapes reach the
 * upstream as they were sent. When that spelling is not plainly the
 * mountpoint followed by ordinary segments (an escaped mountpoint, or a
 * `.` or `..` segment, which an upstream could resolve out of the base),
 * the normalised path below the mountpoint is sent, encoded again. @internal
 */
export function upstreamPath(rawPath: string, m: ResolvedMount, path: string): string {
  const rest = rawBelowMount(rawPath, m);
  if (rest !== null && !DOT_SEGMENT.test(rest)) return rest;
  return encodePath(path.slice(m.mpLen === 1 ? 0 : m.mpLen));
}

function rawBelowMount(rawPath: string, m: ResolvedMount): string | null {
  if (m.mpLen === 1) return rawPath;
  const mp = m.mountpoint;
  if (!rawPath.startsWith(mp) || (rawPath.length > mp.length && rawPath.charCodeAt(mp.length) !== 0x2f)) return null;
  return rawPath.slice(mp.length);
}
