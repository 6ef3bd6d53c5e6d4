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

/** The POST /v1/benchmark body of a scenario. A throughput body names no scenario (the server's default), as before there were two. */
export function benchmarkRequest(scenario: BenchmarkScenario, s: Settings['benchmark']): BenchmarkRequest {
  return scenario === 'editor'
    ? { scenario, chats: s.editorChats, typing_ms: s.editorTypingMs, duration: s.editorDurationS }
    : { concurrency: s.concurrency, max_tokens: s.maxTokens };
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
