/**
 * A form body the parser refuses. `status` is the HTTP answer that fits:
 * 400 for a malformed body, 413 for one past a limit, 415 for a content
 * type that is not a form.
 */
export class SpaError extends Error {
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
    this.name = 'SpaError';
  }
}
