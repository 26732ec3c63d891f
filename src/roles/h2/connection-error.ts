/** A connection error (RFC 9113 5.4.1): the connection ends with GOAWAY `code`. */
export class H2ConnectionError extends Error {
  constructor(readonly code: number, why: string) {
    super(why);
  }
}
