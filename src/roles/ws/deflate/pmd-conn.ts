import type { PmdConfig } from '../options.js';
import type { PmdAgreement } from './negotiate.js';
import { PMD_NAME } from './negotiate.js';
import type { ZlibLimiter } from './limiter.js';
import { PmdInflater, type InflateSink } from './inflater.js';
import { PmdDeflater } from './deflater.js';
import { ErrorCode, rangeError, typeError } from '../../../core/errors.js';
import type { SharedCompressed } from '../topics/published.js';

/** How the connection frames and sends what the compressor produced. */
export interface TxOut {
  frame(op: number, fin: boolean, rsv1: boolean, payload: Uint8Array): Buffer;
  send(frame: Buffer): void;
  /** Compression failed: the connection must close (1011). */
  fail(why: string): void;
}

type TxJob =
  | { kind: 'deflate'; op: number; fin: boolean; first: boolean; data: Buffer }
  | { kind: 'frame'; buf: Buffer }
  | { kind: 'shared'; shared: SharedCompressed; bytes: number }
  | { kind: 'then'; fn: () => void };

const DEFAULT_INFLATE_CHUNK = 16 * 1024;
const CONTINUATION = 0;

/** The options `setExtensionOption` knows, and their ranges. */
const OPTIONS: Readonly<Record<string, readonly [number, number]>> = {
  rx_buf_size: [6, 16],
  tx_buf_size: [6, 24],
  compression_level: [0, 9],
  mem_level: [1, 9],
};

/**
 * permessage-deflate on one connection: the decompressor for what comes
 * in, the compressor and an ordered send queue for what goes out, and the
 * options user code may change (lws_set_extension_option).
 *
 * Messages queue behind the one being compressed so frames leave in the
 * order they were written; control frames do not wait (RFC 6455 5.4
 * lets them in between).
 */
export class PmdConn {
  #inflater: PmdInflater | null = null;
  #deflater: PmdDeflater | null = null;
  #queue: TxJob[] = [];
  #queuedBytes = 0;
  #running = false;
  #dead = false;
  /** Largest RECEIVE piece of inflated data. */
  rxPiece: number;
  #inflateChunk: number;
  /** Largest compressed frame payload; 0: one frame per write. */
  txFrameMax = 0;
  #deflaterSettings: { windowBits: number; noContextTakeover: boolean; level: number; memLevel: number; idleReleaseMs: number };

