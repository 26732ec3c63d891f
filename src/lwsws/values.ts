/**
 * Turning config values into settings with lwsws's rules, each failure a
 * ConfigError at the value's line and key.
 */
import { ConfigError } from './errors.js';
import type { JEntry } from './jsonc.js';

export class Reader {
  constructor(readonly file: string, readonly dataDir: string) {}

  fail(node: { line: number }, key: string | undefined, why: string): never {
    throw new ConfigError(this.file, node.line, key, why);
  }

  /** A string; numbers and booleans are taken as their text, as lejp hands everything over as text. */
  str(e: JEntry, ddir = false): string {
    const v = e.value;
    if (v.kind !== 'scalar' || v.value === null) this.fail(v, e.key, 'must be a string');
    const s = String(v.value);
    // lwsws replaces the first `_lws_ddir_` only, and only in vhost values.
    return ddir ? s.replace('_lws_ddir_', this.dataDir) : s;
  }

  /** lws's arg_to_bool: a non-zero number or on/yes/true (any case); JSON booleans too. */
  bool(e: JEntry): boolean {
    const v = e.value;
    if (v.kind !== 'scalar' || v.value === null) this.fail(v, e.key, 'must be a boolean ("1", "on", "yes", "true" or false ones)');
    if (typeof v.value === 'boolean') return v.value;
    const s = String(v.value).trim().toLowerCase();
    if (s === 'on' || s === 'yes' || s === 'true') return true;
    if (s === 'off' || s === 'no' || s === 'false' || s === '') return false;
    const n = parseInt(s, 10);
    if (Number.isNaN(n)) this.fail(v, e.key, `is not a boolean: ${JSON.stringify(v.value)}`);
    return n !== 0;
  }

  /** A whole number in min..max (quoted or not). */
  int(e: JEntry, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = e.value;
    const s = v.kind === 'scalar' && v.value !== null && typeof v.value !== 'boolean' ? String(v.value).trim() : '';
    if (!/^-?\d+$/.test(s)) this.fail(v, e.key, 'must be a whole number');
    const n = Number(s);
    if (n < min || n > max) this.fail(v, e.key, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  /**
   * An ALPN list as lws writes it, `"h2,http/1.1"`: protocol names
   * separated by commas, most preferred first, at least one.
   */
  alpnList(e: JEntry, ddir = false): string[] {
    const list = this.str(e, ddir).split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (!list.length) this.fail(e.value, e.key, 'lists no protocol (write e.g. "h2,http/1.1")');
    for (const p of list) if (!/^[\x21-\x7e]{1,255}$/.test(p)) this.fail(e.value, e.key, `bad ALPN protocol name ${JSON.stringify(p)}`);
    return list;
  }

  /** An object's entries. */
  object(e: JEntry): JEntry[] {
    if (e.value.kind !== 'object') this.fail(e.value, e.key, 'must be an object { ... }');
    return e.value.entries;
  }

  /** `[{"a": "x", "b": "y"}, {...}]` (or one bare object) flattened to its entries, in order. */
  listOfObjects(e: JEntry): JEntry[] {
    const v = e.value;
    if (v.kind === 'object') return v.entries;
    if (v.kind !== 'array') this.fail(v, e.key, 'must be an array of objects [{ ... }]');
    const out: JEntry[] = [];
    for (const item of v.items) {
      if (item.kind !== 'object') this.fail(item, e.key, 'must be an array of objects [{ ... }]');
      out.push(...item.entries);
    }
    return out;
  }

  /** `{ "k": "v" }` as a string map (ddir applied to the values when asked). */
  stringMap(entries: readonly JEntry[], ddir = false): Record<string, string> {
    const out: Record<string, string> = {};
    for (const x of entries) out[x.key] = this.str(x, ddir);
    return out;
  }
}
