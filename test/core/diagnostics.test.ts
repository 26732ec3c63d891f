/**
 * The `tslws:*` diagnostics channels: a scripted load (HTTP requests with
 * known statuses and bodies, WebSocket messages of known sizes, closes
 * with known codes, a refused upgrade, a callback that throws) is seen on
 * the channels event by event; HTTP/2 streams are requests, not
 * connections; a failed TLS handshake is an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { createContext, DiagnosticsChannel, subscribeDiagnostics, Reason, type Context, type DiagnosticsMessages } from '../../src/index.js';
import { makeSelfSignedCert } from '../../src/tls/self-signed.js';
import { raw } from '../helpers/common.js';
import { waitFor } from '../helpers/plugin-ws-client.js';
import { site, startMetered, scriptedLoad, h2request, TEXT_SIZES, BINARY_SIZES, UPLOAD } from '../helpers/metered.js';

type Seen = { [K in keyof DiagnosticsMessages]: Array<DiagnosticsMessages[K]> };

/** Record every message about `ctx`'s connections, on every channel; returns the records and the call that stops. */
function record(ctx: Context): { seen: Seen; stop: () => void } {
  const seen: Seen = {
    'tslws:connection:open': [], 'tslws:connection:role': [], 'tslws:connection:close': [], 'tslws:http:request:start': [],
    'tslws:http:request:finish': [], 'tslws:ws:open': [], 'tslws:ws:close': [], 'tslws:ws:message:in': [],
    'tslws:ws:message:out': [], 'tslws:error': [],
  };
  const stops = Object.values(DiagnosticsChannel).map((name) => subscribeDiagnostics(name, (m) => {
    if (m.wsi.context === ctx) (seen[name] as unknown[]).push(m);
  }));
  return { seen, stop: () => stops.forEach((s) => s()) };
}

test('the channels tell each connection, request, message, close and error of a scripted load', async () => {
  const { ctx, port } = await startMetered();
  const { seen, stop } = record(ctx);
  try {
    await scriptedLoad(port);
    await waitFor(() => seen['tslws:connection:close'].length === 5, 'every connection closed');

    // Connections: 2 HTTP, 1 refused upgrade, 2 WebSockets; each opened and closed once, with its role.
    const opens = seen['tslws:connection:open'];
    assert.equal(opens.length, 5);
    assert.ok(opens.every((m) => m.vhost === 'metered' && m.peerAddress === '127.0.0.1' && !m.client && m.role === 'none'));
    const closes = seen['tslws:connection:close'];
    assert.deepEqual(closes.map((m) => m.id).sort(), opens.map((m) => m.id).sort());
    assert.deepEqual(closes.map((m) => m.role).sort(), ['h1', 'h1', 'h1', 'ws', 'ws']);
    assert.ok(closes.every((m) => m.bytesIn > 0 && m.bytesOut > 0));
    const roles = seen['tslws:connection:role'].map((m) => `${m.previous}>${m.role}`).sort();
    assert.deepEqual(roles, ['h1>ws', 'h1>ws', 'none>h1', 'none>h1', 'none>h1', 'none>h1', 'none>h1']);

    // HTTP: every request has a start and a finish, with its status and bytes.
    const starts = seen['tslws:http:request:start'];
    const finishes = seen['tslws:http:request:finish'];
    assert.deepEqual(starts.map((m) => `${m.method} ${m.path}`),
      ['GET /ok', 'GET /ok', 'GET /nothing-here', 'POST /created', 'GET /ok', 'GET /throw', 'GET /', 'GET /', 'GET /']);
    assert.deepEqual(finishes.map((m) => `${m.method} ${m.path} ${m.status}`),
      ['GET /ok 200', 'GET /ok 200', 'GET /nothing-here 404', 'POST /created 201', 'GET /ok 200', 'GET /throw 500',
        'GET / 426', 'GET / 101', 'GET / 101']);
    assert.ok(finishes.every((m) => m.httpVersion === '1.1' && !m.aborted && m.durationMs >= 0 && m.vhost === 'metered'));
    assert.deepEqual(finishes.map((m) => m.protocol), ['site', 'site', 'site', 'site', 'site', 'site', 'site', 'test-echo', 'closer'],
      'an upgrade is answered by the protocol it binds');
    assert.equal(finishes[3].bytesIn, UPLOAD.length);
    assert.ok(finishes.filter((_, i) => i !== 3).every((m) => m.bytesIn === 0));
    // HTTP/1 counts what left for the exchange, head included.
    assert.ok(finishes[0].bytesOut > 'hello'.length && finishes[0].bytesOut === finishes[1].bytesOut);

    // WebSocket: two opens, every message in and out with its size and type, the closes' codes and initiators.
    assert.deepEqual(seen['tslws:ws:open'].map((m) => [m.protocol, m.client, m.deflate]), [['test-echo', false, false], ['closer', false, false]]);
    const sizes = [...TEXT_SIZES.map((n) => [n, false]), ...BINARY_SIZES.map((n) => [n, true])];
    assert.deepEqual(seen['tslws:ws:message:in'].filter((m) => m.protocol === 'test-echo').map((m) => [m.size, m.binary]), sizes);
    assert.deepEqual(seen['tslws:ws:message:out'].map((m) => [m.size, m.binary]), sizes);
    assert.deepEqual(seen['tslws:ws:message:in'].filter((m) => m.protocol === 'closer').map((m) => m.size), ['close-me'.length]);
    assert.deepEqual(seen['tslws:ws:close'].map((m) => [m.protocol, m.code, m.initiator]), [['test-echo', 4001, 'peer'], ['closer', 4321, 'local']]);

    // Errors: the refused upgrade and the callback that threw.
    const errors = seen['tslws:error'];
    assert.equal(errors.length, 2);
    const hs = errors.find((m) => m.kind === 'handshake');
    assert.ok(hs && hs.kind === 'handshake');
    assert.deepEqual([hs.handshake, hs.status, hs.client], ['websocket', 426, false]);
    const cb = errors.find((m) => m.kind === 'callback');
    assert.ok(cb && cb.kind === 'callback');
    assert.deepEqual([cb.protocol, cb.reason], ['site', Reason.HTTP]);
    assert.match((cb.error as Error).message, /on purpose/);
  } finally {
    stop();
    await ctx.destroy();
  }
});

