import type { Wsi } from '../../core/wsi.js';
import { ErrorCode, rangeError, stateError, typeError } from '../../core/errors.js';
import { SpaError } from './errors.js';
import { UrlencodedParser } from './urlencoded.js';
import { MultipartParser, boundaryOf, type PartInfo } from './multipart.js';

/** Where a file part is in its life, as lws's `enum lws_spa_fileupload_states`. */
export enum SpaFileState {
  /** A file part starts: `chunk` is empty. */
  OPEN = 0,
  /** Some of its bytes. */
  CONTENT = 1,
  /** The part has ended: `chunk` is empty. */
  FINAL_CONTENT = 2,
}

/** What a file callback learns about the part. */
export type SpaFilePart = Readonly<Required<PartInfo>>;

export interface SpaOptions {
  /** Field names whose values are kept as strings; other plain fields are read and dropped. */
  readonly params: readonly string[];
  /** Largest value kept for one field, in bytes (after decoding): 413 past it. Default 1024. */
  readonly maxFieldBytes?: number;
  /** Largest total of kept values, in bytes (lws's `max_storage`): 413 past it. Default 4096. */
  readonly maxTotalBytes?: number;
  /** Largest file part, in bytes: 413 past it. Default 100 MiB. */
  readonly maxFileBytes?: number;
  /** Most parts (or urlencoded pairs) in one form: 413 past it. Default 256. */
  readonly maxParts?: number;
  /** Largest header block of one multipart part (and longest field name): 400 past it. Default 4096. */
  readonly maxHeaderBytes?: number;
  /**
   * Receives file parts (multipart parts with a filename) as they arrive.
   * The chunk is only valid during the call: copy or write it out. Without
   * it, file parts are read and dropped.
   */
  readonly onFile?: (part: SpaFilePart, state: SpaFileState, chunk: Uint8Array) => void;
  /** The request's Content-Type; by default read from the wsi. */
  readonly contentType?: string;
}

const URLENCODED = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const MULTIPART = /^multipart\/form-data\s*(;|$)/i;

/**
 * A streaming form parser (lws's `lws_spa`): feed it the request body as it
 * arrives in HTTP_BODY, finalize it at HTTP_BODY_COMPLETION, then read the
 * fields. Parses `application/x-www-form-urlencoded` and
 * `multipart/form-data`; file parts go to `onFile` in pieces and are never
 * gathered. Every problem is a `SpaError` carrying the status to answer.
 *
 * ```ts
 * case Reason.HTTP: user.spa = createSpa(wsi, { params: ['text'], onFile }); return 0;
 * case Reason.HTTP_BODY: user.spa.process(input); return 0; // input: Buffer
 * case Reason.HTTP_BODY_COMPLETION: user.spa.finalize(); text = user.spa.getString('text'); …
 * ```
 */
export class Spa {
  readonly #wanted: Set<string>;
  readonly #values = new Map<string, Buffer[]>();
  readonly #lengths = new Map<string, number>();
  #total = 0;
  #parts = 0;
  readonly #maxField: number;
  readonly #maxTotal: number;
  readonly #maxFile: number;
  readonly #maxParts: number;
  readonly #url: UrlencodedParser | null = null;
  readonly #multi: MultipartParser | null = null;
  /** The field being read, or null when it is being skipped. */
  #field: string | null = null;
  #file: SpaFilePart | null = null;
  #fileBytes = 0;
  #finalized = false;
  #failed: SpaError | null = null;

