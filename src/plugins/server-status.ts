/**
 * `lws-server-status`, after lws's plugin: every `update-ms` (default
 * 1000) each connected client gets one TEXT message
 *
 *   {"i": {context facts}, "files": [{"path": P, "val": first 255 bytes}]}
 *
 * and one as soon as it connects. As in lws every value is a JSON string.
 * The context facts follow lws's shape (version, uptime, load averages,
 * contexts[0] with its vhosts, their mounts and ws-protocols); counters
 * tslws does not keep (rx/tx bytes, h1 transactions, rejections, header
 * pools) are "0". The connection figures of each vhost:
 *
 * - `h1_conn`: connections open now that do not speak HTTP/2 (HTTP/1,
 *   and the WebSockets upgraded from it); `ws_upg`: WebSockets open now.
 *   (lws counts both since the start; tslws shows what is open.)
 * - `h2_trans`: HTTP/2 requests since the vhost was made: each is a
 *   stream, a child wsi of its connection. `h2_subs`: those streams, as
 *   lws counts its child wsis: the same figure here, where every stream
 *   carries one request.
 * - `h2_alpn`: TLS connections that chose `h2` by ALPN since the vhost
 *   was made (connections by prior knowledge in clear text are not).
 * - `h2_upg`: "0": tslws does not take `Upgrade: h2c`.
 * - `h2_conn`, `h2_streams` (tslws's own, not lws's): HTTP/2 connections
 *   and streams open now.
 * - `ws_h2` (tslws's own): WebSockets open now that are carried by HTTP/2
 *   streams (RFC 8441); they count among `h2_streams`, not in `ws_upg`.
 * - `ws_rx_msgs`, `ws_tx_msgs` (tslws's own): whole WebSocket messages
 *   received and sent on the vhost (server and client side) while any
 *   vhost of the process runs this protocol: from the diagnostics channels,
 *   subscribed to from the first PROTOCOL_INIT to the last PROTOCOL_DESTROY.
 *   The status page takes messages per second from their differences.
 *
 * A connection counts on its vhost (on TLS the one SNI chose, in clear
 * text its port's first), a stream on the vhost its request went to.
 *
 * The context's figures are the sums over its vhosts, as in lws.
 *
 * Per-vhost options: `update-ms`; `hide-vhosts` ("1" leaves the vhosts
 * out); `filepath`: files whose start is sent along, several separated by
 * commas (lws repeats the option instead; a pvo object holds each key once).
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallbackArgs, Protocol, PvoOptions } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import type { Vhost } from '../core/vhost.js';
import type { Context } from '../core/context.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { Mount } from '../http/mount.js';
import { registerConnectionHooks } from '../core/features.js';
import type { Plugin } from './plugin.js';
import { pvoFlag, pvoNumber } from './pvo.js';
import { DiagnosticsChannel, subscribeDiagnostics } from '../core/diagnostics.js';

/** The protocol's name. */
export const SERVER_STATUS_PROTOCOL_NAME = 'lws-server-status';

const FILE_BYTES = 255;

function packageVersion(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const pkg = JSON.parse(readFileSync(resolve(here, '../../../package.json'), 'utf8')) as { version?: string };
    return `tslws ${pkg.version ?? '?'}`;
  } catch {
    return 'tslws';
  }
}
const VERSION = packageVersion();
const STARTED = Date.now();

interface StatusVhost {
  timer: NodeJS.Timeout | null;
  /** The latest message and its generation; a client sends what it has not sent. */
  json: string;
  gen: number;
  hideVhosts: boolean;
  files: string[];
  building: boolean;
  /** This vhost holds one of the message counters' subscriptions. */
  counting: boolean;
}

interface StatusSession {
  sentGen: number;
}

const SCHEME: Record<number, string> = {
  [Mount.HTTP]: 'http://', [Mount.HTTPS]: 'https://', [Mount.FILE]: 'file://', [Mount.CGI]: 'cgi://',
  [Mount.REDIR_HTTP]: '>http://', [Mount.REDIR_HTTPS]: '>https://', [Mount.CALLBACK]: 'callback://',
};

/** What happened on a vhost since it was made: the counters lws keeps in `conn_stats`. */
interface VhostCounts {
  /** HTTP/2 streams (each one request). */
  h2Streams: number;
  /** Connections that chose h2 by ALPN. */
  h2Alpn: number;
  /** Whole WebSocket messages received and sent, while counted (see the module comment). */
  wsRx: number;
  wsTx: number;
}

const counts = new WeakMap<Vhost, VhostCounts>();

function countsOf(vh: Vhost): VhostCounts {
  let c = counts.get(vh);
  if (!c) counts.set(vh, (c = { h2Streams: 0, h2Alpn: 0, wsRx: 0, wsTx: 0 }));
  return c;
}

