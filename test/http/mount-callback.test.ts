/**
 * CALLBACK mounts: the connection binds to the mount's protocol for URLs
 * under it (any method), with that protocol's session data living until a
 * request leaves the area or the connection closes; HTTP_BIND_PROTOCOL and
 * HTTP_DROP_PROTOCOL frame every binding, across keep-alive requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mount, Reason, Write, callbackHttpDummy, type Protocol, type Wsi } from '../../src/index.js';
import { start, livePeer, raw, parseResponses, sleep } from '../helpers/common.js';

interface Sess { id: number; hits: number; body: string }

let nextSession = 1;
const events: string[] = [];
const WATCHED = new Set([Reason.HTTP, Reason.HTTP_BODY_COMPLETION, Reason.HTTP_BIND_PROTOCOL,
  Reason.HTTP_DROP_PROTOCOL, Reason.CLOSED_HTTP, Reason.FILTER_HTTP_CONNECTION]);

function answer(wsi: Wsi, text: string): number {
  const body = Buffer.from(text);
  wsi.addHttpHeaderStatus(200);
  wsi.addHttpHeaderByName('content-type', 'text/plain');
  wsi.addHttpHeaderContentLength(body.length);
  wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
  wsi.write(body, Write.HTTP_FINAL);
  return 0;
}

function recorder(name: string): Protocol<Sess> {
  return {
    name,
    createSessionData: () => ({ id: nextSession++, hits: 0, body: '' }),
    callback(wsi, reason, user, input) {
      if (WATCHED.has(reason)) events.push(`${name} ${Reason[reason]} s${user?.id ?? '-'}${reason === Reason.HTTP ? ' ' + String(input) : ''}`);
      switch (reason) {
        case Reason.HTTP:
          user.hits++;
          if (wsi.hdrCopy('content-length')) return 0;
          return answer(wsi, `${name} s${user.id} hit${user.hits} ${String(input)}`);
        case Reason.HTTP_BODY:
          user.body += Buffer.from(input).toString();
          return 0;
        case Reason.HTTP_BODY_COMPLETION:
          return answer(wsi, `${name} s${user.id} hit${user.hits} body=${user.body}`);
      }
      return name === 'http' ? callbackHttpDummy(wsi, reason, user, input) : 0;
    },
  };
}

const mounts = [
  { mountpoint: '/formtest', origin: 'cb-one', originProtocol: Mount.CALLBACK },
  { mountpoint: '/two', origin: 'callback://cb-two', originProtocol: Mount.CALLBACK },
];

test('keep-alive requests alternating between mounts bind and drop in order', async (t) => {
  const srv = await start({ protocols: [recorder('http'), recorder('cb-one'), recorder('cb-two')], mounts });
  t.after(() => srv.ctx.destroy());
  events.length = 0;
  const peer = await livePeer(srv.port);
  const get = (path: string) => peer.ask(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);

  let r = await get('/plain');
  assert.match(r.body.toString(), /^http s\d+ hit1 \/plain$/);
  r = await peer.ask('POST /formtest/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nx=1');
  const one = /^cb-one s(\d+) hit1 body=x=1$/.exec(r.body.toString());
  assert.ok(one, r.body.toString());
  r = await get('/formtest/b');
  assert.equal(r.body.toString(), `cb-one s${one[1]} hit2 /b`, 'same session while inside the mount');
  r = await get('/formtest');
  assert.equal(r.body.toString(), `cb-one s${one[1]} hit3 `, 'the mountpoint itself is inside');
  r = await get('/formtestx');
  assert.match(r.body.toString(), /^http s\d+ hit1 \/formtestx$/, 'a longer name is outside the mount');
  r = await get('/formtest/c');
  assert.match(r.body.toString(), /^cb-one s\d+ hit1 \/c$/, 'a fresh session after leaving');
  assert.notEqual(/s(\d+)/.exec(r.body.toString())![1], one[1]);
  r = await get('/two/z?q=1');
  assert.match(r.body.toString(), /^cb-two s\d+ hit1 \/z$/);
  peer.s.end();
  await peer.until(() => peer.closed, 'close');
  await sleep(20);

  const seq = events.filter((e) => !e.includes('FILTER_HTTP_CONNECTION')).map((e) => e.replace(/s\d+/, 'S'));
  assert.deepEqual(seq, [
    'http HTTP S /plain',
    'http HTTP_DROP_PROTOCOL S',
    'cb-one HTTP_BIND_PROTOCOL S',
    'cb-one HTTP S /a',
    'cb-one HTTP_BODY_COMPLETION S',
    'cb-one HTTP S /b',
    'cb-one HTTP S ',
    'cb-one HTTP_DROP_PROTOCOL S',
    'http HTTP_BIND_PROTOCOL S',
    'http HTTP S /formtestx',
    'http HTTP_DROP_PROTOCOL S',
    'cb-one HTTP_BIND_PROTOCOL S',
    'cb-one HTTP S /c',
    'cb-one HTTP_DROP_PROTOCOL S',
    'cb-two HTTP_BIND_PROTOCOL S',
    'cb-two HTTP S /z',
    'cb-two CLOSED_HTTP S',
    'cb-two HTTP_DROP_PROTOCOL S',
  ]);
  // Every drop names the session its bind created.
  const open = new Map<string, string>();
  for (const e of events) {
    const [p, what, s] = e.split(' ');
    if (what === 'HTTP_BIND_PROTOCOL') open.set(p, s);
    if (what === 'HTTP_DROP_PROTOCOL' && open.has(p)) assert.equal(s, open.get(p), `drop of ${p} names its bound session`);
  }
  // FILTER_HTTP_CONNECTION reaches the protocol that will handle the request.
  assert.ok(events.includes(`cb-two FILTER_HTTP_CONNECTION ${events.find((e) => e.startsWith('cb-two HTTP_BIND'))!.split(' ')[2]}`));
});

test('every method reaches the bound protocol', async (t) => {
  const srv = await start({ protocols: [recorder('http'), recorder('cb-one'), recorder('cb-two')], mounts });
  t.after(() => srv.ctx.destroy());
  for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const r = await raw(srv.port, `${method} /formtest/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok`);
    const [res] = parseResponses(r.data);
    assert.equal(res.status, 200, method);
    assert.match(res.body.toString(), /^cb-one s\d+ hit1 body=ok$/, method);
  }
});

test('a callback mount naming no protocol of the vhost answers 500 and harms nothing else', async (t) => {
  const srv = await start({
    protocols: [recorder('http')],
    mounts: [{ mountpoint: '/nope', origin: 'missing-protocol', originProtocol: Mount.CALLBACK }],
  });
  t.after(() => srv.ctx.destroy());
  let r = await raw(srv.port, 'GET /nope/x HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(r.text, /^HTTP\/1\.1 500 /);
  r = await raw(srv.port, 'GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(r.text, /^HTTP\/1\.1 200 /);
});

test('a WebSocket upgrade drops the binding first', async (t) => {
  const srv = await start({ protocols: [recorder('http'), recorder('cb-one')], mounts: mounts.slice(0, 1) });
  t.after(() => srv.ctx.destroy());
  events.length = 0;
  const peer = await livePeer(srv.port);
  await peer.ask('GET /formtest/a HTTP/1.1\r\nHost: x\r\n\r\n');
  peer.s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await peer.until(() => peer.text.includes('101 Switching'), '101');
  assert.ok(events.includes(`cb-one HTTP_DROP_PROTOCOL ${events.find((e) => e.startsWith('cb-one HTTP_BIND'))!.split(' ')[2]}`));
  peer.s.destroy();
});
