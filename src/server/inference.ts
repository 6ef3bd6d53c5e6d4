// Opens a model for serving: loader + tokenizer + batch engine + runner, the one stack that
// the CLI (generate, bench) and the HTTP server share.
import { Runner, type RunnerOptions } from '../batching/runner';
import type { GenerateParams } from '../batching/request-types';
import { MlxEngine, type MlxEngineOptions } from './engine/mlx-engine';
import { loadModel, type LoadedModel, type LoadModelOptions } from './loader';
import { loadTokenizer } from './tokenizer/tokenizer';
import type { Tokenizer } from './tokenizer/tokenizer';

export interface InferenceOptions {
  load?: LoadModelOptions;
  engine?: Partial<MlxEngineOptions>;
  runner?: Partial<RunnerOptions>;
}

export interface Inference {
  loaded: LoadedModel;
  tokenizer: Tokenizer;
  engine: MlxEngine;
  runner: Runner;
}

/** Loads the stack; the KV budget is the runner's if set (checked against memory), else the loader picks it. */
export async function openInference(model: string, opts: InferenceOptions = {}): Promise<Inference> {
  const loaded = await loadModel(model, { ...opts.load, kvBudgetTokens: opts.runner?.kvBudgetTokens, contextLength: opts.engine?.contextLength });
  const tokenizer = await loadTokenizer(loaded.dir, { config: loaded.config, generationConfig: loaded.generationConfig });
  // The context served is what the KV budget holds, when that is less than the model's; MLX's
  // buffer cache is bounded by the plan's share of headroom.
  const engine = new MlxEngine(loaded.model, {
    bufferCacheBytes: loaded.memory.bufferCacheBytes,
    ...opts.engine,
    contextLength: loaded.memory.contextTokens,
  });
  const runner = new Runner(engine, { ...opts.runner, kvBudgetTokens: loaded.memory.kvBudgetTokens });
  return { loaded, tokenizer, engine, runner };
}

/** The runner's GenerateParams less what the tokenizer supplies (its decoder and end-of-generation ids). */
export type TextRequest = Omit<GenerateParams, 'decoder' | 'eosTokenIds'>;

/** Runner parameters for a text request: the tokenizer's decoder and end-of-generation ids. */
export function textParams(tokenizer: Tokenizer, req: TextRequest): GenerateParams {
  return {
    ...req,
    eosTokenIds: [...tokenizer.endOfGenerationIds],
    decoder: tokenizer.createDecoder({ skipSpecialTokens: true }),
  };
}
