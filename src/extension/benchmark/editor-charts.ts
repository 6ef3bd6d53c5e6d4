// The editor report's two charts as SVG trees the webview turns into elements: completion time
// to first token as a CDF per mode (milliseconds on a log scale: sequential's tail is seconds,
// the batched modes' median tens of ms), and chat tokens per second per mode as bars. Colours
// come from media/benchmark.css through each mark's `mode-<mode>` class. Pure: unit-tested.
import { EDITOR_BENCHMARK_MODES, type EditorBenchmarkMode, type EditorBenchmarkReport } from '../../shared/protocol';
import { modeResult } from './editor-report';
import { fmt, fmtMs } from './report-table';

/** An SVG element: tag, attributes and children (text or elements). */
export interface SvgNode {
  tag: string;
  attrs: Record<string, string | number>;
  children: (SvgNode | string)[];
}

const h = (tag: string, attrs: Record<string, string | number> = {}, ...children: (SvgNode | string)[]): SvgNode => ({ tag, attrs, children });
const r1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * The empirical CDF of samples as the corners of its step line: at each distinct value, the
 * share of samples below it, then the share at or below it. Samples [10, 20, 20, 40] give
 * (10, 0) (10, .25) (20, .25) (20, .75) (40, .75) (40, 1).
 */
export function cdfSteps(samples: readonly number[]): { ms: number; share: number }[] {
  const s = samples.filter((x) => Number.isFinite(x) && x >= 0).sort((a, b) => a - b);
  const out: { ms: number; share: number }[] = [];
  s.forEach((ms, i) => {
    const last = out.at(-1);
    if (last && last.ms === ms) last.share = (i + 1) / s.length;
    else out.push({ ms, share: i / s.length }, { ms, share: (i + 1) / s.length });
  });
  return out;
}

/** Whole decades around the positive values: [lo, hi] with lo <= every value <= hi, at least one decade wide. */
export function logDomain(values: readonly number[]): [number, number] {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  if (!pos.length) return [1, 10];
  const lo = 10 ** Math.floor(Math.log10(Math.min(...pos)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...pos)));
  return [lo, hi > lo ? hi : lo * 10];
}

const msTick = (v: number): string => (v >= 1000 ? `${v / 1000} s` : `${v} ms`);

const CDF = { width: 520, height: 310, left: 44, right: 14, top: 30, bottom: 44 };

/** Completion time to first token as one CDF line per mode (`completionTtftSamplesMs`). */
export function completionTtftCdf(report: EditorBenchmarkReport): SvgNode {
  const { width, height, left, right, top, bottom } = CDF;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const modes = EDITOR_BENCHMARK_MODES.map((mode) => ({ mode, result: modeResult(report, mode) }));
  const [lo, hi] = logDomain(modes.flatMap((m) => m.result?.completionTtftSamplesMs ?? []));
  const span = Math.log10(hi) - Math.log10(lo);
  const x = (ms: number) => r1(left + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / span) * plotW);
  const y = (share: number) => r1(top + (1 - share) * plotH);

  const grid: SvgNode[] = [];
  for (let v = lo; v <= hi * 1.001; v *= 10) {
    grid.push(h('line', { class: 'grid', x1: x(v), x2: x(v), y1: top, y2: top + plotH }));
    grid.push(h('text', { class: 'tick', x: x(v), y: top + plotH + 14, 'text-anchor': 'middle' }, msTick(v)));
  }
  for (const share of [0, 0.5, 0.9, 1]) {
    grid.push(h('line', { class: share === 0.5 || share === 0.9 ? 'grid marked' : 'grid', x1: left, x2: left + plotW, y1: y(share), y2: y(share) }));
    grid.push(h('text', { class: 'tick', x: left - 4, y: y(share) + 4, 'text-anchor': 'end' }, `${Math.round(share * 100)}%`));
  }

  // The legend is a row above the plot, where no line can run under it.
  const lines: SvgNode[] = [];
  const legend: SvgNode[] = [];
  let lx = left;
  for (const { mode, result } of modes) {
    const steps = cdfSteps(result?.completionTtftSamplesMs ?? []);
    const name = steps.length ? mode : `${mode} (none served)`;
    legend.push(h('line', { class: `legend-mark mode-${mode}`, x1: lx, x2: lx + 18, y1: 14, y2: 14 }),
      h('text', { class: 'legend', x: lx + 24, y: 18 }, name));
    lx += 24 + name.length * 6.5 + 18;
    if (!steps.length || !result) continue;
    const points = [...steps.map((p) => `${x(p.ms)},${y(p.share)}`), `${left + plotW},${y(1)}`].join(' ');
    const t = result.completionTtftMs;
    lines.push(h('polyline', { class: `cdf-line mode-${mode}`, 'data-mode': mode, points },
      h('title', {}, `${mode}: ${result.completionsServed} completions served, TTFT p50 ${fmtMs(t.p50)} ms, p90 ${fmtMs(t.p90)} ms, p99 ${fmtMs(t.p99)} ms`)));
  }

  return h('svg', { id: 'chart-completion-ttft', class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'Share of completions served within a time to first token, one line per mode' },
  h('title', {}, 'Completion time to first token, cumulative, per mode'),
  ...grid, ...lines, ...legend,
  h('text', { class: 'axis-title', x: left + plotW / 2, y: height - 8, 'text-anchor': 'middle' }, 'completion time to first token (log scale)'));
}

/** Chat tokens per second per mode, and each as a share of the highest (the bar's length). */
export function chatThroughputBars(report: EditorBenchmarkReport): { mode: EditorBenchmarkMode; tokensPerSecond: number; share: number }[] {
  const values = EDITOR_BENCHMARK_MODES.map((mode) => {
    const v = modeResult(report, mode)?.chatTokensPerSecond;
    return { mode, tokensPerSecond: typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0 };
  });
  const max = Math.max(0, ...values.map((v) => v.tokensPerSecond));
  return values.map((v) => ({ ...v, share: max > 0 ? v.tokensPerSecond / max : 0 }));
}

const BARS = { width: 520, row: 34, label: 130, value: 90, top: 8 };

/** Chat tokens per second per mode as horizontal bars, the value at each bar's end. */
export function chatThroughputChart(report: EditorBenchmarkReport): SvgNode {
  const { width, row, label, value, top } = BARS;
  const bars = chatThroughputBars(report);
  const height = top * 2 + bars.length * row;
  const maxW = width - label - value;
  const marks = bars.flatMap((b, i) => {
    const y0 = top + i * row;
    const w = r1(b.share * maxW);
    return [
      h('text', { class: 'bar-label', x: label - 8, y: y0 + row / 2 + 4, 'text-anchor': 'end' }, b.mode),
      h('rect', { class: `bar mode-${b.mode}`, 'data-mode': b.mode, x: label, y: y0 + 6, width: w, height: row - 12 },
        h('title', {}, `${b.mode}: ${fmt(b.tokensPerSecond)} chat tokens/s`)),
      h('text', { class: 'bar-value', x: label + w + 6, y: y0 + row / 2 + 4 }, `${fmt(b.tokensPerSecond)} tok/s`),
    ];
  });
  return h('svg', { id: 'chart-chat-throughput', class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'Chat tokens per second, one bar per mode' },
  h('title', {}, 'Chat tokens per second per mode'), ...marks);
}
