// The stored benchmark runs of both scenarios: the bounded list, newest first, read back from
// globalState (runs stored before the editor scenario existed are throughput runs and still
// load), which runs one can be compared with, and a run's export. Pure: used by the extension
// and the webview.
import { isEditorReport, type BenchmarkReport } from '../../shared/protocol';
import type { BenchmarkRun } from '../../shared/webview-protocol';
import { editorReportMarkdown, isStoredEditorReport } from './editor-report';
import { reportMarkdown } from './report-table';

/** Adds a run in front and keeps at most `max` (newest first). */
export function addRun(runs: readonly BenchmarkRun[], run: BenchmarkRun, max: number): BenchmarkRun[] {
  return [run, ...runs.filter((r) => r.id !== run.id)].slice(0, Math.max(1, max));
}

function isStoredThroughputReport(rep: unknown): rep is BenchmarkReport {
  const r = rep as Partial<BenchmarkReport> & { scenario?: unknown } | null | undefined;
  return !!r && (r.scenario === undefined || r.scenario === 'throughput') && typeof r.model === 'string' && Array.isArray(r.results) &&
    !!r.machine && typeof r.speedup === 'object' && r.speedup !== null;
}

/** Stored runs read back from globalState, dropping anything malformed. */
export function sanitizeRuns(raw: unknown): BenchmarkRun[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((r): r is BenchmarkRun => {
    const run = r as Partial<BenchmarkRun> | null | undefined;
    return typeof run?.id === 'string' && (isStoredThroughputReport(run.report) || isStoredEditorReport(run.report));
  });
}

/** The runs the shown one can be compared with on its charts: the other throughput runs (an editor run is shown alone). */
export function comparableRuns(runs: readonly BenchmarkRun[], shown: BenchmarkRun): BenchmarkRun[] {
  if (isEditorReport(shown.report)) return [];
  return runs.filter((r) => r.id !== shown.id && !isEditorReport(r.report));
}

/** A run's report as an exported file: the JSON as the server sent it, or Markdown of either scenario. */
export function exportText(report: BenchmarkRun['report'], format: 'json' | 'markdown'): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  return isEditorReport(report) ? editorReportMarkdown(report) : reportMarkdown(report);
}
