/**
 * `vhost.adoptDescriptor()`: a file descriptor in the event loop, bound to
 * a protocol (lws's `lws_adopt_descriptor_vhost`): FIFOs and pipes, ttys,
 * other character devices, regular files and sockets. Nothing here ever
 * blocks the loop: pipes, FIFOs, sockets and ttys are read and written
 * non-blocking by libuv; files and other devices through Node's thread
 * pool.
 */
import { Socket } from 'node:net';
import { ReadStream as TtyReadStream, WriteStream as TtyWriteStream, isatty } from 'node:tty';
import { Duplex } from 'node:stream';
import { close, closeSync, constants, fstatSync, openSync, read, readSync, write } from 'node:fs';
import { Vhost } from '../../core/vhost.js';
import { Wsi } from '../../core/wsi.js';
import type { Transport } from '../../core/role.js';
import { roleTransition } from '../../core/role.js';
import { extendApi } from '../../core/features.js';
import { Reason } from '../../core/reasons.js';
import { wireSocket } from '../../core/transport.js';
import { ErrorCode, stateError, typeError } from '../../core/errors.js';
import { log } from '../../core/log.js';
import { rawFileRole } from './role-raw-file.js';

/** How a descriptor given by path is opened. */
export interface AdoptDescriptorOptions {
  /**
   * For a path: `'r'` (the default) to read it, `'w'` to write it, `'r+'`
   * both. A FIFO is opened non-blocking: for reading it opens with no
   * writer yet, for writing it must already have a reader (else ENXIO).
   */
  flags?: 'r' | 'w' | 'r+';
  /** Bytes read per read from a file or a device read through the thread pool. Default 64 KiB. */
  chunkSize?: number;
}

declare module '../../core/vhost.js' {
  interface Vhost {
    /**
     * Put a descriptor in the event loop, bound to `protocol` (by name):
     * RAW_ADOPT_FILE, then RAW_RX_FILE for what is read (paused by
     * `rxFlowControl(false)`), RAW_WRITEABLE_FILE after
     * `callbackOnWritable()` when it can take more, and one RAW_CLOSE_FILE
     * at the end (end of file, the last writer of a FIFO gone, an error,
     * or `wsi.close()`). `fdOrPath` is an open descriptor, which tslws
     * then owns and closes, or a path it opens (see `options.flags`).
     * Returns the wsi, or null when RAW_ADOPT_FILE refused it (or the
     * context's connection limit was reached); a path that cannot be
     * opened throws the system's error (ENOENT …).
     *
     * @example
     * vhost.adoptDescriptor('/tmp/my-fifo', 'fifo-reader'); // RAW_RX_FILE with what writers put in it
     */
    adoptDescriptor(fdOrPath: number | string, protocol: string, options?: AdoptDescriptorOptions): Wsi | null;
  }
}

const MODES = { r: constants.O_RDONLY, w: constants.O_WRONLY, 'r+': constants.O_RDWR } as const;

/**
 * A regular file or a device as a duplex stream, read and written through
 * the thread pool (libuv cannot poll them), so a slow device blocks a pool
 * thread, never the loop. Reads stop while the reader is paused.
 */
class FdStream extends Duplex {
  #fd: number;
  #buf: Buffer;

  constructor(fd: number, readable: boolean, writable: boolean, chunk: number) {
    super({ allowHalfOpen: true });
    this.#fd = fd;
    this.#buf = Buffer.allocUnsafe(chunk);
    // A direction the descriptor was not opened for is closed from the start.
    if (!readable) this.push(null);
    if (!writable) this.end();
  }

