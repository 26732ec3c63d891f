/**
 * `lws-server-status`, after lws's plugin: every `update-ms` (default
 * 1000) each connected client gets one TEXT message
 *
 *   {"i": {context facts}, "files": [{"path": P, "val": first 255 bytes}]}
 *
 * and one as soon as it connects. As in lws every value is a JSON string.
 * The context facts follow lws's shape (version, uptime, load averages,
 * contexts[0] with its vhosts, their mounts and ws-protocols); counters
 * tslws does not keep (rx/tx bytes, h2, header pools) are "0".
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
import type { Protocol, PvoOptions } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import type { Vhost } from '../core/vhost.js';
import type { Context } from '../core/context.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { Mount } from '../http/mount.js';
import type { Plugin } from './plugin.js';
import { pvoFlag, pvoNumber } from './pvo.js';

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
}

interface StatusSession {
  sentGen: number;
}

const SCHEME: Record<number, string> = {
  [Mount.HTTP]: 'http://', [Mount.HTTPS]: 'https://', [Mount.FILE]: 'file://', [Mount.CGI]: 'cgi://',
  [Mount.REDIR_HTTP]: '>http://', [Mount.REDIR_HTTPS]: '>https://', [Mount.CALLBACK]: 'callback://',
};

function vhostJson(vh: Vhost, ctx: Context): Record<string, unknown> {
  let conns = 0;
  let ws = 0;
  for (const w of ctx.liveWsis()) {
    if (w.vhost !== vh) continue;
    conns++;
    if (w.roleName === 'ws') ws++;
  }
  return {
    name: vh.name,
    port: String(vh.port ?? 0),
    use_ssl: vh.tls ? '1' : '0',
    sts: (vh.extraHeaderLines.includes('strict-transport-security') ? '1' : '0'),
    rx: '0', tx: '0',
    h1_conn: String(conns), h1_trans: '0', h2_trans: '0', ws_upg: String(ws), rejected: '0',
    h2_upg: '0', h2_alpn: '0', h2_subs: '0',
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
  const context: Record<string, unknown> = {
    context_uptime: up, cgi_spawned: '0', pt_fd_max: String(ctx.maxConnections), ah_pool_max: '0', deprecated: '0',
    wsi_alive: String(ctx.connectionCount),
    pt: [{ fds_count: String(ctx.connectionCount), ah_pool_inuse: '0', ah_wait_list: '0' }],
    ...(hideVhosts ? {} : { vhosts: ctx.vhosts.map((v) => vhostJson(v, ctx)) }),
    listen_wsi: String(ctx.vhosts.filter((v) => v.listens).length),
    rx: '0', tx: '0', h1_conn: '0', h1_trans: '0', h2_trans: '0', ws_upg: '0', rejected: '0',
    h2_alpn: '0', h2_subs: '0', h2_upg: '0', cgi_alive: '0',
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
    timer: null, json: '', gen: 0, building: false,
    hideVhosts: pvoFlag(options, 'hide-vhosts'),
    files: (options?.filepath ?? options?.filespath ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
  const every = pvoNumber(options, 'update-ms', 1000, 50);
  d.timer = setInterval(() => refresh(vh, p, d), every);
  d.timer.unref();
  vh.setProtocolVhPriv(p, d);
}

function callback(wsi: Wsi, reason: Reason, pss: StatusSession, input: unknown): number {
  switch (reason) {
    case Reason.PROTOCOL_INIT:
      init(wsi, input as PvoOptions | undefined);
      return 0;
    case Reason.PROTOCOL_DESTROY: {
      const d = vhostData(wsi);
      if (d?.timer) clearInterval(d.timer);
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
};

/** The plugin carrying `lws-server-status`. */
export const plugin: Plugin = {
  name: 'protocol_lws_server_status',
  protocols: [serverStatusProtocol],
};
