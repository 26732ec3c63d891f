/**
 * `lws-metrics`: counters, gauges and histograms of a context, kept from
 * the `tslws:*` diagnostics channels and served at a CALLBACK mount in the
 * Prometheus text format, or OpenMetrics 1.0 when the scraper's `Accept`
 * asks for it.
 *
 * One collector per context, made when the first vhost that mounts the
 * protocol or names it in its pvo initialises it (PROTOCOL_INIT), and
 * kept until the context is destroyed, so a vhost reloaded by lwsws does
 * not reset the counters. A vhost that only has it by lws's
 * every-plugin rule (no pvo) starts nothing. It counts every
 * vhost of the context, labelled by name (as the status page shows every
 * vhost). Labels come from bounded sets only: vhost and protocol names,
 * roles, status classes, close-code classes; never a path, a method or a
 * peer address.
 *
 * What comes from events: connections opened and closed (with their
 * bytes), HTTP requests, WebSocket connections, messages and closes,
 * handshake failures and callbacks that threw. What is read at each
 * scrape: connections and WebSockets open now, bytes waiting to be sent,
 * the zlib streams the vhosts hold, and the event-loop delay (from
 * `perf_hooks.monitorEventLoopDelay`, over the time since the previous
 * scrape).
 *
 * A request to the mount itself (or its `/`) with GET or HEAD gets the
 * metrics; other paths below it get 404, other methods 405.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { CallbackArgs, Protocol } from '../core/protocols.js';
import type { Context } from '../core/context.js';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { registerContextFeature } from '../core/features.js';
import { log } from '../core/log.js';
import { Mount, bareOrigin } from '../http/mount.js';
import { DiagnosticsChannel, subscribeDiagnostics, type DiagnosticsMessages } from '../core/diagnostics.js';
import { wsOf } from '../roles/ws/wsi-api.js';
import { limiterOf } from '../roles/ws/deflate/limiter.js';
import type { Plugin } from './plugin.js';
import { gatherSmpReports, registerSmpReporter, smpServiceStates } from '../smp/smp.js';
import {
  MetricsRegistry, acceptsOpenMetrics, formatOpenMetrics, formatPrometheus, mergeMetricsSnapshots, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE,
  type HistogramCell, type HistogramFamily, type MetricsSnapshot, type ValueFamily,
} from './metrics-registry.js';

/** The protocol's name. */
export const METRICS_PROTOCOL_NAME = 'lws-metrics';

/** Seconds: HTTP request durations, from a millisecond to ten seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Bytes: WebSocket message sizes, by powers of four. */
const SIZE_BUCKETS = [16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];

/** How often the event-loop delay is sampled. */
const ELD_RESOLUTION_MS = 10;

/** `2xx` for 200 …; `none` when the request was cut off before a status left. */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

/**
 * A close code as a label: the codes RFC 6455 and IANA define keep their
 * number; the ranges applications choose from collapse to `3xxx` and
 * `4xxx`, so a peer cannot make a label set per code it sends.
 */
function closeCodeLabel(code: number): string {
  if (code >= 1000 && code <= 1015) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  return 'other';
}

/** What one WebSocket connection updates on every message: its cells, found once. */
interface WsCells {
  readonly inMessages: { value: number };
  readonly inBytes: { value: number };
  readonly inSizes: HistogramCell;
  readonly outMessages: { value: number };
  readonly outBytes: { value: number };
  readonly outSizes: HistogramCell;
}

/** What one vhost and protocol's requests update. */
interface HttpCells {
  /** By status class, made as classes occur. */
  readonly requests: Map<string, { value: number }>;
  readonly aborted: { value: number };
  readonly duration: HistogramCell;
  readonly bodyBytes: { value: number };
  readonly responseBytes: { value: number };
}

