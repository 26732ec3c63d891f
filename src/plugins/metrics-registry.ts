/**
 * Counters, gauges and histograms kept as plain numbers per label set, and
 * their exposition in the Prometheus text format (0.0.4) and OpenMetrics
 * 1.0. Everything a scrape shows goes through a `MetricsSnapshot`: plain
 * data (JSON-safe) that `mergeMetricsSnapshots` can sum across processes,
 * so a primary process could collect its workers' snapshots and serve
 * one exposition. Label values are given by the collector from bounded
 * sets (vhost and protocol names, status classes), never from requests.
 */
import { ErrorCode, rangeError, typeError } from '../core/errors.js';

/** The metric types tslws exposes. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A counter's or a gauge's value for one label set. */
export interface MetricValueSnapshot {
  /** Label values, in the family's `labelNames` order. */
  readonly labels: readonly string[];
  readonly value: number;
}

/** A histogram's observations for one label set. */
export interface MetricHistogramSnapshot {
  readonly labels: readonly string[];
  /** Observations per bucket (not cumulative): one per bound, then one for +Inf. */
  readonly counts: readonly number[];
  /** The sum of every observation. */
  readonly sum: number;
}

/** One metric family: its metadata and every label set it has. */
export interface MetricFamilySnapshot {
  /** The family name; a counter's samples add `_total` to it. */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
  /**
   * How one label set's values from several processes combine: counters
   * and histograms always `sum`; a gauge says (`max` for the event-loop
   * delay, which does not add up).
   */
  readonly merge: 'sum' | 'max';
  /** A histogram's bucket upper bounds, ascending, without +Inf. */
  readonly buckets?: readonly number[];
  readonly series: ReadonlyArray<MetricValueSnapshot | MetricHistogramSnapshot>;
}

/**
 * Every metric of a registry at one moment, as plain data.
 *
 * ```ts
 * const all = mergeMetricsSnapshots([mine, ...fromWorkers]);
 * res.end(formatPrometheus(all));
 * ```
 */
export interface MetricsSnapshot {
  /** The shape's version: a merger refuses snapshots of another. */
  readonly version: 1;
  readonly families: readonly MetricFamilySnapshot[];
}

const KEY_SEP = '\u0001';

/** One label set's live value. */
interface Cell {
  value: number;
}

/** One label set's live histogram. */
export interface HistogramCell {
  readonly counts: number[];
  sum: number;
}

interface FamilyDef {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly merge: 'sum' | 'max';
  readonly buckets?: readonly number[];
}

/** A counter or a gauge family. */
export class ValueFamily {
  readonly #cells = new Map<string, { labels: readonly string[]; cell: Cell }>();

  /** @internal Made by the registry. */
  constructor(readonly def: FamilyDef) {}

  /** The live cell of a label set, made at 0 on first use (keep it to update without a lookup). */
  cell(labels: readonly string[]): Cell {
    const key = labels.join(KEY_SEP);
    let c = this.#cells.get(key);
    if (!c) this.#cells.set(key, (c = { labels: [...labels], cell: { value: 0 } }));
    return c.cell;
  }

  /** Add `n` (a counter: only ever a non-negative amount). */
  inc(labels: readonly string[], n = 1): void {
    this.cell(labels).value += n;
  }

  /** Set a gauge. */
  set(labels: readonly string[], v: number): void {
    this.cell(labels).value = v;
  }

  /** Forget every label set (a gauge recomputed at each collection). */
  clear(): void {
    this.#cells.clear();
  }

  /** @internal */
  snapshot(): MetricFamilySnapshot {
    const series: MetricValueSnapshot[] = [];
    for (const { labels, cell } of this.#cells.values()) series.push({ labels, value: cell.value });
    return { ...this.def, series };
  }
}

/** A histogram family. */
export class HistogramFamily {
  readonly #cells = new Map<string, { labels: readonly string[]; cell: HistogramCell }>();

  /** @internal Made by the registry. */
  constructor(readonly def: FamilyDef & { readonly buckets: readonly number[] }) {}

  /** The live cell of a label set (keep it to observe without a lookup). */
  cell(labels: readonly string[]): HistogramCell {
    const key = labels.join(KEY_SEP);
    let c = this.#cells.get(key);
    if (!c) this.#cells.set(key, (c = { labels: [...labels], cell: { counts: new Array<number>(this.def.buckets.length + 1).fill(0), sum: 0 } }));
    return c.cell;
  }

