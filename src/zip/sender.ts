import { closeSync, readSync } from 'node:fs';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import type { H1Conn, ResponsePump } from '../roles/h1/conn.js';
import { finishFile, pumpChunks, type ChunkSource } from '../responders/file/serve.js';
import { PendingTimeout } from '../core/timeouts.js';
import { log } from '../core/log.js';
import { crc32 } from './crc32.js';
import { GZIP_HEADER, gzipTrailer } from './gzip.js';
import type { ZipEntry } from './reader.js';

/** How a member leaves: as stored, its deflate stream wrapped as gzip, or inflated here. */
export type ZipMode = 'raw' | 'gzip' | 'inflate';

/** Compressed bytes handed to the inflater at once: one piece can inflate to at most ~1000 times this. */
const INFLATE_PIECE = 4096;
/** Inflated bytes allowed to wait in the inflater before feeding stops. */
const INFLATE_AHEAD = 64 * 1024;

/**
 * Sends one zip member from the writeable path. Reading the archive and
 * inflating stop while the socket is choked, so a slow client costs about
 * the high-water mark plus one inflated piece, whatever the member's size.
 * Inflated output is checked against the member's size and CRC; the last
 * piece is held back until it is, so a corrupt member never completes
 * its response.
 */
export class ZipSender implements ResponsePump, ChunkSource {
  #pos: number;
  readonly #end: number;
  #closed = false;
  #inflater: InflateRaw | null = null;
  #feeding = false;
  #inflated = 0;
  #crc = 0;
  #held: Buffer | null = null;
  #headerSent = false;

  constructor(readonly conn: H1Conn, readonly fd: number, readonly entry: ZipEntry, readonly mode: ZipMode) {
    this.#pos = entry.dataOffset;
    this.#end = entry.dataOffset + entry.compressedSize;
    if (mode === 'inflate') this.#startInflater();
  }

  pump(): void {
    const conn = this.conn;
    const wsi = conn.wsi;
    const s = wsi.socket;
    if (this.#closed || !s || wsi.closed) return;
    wsi.setTimeout(PendingTimeout.HTTP_CONTENT, conn.limits.timeoutSecs);
    if (this.#inflater) {
      if (this.#inflater.isPaused() && !s.writableNeedDrain) this.#inflater.resume();
      this.#feed();
      return;
    }
    if (this.mode === 'gzip' && !this.#headerSent) {
      this.#headerSent = true;
      s.write(GZIP_HEADER);
    }
    if (!pumpChunks(conn, this)) return;
    if (this.mode === 'gzip') s.write(gzipTrailer(this.entry.crc, this.entry.size));
    this.#done();
  }

  get left(): number {
    return this.#end - this.#pos;
  }

  next(max: number): Buffer | null {
    return this.#read(max);
  }

  #read(max: number): Buffer | null {
    const want = Math.min(max, this.#end - this.#pos);
    const buf = Buffer.allocUnsafe(want);
    let n: number;
    try {
      n = readSync(this.fd, buf, 0, want, this.#pos);
    } catch (e) {
      this.#abort(`reading the archive failed: ${(e as Error).message}`);
      return null;
    }
    if (n <= 0) {
      this.#abort('the archive shrank while being read');
      return null;
    }
    this.#pos += n;
    return n === want ? buf : buf.subarray(0, n);
  }

  #startInflater(): void {
    const inf = createInflateRaw({ chunkSize: 16384 });
    this.#inflater = inf;
    inf.on('data', (d: Buffer) => {
      if (this.#closed) return;
      this.#inflated += d.length;
      if (this.#inflated > this.entry.size) {
        this.#abort('member inflates past its declared size');
        return;
      }
      this.#crc = crc32(d, this.#crc);
      const s = this.conn.wsi.socket;
      if (this.#held && s) s.write(this.#held);
      this.#held = d;
      if (!s || s.writableNeedDrain) inf.pause();
    });
    inf.on('end', () => {
      if (this.#closed) return;
      if (this.#inflated !== this.entry.size || this.#crc !== this.entry.crc) {
        this.#abort(`member is corrupt (${this.#inflated} bytes, crc ${this.#crc.toString(16)})`);
        return;
      }
      if (this.#held) this.conn.wsi.socket?.write(this.#held);
      this.#held = null;
      this.#done();
    });
    inf.on('error', (e) => this.#abort(`member does not inflate: ${e.message}`));
  }

  #feed(): void {
    const inf = this.#inflater;
    if (!inf || this.#feeding || this.#closed || inf.isPaused() || inf.readableLength > INFLATE_AHEAD) return;
    if (this.#pos >= this.#end) {
      if (!inf.writableEnded) inf.end();
      return;
    }
    const piece = this.#read(INFLATE_PIECE);
    if (!piece) return;
    this.#feeding = true;
    inf.write(piece, () => {
      this.#feeding = false;
      if (!this.#closed) this.#feed();
    });
  }

  #done(): void {
    const conn = this.conn;
    this.close();
    if (conn.file === this) conn.file = null;
    finishFile(conn);
  }

  #abort(why: string): void {
    if (this.#closed) return;
    log.err('wsi %d: zip member %s: %s', this.conn.wsi.id, this.entry.name, why);
    this.close();
    // The headers promised a length we cannot honour: the client must see a broken response.
    this.conn.wsi.close(false);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inflater?.destroy();
    this.#held = null;
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
  }
}
