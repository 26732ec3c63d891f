/**
 * The command line of a bench script, read the same way by all of them:
 * `node:util`'s parseArgs, strict, with `--help` / `-h` added. A bad option
 * prints what is wrong and the usage to stderr and exits 2; `--help`
 * prints the usage to stdout and exits 0.
 *
 * ```js
 * const { values: opts } = parseBenchArgs(USAGE, { rounds: { type: 'string', default: '3' } });
 * if (!(Number(opts.rounds) >= 1)) usageError('my-bench', USAGE, '--rounds must be at least 1');
 * ```
 */
import { parseArgs } from 'node:util';

/** Parse `process.argv` against `options`; `positionals`: whether bare arguments are allowed. */
export function parseBenchArgs(usage, options, { positionals = false } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, allowPositionals: positionals, strict: true });
  } catch (e) {
    process.stderr.write(`${e.message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return parsed;
}

/** Say what is wrong with the command line (as `prog: why`), then the usage, and exit 2. */
export function usageError(prog, usage, why) {
  process.stderr.write(`${prog}: ${why}\n${usage}`);
  process.exit(2);
}
