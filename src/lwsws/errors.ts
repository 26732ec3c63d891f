/** A configuration problem, located: file, line and the key it is about. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly line: number, readonly key: string | undefined, readonly why: string) {
    super(`${file}:${line}: ${key !== undefined ? `"${key}": ` : ''}${why}`);
    this.name = 'ConfigError';
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