  constructor(contentType: string | undefined, private readonly opts: SpaOptions) {
    if (!Array.isArray(opts.params)) throw typeError(ErrorCode.INVALID_OPTION, 'Spa: params must be an array of field names');
    this.#wanted = new Set(opts.params);
    this.#maxField = limit(opts.maxFieldBytes, 1024, 'maxFieldBytes');
    this.#maxTotal = limit(opts.maxTotalBytes, 4096, 'maxTotalBytes');
    this.#maxFile = limit(opts.maxFileBytes, 100 * 1024 * 1024, 'maxFileBytes');
    this.#maxParts = limit(opts.maxParts, 256, 'maxParts');
    const maxHeader = limit(opts.maxHeaderBytes, 4096, 'maxHeaderBytes');
    const ct = (contentType ?? '').trim();
    if (URLENCODED.test(ct)) {
      this.#url = new UrlencodedParser({
        name: (n) => {
          this.#countPart();
          this.#begin(n);
        },
        value: (b) => this.#value(b),
        end: () => { this.#field = null; },
      }, maxHeader);
    } else if (MULTIPART.test(ct)) {
      this.#multi = new MultipartParser(boundaryOf(ct), {
        begin: (p) => this.#beginPart(p),
        data: (b) => this.#partData(b),
        end: () => this.#endPart(),
      }, { maxHeader });
    } else {
      throw new SpaError(415, `not a form: Content-Type ${JSON.stringify(ct || '(none)')}`);
    }
  }

  /** Parse the next piece of the body. Throws a SpaError when the body is malformed or too large. */
  process(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    if (this.#finalized) throw stateError(ErrorCode.WRITE_MISUSE, 'Spa.process: called after finalize(); feed the whole body before finalizing');
    try {
      if (this.#url) this.#url.feed(chunk);
      else this.#multi?.feed(chunk);
    } catch (e) {
      if (e instanceof SpaError) this.#failed = e;
      throw e;
    }
  }

  /** The body has ended. Throws a SpaError when it ended too early (a truncated multipart body). */
  finalize(): void {
    if (this.#failed) throw this.#failed;
    if (this.#finalized) return;
    try {
      if (this.#url) this.#url.end();
      else this.#multi?.end();
    } catch (e) {
      if (e instanceof SpaError) this.#failed = e;
      throw e;
    }
    this.#finalized = true;
  }

  /** The decoded value of a wanted field, or undefined when the form did not carry it. */
  getString(name: string): string | undefined {
    const v = this.#values.get(name);
    return v ? Buffer.concat(v).toString('utf8') : undefined;
  }

  /** The value's length in bytes, 0 when absent. */
  getLength(name: string): number {
    return this.#lengths.get(name) ?? 0;
  }

  /** Every urlencoded pair and every multipart part, kept or not, counts. */
  #countPart(): void {
    if (++this.#parts > this.#maxParts) throw new SpaError(413, `more than ${this.#maxParts} ${this.#url ? 'fields' : 'parts'} in a form`);
  }

  #begin(name: string): void {
    // A repeated field keeps its first value, as lws does.
    this.#field = this.#wanted.has(name) && !this.#values.has(name) ? name : null;
    if (this.#field !== null) {
      this.#values.set(name, []);
      this.#lengths.set(name, 0);
    }
  }

  #value(b: Buffer): void {
    const f = this.#field;
    if (f === null) return;
    const len = (this.#lengths.get(f) ?? 0) + b.length;
    if (len > this.#maxField) throw new SpaError(413, `form field "${f}" longer than ${this.#maxField} bytes`);
    this.#total += b.length;
    if (this.#total > this.#maxTotal) throw new SpaError(413, `form fields longer than ${this.#maxTotal} bytes in all`);
    this.#lengths.set(f, len);
    this.#values.get(f)?.push(b);
  }

  #beginPart(p: PartInfo): void {
    this.#countPart();
    if (p.filename === undefined) {
      this.#begin(p.name);
      return;
    }
    this.#field = null;
    this.#file = { name: p.name, filename: p.filename, contentType: p.contentType };
    this.#fileBytes = 0;
    this.opts.onFile?.(this.#file, SpaFileState.OPEN, EMPTY);
  }

  #partData(b: Buffer): void {
    if (this.#file) {
      this.#fileBytes += b.length;
      if (this.#fileBytes > this.#maxFile) throw new SpaError(413, `uploaded file larger than ${this.#maxFile} bytes`);
      this.opts.onFile?.(this.#file, SpaFileState.CONTENT, b);
    } else if (this.#field !== null) {
      // The parser's piece may share memory with the body chunk: copy only what is kept.
      this.#value(Buffer.from(b));
    }
  }

  #endPart(): void {
    if (this.#file) {
      const f = this.#file;
      this.#file = null;
      this.opts.onFile?.(f, SpaFileState.FINAL_CONTENT, EMPTY);
    }
    this.#field = null;
  }
}

const EMPTY = new Uint8Array(0);

function limit(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw rangeError(ErrorCode.INVALID_OPTION, `Spa: ${name} must be a non-negative number, got ${String(v)}`);
  return v;
}

/**
 * A form parser for the request on `wsi`, reading its Content-Type (lws's
 * `lws_spa_create`). Throws a SpaError (415, or 400 for a multipart type
 * without a boundary) when the body is not a form.
 */
export function createSpa(wsi: Wsi, opts: SpaOptions): Spa {
  return new Spa(opts.contentType ?? wsi.hdrCopy('content-type'), opts);
}
