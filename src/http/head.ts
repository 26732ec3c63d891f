import type { Wsi } from '../core/wsi.js';
import type { Token } from './tokens.js';
import type { HttpExchange } from './exchange.js';

/**
 * A request or response head as the wsi's header calls read it: a server
 * connection's request, a client connection's response.
 */
export interface HttpHead {
  /** `[lower-case name, value]` in arrival order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Every value of a header, by token or (case-insensitive) name. */
  fragments(header: Token | string): string[];
  /** A header's value, repeats joined as HTTP joins them. */
  header(header: Token | string): string | undefined;
  /** A request's method. */
  readonly method?: string;
  /** A request's decoded, normalised path. */
  readonly path?: string;
  /** A request's URL arguments, decoded, as `name=value`. */
  args?(): string[];
}

/**
 * What a role's per-connection state offers the wsi's HTTP calls: roles
 * that carry HTTP give their state these members, and the calls find
 * them there (a role without them has no HTTP to offer).
 */
export interface HttpCarrier {
  /** The head the header calls read; null when none is held (or it was released). */
  readonly httpHead: HttpHead | null;
  /** The exchange the response calls write to; null on roles that answer nothing. */
  readonly httpExchange: HttpExchange | null;
}

/** The HTTP side of a connection's role state, or null when its role carries no HTTP. */
export function carrierOf(wsi: Wsi): Partial<HttpCarrier> | null {
  const s = wsi.roleState;
  return typeof s === 'object' && s !== null ? (s as Partial<HttpCarrier>) : null;
}

/** The head the connection's header calls read, or null. */
export function headOf(wsi: Wsi): HttpHead | null {
  return carrierOf(wsi)?.httpHead ?? null;
}
