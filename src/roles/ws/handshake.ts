import * as crypto from 'node:crypto';
import type { Wsi } from '../../core/wsi.js';
import type { Protocol } from '../../core/protocols.js';
import type { HttpRequest } from '../../http/request.js';
import type { HttpExchange } from '../../http/exchange.js';
import { Reason } from '../../core/reasons.js';
import { handshakeFailed } from '../../core/diagnostics.js';
import { hasToken } from '../../http/response.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// crypto.hash() (Node 20.12+, not yet in @types/node 20) hashes in one
// native call, without a Hash object: a few microseconds less per handshake.
const oneShotHash = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;

/** `Sec-WebSocket-Accept` for a key (RFC 6455 4.2.2). */
export function acceptKey(key: string): string {
  const s = key + GUID;
  return oneShotHash ? oneShotHash('sha1', s, 'base64') : crypto.createHash('sha1').update(s).digest('base64');
}

/** Is this request asking to become a WebSocket? */
export function isWsUpgrade(req: HttpRequest): boolean {
  return hasToken(req.header('upgrade'), 'websocket');
}

/** What the handshake decided: a refusal, or the protocol to bind. */
export type WsHandshake =
  | { ok: false; status: number; why: string; headers?: string }
  | { ok: true; protocol: Protocol; accept: string; protocolHeader: string | undefined };

/** Check an upgrade request (RFC 6455 4.2.1) and choose the protocol (`chooseProtocol`). */
export function checkUpgrade(wsi: Wsi, req: HttpRequest, hasBody: boolean): WsHandshake {
  if (req.method !== 'GET') return { ok: false, status: 400, why: 'WebSocket upgrade must be a GET' };
  if (req.version !== 11) return { ok: false, status: 400, why: 'WebSocket upgrade needs HTTP/1.1' };
  if (hasBody) return { ok: false, status: 400, why: 'WebSocket upgrade with a body' };
  if (!hasToken(req.header('connection'), 'upgrade')) return { ok: false, status: 400, why: 'Connection header lacks "upgrade"' };
  const version = req.header('sec-websocket-version');
  // A missing required field is a bad request (RFC 6455 4.2.1); a version we do not speak is 426 (4.2.2).
  if (version === undefined)
    return { ok: false, status: 400, why: 'WebSocket upgrade without Sec-WebSocket-Version', headers: 'sec-websocket-version: 13\r\n' };
  if (version.trim() !== '13')
    return { ok: false, status: 426, why: 'unsupported WebSocket version', headers: 'sec-websocket-version: 13\r\n' };
  const keys = req.fragments('sec-websocket-key');
  const key = keys.length === 1 ? keys[0].trim() : '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return { ok: false, status: 400, why: 'missing or malformed Sec-WebSocket-Key' };
  const chosen = chooseProtocol(wsi, req);
  if (!chosen.ok) return chosen;
  return { ok: true, protocol: chosen.protocol, protocolHeader: chosen.protocolHeader, accept: acceptKey(key) };
}

/** The protocol a handshake binds: a refusal, or the protocol and the name to answer with. */
export type WsProtocolChoice =
  | { ok: false; status: number; why: string; headers?: string }
  | { ok: true; protocol: Protocol; protocolHeader: string | undefined };

/**
 * Choose the protocol of a WebSocket handshake, on any wire: the first
 * name in `Sec-WebSocket-Protocol` that the vhost has, or without that
 * header the protocol whose pvo says `default`, else protocols[0].
 */
export function chooseProtocol(wsi: Wsi, req: HttpRequest): WsProtocolChoice {
  const vh = wsi.vhost;
  const asked = req.header('sec-websocket-protocol');
  let protocol: Protocol | undefined;
  let protocolHeader: string | undefined;
  if (asked !== undefined) {
    for (const name of asked.split(',').map((s) => s.trim()).filter(Boolean)) {
      protocol = vh.protocolByName(name);
      if (protocol) {
        protocolHeader = name;
        break;
      }
    }
    if (!protocol) return { ok: false, status: 400, why: `no supported subprotocol in "${asked}"` };
  } else {
    for (const p of vh.protocols) {
      if (vh.pvo[p.name]?.default !== undefined) {
        protocol = p;
        break;
      }
    }
    protocol ??= vh.protocols[0];
  }
  return { ok: true, protocol, protocolHeader };
}

/**
 * Bind the chosen protocol to the handshake's connection, on any wire, and
 * let FILTER_PROTOCOL_CONNECTION refuse it: a refusal is answered 403 (or
 * with whatever the callback answered itself). True when the handshake
 * goes on.
 */
export function admitWsProtocol(ex: HttpExchange, protocol: Protocol, protocolHeader: string | undefined): boolean {
  const wsi = ex.wsi;
  wsi.protocol = protocol;
  wsi.user = protocol.createSessionData ? protocol.createSessionData() : undefined;
  const r = wsi.callProtocolRaw(Reason.FILTER_PROTOCOL_CONNECTION, protocolHeader ?? protocol.name, true);
  if (wsi.closed) return false;
  if (!r) return true;
  handshakeFailed(wsi, 'websocket', false, ex.headersSent ? ex.status : 403, 'refused by FILTER_PROTOCOL_CONNECTION');
  if (ex.headersSent || ex.done) wsi.close();
  else ex.fail(403, 'refused by FILTER_PROTOCOL_CONNECTION');
  return false;
}