/** The metrics of one context. */
class ContextMetrics {
  readonly registry = new MetricsRegistry();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #eld: IntervalHistogram;
  readonly #wsCells = new WeakMap<Wsi, WsCells>();
  // By vhost, then protocol: no key string is built per request.
  readonly #httpCells = new Map<string, Map<string, HttpCells>>();
  // events
  readonly #connections: ValueFamily;
  readonly #connBytesIn: ValueFamily;
  readonly #connBytesOut: ValueFamily;
  readonly #requests: ValueFamily;
  readonly #requestsAborted: ValueFamily;
  readonly #duration: HistogramFamily;
  readonly #reqBytes: ValueFamily;
  readonly #respBytes: ValueFamily;
  readonly #wsConnections: ValueFamily;
  readonly #wsMessages: ValueFamily;
  readonly #wsBytes: ValueFamily;
  readonly #wsSizes: HistogramFamily;
  readonly #wsCloses: ValueFamily;
  readonly #handshakeFailures: ValueFamily;
  readonly #callbackErrors: ValueFamily;

  constructor(readonly context: Context) {
    const r = this.registry;
    // Counted from events.
    this.#connections = r.counter('tslws_connections', 'Connections opened (accepted, adopted or made as a client), by the vhost they opened on', ['vhost', 'side']);
    this.#connBytesIn = r.counter('tslws_connection_received_bytes', 'Bytes read from connections that have closed, by vhost and role at close', ['vhost', 'role']);
    this.#connBytesOut = r.counter('tslws_connection_sent_bytes', 'Bytes written to connections that have closed, by vhost and role at close', ['vhost', 'role']);
    this.#requests = r.counter('tslws_http_requests', 'HTTP requests finished, by status class (none: cut off before a status)', ['vhost', 'protocol', 'status_class']);
    this.#requestsAborted = r.counter('tslws_http_requests_aborted', 'HTTP requests whose connection or stream closed before the response was complete', ['vhost', 'protocol']);
    this.#duration = r.histogram('tslws_http_request_duration_seconds', 'Time from an HTTP request head to the end of its response', ['vhost', 'protocol'], DURATION_BUCKETS);
    this.#reqBytes = r.counter('tslws_http_request_body_bytes', 'HTTP request body bytes received', ['vhost', 'protocol']);
    this.#respBytes = r.counter('tslws_http_response_bytes', 'HTTP response bytes sent (HTTP/1: head and body; HTTP/2: body)', ['vhost', 'protocol']);
    this.#wsConnections = r.counter('tslws_ws_connections', 'WebSocket connections established', ['vhost', 'protocol', 'side']);
    this.#wsMessages = r.counter('tslws_ws_messages', 'Whole WebSocket messages received (in) and sent (out)', ['vhost', 'protocol', 'direction']);
    this.#wsBytes = r.counter('tslws_ws_message_bytes', 'WebSocket message payload bytes, after inflating and before deflating', ['vhost', 'protocol', 'direction']);
    this.#wsSizes = r.histogram('tslws_ws_message_size_bytes', 'WebSocket message payload sizes', ['vhost', 'direction'], SIZE_BUCKETS);
    this.#wsCloses = r.counter('tslws_ws_closes', 'WebSocket closes by the first Close status (1005: none given, 1006: no Close exchanged; 3xxx, 4xxx: application ranges) and who sent it', ['vhost', 'protocol', 'code', 'initiator']);
    this.#handshakeFailures = r.counter('tslws_handshake_failures', 'Failed WebSocket upgrades and TLS handshakes', ['vhost', 'handshake', 'side']);
    this.#callbackErrors = r.counter('tslws_callback_errors', 'Protocol callbacks that threw', ['vhost', 'protocol']);
    // Read at each scrape.
    const open = r.gauge('tslws_connections_open', 'Connections open now, by vhost and role (ws-h2: WebSockets carried by streams of the h2 connections)', ['vhost', 'role']);
    const streams = r.gauge('tslws_http2_streams_open', 'HTTP/2 streams open now', ['vhost']);
    const wsOpen = r.gauge('tslws_ws_open', 'WebSocket connections open now', ['vhost', 'protocol']);
    const buffered = r.gauge('tslws_buffered_bytes', 'Bytes waiting to be sent: in sockets and streams, or queued for a compressor', ['vhost', 'where']);
    const kept = r.gauge('tslws_ws_deflate_kept', 'WebSocket connections keeping a compressor between messages (context takeover)', ['vhost']);
    const spare = r.gauge('tslws_ws_zlib_spare', 'Reset zlib streams kept for reuse', ['vhost', 'kind']);
    const ops = r.gauge('tslws_ws_zlib_operations', 'zlib operations running on the threadpool, and waiting for a slot', ['vhost', 'state']);
    const eld = {
      max: r.gauge('tslws_event_loop_delay_max_seconds', 'Longest event-loop delay since the previous scrape', [], 'max'),
      mean: r.gauge('tslws_event_loop_delay_mean_seconds', 'Mean event-loop delay since the previous scrape', [], 'max'),
      p50: r.gauge('tslws_event_loop_delay_p50_seconds', 'Median event-loop delay since the previous scrape', [], 'max'),
      p90: r.gauge('tslws_event_loop_delay_p90_seconds', '90th percentile of the event-loop delay since the previous scrape', [], 'max'),
      p99: r.gauge('tslws_event_loop_delay_p99_seconds', '99th percentile of the event-loop delay since the previous scrape', [], 'max'),
    };
    this.#eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    this.#eld.enable();

    r.onCollect(() => {
      for (const g of [open, streams, wsOpen, buffered, kept, spare, ops]) g.clear();
      for (const vh of context.vhosts) {
        const l = limiterOf(vh);
        if (!l) continue;
        kept.set([vh.name], l.keptDeflaters);
        spare.set([vh.name, 'deflate'], l.spareDeflaters);
        spare.set([vh.name, 'inflate'], l.spareInflaters);
        ops.set([vh.name, 'running'], l.active);
        ops.set([vh.name, 'waiting'], l.waiting);
      }
      for (const w of context.liveWsis()) {
        const vh = w.vhost.name;
        const pending = w.partialBuffered();
        if (pending) buffered.inc([vh, 'transport'], pending);
        const ws = wsOf(w);
        if (w.parent) {
          if (w.roleName === 'h2-stream') streams.inc([vh]);
          else if (ws) {
            // A WebSocket on a stream (RFC 8441): a stream of its connection, and a WebSocket of its own.
            streams.inc([vh]);
            open.inc([vh, 'ws-h2']);
            wsOpen.inc([vh, w.protocol.name]);
          }
          continue;
        }
        open.inc([vh, w.roleName]);
        if (ws) {
          wsOpen.inc([vh, w.protocol.name]);
          const q = ws.pmd?.txQueuedBytes ?? 0;
          if (q) buffered.inc([vh, 'compressor'], q);
        }
      }
      const h = this.#eld;
      if (h.count > 0) {
        // Each sample is the time between two ticks of a timer set to
        // ELD_RESOLUTION_MS: what is beyond that is the delay.
        const late = (ns: number): number => Math.max(0, ns / 1e9 - ELD_RESOLUTION_MS / 1000);
        eld.max.set([], late(h.max));
        eld.mean.set([], late(h.mean));
        eld.p50.set([], late(h.percentile(50)));
        eld.p90.set([], late(h.percentile(90)));
        eld.p99.set([], late(h.percentile(99)));
      }
      // The delay gauges cover the time since the previous scrape, as prom-client's do.
      h.reset();
    });

    const mine = (w: Wsi): boolean => w.context === context;
    const on = <K extends DiagnosticsChannel>(name: K, fn: (m: DiagnosticsMessages[K]) => void): void => {
      this.#unsubscribe.push(subscribeDiagnostics(name, (m) => {
        if (mine(m.wsi)) fn(m);
      }));
    };
    on(DiagnosticsChannel.CONNECTION_OPEN, (m) => this.#connections.inc([m.vhost, m.client ? 'client' : 'server']));
    on(DiagnosticsChannel.CONNECTION_CLOSE, (m) => {
      this.#connBytesIn.inc([m.vhost, m.role], m.bytesIn);
      this.#connBytesOut.inc([m.vhost, m.role], m.bytesOut);
    });
    on(DiagnosticsChannel.HTTP_REQUEST_FINISH, (m) => {
      const c = this.#httpCellsOf(m.vhost, m.protocol);
      const cls = statusClass(m.status);
      let n = c.requests.get(cls);
      if (!n) c.requests.set(cls, (n = this.#requests.cell([m.vhost, m.protocol, cls])));
      n.value++;
      if (m.aborted) c.aborted.value++;
      if (m.durationMs >= 0) this.#duration.observeCell(c.duration, m.durationMs / 1000);
      c.bodyBytes.value += m.bytesIn;
      c.responseBytes.value += m.bytesOut;
    });
    on(DiagnosticsChannel.WS_OPEN, (m) => {
      this.#wsConnections.inc([m.vhost, m.protocol, m.client ? 'client' : 'server']);
      this.#cellsOf(m.wsi, m.vhost, m.protocol);
    });
    on(DiagnosticsChannel.WS_MESSAGE_IN, (m) => {
      const c = this.#wsCells.get(m.wsi) ?? this.#cellsOf(m.wsi, m.vhost, m.protocol);
      c.inMessages.value++;
      c.inBytes.value += m.size;
      this.#wsSizes.observeCell(c.inSizes, m.size);
    });
    on(DiagnosticsChannel.WS_MESSAGE_OUT, (m) => {
      const c = this.#wsCells.get(m.wsi) ?? this.#cellsOf(m.wsi, m.vhost, m.protocol);
      c.outMessages.value++;
      c.outBytes.value += m.size;
      this.#wsSizes.observeCell(c.outSizes, m.size);
    });
    on(DiagnosticsChannel.WS_CLOSE, (m) => {
      this.#wsCloses.inc([m.vhost, m.protocol, closeCodeLabel(m.code), m.initiator]);
      this.#wsCells.delete(m.wsi);
    });
    on(DiagnosticsChannel.ERROR, (m) => {
      if (m.kind === 'callback') this.#callbackErrors.inc([m.vhost, m.protocol]);
      else this.#handshakeFailures.inc([m.vhost, m.handshake, m.client ? 'client' : 'server']);
    });
  }

  /** The cells of one vhost and protocol's requests, found once per pair rather than per request. */
  #httpCellsOf(vhost: string, protocol: string): HttpCells {
    let byProtocol = this.#httpCells.get(vhost);
    if (!byProtocol) this.#httpCells.set(vhost, (byProtocol = new Map()));
    let c = byProtocol.get(protocol);
    if (!c) {
      const labels = [vhost, protocol];
      c = {
        requests: new Map(), aborted: this.#requestsAborted.cell(labels), duration: this.#duration.cell(labels),
        bodyBytes: this.#reqBytes.cell(labels), responseBytes: this.#respBytes.cell(labels),
      };
      byProtocol.set(protocol, c);
    }
    return c;
  }

  /** A WebSocket's cells, found once (its vhost and protocol do not change once it is open). */
  #cellsOf(wsi: Wsi, vhost: string, protocol: string): WsCells {
    const c: WsCells = {
      inMessages: this.#wsMessages.cell([vhost, protocol, 'in']),
      inBytes: this.#wsBytes.cell([vhost, protocol, 'in']),
      inSizes: this.#wsSizes.cell([vhost, 'in']),
      outMessages: this.#wsMessages.cell([vhost, protocol, 'out']),
      outBytes: this.#wsBytes.cell([vhost, protocol, 'out']),
      outSizes: this.#wsSizes.cell([vhost, 'out']),
    };
    this.#wsCells.set(wsi, c);
    return c;
  }

  /** Stop listening and measuring. */
  dispose(): void {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe.length = 0;
    this.#eld.disable();
  }
}

