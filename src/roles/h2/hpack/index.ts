/**
 * HPACK, header compression for HTTP/2 (RFC 7541): a decoder and an
 * encoder per connection. Strings are latin1, one char per octet, so any
 * octet sequence round-trips; judging names and values is the HTTP/2
 * role's job, not this one's.
 */
export { HpackError } from './errors.js';
export { HpackDecoder, type HeaderField, type DecodeResult, type HpackDecoderOptions } from './decoder.js';
export { HpackEncoder } from './encoder.js';
