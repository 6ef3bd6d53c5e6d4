// The throughput scenario's report as a comparison table (sequential vs batched per
// concurrency) and its Markdown export; the number formats both scenarios' tables use. Pure:
// used by the extension and the webview.
import type { BenchmarkReport, BenchmarkRow } from '../../shared/protocol';

export interface ComparisonRow {
  concurrency: number;
  sequential?: BenchmarkRow;
  batched?: BenchmarkRow;
  /** Batched tok/s over sequential tok/s (from the report, else computed). */
  speedup?: number;
}

export function comparisonRows(report: BenchmarkReport): ComparisonRow[] {
  const byC = new Map<number, ComparisonRow>();
  for (const r of report.results) {
    const row = byC.get(r.concurrency) ?? { concurrency: r.concurrency };
    row[r.mode] = r;
    byC.set(r.concurrency, row);
  }
  const rows = [...byC.values()].sort((a, b) => a.concurrency - b.concurrency);
  for (const row of rows) {
    const given = report.speedup[String(row.concurrency)];
    if (typeof given === 'number' && Number.isFinite(given)) row.speedup = given;
    else if (row.sequential && row.batched && row.sequential.tokensPerSecond > 0) row.speedup = row.batched.tokensPerSecond / row.sequential.tokensPerSecond;
  }
  return rows;
}

export const fmt = (n: number | undefined, digits = 1): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
export const fmtMs = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));

/** Table columns, shared by the webview and the Markdown export. */
export const COLUMNS = ['Concurrency', 'Mode', 'tok/s', 'Avg latency (ms)', 'p50 (ms)', 'p99 (ms)', 'TTFT avg (ms)', 'TTFT p99 (ms)', 'Speed-up'] as const;

export function tableCells(row: ComparisonRow): string[][] {
  const out: string[][] = [];
  for (const mode of ['sequential', 'batched'] as const) {
    const r = row[mode];
    if (!r) continue;
    out.push([
      String(row.concurrency), mode, fmt(r.tokensPerSecond), fmtMs(r.latencyMs.avg), fmtMs(r.latencyMs.p50), fmtMs(r.latencyMs.p99),
      fmtMs(r.ttftMs.avg), fmtMs(r.ttftMs.p99), mode === 'batched' && row.speedup !== undefined ? `${fmt(row.speedup, 2)}×` : '',
    ]);
  }
  return out;
}

export function machineLine(report: Pick<BenchmarkReport, 'machine'>): string {
  const m = report.machine;
  return `${m.cpuModel || m.arch}, ${m.cpus} CPUs, ${fmt(m.memoryGb, 0)} GB, ${m.platform}/${m.arch}, backend ${m.backend}`;
}

export function reportMarkdown(report: BenchmarkReport): string {
  const lines = [
    `# mlx-batch throughput benchmark`,
    '',
    `- Model: ${report.model}`,
    `- Machine: ${machineLine(report)}`,
    `- Started: ${report.startedAt}`,
    `- Max tokens per request: ${report.maxTokens}`,
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map((_c, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
  ];
  for (const row of comparisonRows(report)) for (const cells of tableCells(row)) lines.push(`| ${cells.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
