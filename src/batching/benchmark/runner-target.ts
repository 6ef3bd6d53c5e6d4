// The runner as a benchmark target, for in-process benchmarks (`mlx-batch bench`, POST /v1/benchmark).
import { GREEDY } from '../request-types';
import type { PriorityClass } from '../../shared/protocol';
import type { Runner } from '../runner';
import type { BenchmarkTarget } from './driver';

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
    stepTime: () => runner.stepTime(),
  };
}
