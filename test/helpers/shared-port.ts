/**
 * What the tests of a port shared between a Node server (node:http,
 * https, Express, fastify) and tslws WebSockets check, whatever the
 * server: echo with permessage-deflate, a chosen subprotocol, the message
 * limit, and the server's own routes answered while WebSockets are open.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { createContext, callbackHttpDummy, createEchoProtocol, echoProtocol, type Context, type ContextCreationInfo } from '../../src/index.js';

/** The message limit of the vhost below: a bigger message is closed with 1009. */
export const LIMIT = 1024;

/** A context whose vhost does not listen: echo by default (`lws-echo`), `chat` as a subprotocol, deflate, a small message limit. */
export function wsContext(extra: Partial<ContextCreationInfo> = {}): Context {
  return createContext({
    protocols: [{ name: 'http', callback: callbackHttpDummy }, echoProtocol, createEchoProtocol('chat')],
    pvo: { 'lws-echo': { default: '1' } },
    // threshold 0: every message is compressed, both ways.
    ws: { perMessageDeflate: { threshold: 0 }, maxMessageSize: LIMIT },
    ...extra,
  });
}

export interface Got {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
}

/** One request on a connection of its own. */
export function get(url: string, ca?: string | Buffer, headers: Record<string, string> = {}): Promise<Got> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((res, rej) => {
    const req = request(u, { agent: false, ca, servername: 'localhost', headers }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body, headers: r.headers }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end();
  });
}

/** Open a WebSocket (rejects on an HTTP answer that is not 101). */
export function open(url: string, protocols: string[] = [], ca?: string | Buffer): Promise<WebSocket> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, protocols, { ca, perMessageDeflate: { threshold: 0 } });
    ws.once('open', () => res(ws));
    ws.once('error', rej);
    ws.once('unexpected-response', (_q, r) => rej(new Error(`HTTP ${r.statusCode} instead of 101`)));
  });
}

/** Send `msg` and wait for what comes back. */
export function echo(ws: WebSocket, msg: string): Promise<string> {
  return new Promise((res, rej) => {
    ws.once('message', (d) => res(String(d)));
    ws.once('error', rej);
    ws.send(msg);
  });
}

/** What an upgrade answered with when it was not switched: its status and body. */
export function refusedUpgrade(url: string, ca?: string | Buffer): Promise<Got> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, { ca });
    ws.once('open', () => rej(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_q, r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body, headers: r.headers }));
    });
    ws.once('error', rej);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((res) => {
    if (ws.readyState === WebSocket.CLOSED) res(1006);
    else ws.once('close', (code) => res(code));
  });
}

/**
 * Everything a shared port must do: `wsUrl` is `ws://host:port/path` (or
 * wss), `route` an ordinary URL of the server with the body it answers.
 */
export async function exerciseSharedPort(wsUrl: string, route: { url: string; body: string }, ca?: string | Buffer): Promise<void> {
  const a = await open(wsUrl, [], ca);
  try {
    assert.match(a.extensions, /permessage-deflate/, 'permessage-deflate negotiated');
    assert.equal(a.protocol, '', 'no subprotocol asked, none chosen: the default protocol serves it');
    assert.equal(await echo(a, 'hello over a shared port'), 'hello over a shared port');
    const long = 'x'.repeat(LIMIT - 24);
    assert.equal(await echo(a, long), long);

    const r = await get(route.url, ca);
    assert.equal(r.status, 200);
    assert.equal(r.body, route.body);

    const b = await open(wsUrl, ['nonesuch', 'chat'], ca);
    assert.equal(b.protocol, 'chat');
    assert.equal(await echo(b, 'to chat'), 'to chat');
    b.close();
    await closed(b);

    const c = await open(wsUrl, [], ca);
    const code = closed(c);
    c.send(Buffer.alloc(LIMIT * 2, 7));
    assert.equal(await code, 1009, 'a message past maxMessageSize is closed with 1009');

    // The first WebSocket was open all along.
    assert.equal(await echo(a, 'still here'), 'still here');
  } finally {
    a.close();
    await closed(a);
  }
}
