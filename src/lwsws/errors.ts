import { coded, ErrorCode, type TslwsError } from '../core/errors.js';

/**
 * A configuration problem, located: file, line and the key it is about.
 * `code` is always `TSLWS_CONFIG`; when the problem was found by the
 * library (a vhost that cannot be created, a mount it refuses), `cause` is
 * that error, with its own `code`.
 */
export class ConfigError extends Error implements TslwsError {
  declare readonly code: typeof ErrorCode.CONFIG;
  constructor(readonly file: string, readonly line: number, readonly key: string | undefined, readonly why: string, options?: ErrorOptions) {
    super(`${file}:${line}: ${key !== undefined ? `"${key}": ` : ''}${why}`, options);
    this.name = 'ConfigError';
    coded(this, ErrorCode.CONFIG);
  }
}

/** A problem that does not stop lwsws, reported at startup with its place. */
export interface ConfigWarning {
  file: string;
  line: number;
  key?: string;
  message: string;
}

/** `file:line: "key": message`, as errors are shown. */
export function formatWarning(w: ConfigWarning): string {
  return `${w.file}:${w.line}: ${w.key !== undefined ? `"${w.key}": ` : ''}${w.message}`;
}