// Streams and connections are counted as they take their role (a stream's
// vhost is known by then), for every vhost of the process: the status JSON
// shows every vhost of a context, not only those with this protocol.
registerConnectionHooks({
  role(wsi) {
    const r = wsi.roleName;
    if (r === 'h2-stream') countsOf(wsi.vhost).h2Streams++;
    else if (r === 'h2' && wsi.tlsInfo()?.alpn === 'h2') countsOf(wsi.vhost).h2Alpn++;
  },
});

// The message counters: the channels are listened to only while some vhost
// runs the protocol, so that without it no message is built for them.
let listeners = 0;
let unsubscribe: Array<() => void> = [];

function countMessages(): void {
  if (listeners++ > 0) return;
  unsubscribe = [
    subscribeDiagnostics(DiagnosticsChannel.WS_MESSAGE_IN, (m) => { countsOf(m.wsi.vhost).wsRx++; }),
    subscribeDiagnostics(DiagnosticsChannel.WS_MESSAGE_OUT, (m) => { countsOf(m.wsi.vhost).wsTx++; }),
  ];
}

function stopCountingMessages(): void {
  if (--listeners > 0) return;
  listeners = 0;
  for (const u of unsubscribe) u();
  unsubscribe = [];
}

/** The connection figures of one vhost (see the module comment); summed for the context. */
interface Figures {
  h1_conn: number;
  ws_upg: number;
  h2_trans: number;
  h2_subs: number;
  h2_alpn: number;
  h2_conn: number;
  h2_streams: number;
  ws_h2: number;
  ws_rx_msgs: number;
  ws_tx_msgs: number;
}

const FIGURES: ReadonlyArray<keyof Figures> = ['h1_conn', 'ws_upg', 'h2_trans', 'h2_subs', 'h2_alpn', 'h2_conn', 'h2_streams',
  'ws_h2', 'ws_rx_msgs', 'ws_tx_msgs'];

/** Every vhost's figures, from one pass over the live connections. */
function figures(ctx: Context): Map<Vhost, Figures> {
  const out = new Map<Vhost, Figures>();
  for (const vh of ctx.vhosts) {
    const c = counts.get(vh);
    out.set(vh, { h1_conn: 0, ws_upg: 0, h2_trans: c?.h2Streams ?? 0, h2_subs: c?.h2Streams ?? 0, h2_alpn: c?.h2Alpn ?? 0,
      h2_conn: 0, h2_streams: 0, ws_h2: 0, ws_rx_msgs: c?.wsRx ?? 0, ws_tx_msgs: c?.wsTx ?? 0 });
  }
  for (const w of ctx.liveWsis()) {
    const f = out.get(w.vhost);
    if (!f) continue;
    const r = w.roleName;
    if (r === 'h2-stream') f.h2_streams++;
    else if (w.parent) {
      if (r === 'ws') {
        f.h2_streams++;
        f.ws_h2++;
      }
    } else if (r === 'h2') f.h2_conn++;
    else {
      f.h1_conn++;
      if (r === 'ws') f.ws_upg++;
    }
  }
  return out;
}

function figureStrings(f: Figures): Record<keyof Figures, string> {
  return Object.fromEntries(FIGURES.map((k) => [k, String(f[k])])) as Record<keyof Figures, string>;
}

function vhostJson(vh: Vhost, f: Figures): Record<string, unknown> {
  const s = figureStrings(f);
  return {
    name: vh.name,
    port: String(vh.port ?? 0),
    use_ssl: vh.tls ? '1' : '0',
    sts: (vh.extraHeaderLines.includes('strict-transport-security') ? '1' : '0'),
    rx: '0', tx: '0',
    h1_conn: s.h1_conn, h1_trans: '0', h2_trans: s.h2_trans, ws_upg: s.ws_upg, rejected: '0',
    h2_upg: '0', h2_alpn: s.h2_alpn, h2_subs: s.h2_subs, h2_conn: s.h2_conn, h2_streams: s.h2_streams,
    ws_h2: s.ws_h2,
    ws_rx_msgs: s.ws_rx_msgs, ws_tx_msgs: s.ws_tx_msgs,
    mounts: vh.mounts.map((m) => ({
      mountpoint: m.mountpoint,
      origin: (SCHEME[m.originProtocol] ?? '') + m.origin.replace(/^(https?:\/\/|>)/i, ''),
      cache_max_age: String(m.cacheMaxAge ?? 0),
      cache_reuse: m.cacheReusable ? '1' : '0',
      cache_revalidate: m.cacheRevalidate ? '1' : '0',
      cache_intermediaries: m.cacheIntermediaries ? '1' : '0',
      ...(m.def !== undefined ? { default: m.def } : {}),
    })),
    'ws-protocols': Object.entries(vh.pvo).map(([name, o]) => ({ [name]: { ...o } })),
  };
}

async function fileValue(path: string): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(FILE_BYTES);
      const { bytesRead } = await fh.read(buf, 0, FILE_BYTES, 0);
      return buf.subarray(0, bytesRead).toString('latin1');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** The status message for the vhost `vh` of `ctx`. */
