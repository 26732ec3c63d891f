/**
 * A header block HPACK cannot decode: a bad index, a truncated or oversized
 * integer or string, bad Huffman padding, a table size update out of place
 * or over the setting. The decoding context is then out of step with the
 * peer's, so the HTTP/2 role closes the connection with COMPRESSION_ERROR
 * (RFC 9113 4.3); it never reaches user code.
 */
export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HpackError';
  }
}
