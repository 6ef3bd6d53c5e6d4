// The benchmark on a terminal: a progress line and the report as a plain-text table.
import type { BenchmarkReport, EditorBenchmarkReport } from '../../shared/protocol';
import type { BenchmarkProgress } from './driver';

/** One terminal line: `batched    x8  [########--------]  5/8   412 tok   96.1 tok/s  4.3s`. */
export function formatProgress(p: BenchmarkProgress, width = 24): string {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(frac * width);
  const secs = p.elapsedMs / 1000;
  const rate = secs > 0 ? p.tokens / secs : 0;
  return `${p.mode.padEnd(10)} x${String(p.concurrency).padEnd(3)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
    `${String(p.done).padStart(3)}/${p.total}  ${String(p.tokens).padStart(6)} tok  ${rate.toFixed(1).padStart(7)} tok/s  ${secs.toFixed(1)}s`;
}

/** A plain-text table of a report, for the terminal when --json is not asked for. */
export function formatReport(report: BenchmarkReport): string {
  const f = (n: number, d = 1): string => n.toFixed(d);
  const head = 'mode        conc  requests  tokens   tok/s   lat p50   lat p99  ttft p50  ttft p99   itl avg  peak MB';
  const rows = report.results.map((r) =>
    [r.mode.padEnd(10), String(r.concurrency).padStart(5), String(r.requests).padStart(9), String(r.totalTokens).padStart(7),
      f(r.tokensPerSecond).padStart(7), f(r.latencyMs.p50, 0).padStart(9), f(r.latencyMs.p99, 0).padStart(9),
      f(r.ttftMs.p50, 0).padStart(9), f(r.ttftMs.p99, 0).padStart(9), f(r.interTokenMs.avg).padStart(9), f(r.peakMemoryMb, 0).padStart(8)].join(' '));
  const speed = Object.entries(report.speedup).map(([c, s]) => `x${c}: ${s.toFixed(2)}x`).join('  ');
  const steps = report.results.flatMap((r) => (r.stepMs ? [`${r.mode} x${r.concurrency} ${f(r.stepMs.promptMs / 1000)} s / ${f(r.stepMs.decodeMs / 1000)} s`] : []));
  const parts = Object.entries(report.parts ?? {}).map(([c, p]) =>
    `x${c}: prompt ${p.prompt.toFixed(2)}x, decode ${p.decode.toFixed(2)}x (prompts ${Math.round(100 * p.sequentialPromptShare)}% of sequential)`);
  return [`model ${report.model}  (${report.machine.cpuModel}, ${report.machine.cpus} cpus, ${report.machine.backend})  max_tokens ${report.maxTokens}`,
    head, ...rows, `speed-up (batched / sequential tok/s): ${speed}`,
    ...(steps.length > 0 ? [`engine time in prompt / decode steps: ${steps.join('  ')}`] : []),
    ...(parts.length > 0 ? [`speed-up by part (sequential / batched engine time): ${parts.join('  ')}`] : [])].join('\n');
}

/** The editor scenario's report as a plain-text table: one row per mode, then the verdict. */
export function formatEditorReport(report: EditorBenchmarkReport): string {
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const t = report.trace;
  const head = 'mode              sent  served  cancelled  ttft p50  ttft p90  ttft p99  line p50  chat tok/s  chat ttft p50  chat itl p99  peak batch';
  const rows = report.modes.map((m) => [m.mode.padEnd(16), String(m.completionsSent).padStart(5), String(m.completionsServed).padStart(7),
    String(m.completionsCancelled).padStart(10), f(m.completionTtftMs.p50).padStart(9), f(m.completionTtftMs.p90).padStart(9), f(m.completionTtftMs.p99).padStart(9),
    f(m.completionLineMs.p50).padStart(9), f(m.chatTokensPerSecond, 1).padStart(11), f(m.chatTtftMs.p50).padStart(14), f(m.chatInterTokenMs.p99).padStart(13),
    String(m.peakBatch).padStart(11)].join(' '));
  return [`model ${report.model}  (${report.machine.cpuModel}, ${report.machine.cpus} cpus, ${report.machine.backend})`,
    `trace: seed ${t.seed}, ${t.durationS} s, ${t.keystrokes} keystrokes (${t.typingMs} ms apart), ${t.completions} of them asking for a completion, ${t.chats} chats; files ${t.files.join(', ')}`,
    'times in ms',
    head, ...rows, report.verdict.text].join('\n');
}
