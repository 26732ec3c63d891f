/**
 * permessage-deflate negotiation (RFC 7692 section 7.1): the server picks
 * the first offer it can accept, the client checks the server's answer.
 */
import type { PmdConfig } from '../options.js';
import { parseExtensions, type ExtensionOffer } from './ext-header.js';

export const PMD_NAME = 'permessage-deflate';

/** What one connection agreed, from its own side. */
export interface PmdAgreement {
  /** Our compressor starts afresh for every message. */
  txNoContextTakeover: boolean;
  /** The peer's compressor does: our decompressor may be dropped between messages. */
  rxNoContextTakeover: boolean;
  /** LZ77 window bits for our compressor, 8..15. */
  txWindowBits: number;
  /** LZ77 window bits the peer's compressor stays within, 8..15. */
  rxWindowBits: number;
}

interface PmdParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined: absent. */
  serverMaxWindowBits?: number;
  /** undefined: absent; true: present without a value. */
  clientMaxWindowBits?: number | true;
}

const BITS = /^(?:8|9|1[0-5])$/;

/** Check one offer's or response's parameters; a string says what is wrong. */
function readParams(ext: ExtensionOffer): PmdParams | string {
  const p: PmdParams = { serverNoContextTakeover: false, clientNoContextTakeover: false };
  const seen = new Set<string>();
  for (const [k, v] of ext.params) {
    if (seen.has(k)) return `duplicate parameter ${k}`;
    seen.add(k);
    switch (k) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (v !== true) return `${k} takes no value`;
        if (k === 'server_no_context_takeover') p.serverNoContextTakeover = true;
        else p.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        if (v === true || !BITS.test(v)) return `${k} needs a value from 8 to 15`;
        p.serverMaxWindowBits = Number(v);
        break;
      case 'client_max_window_bits':
        if (v !== true && !BITS.test(v)) return `${k} must be 8 to 15 when given`;
        p.clientMaxWindowBits = v === true ? true : Number(v);
        break;
      default:
        return `unknown parameter ${k}`;
    }
  }
  return p;
}

function render(txNct: boolean, rxNct: boolean, smwb: number | undefined, cmwb: number | true | undefined, server: boolean): string {
  let s = PMD_NAME;
  // Server response: "server_*" describes our side; in a client offer, the server's.
  if (server ? txNct : rxNct) s += '; server_no_context_takeover';
  if (server ? rxNct : txNct) s += '; client_no_context_takeover';
  if (smwb !== undefined) s += `; server_max_window_bits=${smwb}`;
  if (cmwb !== undefined) s += cmwb === true ? '; client_max_window_bits' : `; client_max_window_bits=${cmwb}`;
  return s;
}

/** The server's choice among the offers in a request, and the response value. */
export interface ServerAccept {
  agreement: PmdAgreement;
  response: string;
}

/**
 * Pick the first permessage-deflate offer in `header` that `cfg` can
 * accept. Malformed offers and unacceptable ones are declined (RFC 7692
 * 5: the server then answers without the extension); a header that does
 * not parse declines them all. null when nothing is accepted.
 */
export function acceptOffer(header: string | undefined, cfg: PmdConfig): ServerAccept | null {
  if (!header) return null;
  const offers = parseExtensions(header);
  if (!offers) return null;
  for (const ext of offers) {
    if (ext.name !== PMD_NAME) continue;
    const p = readParams(ext);
    if (typeof p === 'string') continue;
    const txNct = cfg.serverNoContextTakeover || p.serverNoContextTakeover;
    const rxNct = cfg.clientNoContextTakeover || p.clientNoContextTakeover;
    let smwb: number | undefined;
    if (p.serverMaxWindowBits !== undefined) smwb = Math.min(p.serverMaxWindowBits, cfg.serverMaxWindowBits);
    else if (cfg.serverMaxWindowBits < 15) smwb = cfg.serverMaxWindowBits;
    let cmwb: number | undefined;
    const offered = p.clientMaxWindowBits;
    if (cfg.clientMaxWindowBits < 15) {
      // We want to limit the client's window: only possible if it said it can be limited.
      if (offered === undefined) continue;
      cmwb = offered === true ? cfg.clientMaxWindowBits : Math.min(offered, cfg.clientMaxWindowBits);
    }
    const rxBits = cmwb ?? (typeof offered === 'number' ? offered : 15);
    return {
      agreement: { txNoContextTakeover: txNct, rxNoContextTakeover: rxNct, txWindowBits: smwb ?? 15, rxWindowBits: rxBits },
      response: render(txNct, rxNct, smwb, cmwb, true),
    };
  }
  return null;
}

/** The client's offer for `cfg`. */
export function clientOffer(cfg: PmdConfig): string {
  return render(cfg.clientNoContextTakeover, cfg.serverNoContextTakeover,
    cfg.serverMaxWindowBits < 15 ? cfg.serverMaxWindowBits : undefined,
    cfg.clientMaxWindowBits < 15 ? cfg.clientMaxWindowBits : true, false);
}

/**
 * Check the server's `Sec-WebSocket-Extensions` answer to our offer.
 * Returns the agreement (null: the server declined the extension), or a
 * string saying why the connection must fail (RFC 7692 5).
 */
export function checkResponse(header: string | undefined, cfg: PmdConfig | null): PmdAgreement | null | string {
  if (header === undefined || header.trim() === '') return null;
  const exts = parseExtensions(header);
  if (!exts) return `malformed Sec-WebSocket-Extensions "${header}"`;
  if (exts.length === 0) return null;
  if (!cfg || exts.some((e) => e.name !== PMD_NAME)) {
    const other = exts.find((e) => e.name !== PMD_NAME || !cfg);
    return `server answered with extension "${other?.name}", which was not offered`;
  }
  if (exts.length > 1) return 'server answered with permessage-deflate more than once';
  const p = readParams(exts[0]);
  if (typeof p === 'string') return `permessage-deflate response: ${p}`;
  if (cfg.serverNoContextTakeover && !p.serverNoContextTakeover) return 'permessage-deflate response lacks the server_no_context_takeover we asked for';
  if (cfg.serverMaxWindowBits < 15) {
    if (p.serverMaxWindowBits === undefined) return 'permessage-deflate response lacks the server_max_window_bits we asked for';
    if (p.serverMaxWindowBits > cfg.serverMaxWindowBits) return `permessage-deflate response: server_max_window_bits=${p.serverMaxWindowBits} is more than the ${cfg.serverMaxWindowBits} offered`;
  }
  let tx = cfg.clientMaxWindowBits;
  if (p.clientMaxWindowBits !== undefined) {
    if (p.clientMaxWindowBits === true) return 'permessage-deflate response: client_max_window_bits needs a value';
    if (p.clientMaxWindowBits > cfg.clientMaxWindowBits) return `permessage-deflate response: client_max_window_bits=${p.clientMaxWindowBits} is more than the ${cfg.clientMaxWindowBits} offered`;
    tx = p.clientMaxWindowBits;
  }
  return {
    txNoContextTakeover: cfg.clientNoContextTakeover || p.clientNoContextTakeover,
    rxNoContextTakeover: p.serverNoContextTakeover,
    txWindowBits: tx,
    rxWindowBits: p.serverMaxWindowBits ?? 15,
  };
}
