// Shared set-up of the engine tests: a tiny random-weight model loaded through the real loader.
import type { StepCost } from '../../src/batching/step-cost';
import { ensureFixtureModel } from '../../src/server/fixtures';
import { loadModel, type LoadedModel } from '../../src/server/loader';
import { MlxEngine, type MlxEngineOptions } from '../../src/server/engine/mlx-engine';
import { Runner, type RunnerOptions } from '../../src/batching/runner';
import type { GenerateParams } from '../../src/batching/request-types';

let loaded: Promise<LoadedModel> | undefined;

/** The llama 'tiny' fixture (vocab 32000, 2 layers), loaded once per process. */
export function tinyModel(): Promise<LoadedModel> {
  loaded ??= ensureFixtureModel('llama', 'tiny').then((dir) => loadModel(dir));
  return loaded;
}

export async function makeRunner(engine: Partial<MlxEngineOptions> = {}, runner: Partial<RunnerOptions> = {}, cost?: StepCost) {
  const m = await tinyModel();
  const e = new MlxEngine(m.model, { prefixCacheTokens: 0, ...engine });
  return { engine: e, runner: new Runner(e, runner, cost) };
}

/** A deterministic pseudo-random prompt of `n` token ids (no special tokens). */
export function prompt(seed: number, n: number): number[] {
  let x = seed * 2654435761 + 1;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x6d2b79f5) >>> 0;
    return 3 + (x % 31000);
  });
}

export function greedy(promptTokens: number[], maxTokens: number, extra: Partial<GenerateParams> = {}): GenerateParams {
  return { promptTokens, maxTokens, ignoreEos: true, sampling: { temperature: 0, topP: 1, topK: 0 }, ...extra };
}

/**
 * Submits with staggered arrivals: every third request comes with the one before it, the others
 * wait until the one before has produced its first token, so they join a batch that is decoding.
 * Requests in `cancel` are aborted once they have 3 tokens (a step may bring several).
 */
export async function staggered(runner: Runner, params: GenerateParams[], cancel: Set<number>) {
  const results: Promise<{ tokens: number[]; finishReason: string }>[] = [];
  let firstToken: Promise<void> = Promise.resolve();
  for (let i = 0; i < params.length; i++) {
    if (i % 3 !== 0) await firstToken;
    const ac = new AbortController();
    const stream = runner.submit(params[i], ac.signal);
    let started!: () => void;
    firstToken = new Promise((r) => (started = r));
    results.push((async () => {
      const tokens: number[] = [];
      let finishReason = '';
      for await (const ev of stream) {
        if (ev.type === 'delta') {
          tokens.push(...ev.tokens);
          started();
          if (cancel.has(i) && tokens.length >= 3) ac.abort();
        } else finishReason = ev.finishReason;
      }
      started();
      return { tokens, finishReason };
    })());
  }
  return Promise.all(results);
}
