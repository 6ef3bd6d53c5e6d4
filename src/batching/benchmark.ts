// Throughput and latency benchmark: the same requests run sequentially (one at a time) and
// then concurrently through continuous batching. It talks to a small target interface, so the
// same code runs in-process on the runner (`mlx-batch bench`) and over HTTP.
import os from 'node:os';
import type { BenchmarkReport, BenchmarkRow, PriorityClass } from '../shared/protocol';
import { GREEDY } from './request-types';
import type { Runner } from './runner';
import { summarize } from './stats';

export { BENCHMARK_PROMPTS, benchmarkPrompts } from './benchmark-prompts';

export type BenchmarkMode = 'sequential' | 'batched';

/** One mode at one concurrency. */
export type BenchmarkResult = BenchmarkRow;

/** What a benchmark drives. */
export interface BenchmarkTarget {
  /**
   * Generates for one prompt, exactly `maxTokens` tokens where the target can (greedy, EOS
   * ignored), and yields how many tokens each arriving chunk carries.
   */
  generate(prompt: string, maxTokens: number, signal?: AbortSignal): AsyncIterable<number>;
  /** Highest memory (MB) since the last reset. */
  peakMemoryMb(): number | Promise<number>;
  resetPeakMemory(): void | Promise<void>;
}

export interface BenchmarkProgress {
  mode: BenchmarkMode;
  concurrency: number;
  /** Requests finished. */
  done: number;
  total: number;
  /** Tokens received so far. */
  tokens: number;
  elapsedMs: number;
}

export interface BenchmarkOptions {
  mode: BenchmarkMode;
  /** Requests in flight at once in 'batched' mode (1 in 'sequential'). */
  concurrency: number;
  maxTokens: number;
  /** Cycled through for the requests. */
  prompts: readonly string[];
  /** Number of requests; default `concurrency`. */
  requests?: number;
  onProgress?: (p: BenchmarkProgress) => void;
  signal?: AbortSignal;
  now?: () => number;
}

interface Sample {
  latencyMs: number;
  ttftMs?: number;
  interTokenMs?: number;
  tokens: number;
}

/** Runs one mode at one concurrency. */
export async function runBenchmark(target: BenchmarkTarget, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const now = options.now ?? (() => performance.now());
  const total = options.requests ?? options.concurrency;
  const inFlight = options.mode === 'sequential' ? 1 : Math.max(1, options.concurrency);
  if (options.prompts.length === 0) throw new Error('runBenchmark needs at least one prompt');
  await target.resetPeakMemory();

  const samples: Sample[] = [];
  let next = 0;
  let tokens = 0;
  const start = now();
  const progress = (): void =>
    options.onProgress?.({ mode: options.mode, concurrency: options.concurrency, done: samples.length, total, tokens, elapsedMs: now() - start });

  const one = async (i: number): Promise<void> => {
    const t0 = now();
    let first: number | undefined;
    let count = 0;
    for await (const n of target.generate(options.prompts[i % options.prompts.length], options.maxTokens, options.signal)) {
      if (n <= 0) continue;
      if (first === undefined) first = now();
      count += n;
      tokens += n;
    }
    const end = now();
    samples.push({
      latencyMs: end - t0,
      ttftMs: first === undefined ? undefined : first - t0,
      interTokenMs: first !== undefined && count > 1 ? (end - first) / (count - 1) : undefined,
      tokens: count,
    });
    progress();
  };
  const worker = async (): Promise<void> => {
    while (next < total) await one(next++);
  };
  progress();
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  const wallMs = now() - start;

  const latency = summarize(samples.map((s) => s.latencyMs));
  const ttft = summarize(samples.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs])));
  const itl = summarize(samples.flatMap((s) => (s.interTokenMs === undefined ? [] : [s.interTokenMs])));
  const totalTokens = samples.reduce((a, s) => a + s.tokens, 0);
  return {
    mode: options.mode,
    concurrency: options.concurrency,
    requests: samples.length,
    totalTokens,
    wallMs,
    tokensPerSecond: wallMs > 0 ? (totalTokens * 1000) / wallMs : 0,
    latencyMs: { avg: latency.avg, p50: latency.p50, p90: latency.p90, p99: latency.p99 },
    ttftMs: { avg: ttft.avg, p50: ttft.p50, p99: ttft.p99 },
    interTokenMs: { avg: itl.avg, p50: itl.p50, p99: itl.p99 },
    peakMemoryMb: await target.peakMemoryMb(),
  };
}

export interface ComparisonOptions {
  model: string;
  /** Concurrency levels; at each, `concurrency` requests run sequentially, then all at once. */
  concurrencies: readonly number[];
  maxTokens: number;
  prompts: readonly string[];
  /** 'cpu' or 'metal' (reported in `machine`). */
  backend: string;
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
  return { model: options.model, machine: describeMachine(options.backend), startedAt, maxTokens: options.maxTokens, results, speedup };
}

export function speedupOf(sequential: BenchmarkResult, batched: BenchmarkResult): number {
  return sequential.tokensPerSecond > 0 ? batched.tokensPerSecond / sequential.tokensPerSecond : 0;
}

export function describeMachine(backend: string): BenchmarkReport['machine'] {
  const cpus = os.cpus();
  return {
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    backend,
  };
}

/** What the in-process target needs of a tokenizer. */
export interface PromptEncoder {
  encode(text: string): number[];
}

/** The runner as a benchmark target: greedy, EOS ignored, fixed max_tokens, background priority. */
export function runnerTarget(runner: Runner, tokenizer: PromptEncoder, priority: PriorityClass = 'background'): BenchmarkTarget {
  return {
    async *generate(prompt, maxTokens, signal) {
      const stream = runner.submit({ promptTokens: tokenizer.encode(prompt), maxTokens, sampling: GREEDY, ignoreEos: true, priority }, signal);
      for await (const ev of stream) if (ev.type === 'delta') yield ev.tokens.length;
    },
    peakMemoryMb: () => runner.peakMemoryBytes / 2 ** 20,
    resetPeakMemory: () => runner.resetPeakMemory(),
  };
}

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
  return [`model ${report.model}  (${report.machine.cpuModel}, ${report.machine.cpus} cpus, ${report.machine.backend})  max_tokens ${report.maxTokens}`,
    head, ...rows, `speed-up (batched / sequential tok/s): ${speed}`].join('\n');
}