  /** Count one observation of `v` in `cell`. */
  observeCell(cell: HistogramCell, v: number): void {
    const b = this.def.buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    cell.counts[i]++;
    cell.sum += v;
  }

  /** Count one observation of `v` for a label set. */
  observe(labels: readonly string[], v: number): void {
    this.observeCell(this.cell(labels), v);
  }

  /** @internal */
  snapshot(): MetricFamilySnapshot {
    const series: MetricHistogramSnapshot[] = [];
    for (const { labels, cell } of this.#cells.values()) series.push({ labels, counts: [...cell.counts], sum: cell.sum });
    return { ...this.def, series };
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The families of one process, in the order they were defined (the
 * exposition keeps it). `onCollect` hooks run before every snapshot, for
 * gauges read from the live state rather than counted from events.
 */
export class MetricsRegistry {
  readonly #families: Array<ValueFamily | HistogramFamily> = [];
  readonly #hooks: Array<() => void> = [];

  #def(name: string, type: MetricType, help: string, labelNames: readonly string[], merge: 'sum' | 'max'): FamilyDef {
    if (!NAME.test(name) || name.startsWith('__'))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `metric name ${JSON.stringify(name)} is not a valid Prometheus name`);
    if (type === 'counter' && name.endsWith('_total'))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `counter ${name}: name it without _total (the exposition adds it)`);
    if (this.#families.some((f) => f.def.name === name)) throw rangeError(ErrorCode.INVALID_ARGUMENT, `metric ${name} is defined twice`);
    for (const l of labelNames) {
      if (!LABEL.test(l) || l.startsWith('__') || l === 'le' || l === 'quantile')
        throw rangeError(ErrorCode.INVALID_ARGUMENT, `metric ${name}: label name ${JSON.stringify(l)} is not allowed`);
    }
    return { name, type, help, labelNames: [...labelNames], merge };
  }

  /** A counter family (`name` without `_total`). */
  counter(name: string, help: string, labelNames: readonly string[]): ValueFamily {
    const f = new ValueFamily(this.#def(name, 'counter', help, labelNames, 'sum'));
    this.#families.push(f);
    return f;
  }

  /** A gauge family; `merge` says how several processes' values combine. */
  gauge(name: string, help: string, labelNames: readonly string[], merge: 'sum' | 'max' = 'sum'): ValueFamily {
    const f = new ValueFamily(this.#def(name, 'gauge', help, labelNames, merge));
    this.#families.push(f);
    return f;
  }

  /** A histogram family with ascending finite bucket bounds. */
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): HistogramFamily {
    if (!buckets.length || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1])))
      throw rangeError(ErrorCode.INVALID_ARGUMENT, `histogram ${name}: buckets must be finite and ascending`);
    const f = new HistogramFamily({ ...this.#def(name, 'histogram', help, labelNames, 'sum'), buckets: [...buckets] });
    this.#families.push(f);
    return f;
  }

  /** Run `fn` before every snapshot (to set gauges from the live state). */
  onCollect(fn: () => void): void {
    this.#hooks.push(fn);
  }

  /** Every family as plain data. */
  snapshot(): MetricsSnapshot {
    for (const h of this.#hooks) h();
    return { version: 1, families: this.#families.map((f) => f.snapshot()) };
  }
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Combine snapshots of several processes into one: families by name,
 * label sets by value; counters and histograms add up, gauges as their
 * family's `merge` says. Families must agree on type, labels and buckets
 * (TypeError `TSLWS_INVALID_ARGUMENT` otherwise).
 *
 * ```ts
 * const total = mergeMetricsSnapshots([metricsSnapshot(ctxA)!, metricsSnapshot(ctxB)!]);
 * ```
 */
export function mergeMetricsSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const order: string[] = [];
  const byName = new Map<string, { def: MetricFamilySnapshot; series: Map<string, MetricValueSnapshot | MetricHistogramSnapshot> }>();
  for (const snap of snapshots) {
    if (snap.version !== 1) throw typeError(ErrorCode.INVALID_ARGUMENT, `mergeMetricsSnapshots: snapshot version ${String(snap.version)} is not 1`);
    for (const f of snap.families) {
      let m = byName.get(f.name);
      if (!m) {
        byName.set(f.name, (m = { def: f, series: new Map() }));
        order.push(f.name);
      } else if (m.def.type !== f.type || !sameList(m.def.labelNames, f.labelNames) || !sameList(m.def.buckets, f.buckets) || m.def.merge !== f.merge) {
        throw typeError(ErrorCode.INVALID_ARGUMENT, `mergeMetricsSnapshots: family ${f.name} differs in type, labels, buckets or merge rule`);
      }
      for (const s of f.series) {
        const key = s.labels.join(KEY_SEP);
        const had = m.series.get(key);
        if (!had) {
          m.series.set(key, 'counts' in s ? { labels: s.labels, counts: [...s.counts], sum: s.sum } : { labels: s.labels, value: s.value });
        } else if ('counts' in had && 'counts' in s) {
          m.series.set(key, { labels: s.labels, counts: had.counts.map((c, i) => c + (s.counts[i] ?? 0)), sum: had.sum + s.sum });
        } else if ('value' in had && 'value' in s) {
          m.series.set(key, { labels: s.labels, value: f.merge === 'max' ? Math.max(had.value, s.value) : had.value + s.value });
        }
      }
    }
  }
  return {
    version: 1,
    families: order.map((n) => {
      const m = byName.get(n)!;
      return { ...m.def, series: [...m.series.values()] };
    }),
  };
}

// ---- exposition ----

/** `Content-Type` of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** `Content-Type` of OpenMetrics 1.0. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * A bucket bound as a float, `1.0` rather than `1`, in both formats: the
 * `le` value is part of the series' identity, so it must not change with
 * the format a scraper asked for.
 */
function bound(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function render(snap: MetricsSnapshot, openMetrics: boolean): string {
  const out: string[] = [];
  for (const f of snap.families) {
    // The text format names a counter by its sample (`x_total`); OpenMetrics names the family (`x`).
    const meta = f.type === 'counter' && !openMetrics ? `${f.name}_total` : f.name;
    out.push(`# HELP ${meta} ${escapeHelp(f.help)}`, `# TYPE ${meta} ${f.type}`);
    for (const s of f.series) {
      if ('counts' in s) {
        const b = f.buckets ?? [];
        let acc = 0;
        for (let i = 0; i <= b.length; i++) {
          acc += s.counts[i] ?? 0;
          out.push(`${f.name}_bucket${labelText(f.labelNames, s.labels, `le="${i < b.length ? bound(b[i]) : '+Inf'}"`)} ${acc}`);
        }
        out.push(`${f.name}_sum${labelText(f.labelNames, s.labels)} ${num(s.sum)}`);
        out.push(`${f.name}_count${labelText(f.labelNames, s.labels)} ${acc}`);
      } else {
        out.push(`${f.type === 'counter' ? `${f.name}_total` : f.name}${labelText(f.labelNames, s.labels)} ${num(s.value)}`);
      }
    }
  }
  if (openMetrics) out.push('# EOF');
  return out.join('\n') + '\n';
}

/**
 * A snapshot in the Prometheus text format 0.0.4 (`PROMETHEUS_CONTENT_TYPE`).
 *
 * ```ts
 * res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE).end(formatPrometheus(metricsSnapshot(context)!));
 * ```
 */
export function formatPrometheus(snap: MetricsSnapshot): string {
  return render(snap, false);
}

/**
 * A snapshot in OpenMetrics 1.0 (`OPENMETRICS_CONTENT_TYPE`), ending in `# EOF`.
 *
 * ```ts
 * const body = formatOpenMetrics(metricsSnapshot(context)!);
 * ```
 */
export function formatOpenMetrics(snap: MetricsSnapshot): string {
  return render(snap, true);
}

/**
 * Does this `Accept` header prefer OpenMetrics to the text format? Yes
 * when it names `application/openmetrics-text` (version 1.0.0 or none)
 * with a quality above 0 and not below that of `text/plain`.
 */
export function acceptsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let om = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    let q = 1;
    let version: string | undefined;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim().toLowerCase();
      const v = p.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (k === 'q') q = Number(v);
      else if (k === 'version') version = v;
    }
    if (!Number.isFinite(q)) continue;
    const t = type.toLowerCase();
    if (t === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) om = Math.max(om, q);
    else if (t === 'text/plain' || t === 'text/*' || t === '*/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text;
}
