// The benchmark's scenarios as the extension offers them: their names in the quick pick and the
// results view, the request each sends from the settings, and how far an editor run has got.
// Pure: used by the extension and the webview.
import {
  BENCHMARK_SCENARIOS, EDITOR_BENCHMARK_MODES, isEditorReport,
  type BenchmarkEvent, type BenchmarkReport, type BenchmarkRequest, type BenchmarkScenario, type EditorBenchmarkReport,
} from '../../shared/protocol';
import type { Settings } from '../settings';

/** What the quick pick and the results view's run buttons call each scenario. */
export const SCENARIO_LABELS: Record<BenchmarkScenario, { label: string; detail: string }> = {
  throughput: { label: 'throughput', detail: 'sequential vs batched tokens/s at each concurrency' },
  editor: { label: 'editor', detail: 'completions while chats stream' },
};

export function isScenario(v: unknown): v is BenchmarkScenario {
  return (BENCHMARK_SCENARIOS as readonly unknown[]).includes(v);
}

export function scenarioOf(report: BenchmarkReport | EditorBenchmarkReport): BenchmarkScenario {
  return isEditorReport(report) ? 'editor' : 'throughput';
}

/**
 * The POST /v1/benchmark body of a scenario. A throughput body names no scenario (the server's
 * default), as before there were two. The editor scenario types in and asks about `files`, the
 * user's own code, when there are some (else the server's own files).
 */
export function benchmarkRequest(scenario: BenchmarkScenario, s: Settings['benchmark'], files: readonly SourceFile[] = []): BenchmarkRequest {
  return scenario === 'editor'
    ? { scenario, chats: s.editorChats, typing_ms: s.editorTypingMs, duration: s.editorDurationS, ...(files.length > 0 ? { files: [...files] } : {}) }
    : { concurrency: s.concurrency, max_tokens: s.maxTokens };
}

export interface SourceFile {
  path: string;
  text: string;
}

/** Most files, and characters over all of them, the editor scenario is given (the server's limits: 16, 1 MB). */
const MAX_FILES = 8;
const MAX_CHARS = 512 * 1024;
/** Documents that are not code to type in. */
const NOT_CODE = new Set(['plaintext', 'markdown', 'json', 'jsonc', 'log', 'scminput', 'output', 'csv', 'xml', 'yaml']);

/** The open documents the editor scenario should use: code of a real size (8 lines to 64 KB), most first as given, within the limits. */
export function pickSourceFiles(docs: readonly (SourceFile & { languageId: string })[]): SourceFile[] {
  const out: SourceFile[] = [];
  let chars = 0;
  for (const d of docs) {
    if (out.length >= MAX_FILES) break;
    if (NOT_CODE.has(d.languageId) || d.text.length > 64 * 1024 || d.text.split('\n').filter((l) => l.trim().length >= 8).length < 8) continue;
    if (chars + d.text.length > MAX_CHARS) continue;
    chars += d.text.length;
    out.push({ path: d.path, text: d.text });
  }
  return out;
}

const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

/** An editor run's progress line and how much of the whole run (three modes) is done, 0-100. */
export function editorProgress(ev: Extract<BenchmarkEvent, { type: 'editor-progress' }>): { message: string; percent: number } {
  const n = EDITOR_BENCHMARK_MODES.length;
  const i = Math.max(0, EDITOR_BENCHMARK_MODES.indexOf(ev.mode));
  const part = ev.totalMs > 0 ? Math.min(1, Math.max(0, ev.elapsedMs / ev.totalMs)) : 0;
  return {
    message: `${ev.mode} (mode ${i + 1} of ${n}): ${seconds(ev.elapsedMs)} s of ${seconds(ev.totalMs)} s`,
    percent: Math.min(100, Math.round(((i + part) / n) * 100)),
  };
}