  constructor(
    readonly cfg: PmdConfig,
    readonly agreement: PmdAgreement,
    readonly limiter: ZlibLimiter,
    readonly rxSink: InflateSink,
    readonly out: TxOut,
    /** The protocol's RECEIVE piece size, which inflated pieces never pass. */
    readonly rxChunk: number,
  ) {
    this.rxPiece = rxChunk;
    this.#deflaterSettings = {
      windowBits: agreement.txWindowBits,
      noContextTakeover: agreement.txNoContextTakeover,
      level: cfg.level,
      memLevel: cfg.memLevel,
      idleReleaseMs: cfg.idleReleaseMs,
    };
    this.#inflateChunk = Math.max(64, Math.min(DEFAULT_INFLATE_CHUNK, rxChunk));
  }

  /** Messages smaller than this go uncompressed. */
  get threshold(): number {
    return this.cfg.threshold;
  }

  /** The decompressor, made when the first compressed message arrives. */
  get inflater(): PmdInflater {
    return (this.#inflater ??= new PmdInflater(this.rxSink, this.limiter, {
      windowBits: this.agreement.rxWindowBits,
      noContextTakeover: this.agreement.rxNoContextTakeover,
      maxSize: this.cfg.maxInflatedSize,
      chunkSize: this.#inflateChunk,
    }));
  }

  /** Is a compressed piece being decompressed (parsing waits for it)? */
  get rxBusy(): boolean {
    return this.#inflater?.busy ?? false;
  }

  /** Nothing waits to be compressed or sent. */
  get txIdle(): boolean {
    return !this.#running && this.#queue.length === 0;
  }

  /** Bytes written by the user and not yet handed to the socket. */
  get txQueuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True while the compressor's zlib stream is held. */
  get holdsCompressor(): boolean {
    return this.#deflater?.hasStream ?? false;
  }

  /** True while zlib streams are held (for tests and memory accounting). */
  get holdsZlib(): boolean {
    return (this.#inflater?.hasStream ?? false) || (this.#deflater?.hasStream ?? false);
  }

  /** Queue one frame's worth of a compressed message (`first`: its first frame). */
  sendCompressed(op: number, fin: boolean, first: boolean, data: Buffer): void {
    this.#queue.push({ kind: 'deflate', op, fin, first, data });
    this.#queuedBytes += data.length;
    this.#run();
  }

  /** Send a ready frame in turn, after what is queued. */
  sendFrame(buf: Buffer): void {
    if (this.txIdle) {
      this.out.send(buf);
      return;
    }
    this.#queue.push({ kind: 'frame', buf });
    this.#queuedBytes += buf.length;
  }

  /**
   * Send a message compressed once for many connections (a publish to
   * subscribers without context takeover), in turn: it waits here for its
   * compression, and what is written after it waits behind it.
   */
  sendShared(shared: SharedCompressed, bytes: number): void {
    if (this.txIdle && shared.frame) {
      this.out.send(shared.frame);
      return;
    }
    this.#queue.push({ kind: 'shared', shared, bytes });
    this.#queuedBytes += bytes;
    this.#run();
  }

  /** Run `fn` once everything queued before it has been sent. */
  whenTxIdle(fn: () => void): void {
    if (this.txIdle) fn();
    else this.#queue.push({ kind: 'then', fn });
  }

  /**
   * lws_set_extension_option for this extension. Returns 0 when applied,
   * -1 when `ext` is not this extension.
   *
   * - `rx_buf_size` n: inflated data comes in RECEIVE pieces of at most
   *   2^n bytes (never more than the protocol's rxBufferSize), and the
   *   decompressor made next produces output in chunks that size.
   * - `tx_buf_size` n: compressed output is sent in frames of at most 2^n
   *   bytes (a message may become several frames).
   * - `compression_level` 0..9: applies from the next message written.
   * - `mem_level` 1..9: applies to the compressor made next (after a
   *   message, with no context takeover).
   */
  setOption(ext: string, name: string, value: string | number): number {
    if (ext !== PMD_NAME || this.#dead) return -1;
    const range = OPTIONS[name];
    if (!range) throw typeError(ErrorCode.UNKNOWN_OPTION, `setExtensionOption: permessage-deflate has no option "${name}"; known: ${Object.keys(OPTIONS).join(', ')}`);
    const v = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(v) || v < range[0] || v > range[1])
      throw rangeError(ErrorCode.INVALID_OPTION, `setExtensionOption: permessage-deflate ${name} must be an integer from ${range[0]} to ${range[1]}, got ${JSON.stringify(value)}`);
    switch (name) {
      case 'rx_buf_size':
        this.rxPiece = Math.min(2 ** v, this.rxChunk);
        this.#inflateChunk = Math.max(64, this.rxPiece);
        if (this.#inflater) this.#inflater.settings.chunkSize = this.#inflateChunk;
        break;
      case 'tx_buf_size':
        this.txFrameMax = 2 ** v;
        break;
      case 'compression_level':
        this.#deflaterSettings.level = v;
        if (this.#deflater) this.#deflater.level = v;
        break;
      case 'mem_level':
        this.#deflaterSettings.memLevel = v;
        if (this.#deflater) this.#deflater.memLevel = v;
        break;
    }
    return 0;
  }

  /** Stop decompressing (the connection closes); sending may still finish. */
  stopRx(): void {
    this.#inflater?.destroy();
  }

  /** Drop everything. */
  destroy(): void {
    this.#dead = true;
    this.#inflater?.destroy();
    this.#deflater?.destroy();
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  #run(): void {
    while (!this.#running && !this.#dead && this.#queue.length) {
      const job = this.#queue[0];
      if (job.kind === 'frame') {
        this.#queue.shift();
        this.#queuedBytes -= job.buf.length;
        this.out.send(job.buf);
        continue;
      }
      if (job.kind === 'then') {
        this.#queue.shift();
        job.fn();
        continue;
      }
      if (job.kind === 'shared') {
        const sh = job.shared;
        if (!sh.frame && !sh.error) {
          this.#running = true;
          sh.whenDone(() => {
            this.#running = false;
            this.#run();
          });
          return;
        }
        this.#queue.shift();
        this.#queuedBytes -= job.bytes;
        if (sh.error) {
          this.#queue = [];
          this.#queuedBytes = 0;
          this.out.fail(`compression failed: ${sh.error.message}`);
          return;
        }
        this.out.send(sh.frame as Buffer);
        continue;
      }
      this.#running = true;
      const d = (this.#deflater ??= new PmdDeflater(this.limiter, { ...this.#deflaterSettings }));
      d.compress(job.data, job.fin, (err, payload) => {
        this.#running = false;
        if (this.#dead) return;
        this.#queue.shift();
        this.#queuedBytes -= job.data.length;
        if (err) {
          // Nothing queued can be sent now: drop it, so the close that
          // follows sends its Close at once instead of waiting behind it.
          this.#queue = [];
          this.#queuedBytes = 0;
          this.out.fail(`compression failed: ${err.message}`);
          return;
        }
        this.#emit(job.op, job.fin, job.first, payload);
        this.#run();
      });
      return;
    }
  }

  /** Frame compressed output, split at tx_buf_size when set; RSV1 on the message's first frame only. */
  #emit(op: number, fin: boolean, first: boolean, payload: Buffer): void {
    const max = this.txFrameMax;
    if (!max || payload.length <= max) {
      this.out.send(this.out.frame(op, fin, first, payload));
      return;
    }
    for (let off = 0; off < payload.length; off += max) {
      const end = Math.min(payload.length, off + max);
      const head = off === 0;
      this.out.send(this.out.frame(head ? op : CONTINUATION, fin && end === payload.length, head && first, payload.subarray(off, end)));
    }
  }
}