export async function buildStatus(vh: Vhost, hideVhosts: boolean, files: readonly string[]): Promise<string> {
  const ctx = vh.context;
  const [l1, l2, l3] = loadavg();
  const up = String(Math.floor((Date.now() - STARTED) / 1000));
  const each = figures(ctx);
  const sum = Object.fromEntries(FIGURES.map((k) => [k, 0])) as unknown as Figures;
  for (const f of each.values()) for (const k of FIGURES) sum[k] += f[k];
  const total = figureStrings(sum);
  const context: Record<string, unknown> = {
    context_uptime: up, cgi_spawned: '0', pt_fd_max: String(ctx.maxConnections), ah_pool_max: '0', deprecated: '0',
    wsi_alive: String(ctx.connectionCount),
    // With countThreads each service process reports its own connections, and says which it is.
    tsi: String(ctx.tsi), count_threads: String(ctx.countThreads),
    pt: [{ fds_count: String(ctx.connectionCount), ah_pool_inuse: '0', ah_wait_list: '0' }],
    ...(hideVhosts ? {} : { vhosts: ctx.vhosts.map((v) => vhostJson(v, each.get(v)!)) }),
    listen_wsi: String(ctx.vhosts.filter((v) => v.listens).length),
    rx: '0', tx: '0', h1_conn: total.h1_conn, h1_trans: '0', h2_trans: total.h2_trans, ws_upg: total.ws_upg, rejected: '0',
    h2_alpn: total.h2_alpn, h2_subs: total.h2_subs, h2_upg: '0', h2_conn: total.h2_conn, h2_streams: total.h2_streams, cgi_alive: '0',
    ws_h2: total.ws_h2, ws_rx_msgs: total.ws_rx_msgs, ws_tx_msgs: total.ws_tx_msgs,
  };
  const vals = await Promise.all(files.map(fileValue));
  return JSON.stringify({
    i: { version: VERSION, uptime: up, l1: l1.toFixed(2), l2: l2.toFixed(2), l3: l3.toFixed(2), contexts: [context] },
    files: files.map((path, i) => ({ path, val: vals[i] })),
  });
}

function vhostData(wsi: Wsi): StatusVhost | undefined {
  return wsi.vhost.protocolVhPriv<StatusVhost>(wsi.protocol);
}

function refresh(vh: Vhost, p: Protocol, d: StatusVhost): void {
  if (d.building || vh.destroyed) return;
  d.building = true;
  buildStatus(vh, d.hideVhosts, d.files).then((json) => {
    d.building = false;
    if (vh.destroyed) return;
    d.json = json;
    d.gen++;
    vh.callbackOnWritableAllProtocol(p);
  }, () => {
    d.building = false;
  });
}

function init(wsi: Wsi, options: PvoOptions | undefined): void {
  const vh = wsi.vhost;
  const p = wsi.protocol;
  const d: StatusVhost = {
    timer: null, json: '', gen: 0, building: false, counting: true,
    hideVhosts: pvoFlag(options, 'hide-vhosts'),
    files: (options?.filepath ?? options?.filespath ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
  const every = pvoNumber(options, 'update-ms', 1000, 50);
  d.timer = setInterval(() => refresh(vh, p, d), every);
  d.timer.unref();
  vh.setProtocolVhPriv(p, d);
  countMessages();
}

function callback(...[wsi, reason, pss, input]: CallbackArgs<StatusSession>): number {
  switch (reason) {
    case Reason.PROTOCOL_INIT:
      init(wsi, input);
      return 0;
    case Reason.PROTOCOL_DESTROY: {
      const d = vhostData(wsi);
      if (!d) return 0;
      if (d.timer) clearInterval(d.timer);
      d.timer = null;
      if (d.counting) stopCountingMessages();
      d.counting = false;
      return 0;
    }
    case Reason.ESTABLISHED: {
      const d = vhostData(wsi);
      if (!d) return -1;
      pss.sentGen = -1;
      // A fresh message for the newcomer (and everyone) right away.
      refresh(wsi.vhost, wsi.protocol, d);
      return 0;
    }
    case Reason.SERVER_WRITEABLE: {
      const d = vhostData(wsi);
      if (!d || !d.json || pss.sentGen === d.gen) return 0;
      pss.sentGen = d.gen;
      const b = Buffer.from(d.json);
      return wsi.write(b, Write.TEXT) < b.length ? -1 : 0;
    }
    default:
      return 0;
  }
}

/** The `lws-server-status` protocol. */
export const serverStatusProtocol: Protocol<StatusSession> = {
  name: SERVER_STATUS_PROTOCOL_NAME,
  callback,
  createSessionData: () => ({ sentGen: -1 }),
  rxBufferSize: 128,
  // filespath: the spelling of lws's README, read too.
  pvoOptions: ['update-ms', 'hide-vhosts', 'filepath', 'filespath'],
};

/** The plugin carrying `lws-server-status`. */
export const plugin: Plugin = {
  name: 'protocol_lws_server_status',
  protocols: [serverStatusProtocol],
};
