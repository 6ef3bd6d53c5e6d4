// Prometheus text exposition format (version 0.0.4): counters, gauges and histograms.

export type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isFinite(v) ? String(v) : 'NaN';
}

/** Cumulative-bucket histogram. */
export class Histogram {
  private readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(v: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i] += 1;
    this.sum += v;
    this.count += 1;
  }

  /** From cumulative bucket counts measured elsewhere (the +Inf bucket is `count`). */
  static fromCumulative(buckets: { le: number; count: number }[], sum: number, count: number): Histogram {
    const h = new Histogram(buckets.map((b) => b.le));
    buckets.forEach((b, i) => { h.counts[i] = b.count; });
    h.sum = sum;
    h.count = count;
    return h;
  }

  /** Lines for this histogram (without HELP/TYPE). */
  lines(name: string, labels: Labels = {}): string[] {
    const out = this.buckets.map((b, i) => `${name}_bucket${labelText({ ...labels, le: num(b) })} ${this.counts[i]}`);
    out.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${this.count}`);
    out.push(`${name}_sum${labelText(labels)} ${num(this.sum)}`);
    out.push(`${name}_count${labelText(labels)} ${this.count}`);
    return out;
  }
}

/** Builds one exposition document, family by family. */
export class Exposition {
  private readonly out: string[] = [];

  private family(name: string, type: string, help: string): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  gauge(name: string, help: string, samples: [Labels, number][] | number): this {
    this.family(name, 'gauge', help);
    this.samples(name, samples);
    return this;
  }

  counter(name: string, help: string, samples: [Labels, number][] | number): this {
    this.family(name, 'counter', help);
    this.samples(name, samples);
    return this;
  }

  histogram(name: string, help: string, h: Histogram): this {
    this.family(name, 'histogram', help);
    this.out.push(...h.lines(name));
    return this;
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }

  private samples(name: string, samples: [Labels, number][] | number): void {
    const list: [Labels, number][] = typeof samples === 'number' ? [[{}, samples]] : samples;
    for (const [labels, v] of list) this.out.push(`${name}${labelText(labels)} ${num(v)}`);
  }
}
