/**
 * `lws-metrics`: after a scripted load (see test/helpers/metered.ts) the
 * scraped counters have moved by exactly as much as the load says, in the
 * Prometheus text format and in OpenMetrics; Prometheus's own `promtool`
 * accepts both; snapshots merge across processes; lwsws serves it from
 * its config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import {
  createContext, metricsProtocol, metricsSnapshot, mergeMetricsSnapshots, formatPrometheus, formatOpenMetrics, Mount, CloseStatus,
  PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, BUILTIN_PLUGINS, type HttpMount, type MetricsSnapshot,
} from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { raw, parseResponses } from '../helpers/common.js';
import { openWs, waitFor, within } from '../helpers/plugin-ws-client.js';
import { confDir, removeDir, freePort, startLwsws, stopLwsws, vhostFile, httpGet } from '../helpers/lwsws.js';
import { RawWs, echoProtocol, h2Session } from '../helpers/ws.js';
import { site, startMetered, scriptedLoad, h2request, TEXT_SIZES, BINARY_SIZES, UPLOAD } from '../helpers/metered.js';

const METRICS_MOUNT: HttpMount = { mountpoint: '/metrics', origin: 'lws-metrics', originProtocol: Mount.CALLBACK };

function startServer() {
  return startMetered([metricsProtocol], [METRICS_MOUNT]);
}

// ---- reading the exposition ----

type Samples = Map<string, number>;

/** Sample lines as `name{labels}` → value (labels as written). */
function samples(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

async function scrape(port: number, accept?: string): Promise<{ status: number; type: string; text: string }> {
  const r = await httpGet(port, '/metrics', accept ? { accept } : {});
  return { status: r.status, type: r.headers['content-type'] ?? '', text: r.body };
}

// ---- promtool ----

function promtool(args: string[], input?: string): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 20_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    assert.fail('promtool is not installed: it comes with Debian\'s "prometheus" package (apt-get install prometheus); .ci/run installs it');
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

// ---- the tests ----

test('/metrics: the counters move by exactly the scripted load', async () => {
  const { ctx, port } = await startServer();
  try {
    const first = await scrape(port);
    assert.equal(first.status, 200);
    assert.equal(first.type, PROMETHEUS_CONTENT_TYPE);
    const before = samples(first.text);
    await scriptedLoad(port);
    const after = samples((await scrape(port)).text);
    const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const v = 'vhost="metered"';

    // 5 load connections and the second scrape's.
    assert.equal(d(`tslws_connections_total{${v},side="server"}`), 6);
    assert.equal(d(`tslws_http_requests_total{${v},protocol="site",status_class="2xx"}`), 4);
    assert.equal(d(`tslws_http_requests_total{${v},protocol="site",status_class="4xx"}`), 2);
    assert.equal(d(`tslws_http_requests_total{${v},protocol="site",status_class="5xx"}`), 1);
    // An upgrade's 101 is answered by the protocol it binds.
    assert.equal(d(`tslws_http_requests_total{${v},protocol="test-echo",status_class="1xx"}`), 1);
    assert.equal(d(`tslws_http_requests_total{${v},protocol="closer",status_class="1xx"}`), 1);
    // The first scrape (the second is counted after its own answer).
    assert.equal(d(`tslws_http_requests_total{${v},protocol="lws-metrics",status_class="2xx"}`), 1);
    assert.equal(d(`tslws_http_request_duration_seconds_count{${v},protocol="site"}`), 7);
    assert.equal(d(`tslws_http_request_body_bytes_total{${v},protocol="site"}`), UPLOAD.length);
    assert.equal(d(`tslws_ws_connections_total{${v},protocol="test-echo",side="server"}`), 1);
    assert.equal(d(`tslws_ws_connections_total{${v},protocol="closer",side="server"}`), 1);
    const n = TEXT_SIZES.length + BINARY_SIZES.length;
    const bytes = [...TEXT_SIZES, ...BINARY_SIZES].reduce((a, b) => a + b, 0);
    assert.equal(d(`tslws_ws_messages_total{${v},protocol="test-echo",direction="in"}`), n);
    assert.equal(d(`tslws_ws_messages_total{${v},protocol="test-echo",direction="out"}`), n);
    assert.equal(d(`tslws_ws_message_bytes_total{${v},protocol="test-echo",direction="in"}`), bytes);
    assert.equal(d(`tslws_ws_message_bytes_total{${v},protocol="test-echo",direction="out"}`), bytes);
    assert.equal(d(`tslws_ws_messages_total{${v},protocol="closer",direction="in"}`), 1);
    // Sizes 0, 1, 5 <= 16; 125 <= 256; 4096 <= 4096; 70000 <= 262144.
    assert.equal(d(`tslws_ws_message_size_bytes_bucket{${v},direction="out",le="16.0"}`), 3);
    assert.equal(d(`tslws_ws_message_size_bytes_bucket{${v},direction="out",le="256.0"}`), 4);
    assert.equal(d(`tslws_ws_message_size_bytes_bucket{${v},direction="out",le="4096.0"}`), 5);
    assert.equal(d(`tslws_ws_message_size_bytes_bucket{${v},direction="out",le="262144.0"}`), 6);
    assert.equal(d(`tslws_ws_message_size_bytes_count{${v},direction="out"}`), n);
    assert.equal(d(`tslws_ws_message_size_bytes_sum{${v},direction="out"}`), bytes);
    assert.equal(d(`tslws_ws_closes_total{${v},protocol="test-echo",code="4xxx",initiator="peer"}`), 1);
    assert.equal(d(`tslws_ws_closes_total{${v},protocol="closer",code="4xxx",initiator="local"}`), 1);
    assert.equal(d(`tslws_handshake_failures_total{${v},handshake="websocket",side="server"}`), 1);
    assert.equal(d(`tslws_callback_errors_total{${v},protocol="site"}`), 1);
    assert.ok(d(`tslws_connection_received_bytes_total{${v},role="ws"}`) > bytes);
    // Open now: the scrape's own connection only.
    assert.equal(after.get(`tslws_connections_open{${v},role="h1"}`), 1);
    assert.equal(after.get(`tslws_ws_open{${v},protocol="test-echo"}`), undefined);
    assert.ok((after.get('tslws_event_loop_delay_max_seconds') ?? -1) >= 0, 'the event-loop delay is measured');
    // No label carries a path, a method or an address.
    assert.doesNotMatch((await scrape(port)).text, /nothing-here|\/ok|127\.0\.0\.1|POST/);
  } finally {
    await ctx.destroy();
  }
});

test('requests cut off count under status class none or the status sent, and as aborted', async () => {
  const { ctx, port } = await startServer();
  try {
    await raw(port, 'GET /drop HTTP/1.1\r\nHost: metered\r\n\r\n');
    await raw(port, 'GET /cut HTTP/1.1\r\nHost: metered\r\n\r\n');
    const s = samples(formatPrometheus(metricsSnapshot(ctx)!));
    assert.equal(s.get('tslws_http_requests_total{vhost="metered",protocol="site",status_class="none"}'), 1);
    assert.equal(s.get('tslws_http_requests_total{vhost="metered",protocol="site",status_class="2xx"}'), 1);
    assert.equal(s.get('tslws_http_requests_aborted_total{vhost="metered",protocol="site"}'), 2);
  } finally {
    await ctx.destroy();
  }
});

test('/metrics answers OpenMetrics when Accept asks for it, with the same values and # EOF', async () => {
  const { ctx, port } = await startServer();
  try {
    await scriptedLoad(port);
    const prometheusAccept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
      'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const om = await scrape(port, prometheusAccept);
    assert.equal(om.status, 200);
    assert.equal(om.type, OPENMETRICS_CONTENT_TYPE);
    assert.ok(om.text.endsWith('\n# EOF\n'), 'ends with # EOF');
    assert.match(om.text, /^# TYPE tslws_http_requests counter$/m);
    assert.match(om.text, /^tslws_http_requests_total\{vhost="metered",protocol="site",status_class="2xx"\} 4$/m);
    const text = await scrape(port, 'text/plain;version=0.0.4');
    assert.equal(text.type, PROMETHEUS_CONTENT_TYPE);
    assert.match(text.text, /^# TYPE tslws_http_requests_total counter$/m);
    assert.doesNotMatch(text.text, /# EOF/);
    // The same counters either way (the scrapes between them count under lws-metrics).
    const a = samples(om.text);
    const b = samples(text.text);
    for (const [k, val] of a) if (k.startsWith('tslws_ws_') || k.includes('protocol="site"')) assert.equal(b.get(k), val, k);
    // A scraper that prefers the text format gets it.
    assert.equal((await scrape(port, 'text/plain;q=1,application/openmetrics-text;q=0.5')).type, PROMETHEUS_CONTENT_TYPE);
    // Other paths and methods under the mount.
    assert.equal((await httpGet(port, '/metrics/other')).status, 404);
    const post = await raw(port, 'POST /metrics HTTP/1.1\r\nHost: metered\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(post.data)[0].status, 405);
  } finally {
    await ctx.destroy();
  }
});

test('promtool accepts both expositions', async () => {
  const { ctx, port } = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'tslws-promtool-'));
  try {
    await scriptedLoad(port);
    const text = (await scrape(port)).text;
    const om = (await scrape(port, 'application/openmetrics-text; version=1.0.0')).text;

    // The text format: promtool's linter has nothing to say.
    const t = promtool(['check', 'metrics'], text);
    assert.equal(t.out, '');
    assert.equal(t.code, 0);

    // OpenMetrics: promtool's OpenMetrics parser (its backfill importer)
    // reads every line. It wants a timestamp on each sample: one is added.
    const stamped = om.split('\n').map((l) => (l && !l.startsWith('#') ? `${l} 1700000000` : l)).join('\n');
    const file = join(dir, 'metrics.om');
    writeFileSync(file, stamped);
    const blocks = promtool(['tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'blocks')]);
    assert.equal(blocks.code, 0, blocks.out);
    // `check metrics` reads the text format; it parses OpenMetrics too, and
    // its only remarks are about counters, whose HELP names the family in
    // OpenMetrics and the `_total` sample in the text format.
    const c = promtool(['check', 'metrics'], om);
    assert.ok(c.code === 0 || c.code === 3, c.out);
    const counters = [...om.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]);
    for (const line of c.out.split('\n').filter(Boolean)) {
      const m = /^(\S+)_total no help text$/.exec(line);
      assert.ok(m && counters.includes(m[1]), `unexpected promtool remark on OpenMetrics: ${line}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await ctx.destroy();
  }
});

test('HTTP/2 over TLS: requests count by stream, the h2 connection and its streams are open gauges, a failed TLS handshake counts', async () => {
  const c = makeSelfSignedCert();
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', vhostName: 'secure', sslCert: c.cert, sslPrivateKey: c.key,
    protocols: [site, metricsProtocol], mounts: [METRICS_MOUNT],
  });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  try {
    assert.equal((await h2request(session, 'GET', '/ok')).status, 200);
    assert.equal((await h2request(session, 'POST', '/created', 'abcd')).status, 201);
    const scraped = await h2request(session, 'GET', '/metrics');
    assert.equal(scraped.status, 200);
    const s = samples(scraped.body);
    assert.equal(s.get('tslws_http_requests_total{vhost="secure",protocol="site",status_class="2xx"}'), 2);
    assert.equal(s.get('tslws_http_response_bytes_total{vhost="secure",protocol="site"}'), 'hello'.length + 'got 4'.length);
    assert.equal(s.get('tslws_http_request_body_bytes_total{vhost="secure",protocol="site"}'), 4);
    assert.equal(s.get('tslws_connections_open{vhost="secure",role="h2"}'), 1);
    assert.equal(s.get('tslws_http2_streams_open{vhost="secure"}'), 1, 'the scrape\'s own stream');

    await new Promise<void>((resolve) => {
      const t = tlsConnect({ port, host: '127.0.0.1', maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false });
      t.on('error', () => resolve());
      t.on('close', () => resolve());
    });
    const key = 'tslws_handshake_failures_total{vhost="secure",handshake="tls",side="server"}';
    await waitFor(() => samples(formatPrometheus(metricsSnapshot(ctx)!)).get(key) === 1, 'the TLS failure counted');
  } finally {
    session.destroy();
    await ctx.destroy();
  }
});

test('snapshots are plain data that merge across processes: counters and histograms add, gauges as their family says', async () => {
  const a = await startServer();
  const b = await startServer();
  try {
    await scriptedLoad(a.port);
    await scriptedLoad(b.port);
    const sa = metricsSnapshot(a.ctx)!;
    const sb = JSON.parse(JSON.stringify(metricsSnapshot(b.ctx))) as MetricsSnapshot;
    const merged = mergeMetricsSnapshots([sa, sb]);
    const m = samples(formatPrometheus(merged));
    const one = samples(formatPrometheus(sa));
    const key = 'tslws_ws_messages_total{vhost="metered",protocol="test-echo",direction="in"}';
    assert.equal(m.get(key), 2 * (one.get(key) ?? 0));
    const hkey = 'tslws_ws_message_size_bytes_count{vhost="metered",direction="out"}';
    assert.equal(m.get(hkey), 2 * (one.get(hkey) ?? 0));
    assert.equal(merged.families.find((f) => f.name === 'tslws_event_loop_delay_max_seconds')?.merge, 'max');
    assert.ok(formatOpenMetrics(merged).endsWith('# EOF\n'));
    assert.throws(() => mergeMetricsSnapshots([sa, { version: 1, families: [{ ...sa.families[0], type: 'gauge' }] }]),
      { code: 'TSLWS_INVALID_ARGUMENT' });
    // A context without lws-metrics has no snapshot; nor does one that has it
    // only by the every-plugin rule, without mounting it or naming it.
    const plain = createContext({ port: 0, iface: '127.0.0.1', protocols: [site] });
    assert.equal(metricsSnapshot(plain), null);
    await plain.destroy();
    const everyPlugin = createContext({ port: 0, iface: '127.0.0.1', plugins: BUILTIN_PLUGINS });
    assert.ok(everyPlugin.vhosts[0].protocolByName('lws-metrics'));
    assert.equal(metricsSnapshot(everyPlugin), null);
    await everyPlugin.destroy();
    const named = createContext({ port: 0, iface: '127.0.0.1', plugins: BUILTIN_PLUGINS, pvo: { 'lws-metrics': {} } });
    assert.ok(metricsSnapshot(named));
    await named.destroy();
  } finally {
    await a.ctx.destroy();
    await b.ctx.destroy();
  }
});

test('lwsws serves lws-metrics at a callback:// mount enabled in ws-protocols', async () => {
  const port = await freePort();
  const dir = confDir({
    conf: '{ "global": { "server-string": "lwsws" } }',
    'conf.d/site': vhostFile({
      name: 'localhost', port: String(port), interface: '127.0.0.1',
      mounts: [{ mountpoint: '/metrics', origin: 'callback://lws-metrics' }],
      'ws-protocols': [{ 'lws-metrics': {}, 'lws-echo': {} }],
    }),
  });
  const child = await startLwsws(['-c', dir]);
  try {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-echo');
    c.ws.send('abc');
    await waitFor(() => c.messages.length === 1, 'the echo');
    c.ws.close(1000);
    await within(c.closed, 3000, 'close');
    const r = await httpGet(port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
    const s = samples(r.body);
    assert.equal(s.get('tslws_ws_messages_total{vhost="localhost",protocol="lws-echo",direction="in"}'), 1);
    assert.equal(s.get('tslws_ws_closes_total{vhost="localhost",protocol="lws-echo",code="1000",initiator="peer"}'), 1);
    assert.equal(promtool(['check', 'metrics'], r.body).code, 0);
  } finally {
    await stopLwsws(child);
    removeDir(dir);
  }
});

test('a WebSocket naming lws-metrics is closed: metrics are HTTP only', async () => {
  const { ctx, port } = await startServer();
  try {
    const c = await openWs(`ws://127.0.0.1:${port}/`, 'lws-metrics');
    assert.notEqual((await within(c.closed, 3000, 'closed')).code, CloseStatus.NORMAL);
  } finally {
    await ctx.destroy();
  }
});

test('a WebSocket on an HTTP/2 stream is an open connection of role ws-h2, a stream, and an open WebSocket', async () => {
  const { proto } = echoProtocol();
  const ctx = createContext({ port: 0, iface: '127.0.0.1', vhostName: 'clear', protocols: [site, metricsProtocol, proto], mounts: [METRICS_MOUNT] });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const session = await h2Session(port);
  try {
    const ws = await RawWs.openH2(port, { session, protocol: 'echo' });
    ws.send(0x1, 'hi');
    await ws.message();
    const s = samples((await h2request(session, 'GET', '/metrics')).body);
    assert.equal(s.get('tslws_connections_open{vhost="clear",role="ws-h2"}'), 1);
    assert.equal(s.get('tslws_connections_open{vhost="clear",role="h2"}'), 1, 'the connection that carries it');
    assert.equal(s.get('tslws_connections_open{vhost="clear",role="ws"}'), undefined, 'no HTTP/1.1 WebSocket');
    assert.equal(s.get('tslws_http2_streams_open{vhost="clear"}'), 2, 'the WebSocket\'s stream and the scrape\'s');
    assert.equal(s.get('tslws_ws_open{vhost="clear",protocol="echo"}'), 1);
    ws.destroy();
  } finally {
    session.destroy();
    await ctx.destroy();
  }
});
