/**
 * Negotiation glue between the handshakes (server upgrade, client
 * request and response) and the connection that follows: what was agreed
 * waits here, keyed by the wsi, until the WsConn is made.
 */
import type { Wsi } from '../../../core/wsi.js';
import { Reason } from '../../../core/reasons.js';
import { log } from '../../../core/log.js';
import { pmdOf, resolvePmd, type PerMessageDeflateOptions, type PmdConfig } from '../options.js';
import { acceptOffer, checkResponse, clientOffer, PMD_NAME, type PmdAgreement } from './negotiate.js';

export interface Agreed {
  cfg: PmdConfig;
  agreement: PmdAgreement;
}

const agreed = new WeakMap<Wsi, Agreed>();
const offered = new WeakMap<Wsi, PmdConfig>();

/** lws refuses permessage-deflate to protocols whose rx buffer is this small. */
const MIN_RX_BUFFER = 128;

/**
 * Server: choose among the request's offers. Returns the
 * `Sec-WebSocket-Extensions` value to answer with, or undefined when the
 * vhost has the extension off, nothing offered is acceptable, or the
 * protocol vetoes it in CONFIRM_EXTENSION_OKAY (the connection goes on
 * uncompressed either way).
 */
export function serverNegotiate(wsi: Wsi, header: string | undefined): string | undefined {
  const cfg = pmdOf(wsi.vhost.wsOptions);
  if (!cfg || !header) return undefined;
  const rx = wsi.protocol.rxBufferSize;
  if (rx !== undefined && rx > 0 && rx < MIN_RX_BUFFER) return undefined;
  const a = acceptOffer(header, cfg);
  if (!a) {
    log.info('wsi %d: no acceptable permessage-deflate offer in "%s"', wsi.id, header);
    return undefined;
  }
  if (wsi.callProtocolRaw(Reason.CONFIRM_EXTENSION_OKAY, PMD_NAME) !== 0) return undefined;
  agreed.set(wsi, { cfg, agreement: a.agreement });
  return a.response;
}

/** Check a client's permessage-deflate setting (throws on misuse). */
export function checkClientSetting(setting: boolean | PerMessageDeflateOptions | undefined, maxMessageSize: number): void {
  resolvePmd(setting, maxMessageSize, 'clientConnect: info.perMessageDeflate');
}

/**
 * Client: the offer to put in the request, or undefined when off or
 * vetoed in CLIENT_CONFIRM_EXTENSION_SUPPORTED.
 */
export function clientNegotiateOffer(wsi: Wsi, setting: boolean | PerMessageDeflateOptions | undefined): string | undefined {
  const cfg = resolvePmd(setting, wsi.vhost.wsOptions.maxMessageSize, 'clientConnect: info.perMessageDeflate');
  if (!cfg) return undefined;
  if (wsi.callProtocolRaw(Reason.CLIENT_CONFIRM_EXTENSION_SUPPORTED, PMD_NAME) !== 0) return undefined;
  offered.set(wsi, cfg);
  return clientOffer(cfg);
}

/** Client: check the server's answer; a string says why the connection fails. */
export function clientNegotiateCheck(wsi: Wsi, header: string | undefined): string | null {
  const cfg = offered.get(wsi) ?? null;
  offered.delete(wsi);
  const r = checkResponse(header, cfg);
  if (typeof r === 'string') return r;
  if (r && cfg) agreed.set(wsi, { cfg, agreement: r });
  return null;
}

/** What the handshake agreed for this wsi, taken once by its WsConn. */
export function takeAgreed(wsi: Wsi): Agreed | undefined {
  const a = agreed.get(wsi);
  if (a) agreed.delete(wsi);
  return a;
}