const collectors = new WeakMap<Context, ContextMetrics>();

function collectorFor(ctx: Context): ContextMetrics {
  let c = collectors.get(ctx);
  if (!c) collectors.set(ctx, (c = new ContextMetrics(ctx)));
  return c;
}

// The collector lives as long as its context, whichever vhosts come and go.
registerContextFeature({
  name: 'metrics',
  order: 95,
  destroy(ctx) {
    collectors.get(ctx)?.dispose();
    collectors.delete(ctx);
  },
});

/**
 * The metrics of `context` now, as plain data (for `formatPrometheus`,
 * `formatOpenMetrics` or `mergeMetricsSnapshots`); null until a vhost of
 * it mounts `lws-metrics` or names it in its pvo.
 *
 * ```ts
 * const snap = metricsSnapshot(context);
 * if (snap) process.stdout.write(formatPrometheus(snap));
 * ```
 */
export function metricsSnapshot(context: Context): MetricsSnapshot | null {
  return collectors.get(context)?.registry.snapshot() ?? null;
}

// ---- SMP: one exposition for every service ----

/** The name of the metrics report gathered from the services. */
const SMP_REPORT = 'tslws.metrics';

/**
 * The primary's part: what it knows of each service. The services'
 * counters come from the services themselves; these say which of them
 * were there to count.
 */
