// Small statistics for benchmarks, live stats and metrics: percentiles, summaries,
// cumulative histograms (Prometheus style) and a sliding-window rate.

/**
 * The p-th percentile (p in [0, 100]) by linear interpolation between closest ranks, as
 * numpy's default: rank = p/100 * (n - 1). NaN for an empty sample.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return percentileSorted(s, p);
}

function percentileSorted(s: readonly number[], p: number): number {
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export interface Summary {
  count: number;
  avg: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Summary of a sample. An empty sample gives zeros (count 0) so reports stay valid JSON. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { count: 0, avg: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
  const s = [...values].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    count: s.length,
    avg: sum / s.length,
    min: s[0],
    max: s[s.length - 1],
    p50: percentileSorted(s, 50),
    p90: percentileSorted(s, 90),
    p99: percentileSorted(s, 99),
  };
}

export interface HistogramSnapshot {
  /** Cumulative counts: buckets[i].count observations were <= buckets[i].le; the last le is Infinity. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** A cumulative histogram with fixed upper bounds (Prometheus `_bucket{le=...}`). */
export class Histogram {
  private readonly bounds: number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    if (this.bounds[this.bounds.length - 1] !== Infinity) this.bounds.push(Infinity);
    this.counts = this.bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    const i = this.bounds.findIndex((b) => value <= b);
    this.counts[i] += 1;
  }

  snapshot(): HistogramSnapshot {
    let acc = 0;
    return {
      buckets: this.bounds.map((le, i) => ({ le, count: (acc += this.counts[i]) })),
      sum: this.sum,
      count: this.count,
    };
  }
}

/** Events per second over a sliding window (e.g. generated tokens for the status bar). */
export class RateWindow {
  private readonly samples: { t: number; n: number }[] = [];
  private total = 0;
  private since = 0;

  constructor(private readonly windowMs: number, private readonly now: () => number) {}

  add(n: number): void {
    const t = this.now();
    this.trim(t);
    if (this.samples.length === 0) this.since = t;
    this.samples.push({ t, n });
    this.total += n;
  }

  /** Rate over the window; over the time since activity began when that is shorter. */
  perSecond(): number {
    const t = this.now();
    this.trim(t);
    if (this.samples.length === 0) return 0;
    const span = Math.min(this.windowMs, t - this.since);
    return span > 0 ? (this.total * 1000) / span : 0;
  }

  private trim(t: number): void {
    while (this.samples.length > 0 && this.samples[0].t <= t - this.windowMs) this.total -= this.samples.shift()!.n;
  }
}
