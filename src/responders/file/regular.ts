import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';

/**
 * Open `path` to read without blocking (a FIFO put where a file was
 * expected cannot stop the event loop) and, when it is a regular file,
 * hand its descriptor and stat to `use`; the descriptor is closed after.
 * Null when it cannot be opened, is not a regular file, or `use` fails.
 */
export function withRegularFile<T>(path: string, use: (fd: number, st: Stats) => T | null): T | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    return st.isFile() ? use(fd, st) : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