function primaryReport(context: Context): MetricsSnapshot | null {
  const states = smpServiceStates(context);
  if (!states) return null;
  const r = new MetricsRegistry();
  const up = r.gauge('tslws_smp_service_up', 'Whether each service process is taking connections (1) or not (0: starting, restarting, stopping)', ['service']);
  const conns = r.gauge('tslws_smp_service_connections', 'Connections handed to each service process and not yet closed', ['service']);
  const restarts = r.counter('tslws_smp_service_restarts', 'Times each service process was started again after it died', ['service']);
  for (const s of states) {
    const l = [String(s.tsi)];
    up.set(l, s.ready ? 1 : 0);
    conns.set(l, s.connections);
    restarts.inc(l, s.restarts);
  }
  return r.snapshot();
}

// Every process of an SMP server answers the gather: a service with its
// snapshot (null when no vhost of it counts), the primary with its own.
registerSmpReporter(SMP_REPORT, (context) => (context.tsi < 0 ? primaryReport(context) : metricsSnapshot(context)));

function isSnapshot(x: unknown): x is MetricsSnapshot {
  return typeof x === 'object' && x !== null && (x as MetricsSnapshot).version === 1 && Array.isArray((x as MetricsSnapshot).families);
}

/** A scrape's answer, made when the services' snapshots are in. */
interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: Buffer;
}
/** Scrapes of an SMP server waiting for the services' snapshots (null until they are in). */
const answers = new WeakMap<Wsi, Answer | null>();

