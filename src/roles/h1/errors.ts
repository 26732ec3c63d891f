/**
 * A request the server refuses, with the status it answers and why. The
 * connection is closed after the answer: after a framing error nothing that
 * follows on it can be trusted.
 */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}