test('a request cut off before its response completes finishes as aborted, with what was sent', async () => {
  const { ctx, port } = await startMetered();
  const { seen, stop } = record(ctx);
  try {
    await raw(port, 'GET /drop HTTP/1.1\r\nHost: metered\r\n\r\n');
    await raw(port, 'GET /cut HTTP/1.1\r\nHost: metered\r\n\r\n');
    const finishes = seen['tslws:http:request:finish'];
    await waitFor(() => finishes.length === 2, 'the finishes');
    assert.deepEqual(finishes.map((m) => [m.path, m.status, m.aborted]), [['/drop', 0, true], ['/cut', 200, true]]);
    assert.ok(finishes[1].bytesOut > 5, 'what was sent of the cut response is counted');
  } finally {
    stop();
    await ctx.destroy();
  }
});

test('HTTP/2 over TLS: streams are requests of version 2, not connections; a failed TLS handshake is an error', async () => {
  const c = makeSelfSignedCert();
  const ctx = createContext({ port: 0, iface: '127.0.0.1', vhostName: 'secure', sslCert: c.cert, sslPrivateKey: c.key, protocols: [site] });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const { seen, stop } = record(ctx);
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  try {
    assert.deepEqual(await h2request(session, 'GET', '/ok'), { status: 200, body: 'hello' });
    assert.deepEqual(await h2request(session, 'POST', '/created', 'abcd'), { status: 201, body: 'got 4' });
    assert.deepEqual(seen['tslws:http:request:finish'].map((m) => [m.httpVersion, m.method, m.path, m.status, m.bytesIn, m.bytesOut, m.aborted]),
      [['2', 'GET', '/ok', 200, 0, 5, false], ['2', 'POST', '/created', 201, 4, 5, false]], 'HTTP/2 counts body bytes');
    assert.deepEqual(seen['tslws:http:request:start'].map((m) => m.httpVersion), ['2', '2']);
    assert.deepEqual(seen['tslws:connection:role'].map((m) => `${m.previous}>${m.role}`), ['none>tls-accept', 'tls-accept>h2']);
    assert.equal(seen['tslws:connection:open'].length, 1);

    // A client that speaks only TLS 1.1 cannot agree with a TLS 1.2 server.
    await new Promise<void>((resolve) => {
      const t = tlsConnect({ port, host: '127.0.0.1', maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false });
      t.on('error', () => resolve());
      t.on('close', () => resolve());
    });
    await waitFor(() => seen['tslws:error'].length === 1, 'the handshake error');
    const e = seen['tslws:error'][0];
    assert.ok(e.kind === 'handshake');
    assert.deepEqual([e.handshake, e.client, e.vhost, e.status], ['tls', false, 'secure', 0]);
  } finally {
    stop();
    session.destroy();
    await ctx.destroy();
  }
});

test('a plain diagnostics_channel.subscribe by name gets the messages, and none once unsubscribed', async () => {
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [site] });
  await ctx.listening;
  const port = ctx.vhosts[0].port as number;
  const got: unknown[] = [];
  const fn = (m: unknown): void => {
    if ((m as DiagnosticsMessages['tslws:http:request:finish']).wsi.context === ctx) got.push(m);
  };
  try {
    subscribe('tslws:http:request:finish', fn);
    await raw(port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(got.length, 1);
    assert.equal((got[0] as DiagnosticsMessages['tslws:http:request:finish']).status, 200);
    unsubscribe('tslws:http:request:finish', fn);
    await raw(port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(got.length, 1);
  } finally {
    unsubscribe('tslws:http:request:finish', fn);
    await ctx.destroy();
  }
});