/**
 * A scrape served by one SMP service: every service's snapshot, gathered
 * by the primary, summed into one exposition with the primary's own
 * figures; the answer leaves at the next HTTP_WRITEABLE.
 */
function scrapeServices(wsi: Wsi, om: boolean): void {
  answers.set(wsi, null);
  const text = (status: number, msg: string): Answer => ({ status, type: 'text/plain; charset=utf-8', body: Buffer.from(msg + '\n') });
  gatherSmpReports(wsi.context, SMP_REPORT).then((g) => {
    const snaps = [g.primary, ...g.services.map((s) => s.report)].filter(isSnapshot);
    const r = new MetricsRegistry();
    r.gauge('tslws_smp_services_missing', 'Service processes whose metrics did not reach this scrape (their counters are absent from the sums)', [])
      .set([], g.missing.length);
    const all = mergeMetricsSnapshots([...snaps, r.snapshot()]);
    return { status: 200, type: om ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, body: Buffer.from(om ? formatOpenMetrics(all) : formatPrometheus(all)) };
  }).catch((e: Error) => {
    log.err('%s: gathering the services\' metrics: %s', METRICS_PROTOCOL_NAME, e.message);
    return text(503, 'the metrics of the service processes did not arrive in time');
  }).then((a) => {
    if (wsi.closed || !answers.has(wsi)) return;
    answers.set(wsi, a);
    wsi.callbackOnWritable();
  }, () => {});
}

