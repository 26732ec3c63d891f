/**
 * The JSON dialect of lwsws config files (lws's lejp): plain JSON with
 * `#` comments to the end of the line outside strings. Values keep the line
 * they start on and objects keep their keys in order, duplicates included
 * (lwsws gives a second `origin` a meaning), so errors can name the place.
 */
import { ConfigError } from './errors.js';

export type JNode =
  | { kind: 'object'; line: number; entries: JEntry[] }
  | { kind: 'array'; line: number; items: JNode[] }
  | { kind: 'scalar'; line: number; value: string | number | boolean | null };

export interface JEntry {
  key: string;
  line: number;
  value: JNode;
}

export interface ParseLimits {
  /** Deepest nesting of objects and arrays; lejp allows 12. */
  maxDepth?: number;
  /** Longest string value in bytes; lejp hands the callback at most 255 at a time. */
  maxString?: number;
}

/** Parse one config file's text. Throws ConfigError naming `file` and the line. */
export function parseConfigText(text: string, file: string, limits: ParseLimits = {}): JNode {
  const maxDepth = limits.maxDepth ?? 12;
  const maxString = limits.maxString ?? 4096;
  let i = 0;
  let line = 1;
  const fail = (why: string, key?: string): never => {
    throw new ConfigError(file, line, key, why);
  };

  function skip(): void {
    for (;;) {
      const c = text[i];
      if (c === '\n') line++;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
      else if (c === '#') {
        while (i < text.length && text[i] !== '\n') i++;
      } else return;
    }
  }

  function str(): string {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i++];
      if (c === '"') break;
      if (c === '\n') fail('newline inside a string');
      if (c === '\\') {
        const e = text[i++];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) out += simple[e];
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
          out += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
          i += 4;
        } else fail(`bad escape \\${e ?? ''}`);
      } else out += c;
    }
    if (Buffer.byteLength(out) > maxString) fail(`string longer than ${maxString} bytes`);
    return out;
  }

  function value(depth: number, key: string | undefined): JNode {
    skip();
    const at = line;
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nested deeper than ${maxDepth}`, key);
      i++;
      if (c === '{') {
        const entries: JEntry[] = [];
        skip();
        if (text[i] === '}') {
          i++;
          return { kind: 'object', line: at, entries };
        }
        let prev: string | undefined;
        for (;;) {
          skip();
          // Name the key just before the fault: that is where the reader looks.
          if (text[i] !== '"') fail(prev === undefined ? 'expected a "key"' : 'expected a "key" after this one', prev ?? key);
          const kline = line;
          const k = str();
          prev = k;
          skip();
          if (text[i] !== ':') fail('expected ":" after the key', k);
          i++;
          entries.push({ key: k, line: kline, value: value(depth + 1, k) });
          skip();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === '}') { i++; return { kind: 'object', line: at, entries }; }
          fail('expected "," or "}"', k);
        }
      }
      const items: JNode[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', line: at, items };
      }
      for (;;) {
        items.push(value(depth + 1, key));
        skip();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return { kind: 'array', line: at, items }; }
        fail('expected "," or "]"', key);
      }
    }
    if (c === '"') return { kind: 'scalar', line: at, value: str() };
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) return fail(i >= text.length ? 'unexpected end of file' : `unexpected ${JSON.stringify(c)}`, key);
    i += m[1].length;
    const t = m[1];
    return { kind: 'scalar', line: at, value: t === 'true' ? true : t === 'false' ? false : t === 'null' ? null : Number(t) };
  }

  skip();
  if (text[i] !== '{') fail('a config file must be one JSON object ("{" first)');
  const root = value(0, undefined);
  skip();
  if (i < text.length) fail('text after the closing "}"');
  return root;
}
