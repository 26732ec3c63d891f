import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Agent } from 'node:http';
import {
  Reason, Write, Token, Mount, callbackHttpDummy, type Protocol, type Wsi, type CallbackInput,
} from '../../src/index.js';
import { start, raw, parseResponses, sleep } from '../helpers/common.js';

interface Seen {
  reason: string;
  input?: string;
}

function recorder(handle?: (wsi: Wsi, reason: Reason, input: CallbackInput) => number | void) {
  const seen: Seen[] = [];
  const proto: Protocol = {
    name: 'http',
    callback(wsi, reason, _user, input) {
      seen.push({ reason: Reason[reason], input: typeof input === 'string' ? input : undefined });
      if (handle) {
        const r = handle(wsi, reason, input);
        if (r !== undefined) return r;
      }
      return callbackHttpDummy(wsi, reason, undefined, input);
    },
  };
  return { seen, proto };
}

test('callbacks arrive in lws order for one request, and close callbacks on disconnect', async () => {
  const { seen, proto } = recorder();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    assert.deepEqual(seen.map((s) => s.reason), ['PROTOCOL_INIT']);
    const r = await raw(port, 'GET /nothing/here?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].status, 404);
    await sleep(50);
    assert.deepEqual(seen.map((s) => s.reason), [
      'PROTOCOL_INIT', 'FILTER_NETWORK_CONNECTION', 'WSI_CREATE', 'SERVER_NEW_CLIENT_INSTANTIATED',
      'FILTER_HTTP_CONNECTION', 'HTTP', 'CLOSED_HTTP', 'WSI_DESTROY',
    ]);
    assert.equal(seen[4].input, '/nothing/here');
    assert.equal(seen[5].input, '/nothing/here');
    assert.equal(seen[1].input, '127.0.0.1');
  } finally {
    await ctx.destroy();
  }
  assert.equal(seen.at(-1)?.reason, 'PROTOCOL_DESTROY');
});

test('returning non-zero from FILTER_NETWORK_CONNECTION drops the connection unanswered', async () => {
  const { seen, proto } = recorder((_w, reason) => (reason === Reason.FILTER_NETWORK_CONNECTION ? -1 : undefined));
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(r.closed, true);
    assert.equal(r.text, '');
    assert.ok(!seen.some((s) => s.reason === 'HTTP'));
  } finally {
    await ctx.destroy();
  }
});