function respond(wsi: Wsi, status: number, type: string, body: Buffer, extra: Record<string, string> = {}): number {
  wsi.addHttpHeaderStatus(status);
  wsi.addHttpHeaderByName('content-type', type);
  // A scrape must always see the values of now.
  wsi.addHttpHeaderByName('cache-control', 'no-store');
  for (const [k, v] of Object.entries(extra)) wsi.addHttpHeaderByName(k, v);
  wsi.addHttpHeaderContentLength(body.length);
  if (wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS) < 0) return -1;
  return wsi.write(body, Write.HTTP_FINAL) < 0 ? -1 : 0;
}

function callback(...[wsi, reason, , input]: CallbackArgs): number {
  switch (reason) {
    case Reason.PROTOCOL_INIT: {
      // A vhost given every plugin protocol (no pvo: lws's compatibility
      // rule) has this one without asking for it: count only for a vhost
      // that serves it or names it, so nobody else pays for listening.
      const vh = wsi.vhost;
      if (Object.hasOwn(vh.pvo, METRICS_PROTOCOL_NAME) ||
        vh.mounts.some((m) => m.originProtocol === Mount.CALLBACK && bareOrigin(m) === METRICS_PROTOCOL_NAME)) collectorFor(wsi.context);
      return 0;
    }
    case Reason.HTTP: {
      if (input !== '' && input !== '/') return respond(wsi, 404, 'text/plain; charset=utf-8', Buffer.from('not found\n'));
      const method = wsi.method;
      if (method !== 'GET' && method !== 'HEAD')
        return respond(wsi, 405, 'text/plain; charset=utf-8', Buffer.from('GET or HEAD\n'), { allow: 'GET, HEAD' });
      const om = acceptsOpenMetrics(wsi.hdrCopy('accept'));
      if (wsi.context.countThreads > 1) {
        scrapeServices(wsi, om);
        return 0;
      }
      const snap = metricsSnapshot(wsi.context);
      if (!snap) return respond(wsi, 503, 'text/plain; charset=utf-8', Buffer.from('lws-metrics is not initialised on this vhost\n'));
      // The answer depends on Accept: caches must keep the two apart.
      return respond(wsi, 200, om ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
        Buffer.from(om ? formatOpenMetrics(snap) : formatPrometheus(snap)), { vary: 'accept' });
    }
    case Reason.HTTP_WRITEABLE: {
      const a = answers.get(wsi);
      if (!a) return 0;
      answers.delete(wsi);
      return respond(wsi, a.status, a.type, a.body, a.status === 200 ? { vary: 'accept' } : {});
    }
    case Reason.ESTABLISHED:
      // Metrics are served over HTTP only; a WebSocket naming this protocol has nothing to get.
      log.info('wsi %d: %s serves HTTP only, closing the WebSocket', wsi.id, METRICS_PROTOCOL_NAME);
      return -1;
    default:
      return 0;
  }
}

/**
 * The `lws-metrics` protocol: serves the context's metrics at a CALLBACK
 * mount (lwsws: `origin: "callback://lws-metrics"` and `"lws-metrics": {}`
 * in `ws-protocols`).
 *
 * ```ts
 * createContext({ port: 7681, protocols: [{ name: 'http', callback: callbackHttpDummy }, metricsProtocol],
 *   mounts: [{ mountpoint: '/metrics', origin: METRICS_PROTOCOL_NAME, originProtocol: Mount.CALLBACK }] });
 * ```
 */
export const metricsProtocol: Protocol = {
  name: METRICS_PROTOCOL_NAME,
  callback,
  pvoOptions: [],
};

/** The plugin carrying `lws-metrics`. */
export const plugin: Plugin = {
  name: 'protocol_lws_metrics',
  protocols: [metricsProtocol],
};
