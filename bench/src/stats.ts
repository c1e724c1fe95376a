/** Small statistics helpers: exact percentiles of samples, medians of runs, Prometheus histograms. */

/** The p-th percentile (0..100) by the nearest-rank method; NaN for no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export const round = (x: number, digits = 0): number =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x;

export interface PromHistogram {
  /** Upper bounds (seconds), ascending, ending with Infinity; counts are cumulative. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** Reads one histogram (all label sets added up) from Prometheus text format. */
export function parseHistogram(text: string, name: string): PromHistogram | undefined {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, metric, labels = '', value] = m;
    const v = Number(value);
    if (metric === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + v);
      found = true;
    } else if (metric === `${name}_count`) {
      count += v;
    } else if (metric === `${name}_sum`) {
      sum += v;
    }
  }
  if (!found) return undefined;
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, count, sum };
}

/** after - before, bucket by bucket (the observations made between two scrapes). */
export function histogramDelta(after: PromHistogram, before: PromHistogram | undefined): PromHistogram {
  if (!before) return after;
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** Share of observations at or below `le` (exact when `le` is a bucket bound). */
export function shareAtOrBelow(h: PromHistogram, le: number): number {
  const b = h.buckets.find((x) => x.le === le);
  return b && h.count > 0 ? b.count / h.count : NaN;
}

/** A quantile by linear interpolation inside its bucket, as Prometheus' histogram_quantile does. */
export function histogramQuantile(h: PromHistogram, q: number): number {
  if (h.count <= 0) return NaN;
  const target = q * h.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= target) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + ((b.le - prevLe) * (target - prevCount)) / inBucket : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** The sum of a gauge over all its label sets, from Prometheus text format; NaN when absent. */
export function parseGauge(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[3]);
  }
  return sum;
}

/**
 * A histogram's `_sum` per value of one label (its other labels added up), from Prometheus text
 * format: e.g. the seconds spent in each tagged PostgreSQL query.
 */
export function histogramSumsBy(text: string, name: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  const labelRe = new RegExp(`${label}="([^"]*)"`);
  for (const line of text.split('\n')) {
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== `${name}_sum`) continue;
    const key = labelRe.exec(m[2] ?? '')?.[1];
    if (key !== undefined) sums.set(key, (sums.get(key) ?? 0) + Number(m[3]));
  }
  return sums;
}