  override _read(): void {
    read(this.#fd, this.#buf, 0, this.#buf.length, null, (e, n) => {
      if (e) this.destroy(e);
      else if (n === 0) this.push(null);
      else this.push(Buffer.from(this.#buf.subarray(0, n)));
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const more = (off: number): void => {
      if (off >= chunk.length) return cb();
      write(this.#fd, chunk, off, chunk.length - off, null, (e, n) => (e ? cb(e) : more(off + n)));
    };
    more(0);
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.#fd < 0) return cb(err);
    const fd = this.#fd;
    this.#fd = -1;
    close(fd, () => cb(err));
  }
}

/** The stream that reads and writes `fd` without blocking the loop. */
function streamOf(fd: number, readable: boolean, writable: boolean, chunk: number): Transport & Duplex {
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) {
    // libuv polls pipes, FIFOs and sockets and reads them non-blocking.
    return new Socket({ fd, readable, writable, allowHalfOpen: true });
  }
  if (st.isCharacterDevice() && isatty(fd)) {
    if (readable && writable) throw typeError(ErrorCode.INVALID_ARGUMENT, 'adoptDescriptor: a tty is adopted for reading or for writing, not both');
    return readable ? new TtyReadStream(fd) : new TtyWriteStream(fd);
  }
  if (st.isDirectory()) throw typeError(ErrorCode.INVALID_ARGUMENT, 'adoptDescriptor: a directory has no bytes to read');
  return new FdStream(fd, readable, writable, chunk);
}

/** Which ways an open descriptor goes, from its access mode. */
function accessOf(fd: number): { readable: boolean; writable: boolean } {
  // fstat says nothing of the access mode; Linux shows it in /proc (flags in octal).
  try {
    const text = readProcFdinfo(fd);
    const m = /^flags:\s+([0-7]+)/m.exec(text);
    if (m) {
      const acc = parseInt(m[1], 8) & 3;
      return { readable: acc !== constants.O_WRONLY, writable: acc !== constants.O_RDONLY };
    }
  } catch {
    // not Linux: assume both
  }
  return { readable: true, writable: true };
}

function readProcFdinfo(fd: number): string {
  const f = openSync(`/proc/self/fdinfo/${fd}`, 'r');
  try {
    const b = Buffer.alloc(512);
    const n = readSync(f, b, 0, b.length, null);
    return b.toString('latin1', 0, n);
  } finally {
    closeSync(f);
  }
}

extendApi(Vhost, {
  adoptDescriptor(this: Vhost, fdOrPath: number | string, protocolName: string, options: AdoptDescriptorOptions = {}): Wsi | null {
    const protocol = typeof protocolName === 'string' ? this.protocolByName(protocolName) : undefined;
    if (!protocol) throw typeError(ErrorCode.INVALID_ARGUMENT, `adoptDescriptor: vhost ${this.name} has no protocol ${JSON.stringify(protocolName)}`);
    const flags = options.flags ?? 'r';
    if (!(flags in MODES)) throw typeError(ErrorCode.INVALID_ARGUMENT, `adoptDescriptor: flags must be 'r', 'w' or 'r+', got ${JSON.stringify(flags)}`);
    const chunk = options.chunkSize ?? 64 * 1024;
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > 16 * 1024 * 1024) {
      throw typeError(ErrorCode.INVALID_ARGUMENT, `adoptDescriptor: chunkSize must be a whole number of bytes from 1 to 16 MiB, got ${String(chunk)}`);
    }
    if (typeof fdOrPath === 'number' && (!Number.isInteger(fdOrPath) || fdOrPath < 0)) {
      throw typeError(ErrorCode.INVALID_ARGUMENT, `adoptDescriptor: ${fdOrPath} is not a file descriptor`);
    }
    if (typeof fdOrPath !== 'number' && typeof fdOrPath !== 'string') throw typeError(ErrorCode.INVALID_ARGUMENT, 'adoptDescriptor: a descriptor number or a path is needed');
    if (this.destroyed) throw stateError(ErrorCode.DESTROYED, `adoptDescriptor: vhost ${this.name} is destroyed`);
    // Non-blocking, so opening a FIFO for reading does not wait for a writer.
    const fd = typeof fdOrPath === 'number' ? fdOrPath : openSync(fdOrPath, MODES[flags] | (constants.O_NONBLOCK ?? 0));
    let t: Transport & Duplex;
    const acc = typeof fdOrPath === 'number' ? accessOf(fd) : { readable: flags !== 'w', writable: flags !== 'r' };
    try {
      t = streamOf(fd, acc.readable, acc.writable, chunk);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    const wsi = new Wsi(this.context, this, protocol, t);
    if (!this.context.adoptWsi(wsi)) {
      log.warn('%s: connection limit reached, descriptor %d not adopted', this.name, fd);
      t.destroy();
      return null;
    }
    roleTransition(wsi, rawFileRole, { reads: acc.readable });
    wireSocket(wsi, t as unknown as Socket);
    log.info('wsi %d: descriptor %s adopted for %s', wsi.id, typeof fdOrPath === 'number' ? fd : fdOrPath, protocol.name);
    if (wsi.callProtocol(Reason.RAW_ADOPT_FILE)) return null;
    return wsi;
  },
});
