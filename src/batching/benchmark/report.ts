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
  for (const c of options.concurrencies) {
    const common = { concurrency: c, maxTokens: options.maxTokens, prompts: options.prompts, onProgress: options.onProgress, signal: options.signal, now: options.now };
    const seq = await runBenchmark(target, { ...common, mode: 'sequential' });
    const bat = await runBenchmark(target, { ...common, mode: 'batched' });
    results.push(seq, bat);
    speedup[String(c)] = speedupOf(seq, bat);
  }
  return { model: options.model, machine: options.machine, startedAt, maxTokens: options.maxTokens, results, speedup };
}

export function speedupOf(sequential: BenchmarkResult, batched: BenchmarkResult): number {
  return sequential.tokensPerSecond > 0 ? batched.tokensPerSecond / sequential.tokensPerSecond : 0;
}
