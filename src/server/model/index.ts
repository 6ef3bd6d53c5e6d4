// The model registry: config.json -> ModelArgs -> a LanguageModel, one architecture per file.
import { MlxBatchError } from '../../shared/errors';
import * as llama from './llama';
import * as qwen2 from './qwen2';
import * as qwen3 from './qwen3';
import { ropeInverseFrequencies } from './rope';
import type { LanguageModel, ModelArgs } from './types';

interface Architecture {
  args(config: Record<string, unknown>): ModelArgs;
  create(args: ModelArgs): LanguageModel;
}

const ARCHITECTURES: Record<string, Architecture> = {
  llama: { args: llama.llamaArgs, create: (a) => new llama.Model(a) },
  qwen2: { args: qwen2.qwen2Args, create: (a) => new qwen2.Model(a) },
  qwen3: { args: qwen3.qwen3Args, create: (a) => new qwen3.Model(a) },
};

export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

function architecture(modelType: unknown): Architecture {
  const arch = typeof modelType === 'string' ? ARCHITECTURES[modelType] : undefined;
  if (arch && Object.hasOwn(ARCHITECTURES, modelType as string)) return arch;
  throw new MlxBatchError(
    'unsupported_model',
    `model_type ${JSON.stringify(modelType)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}.`,
    'model_type',
  );
}

/** Reads config.json (as parsed JSON) into ModelArgs with the architecture's defaults. */
export function parseModelArgs(config: Record<string, unknown>): ModelArgs {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new MlxBatchError('invalid_config', 'config.json must hold a JSON object.');
  }
  if (config.model_type === undefined) {
    throw new MlxBatchError(
      'invalid_config',
      `config.json has no 'model_type' (supported: ${SUPPORTED_MODEL_TYPES.join(', ')}).`,
      'model_type',
    );
  }
  const args = architecture(config.model_type).args(config);
  ropeInverseFrequencies(args.headDim, args.ropeTheta, args.ropeScaling);
  return args;
}

/** A model with freshly initialised (random) weights; the loader then loads the checkpoint. */
export function createModel(args: ModelArgs): LanguageModel {
  return architecture(args.modelType).create(args);
}

export type { ForwardOptions, LanguageModel, ModelArgs } from './types';
