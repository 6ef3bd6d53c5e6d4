// The comparison report: at every concurrency the same requests sequentially, then batched, and
// the speed-up of one over the other.
import type { BenchmarkReport } from '../../shared/protocol';
import { runBenchmark, type BenchmarkProgress, type BenchmarkResult, type BenchmarkTarget } from './driver';

export interface ComparisonOptions {
  model: string;
  /** Concurrency levels; at each, `concurrency` requests run sequentially, then all at once. */
  concurrencies: readonly number[];
  maxTokens: number;
  prompts: readonly string[];
  /** The machine it runs on, as the report gives it (the server's describeMachine). */
  machine: BenchmarkReport['machine'];
  /** One short untimed request first, so one-time setup is not measured. Default true. */
  warmup?: boolean;
  onProgress?: (p: BenchmarkProgress) => void;
  signal?: AbortSignal;
  now?: () => number;
}

/** Sequential then batched at every concurrency; speed-up = batched tok/s / sequential tok/s. */
export async function runComparisonBenchmark(target: BenchmarkTarget, options: ComparisonOptions): Promise<BenchmarkReport> {
  const startedAt = new Date().toISOString();
  if (options.warmup ?? true) {
    await runBenchmark(target, { mode: 'sequential', concurrency: 1, maxTokens: Math.min(4, options.maxTokens), prompts: options.prompts, signal: options.signal, now: options.now });
  }
  const results: BenchmarkResult[] = [];
  const speedup: Record<string, number> = {};
  const parts: NonNullable<BenchmarkReport['parts']> = {};
  for (const c of options.concurrencies) {
    const common = { concurrency: c, maxTokens: options.maxTokens, prompts: options.prompts, onProgress: options.onProgress, signal: options.signal, now: options.now };
    const seq = await runBenchmark(target, { ...common, mode: 'sequential' });
    const bat = await runBenchmark(target, { ...common, mode: 'batched' });
    results.push(seq, bat);
    speedup[String(c)] = speedupOf(seq, bat);
    const split = partsOf(seq, bat);
    if (split) parts[String(c)] = split;
  }
  return {
    model: options.model, machine: options.machine, startedAt, maxTokens: options.maxTokens, results, speedup,
    ...(Object.keys(parts).length > 0 ? { parts } : {}),
  };
}

/** Each part's speed-up (sequential ms / batched ms) and the prompt share of the sequential mode's engine time. */
export function partsOf(sequential: BenchmarkResult, batched: BenchmarkResult): NonNullable<BenchmarkReport['parts']>[string] | undefined {
  const s = sequential.stepMs;
  const b = batched.stepMs;
  if (!s || !b) return undefined;
  const ratio = (x: number, y: number): number => (y > 0 ? x / y : 0);
  return { prompt: ratio(s.promptMs, b.promptMs), decode: ratio(s.decodeMs, b.decodeMs), sequentialPromptShare: ratio(s.promptMs, s.promptMs + s.decodeMs) };
}

export function speedupOf(sequential: BenchmarkResult, batched: BenchmarkResult): number {
  return sequential.tokensPerSecond > 0 ? batched.tokensPerSecond / sequential.tokensPerSecond : 0;
}
