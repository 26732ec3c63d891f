/**
 * A request the server refuses, with the status it answers and why. The
 * connection is closed after the answer: after a framing error nothing that
 * follows on it can be trusted.
 */
export class HttpError extends Error {
  /** `headers`: extra `name: value\r\n` lines for the answer (a Location, …). */
  constructor(readonly status: number, message: string, readonly headers = '') {
    super(message);
    this.name = 'HttpError';
  }
}
