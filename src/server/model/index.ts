// The model registry: a checked config.json (the loader's checkModelConfig) -> ModelArgs -> a
// LanguageModel, one architecture per file.
import * as llama from './llama';
import * as qwen2 from './qwen2';
import * as qwen3 from './qwen3';
import type { LanguageModel, ModelArgs, ModelConfig } from './types';

interface Architecture {
  args(config: ModelConfig): ModelArgs;
  create(args: ModelArgs): LanguageModel;
}

const ARCHITECTURES: Record<string, Architecture> = {
  llama: { args: llama.llamaArgs, create: (a) => new llama.Model(a) },
  qwen2: { args: qwen2.qwen2Args, create: (a) => new qwen2.Model(a) },
  qwen3: { args: qwen3.qwen3Args, create: (a) => new qwen3.Model(a) },
};

export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

function architecture(modelType: string): Architecture {
  if (Object.hasOwn(ARCHITECTURES, modelType)) return ARCHITECTURES[modelType];
  throw new Error(`model_type "${modelType}" reached the registry unchecked; the loader admits only ${SUPPORTED_MODEL_TYPES.join(', ')}`);
}

/** ModelArgs of a checked config.json, with the architecture's defaults. */
export function parseModelArgs(config: ModelConfig): ModelArgs {
  return architecture(config.model_type).args(config);
}

/** A model with freshly initialised (random) weights; the loader then loads the checkpoint. */
export function createModel(args: ModelArgs): LanguageModel {
  return architecture(args.modelType).create(args);
}

export type { ForwardOptions, LanguageModel, ModelArgs, ModelConfig } from './types';
