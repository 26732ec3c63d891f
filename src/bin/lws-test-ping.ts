#!/usr/bin/env node
/**
 * lws-test-ping: WebSocket ping(8), after lws's test-ping. Every interval
 * each of N connections sends a PING (or, with -m, a BINARY message the
 * lws-mirror-protocol sends back) carrying a 64-bit index; replies are
 * timed, and Ctrl-C or -c COUNT ends with ping's statistics.
 *
 *   lws-test-ping localhost -p 7681 -c 5 -i 0.2
 *
 * Exit status as ping(8): 0 if any reply came, 1 if none, 2 on errors.
 */
import { parseArgs } from 'node:util';
import { lookup } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { createContext, Reason, Write, setLogLevel, type Wsi } from '../index.js';
import { PingRing, pingPayload } from './ping/ring.js';

const USAGE = `Usage: lws-test-ping HOST [options]
  -p, --port N          port (default 7681)
  -t, --ssl             TLS, accept self-signed certificates
  -i, --interval SECS   seconds between pings, fractions allowed (default 1)
  -s, --size N          payload bytes (default 64; at most 125, 4096 with -m)
  -n, --protocol NAME   subprotocol (default lws-mirror-protocol)
  -m, --mirror          send BINARY messages for the mirror to return, not PINGs
  -f, --flood           print . per ping sent and a backspace per reply
  -r, --connections N   parallel connections (default 1, at most 256)
  -c, --count N         stop after N pings in all
  -k, --no-mask         lws 2.x: send client frames unmasked. Accepted and ignored:
                        RFC 6455 requires a client to mask every frame, and tslws
                        always does (a notice says so)
  -v, --version N       WebSocket version: ignored (with a notice), only 13 is spoken
  -d, --debug MASK      log level bit mask (default 7)
  -h, --help            this text
`;

interface Opts {
  host: string; port: number; tls: boolean; intervalMs: number; size: number; protocol: string;
  mirror: boolean; flood: boolean; connections: number; count: number;
}

