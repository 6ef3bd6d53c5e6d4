// The benchmark driver: the same requests through a target one at a time ('sequential') or
// `concurrency` at once ('batched'), measuring throughput, latency, time to first token and the
// gaps between tokens. It talks to a small target interface, so the same code runs in-process on
// the runner (runner-target.ts, `mlx-batch bench`) and over HTTP.
import type { BenchmarkRow, StepTime } from '../../shared/protocol';
import { summarize } from '../stats';

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
  /** Engine time so far in prompt steps and decode-only steps (Runner.stepTime); optional. */
  stepTime?(): StepTime | Promise<StepTime>;
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
  const stepsBefore = await target.stepTime?.();

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
  const stepsAfter = await target.stepTime?.();

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
    ...(stepsBefore && stepsAfter
      ? { stepMs: { promptMs: stepsAfter.promptMs - stepsBefore.promptMs, decodeMs: stepsAfter.decodeMs - stepsBefore.decodeMs } }
      : {}),
  };
}
