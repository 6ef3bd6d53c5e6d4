// The editor scenario's report as a table with its three modes side by side (one row per
// measure), its trace in one line, its Markdown export, and the check of a stored one. Pure: used
// by the extension and the webview.
import { EDITOR_BENCHMARK_MODES, type EditorBenchmarkMode, type EditorBenchmarkReport, type EditorModeResult } from '../../shared/protocol';
import { fmt, fmtMs, machineLine } from './report-table';

/** One measure of the table: its key (the row's `data-metric`), its label, and a mode's value as text. */
interface Measure {
  key: string;
  label: string;
  cell(m: EditorModeResult): string;
}

const MEASURES: Measure[] = [
  { key: 'completion-ttft-p50', label: 'Completion TTFT p50 (ms)', cell: (m) => fmtMs(m.completionTtftMs.p50) },
  { key: 'completion-ttft-p90', label: 'Completion TTFT p90 (ms)', cell: (m) => fmtMs(m.completionTtftMs.p90) },
  { key: 'completion-ttft-p99', label: 'Completion TTFT p99 (ms)', cell: (m) => fmtMs(m.completionTtftMs.p99) },
  { key: 'completions-served', label: 'Completions served / cancelled', cell: (m) => `${m.completionsServed} / ${m.completionsCancelled}` },
  { key: 'completion-line-p50', label: 'First line p50 (ms)', cell: (m) => fmtMs(m.completionLineMs.p50) },
  { key: 'chat-tps', label: 'Chat tok/s', cell: (m) => fmt(m.chatTokensPerSecond) },
  { key: 'chat-ttft-p50', label: 'Chat TTFT p50 (ms)', cell: (m) => fmtMs(m.chatTtftMs.p50) },
  { key: 'chat-ttft-p99', label: 'Chat TTFT p99 (ms)', cell: (m) => fmtMs(m.chatTtftMs.p99) },
  { key: 'chat-itl-p99', label: 'Chat inter-token p99 (ms)', cell: (m) => fmtMs(m.chatInterTokenMs.p99) },
  { key: 'peak-batch', label: 'Peak batch', cell: (m) => String(m.peakBatch) },
];

/** Header of the table: the measure, then the modes in their fixed order. */
export const EDITOR_COLUMNS: readonly string[] = ['Measure', ...EDITOR_BENCHMARK_MODES];

export interface EditorTableRow {
  key: string;
  label: string;
  /** One per mode of EDITOR_BENCHMARK_MODES; '–' for a mode the report lacks. */
  cells: string[];
}

/** The mode's result, if the report has it. */
export function modeResult(report: EditorBenchmarkReport, mode: EditorBenchmarkMode): EditorModeResult | undefined {
  return report.modes.find((m) => m.mode === mode);
}

export function editorTableRows(report: EditorBenchmarkReport): EditorTableRow[] {
  const modes = EDITOR_BENCHMARK_MODES.map((mode) => modeResult(report, mode));
  return MEASURES.map((x) => ({ key: x.key, label: x.label, cells: modes.map((m) => (m ? x.cell(m) : '–')) }));
}

/** What was replayed: e.g. "seed 1, 2 chats, a keystroke every 150 ms for 60 s: 400 keystrokes, 380 completions, 6 chat questions (a.ts, b.py)". */
export function traceLine(report: EditorBenchmarkReport): string {
  const t = report.trace;
  const files = t.files.length ? ` (${t.files.join(', ')})` : '';
  return `seed ${t.seed}, ${t.chats} chat${t.chats === 1 ? '' : 's'}, a keystroke every ${t.typingMs} ms for ${t.durationS} s: ` +
    `${t.keystrokes} keystrokes, ${t.completions} asking for a completion, ${t.chatQuestions} chat questions${files}`;
}

export function editorReportMarkdown(report: EditorBenchmarkReport): string {
  const lines = [
    '# mlx-batch editor benchmark',
    '',
    `- Model: ${report.model}`,
    `- Machine: ${machineLine(report)}`,
    `- Started: ${report.startedAt}`,
    `- Trace: ${traceLine(report)}`,
    '',
    `| ${EDITOR_COLUMNS.join(' | ')} |`,
    `|${EDITOR_COLUMNS.map((_c, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...editorTableRows(report).map((r) => `| ${[r.label, ...r.cells].join(' | ')} |`),
    '',
    `**Verdict:** ${report.verdict.text}`,
  ];
  return `${lines.join('\n')}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A stored editor report has what the view and the export read (stored runs come back from globalState as plain JSON). */
export function isStoredEditorReport(rep: unknown): rep is EditorBenchmarkReport {
  if (!isObject(rep) || rep.scenario !== 'editor' || typeof rep.model !== 'string' || typeof rep.startedAt !== 'string' || !isObject(rep.machine)) return false;
  const t = rep.trace;
  if (!isObject(t) || !Array.isArray(t.files) || !isObject(rep.verdict) || typeof rep.verdict.text !== 'string') return false;
  return Array.isArray(rep.modes) && rep.modes.every((m: unknown) => isObject(m) &&
    (EDITOR_BENCHMARK_MODES as readonly unknown[]).includes(m.mode) && Array.isArray(m.completionTtftSamplesMs) &&
    ['completionTtftMs', 'completionLineMs', 'chatTtftMs', 'chatInterTokenMs'].every((k) => isObject(m[k])));
}
