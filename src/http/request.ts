import { Token, tokenToName, METHOD_TOKENS } from './tokens.js';
import { splitArgs } from './uri.js';
import type { HttpHead } from './head.js';

/** What a wire's parser hands over of a request: its line and its headers. */
export interface RequestFields {
  readonly method: string;
  readonly target: string;
  readonly version: 10 | 11 | 20;
  /** `[lower-case name, value]` in arrival order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** One request's line and headers, readable through the wsi's header calls. */
export class HttpRequest implements HttpHead {
  readonly method: string;
  /** The request-target as sent. */
  readonly target: string;
  /** Decoded, normalised path (set by the role after checking it). */
  path = '/';
  /** Raw query string, without `?`. */
  readonly query: string;
  readonly version: 10 | 11 | 20;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  #args: string[] | null = null;

  constructor(head: RequestFields, rawPath: string, query: string) {
    this.method = head.method;
    this.target = head.target;
    this.version = head.version;
    this.headers = head.headers;
    this.query = query;
    this.path = rawPath;
  }

  /** Every value of a header, by token or name. */
  fragments(header: Token | string): string[] {
    if (typeof header === 'number') {
      if (header === Token.URI_ARGS) return this.args();
      if (header === Token.HTTP1_0) return this.version === 10 ? ['HTTP/1.0'] : [];
      const m = METHOD_TOKENS[this.method];
      if (m !== undefined && m === header) return [this.path];
      if (Object.values(METHOD_TOKENS).includes(header)) return [];
      const n = tokenToName(header);
      if (n === undefined) return [];
      header = n;
    }
    const name = normalName(header);
    const out: string[] = [];
    for (const h of this.headers) if (h[0] === name) out.push(h[1]);
    return out;
  }

  /**
   * A header's value; repeats are joined with `, ` (`; ` for cookie), which
   * is how HTTP says they combine.
   */
  header(header: Token | string): string | undefined {
    if (typeof header === 'string') {
      // The common case, a name: one pass, no array unless the header repeats.
      const name = normalName(header);
      let first: string | undefined;
      let all: string[] | null = null;
      for (const h of this.headers) {
        if (h[0] !== name) continue;
        if (first === undefined) first = h[1];
        else (all ??= [first]).push(h[1]);
      }
      return all === null ? first : all.join(name === 'cookie' ? '; ' : ', ');
    }
    const f = this.fragments(header);
    if (f.length === 0) return undefined;
    if (f.length === 1) return f[0];
    return f.join(header === Token.COOKIE ? '; ' : ', ');
  }

  /** First value of a header by lower-case name, fast path for the library. */
  first(name: string): string | undefined {
    for (const h of this.headers) if (h[0] === name) return h[1];
    return undefined;
  }

  args(): string[] {
    if (!this.#args) this.#args = splitArgs(this.query);
    return this.#args;
  }
}

/** A header name as the headers list has it: lower case, without a trailing colon. */
function normalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.charCodeAt(lower.length - 1) === 0x3a ? lower.slice(0, -1) : lower;
}