test('returning non-zero from FILTER_HTTP_CONNECTION closes before HTTP', async () => {
  const { seen, proto } = recorder((_w, reason, input) =>
    reason === Reason.FILTER_HTTP_CONNECTION && input === '/private' ? 1 : undefined);
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const r = await raw(port, 'GET /private HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(r.closed, true);
    assert.equal(r.text, '');
    assert.ok(!seen.some((s) => s.reason === 'HTTP'));
    const ok = await raw(port, 'GET /public HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(ok.data)[0].status, 404);
  } finally {
    await ctx.destroy();
  }
});

test('a callback that throws closes only its own connection', async () => {
  const { proto } = recorder((_w, reason, input) => {
    if (reason === Reason.HTTP && input === '/boom') throw new Error('user bug');
    return undefined;
  });
  const { ctx, port } = await start({ protocols: [proto] });
  const { setLogLevel } = await import('../../src/index.js');
  setLogLevel(0);
  try {
    const r = await raw(port, 'GET /boom HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(r.closed, true);
    const ok = await raw(port, 'GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(ok.data)[0].status, 404);
  } finally {
    setLogLevel(7);
    await ctx.destroy();
  }
});

test('POST body arrives through HTTP_BODY and HTTP_BODY_COMPLETION, answer from HTTP_WRITEABLE', async () => {
  const bodies = new Map<Wsi, Buffer[]>();
  const { seen, proto } = recorder((wsi, reason, input) => {
    switch (reason) {
      case Reason.HTTP:
        if (wsi.uri !== '/echo') return undefined;
        bodies.set(wsi, []);
        return 0;
      case Reason.HTTP_BODY:
        bodies.get(wsi)?.push(Buffer.from(input as Uint8Array));
        return 0;
      case Reason.HTTP_BODY_COMPLETION:
        wsi.callbackOnWritable();
        return 0;
      case Reason.HTTP_WRITEABLE: {
        const body = Buffer.concat(bodies.get(wsi) ?? []);
        wsi.addHttpHeaderStatus(200);
        wsi.addHttpHeaderByName('content-type', 'application/octet-stream');
        wsi.addHttpHeaderContentLength(body.length);
        wsi.addHttpHeaderByToken(Token.CACHE_CONTROL, 'no-cache');
        wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
        wsi.write(body, Write.HTTP_FINAL);
        return 0;
      }
      default:
        return undefined;
    }
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const payload = Buffer.alloc(300_000, 'x');
    payload.write('start', 0);
    payload.write('end', payload.length - 3);
    const r = await raw(port, [
      `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${payload.length}\r\n\r\n`, payload,
      'GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ], { timeoutMs: 5000 });
    const res = parseResponses(r.data);
    assert.equal(res.length, 2);
    assert.equal(res[0].status, 200);
    assert.equal(res[0].headers['cache-control'], 'no-cache');
    assert.ok(res[0].body.equals(payload));
    assert.equal(res[1].status, 404);
    const order = seen.map((s) => s.reason).filter((s) => s.startsWith('HTTP'));
    assert.equal(order[0], 'HTTP');
    assert.ok(order.indexOf('HTTP_BODY') > 0);
    assert.ok(order.indexOf('HTTP_BODY_COMPLETION') > order.lastIndexOf('HTTP_BODY'));
    assert.ok(order.indexOf('HTTP_WRITEABLE') > order.indexOf('HTTP_BODY_COMPLETION'));
  } finally {
    await ctx.destroy();
  }
});

test('a response without content-length is sent chunked on HTTP/1.1 and close-delimited on HTTP/1.0', async () => {
  const { proto } = recorder((wsi, reason) => {
    if (reason === Reason.HTTP) {
      wsi.addHttpHeaderStatus(200);
      wsi.addHttpHeaderByName('content-type:', 'text/plain');
      wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
      wsi.callbackOnWritable();
      return 0;
    }
    if (reason === Reason.HTTP_WRITEABLE) {
      wsi.write(Buffer.from('part one, '), Write.HTTP);
      wsi.write(Buffer.from('part two'), Write.HTTP_FINAL);
      return 0;
    }
    return undefined;
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const r11 = await raw(port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const res = parseResponses(r11.data);
    assert.equal(res.length, 2);
    for (const x of res) {
      assert.equal(x.headers['transfer-encoding'], 'chunked');
      assert.equal(x.body.toString(), 'part one, part two');
    }
    const r10 = await raw(port, 'GET /a HTTP/1.0\r\n\r\n');
    assert.equal(r10.closed, true);
    const res10 = parseResponses(r10.data);
    assert.equal(res10[0].version, 'HTTP/1.0');
    assert.equal(res10[0].headers['transfer-encoding'], undefined);
    assert.equal(res10[0].body.toString(), 'part one, part two');
  } finally {
    await ctx.destroy();
  }
});

test('header access: by token, by name, repeated fragments, URL args, method and URI', async () => {
  let got: Record<string, unknown> = {};
  const { proto } = recorder((wsi, reason) => {
    if (reason !== Reason.HTTP) return undefined;
    got = {
      method: wsi.method,
      uri: wsi.uri,
      host: wsi.hdrCopy(Token.HOST),
      ua: wsi.hdrCopy('User-Agent'),
      uaLen: wsi.hdrTotalLength(Token.USER_AGENT),
      xCount: wsi.hdrFragmentCount('x-multi'),
      x1: wsi.hdrCopyFragment('x-multi', 1),
      xJoined: wsi.hdrCopy('x-multi'),
      cookie: wsi.hdrCopy(Token.COOKIE),
      // lws spells names with their colon; a cookie named so still joins with "; ".
      cookieByName: wsi.hdrCopy('Cookie:'),
      xByName: wsi.hdrCopy('X-MULTI:'),
      missing: wsi.hdrCopy(Token.ORIGIN),
      missingLen: wsi.hdrTotalLength(Token.ORIGIN),
      getUri: wsi.hdrCopy(Token.GET_URI),
      postUri: wsi.hdrCopy(Token.POST_URI),
      arg0: wsi.getUrlArg(0),
      arg1: wsi.getUrlArg(1),
      argName: wsi.getUrlArgByName('name'),
      argLws: wsi.getUrlArgByName('mirror='),
      argNone: wsi.getUrlArgByName('absent'),
      list: wsi.hdrList().length,
    };
    return wsi.returnHttpStatus(200, 'ok');
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const r = await raw(port, 'GET /a%20b/c?name=J%C3%B6rg+X&mirror=abc HTTP/1.1\r\nHost: example.com:99\r\n' +
      'User-Agent: tester/1\r\nX-Multi: one\r\nX-Multi: two\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n');
    const res = parseResponses(r.data);
    assert.equal(res[0].status, 200);
    assert.equal(res[0].body.toString(), '<html><body><h1>200</h1>ok</body></html>');
    assert.deepEqual(got, {
      method: 'GET', uri: '/a b/c', host: 'example.com:99', ua: 'tester/1', uaLen: 8,
      xCount: 2, x1: 'two', xJoined: 'one, two', cookie: 'a=1; b=2', cookieByName: 'a=1; b=2', xByName: 'one, two',
      missing: undefined, missingLen: 0,
      getUri: '/a b/c', postUri: undefined, arg0: 'name=Jörg X', arg1: 'mirror=abc', argName: 'Jörg X',
      argLws: 'abc', argNone: undefined, list: 7,
    });
  } finally {
    await ctx.destroy();
  }
});

test('API misuse gets a clear exception, not a broken response', async () => {
  const errors: string[] = [];
  const { proto } = recorder((wsi, reason) => {
    if (reason !== Reason.HTTP) return undefined;
    for (const f of [
      () => wsi.addHttpHeaderByName('x', 'y'),
      () => wsi.addHttpHeaderStatus(42),
      () => { wsi.addHttpHeaderStatus(200); wsi.addHttpHeaderByName('bad name', 'v'); },
      () => wsi.addHttpHeaderByName('x-inject', 'a\r\nb: c'),
      () => wsi.addHttpHeaderContentLength(-1),
      () => wsi.httpRedirect(200, '/x'),
    ]) {
      try {
        f();
        errors.push('no error');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return wsi.returnHttpStatus(204);
  });
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].status, 204);
    assert.equal(errors.length, 6);
    assert.ok(!errors.includes('no error'), errors.join(' | '));
    assert.match(errors[0], /status/);
    assert.match(errors[1], /3-digit/);
    assert.match(errors[2], /invalid header name/);
    assert.match(errors[3], /CR, LF or NUL/);
    assert.match(errors[5], /not a redirect/);
  } finally {
    await ctx.destroy();
  }
});

test('PROTOCOL_INIT gets the pvo options; per-vhost private data and session data are kept apart', async () => {
  const inits: unknown[] = [];
  interface Session { n: number }
  const sessions = new Set<Session>();
  const p: Protocol<Session> = {
    name: 'counting',
    createSessionData: () => ({ n: 0 }),
    callback(wsi, reason, user, input) {
      if (reason === Reason.PROTOCOL_INIT) {
        inits.push(input);
        wsi.vhost.setProtocolVhPriv(p, { hits: 0 });
      }
      if (reason === Reason.HTTP) {
        user.n++;
        sessions.add(user);
        const priv = wsi.vhost.protocolVhPriv<{ hits: number }>(p);
        if (priv) priv.hits++;
        return wsi.returnHttpStatus(200, `${user.n}/${priv?.hits}`);
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p], pvo: { counting: { colour: 'blue' } } });
  try {
    assert.deepEqual(inits, [{ colour: 'blue' }]);
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const res = parseResponses(r.data);
    // the session is the connection's: the second request on it sees n=2
    assert.deepEqual(res.map((x) => x.body.toString()), [
      '<html><body><h1>200</h1>1/1</body></html>', '<html><body><h1>200</h1>2/2</body></html>',
    ]);
    const r2 = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(r2.data)[0].body.toString(), '<html><body><h1>200</h1>1/3</body></html>');
    assert.equal(sessions.size, 2);
  } finally {
    await ctx.destroy();
  }
});

test('two vhosts on one port are picked by Host; unknown hosts get the first', async () => {
  const a = mkdtempSync(join(tmpdir(), 'tslws-va-'));
  const b = mkdtempSync(join(tmpdir(), 'tslws-vb-'));
  writeFileSync(join(a, 'index.html'), 'site A');
  writeFileSync(join(b, 'index.html'), 'site B');
  const { ctx, port } = await start({ vhostName: 'a.test', mounts: [{ mountpoint: '/', origin: a, originProtocol: Mount.FILE }] });
  try {
    const vb = ctx.createVhost({ vhostName: 'b.test', port, iface: '127.0.0.1', mounts: [{ mountpoint: '/', origin: b, originProtocol: Mount.FILE }] });
    await vb.listening;
    assert.equal(vb.port, port);
    const get = async (host: string) =>
      parseResponses((await raw(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).data)[0].body.toString();
    assert.equal(await get('a.test'), 'site A');
    assert.equal(await get('b.test:' + port), 'site B');
    assert.equal(await get('B.TEST'), 'site B');
    assert.equal(await get('cats.b.test'), 'site B');
    assert.equal(await get('nobody.example'), 'site A');
  } finally {
    await ctx.destroy();
  }
});

test('context.destroy closes live connections with their callbacks and leaves nothing running', async () => {
  const { seen, proto } = recorder((wsi, reason) => (reason === Reason.HTTP ? 0 : undefined)); // never answers
  const { ctx, port } = await start({ protocols: [proto] });
  const agent = new Agent({ keepAlive: false });
  const pending = new Promise<string>((resolve) => {
    const req = request({ port, host: '127.0.0.1', path: '/hang', agent }, () => resolve('answered'));
    req.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? 'error'));
    req.end();
  });
  for (let i = 0; i < 50 && !seen.some((s) => s.reason === 'HTTP'); i++) await sleep(20);
  assert.equal(ctx.connectionCount, 1);
  await ctx.destroy();
  assert.equal(await pending, 'ECONNRESET');
  assert.equal(ctx.connectionCount, 0);
  const tail = seen.map((s) => s.reason).slice(-3);
  assert.deepEqual(tail, ['CLOSED_HTTP', 'WSI_DESTROY', 'PROTOCOL_DESTROY']);
  // the port is released
  await assert.rejects(raw(port, 'GET / HTTP/1.1\r\n\r\n'), /ECONNREFUSED/);
  agent.destroy();
});

test('per-vhost data set at PROTOCOL_INIT through wsi.protocol is found from connections', async () => {
  const p: Protocol = {
    name: 'priv',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.PROTOCOL_INIT) wsi.vhost.setProtocolVhPriv(wsi.protocol, { tag: 'from-init' });
      if (reason === Reason.HTTP) {
        const d = wsi.vhost.protocolVhPriv<{ tag: string }>(wsi.protocol);
        return wsi.returnHttpStatus(200, d?.tag ?? 'missing');
      }
      return 0;
    },
  };
  const { ctx, port } = await start({ protocols: [p] });
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponses(r.data)[0].body.toString(), '<html><body><h1>200</h1>from-init</body></html>');
  } finally {
    await ctx.destroy();
  }
});
