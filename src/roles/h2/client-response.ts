import type { HeaderField } from './hpack/index.js';
import { checkTrailers } from './request.js';

/** A response head as HTTP/2 carried it, checked (RFC 9113 8.3.2). */
export interface H2ResponseHead {
  status: number;
  /** Regular fields, lower-case names, in order. */
  headers: Array<[string, string]>;
}

/**
 * Check a response's decoded header block: one `:status` of three digits
 * first, then regular fields by the rules trailers follow. A string says
 * why it is malformed (the stream is reset with PROTOCOL_ERROR).
 */
export function checkResponse(fields: readonly HeaderField[]): H2ResponseHead | string {
  let status = -1;
  let i = 0;
  for (; i < fields.length && fields[i][0].charCodeAt(0) === 0x3a; i++) {
    const [name, value] = fields[i];
    if (name !== ':status') return `pseudo-header ${name} in a response`;
    if (status >= 0) return 'duplicate :status';
    if (!/^[1-9]\d\d$/.test(value)) return `malformed :status ${JSON.stringify(value.slice(0, 20))}`;
    status = Number(value);
  }
  if (status < 0) return 'no :status';
  const rest = fields.slice(i);
  const why = checkTrailers(rest);
  if (why) return why;
  return { status, headers: rest.map(([n, v]) => [n, v]) };
}
