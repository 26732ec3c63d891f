import { coded, ErrorCode, type TslwsError } from '../../core/errors.js';

/**
 * A form body the parser refuses. `status` is the HTTP answer that fits:
 * 400 for a malformed body, 413 for one past a limit, 415 for a content
 * type that is not a form. `code` is always `TSLWS_FORM`.
 */
export class SpaError extends Error implements TslwsError {
  declare readonly code: typeof ErrorCode.FORM;
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
    this.name = 'SpaError';
    coded(this, ErrorCode.FORM);
  }
}