function parse(argv: string[]): Opts | string {
  const { values: a, positionals } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', short: 'p' }, ssl: { type: 'boolean', short: 't' },
      interval: { type: 'string', short: 'i' }, size: { type: 'string', short: 's' },
      protocol: { type: 'string', short: 'n' }, mirror: { type: 'boolean', short: 'm' },
      flood: { type: 'boolean', short: 'f' }, connections: { type: 'string', short: 'r' },
      count: { type: 'string', short: 'c' }, debug: { type: 'string', short: 'd' },
      'no-mask': { type: 'boolean', short: 'k' }, version: { type: 'string', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (a.help) return '';
  if (positionals.length !== 1) return 'one HOST is needed';
  // Bad values throw plain Errors: parse() is this tool's own, and main() prints the message and exits 2.
  const int = (v: string | undefined, def: number, lo: number, hi: number, what: string): number => {
    const n = Number(v ?? def);
    if (!/^\d+$/.test(v ?? String(def)) || n < lo || n > hi) throw new Error(`bad ${what} ${v} (${lo} to ${hi})`);
    return n;
  };
  const mirror = a.mirror ?? false;
  const interval = Number(a.interval ?? '1');
  if (!(interval > 0)) throw new Error(`bad interval ${a.interval}`);
  if (a.debug !== undefined) setLogLevel(int(a.debug, 7, 0, 0xffff, 'debug mask'));
  if (a['no-mask']) process.stderr.write('lws-test-ping: -k ignored: RFC 6455 requires a client to mask every frame, and tslws always does\n');
  if (a.version !== undefined) process.stderr.write(`lws-test-ping: -v ${a.version} ignored: only WebSocket version 13 is spoken\n`);
  return {
    host: positionals[0], port: int(a.port, 7681, 1, 65535, 'port'), tls: a.ssl ?? false,
    intervalMs: interval * 1000,
    // 8 bytes carry the index; a control frame holds 125 at most.
    size: int(a.size, 64, 8, mirror ? 4096 : 125, 'size'),
    protocol: a.protocol ?? 'lws-mirror-protocol', mirror, flood: a.flood ?? false,
    connections: int(a.connections, 1, 1, 256, 'connection count'),
    count: int(a.count, 0, 0, Number.MAX_SAFE_INTEGER, 'count'),
  };
}

async function run(o: Opts): Promise<void> {
  const ring = new PingRing();
  const started = performance.now();
  const out = (s: string): void => void process.stdout.write(s);
  let ip = o.host;
  try {
    ip = (await lookup(o.host)).address;
  } catch {
    // The connection will report the failure.
  }
  out(`Websocket PING ${o.host} (${ip}) ${o.size} bytes of data.\n`);
  const due = new Set<Wsi>();
  const open = new Set<Wsi>();
  let failed = 0;
  let finishing = false;

  const reply = (data: Uint8Array): void => {
    if (data.length < 8) return;
    const index = Number(Buffer.from(data).readBigUInt64BE(0));
    const r = ring.noteReply(index, performance.now());
    if (o.flood) {
      out('\b');
      if (o.count && ring.received >= o.count) finish();
      return;
    }
    const time = r.rttMs === undefined ? '(unknown)' : `time=${r.rttMs.toFixed(1)}ms`;
    out(`${data.length} bytes from ${o.host}: req=${index} ${time}${r.duplicate ? ' DUP!' : ''}\n`);
    if (o.count && ring.received >= o.count) finish();
  };

  const context = createContext({
    protocols: [{
      name: 'ping-client',
      callback(wsi, reason, _user, input): number {
        switch (reason) {
          case Reason.CLIENT_ESTABLISHED:
            open.add(wsi);
            break;
          case Reason.CLIENT_WRITEABLE:
            if (!due.delete(wsi) || finishing) break;
            if (o.count && ring.transmitted >= o.count) break;
            wsi.write(pingPayload(ring.noteSent(performance.now()), o.size), o.mirror ? Write.BINARY : Write.PING);
            if (o.flood) out('.');
            if (o.count && ring.transmitted >= o.count) setTimeout(finish, Math.max(1000, o.intervalMs)).unref();
            break;
          case Reason.CLIENT_RECEIVE_PONG:
            if (!o.mirror) reply(input);
            break;
          case Reason.CLIENT_RECEIVE:
            if (o.mirror) reply(input);
            break;
          case Reason.CLIENT_CONNECTION_ERROR:
            process.stderr.write(`lws-test-ping: connection failed: ${input}\n`);
            failed++;
            if (failed === o.connections) finish();
            break;
          case Reason.CLIENT_CLOSED:
            open.delete(wsi);
            if (!finishing && open.size === 0) finish();
            break;
        }
        return 0;
      },
    }],
  });
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  for (let i = 0; i < o.connections; i++) {
    context.clientConnect({
      address: o.host, port: o.port, path: '/', host: `${shown}:${o.port}`, origin: `${shown}:${o.port}`,
      protocol: o.protocol, ssl: o.tls ? { allowSelfSigned: true, skipHostnameCheck: true } : false,
    });
  }
  // Pings go out from WRITEABLE; the timer only says one is due.
  const timer = setInterval(() => {
    for (const w of open) {
      due.add(w);
      w.callbackOnWritable();
    }
  }, o.intervalMs);

  function finish(): void {
    if (finishing) return;
    finishing = true;
    clearInterval(timer);
    // As the C app: a moment for replies still in flight.
    setTimeout(() => {
      const s = ring.summary();
      out(`\n--- ${o.host} websocket ping statistics using ${o.connections} connections ---\n`);
      out(`${s.transmitted} packets transmitted, ${s.received} received, ${s.lossPercent}% packet loss, ` +
        `time ${Math.round(performance.now() - started)}ms\n`);
      out(`rtt min/avg/max = ${s.min.toFixed(3)}/${s.avg.toFixed(3)}/${s.max.toFixed(3)} ms\n`);
      const secs = (performance.now() - started) / 1000;
      out(`payload bandwidth average ${((s.received * o.size) / 1024 / secs).toFixed(1)} KiBytes/sec\n`);
      const code = failed === o.connections ? 2 : s.received ? 0 : 1;
      const bye = (): never => process.exit(code);
      void context.destroy().then(bye, bye);
    }, 250);
  }
  process.once('SIGINT', finish);
}

function main(): number {
  let o: Opts | string;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`lws-test-ping: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (typeof o === 'string') {
    if (!o) process.stdout.write(USAGE);
    else process.stderr.write(`lws-test-ping: ${o}\n${USAGE}`);
    return o ? 2 : 0;
  }
  void run(o);
  return 0;
}

const rc = main();
if (rc) process.exitCode = rc;
