import { createDeflateRaw, constants, type DeflateRaw } from 'node:zlib';
import type { ZlibLimiter } from './limiter.js';
import type { Timer } from '../../../core/timers.js';

export interface DeflaterSettings {
  windowBits: number;
  /** Start afresh for every message: the stream is closed after each one. */
  noContextTakeover: boolean;
  level: number;
  memLevel: number;
  /** Free the stream after this long without a message; 0 never. */
  idleReleaseMs: number;
}

/**
 * Compresses one connection's outgoing messages, one write at a time, on
 * a zlib stream made at the first compressed message. Each write ends
 * with a sync flush so the peer can decompress it alone; the last one of
 * a message has the flush's 00 00 ff ff removed (RFC 7692 7.2.1).
 */
export class PmdDeflater {
  #z: DeflateRaw | null = null;
  #out: Buffer[] = [];
  #outLen = 0;
  #dead = false;
  #level: number;
  #memLevel: number;
  #streamLevel = 0;
  // The call in progress, failed if the stream errors before its flush ends.
  #cb: ((err: Error | null, out: Buffer) => void) | null = null;
  #midMessage = false;
  #idle: Timer | null = null;
  // Window and memLevel of the stream held: with its level, the spare list it goes back to.
  #keyBase = '';
  // This connection holds one of the vhost's places for a kept compressor.
  #kept = false;
  #onData = (c: Buffer): void => {
    this.#out.push(c);
    this.#outLen += c.length;
  };
  #onError = (e: Error): void => {
    // Only exhausted memory or a bug gets here: the connection cannot go on.
    const z = this.#z;
    if (!z) return;
    this.#detach(z);
    z.on('error', () => {});
    this.#z = null;
    const cb = this.#cb;
    this.#cb = null;
    if (cb) {
      this.limiter.release();
      cb(e, Buffer.alloc(0));
    }
  };

  constructor(readonly limiter: ZlibLimiter, readonly settings: DeflaterSettings) {
    this.#level = settings.level;
    this.#memLevel = settings.memLevel;
  }

  /** True while a zlib stream exists. */
  get hasStream(): boolean {
    return this.#z !== null;
  }

  /** Compression level for what is compressed from now on. */
  set level(v: number) {
    this.#level = v;
  }

  /** memLevel of the next stream made (the current one keeps its own). */
  set memLevel(v: number) {
    this.#memLevel = v;
  }

  /** Compress `data`; `fin` ends the message. One call at a time. */
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void {
    this.limiter.acquire(() => {
      if (this.#dead) {
        this.limiter.release();
        return;
      }
      const z = this.#stream();
      const starting = !this.#midMessage;
      this.#cb = cb;
      this.#midMessage = !fin;
      const go = () => {
        if (z !== this.#z) return;
        if (data.length) z.write(data);
        z.flush(constants.Z_SYNC_FLUSH, () => {
          if (this.#cb !== cb) return;
          this.#cb = null;
          this.limiter.release();
          if (this.#dead || z !== this.#z) return;
          let out = this.#outLen === 0 ? Buffer.alloc(0) : this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out, this.#outLen);
          this.#out = [];
          this.#outLen = 0;
          if (fin) {
            const n = out.length;
            if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff) out = out.subarray(0, n - 4);
            // Nothing new since the last flush: an empty message is the one
            // byte 00 (RFC 7692 7.2.3.6), as an empty payload plus the
            // receiver's 00 00 ff ff would not be valid deflate data.
            if (out.length === 0) out = Buffer.from([0]);
            // Each message starts afresh: the stream goes back, reset, for the next one to borrow.
            // Past the vhost's bound on kept compressors, context takeover
            // gives way to the same borrowing.
            if (this.settings.noContextTakeover || !this.#keep()) this.#recycleStream();
            else this.#armIdleRelease();
          }
          cb(null, out);
        });
      };
      // A level change applies from the next message, never inside one.
      if (starting && this.#streamLevel !== this.#level) {
        this.#streamLevel = this.#level;
        z.params(this.#level, constants.Z_DEFAULT_STRATEGY, go);
      } else go();
    });
  }

  #keep(): boolean {
    if (!this.#kept) this.#kept = this.limiter.tryKeep();
    return this.#kept;
  }

  #unkeep(): void {
    if (!this.#kept) return;
    this.#kept = false;
    this.limiter.unkeep();
  }

  /**
   * A quiet connection gives its compressor back. Dropping it between
   * messages is always allowed: back-references are the compressor's
   * choice, and a fresh stream simply makes none into the old data.
   */
  #armIdleRelease(): void {
    const ms = this.settings.idleReleaseMs;
    if (ms <= 0) return;
    (this.#idle ??= this.limiter.timers.timer(PmdDeflater.#idleDue, this)).start(ms);
  }

  static #idleDue = (d: PmdDeflater): void => {
    if (d.#cb || d.#midMessage || d.#dead) return;
    d.#recycleStream();
  };

  destroy(): void {
    this.#dead = true;
    this.#idle?.stop();
    this.#idle = null;
    this.#closeStream();
    if (this.#cb) {
      this.#cb = null;
      this.limiter.release();
    }
  }

  #stream(): DeflateRaw {
    if (this.#z) return this.#z;
    const s = this.settings;
    // zlib's raw deflate cannot do an 8-bit window; with 9 it never reaches
    // back more than 250 bytes, inside what a peer that asked for 8 keeps.
    const windowBits = Math.max(9, s.windowBits);
    const keyBase = `${windowBits}/${this.#memLevel}`;
    const z = this.limiter.takeDeflater(`${keyBase}/${this.#level}`) ?? createDeflateRaw({ windowBits, level: this.#level, memLevel: this.#memLevel });
    z.on('data', this.#onData);
    z.on('error', this.#onError);
    this.#z = z;
    this.#keyBase = keyBase;
    this.#streamLevel = this.#level;
    return z;
  }

  #detach(z: DeflateRaw): void {
    z.off('data', this.#onData);
    z.off('error', this.#onError);
  }

  /** Between messages: hand the stream back, reset, to the vhost's spares. */
  #recycleStream(): void {
    const z = this.#z;
    if (!z || this.#cb) return this.#closeStream();
    this.#unkeep();
    this.#z = null;
    this.#out = [];
    this.#outLen = 0;
    this.#detach(z);
    // reset() keeps the level the stream has now (setExtensionOption may have changed it).
    z.reset();
    this.limiter.putDeflater(`${this.#keyBase}/${this.#streamLevel}`, z);
  }

  #closeStream(): void {
    this.#unkeep();
    const z = this.#z;
    this.#z = null;
    this.#out = [];
    this.#outLen = 0;
    if (z) {
      this.#detach(z);
      z.on('error', () => {});
      z.close();
    }
  }
}
