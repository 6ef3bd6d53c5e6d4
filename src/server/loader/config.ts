// config.json, generation_config.json and the MLX quantization settings of a model folder.
// checkModelConfig is the one check of config.json: its shape, model_type and every field a
// decoder reads; the model files then read the checked config (ModelConfig) without checking again.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';
import { isJsonObject, readJsonFile, readJsonObject, type JsonObject } from '../json-file';
import { SUPPORTED_MODEL_TYPES } from '../model';
import { ROPE_SCALING_TYPES, ropeScalingType } from '../model/rope';
import type { ModelConfig } from '../model/types';

export type { JsonObject } from '../json-file';

export interface QuantParams {
  groupSize: number;
  bits: number;
}

/** MLX affine quantization: one default plus optional per-layer settings (`false` = not quantized). */
export interface Quantization extends QuantParams {
  layers: Map<string, QuantParams | false>;
}

export interface ModelConfigFiles {
  config: ModelConfig;
  modelType: string;
  /** generation_config.json when the folder has one. */
  generationConfig?: JsonObject;
  quantization?: Quantization;
}

/** Reads and checks config.json (required) and generation_config.json (optional) of a model folder. */
export function readModelConfig(dir: string): ModelConfigFiles {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) {
    throw new MlxBatchError('invalid_config', `${dir} has no config.json; a model folder needs config.json, weights (*.safetensors) and tokenizer.json`, file);
  }
  const config = checkModelConfig(readJsonFile(file), file);
  const generationConfig = readJsonObject(path.join(dir, 'generation_config.json'), { optional: true });
  return { config, modelType: config.model_type, generationConfig, quantization: parseQuantization(config, file) };
}

const INT_FIELDS = ['hidden_size', 'num_hidden_layers', 'intermediate_size', 'num_attention_heads', 'vocab_size'];
const OPTIONAL_INT_FIELDS = ['num_key_value_heads', 'head_dim', 'max_position_embeddings'];
const OPTIONAL_POSITIVE_FIELDS = ['rms_norm_eps', 'rope_theta'];
const OPTIONAL_BOOLEAN_FIELDS = ['tie_word_embeddings', 'attention_bias', 'mlp_bias'];

/**
 * Checks parsed config.json: a JSON object with a supported `model_type` and the fields every
 * supported decoder reads, present where required and of the right type.
 */
export function checkModelConfig(config: unknown, file = 'config.json'): ModelConfig {
  if (!isJsonObject(config)) throw new MlxBatchError('invalid_config', `config.json must hold a JSON object (${file})`, file);
  const modelType = config.model_type;
  if (typeof modelType !== 'string' || modelType === '') {
    throw new MlxBatchError('invalid_config', `config.json has no "model_type" string (${file})`, file);
  }
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new MlxBatchError(
      'unsupported_model',
      `model_type "${modelType}" is not supported; supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
      file,
    );
  }
  const bad = (field: string, want: string) =>
    new MlxBatchError('invalid_config', `config.json: "${field}" must be ${want} (got ${JSON.stringify(config[field])})`, file);
  const positiveInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  for (const f of INT_FIELDS) if (!positiveInt(config[f])) throw bad(f, 'a positive integer');
  for (const f of OPTIONAL_INT_FIELDS) if (config[f] != null && !positiveInt(config[f])) throw bad(f, 'a positive integer');
  for (const f of OPTIONAL_POSITIVE_FIELDS) {
    const v = config[f];
    if (v != null && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw bad(f, 'a positive number');
  }
  for (const f of OPTIONAL_BOOLEAN_FIELDS) if (config[f] != null && typeof config[f] !== 'boolean') throw bad(f, 'true or false');
  if (config.rope_scaling != null) {
    if (!isJsonObject(config.rope_scaling)) throw bad('rope_scaling', 'an object or null');
    const type = ropeScalingType(config.rope_scaling);
    if (!ROPE_SCALING_TYPES.includes(type)) {
      throw new MlxBatchError('invalid_config', `config.json: rope_scaling type '${type}' is not supported (supported: ${ROPE_SCALING_TYPES.filter((t) => t !== 'default').join(', ')}).`, file);
    }
  }
  const heads = config.num_attention_heads as number;
  const hidden = config.hidden_size as number;
  const kvHeads = (config.num_key_value_heads as number | undefined) ?? heads;
  if (heads % kvHeads !== 0) throw bad('num_key_value_heads', `a divisor of num_attention_heads (${heads})`);
  if (config.head_dim == null && hidden % heads !== 0) {
    throw bad('hidden_size', `a multiple of num_attention_heads (${heads}) when head_dim is absent`);
  }
  if (config.head_dim != null && (config.head_dim as number) % 2 !== 0) throw bad('head_dim', 'even for rotary embeddings');
  if (config.head_dim == null && (hidden / heads) % 2 !== 0) {
    throw bad('hidden_size', `a multiple of 2 x num_attention_heads (${2 * heads}) when head_dim is absent (rotary embeddings need an even head size)`);
  }
  return config as ModelConfig;
}

/**
 * The quantization node-mlx 0.0.7's MLX runs: bits and group sizes its quantize and dequantize
 * accept, and the fewest input features a packed layer may have at each width (its quantize
 * refuses fewer; measured on the CPU build). mlx-lm also writes 3, 5 and 6 bits.
 */
export const MLX_QUANTIZATION = {
  bits: [2, 4, 8],
  groupSizes: [32, 64, 128],
  minFeatures: { 2: 512, 4: 256, 8: 128 } as Readonly<Record<number, number>>,
} as const;

function quantParams(v: JsonObject, where: string, file: string): QuantParams {
  const { group_size: groupSize, bits } = v;
  if (!(typeof groupSize === 'number' && Number.isSafeInteger(groupSize) && groupSize > 0)) {
    throw new MlxBatchError('invalid_config', `config.json: ${where}.group_size must be a positive integer (got ${JSON.stringify(groupSize)})`, file);
  }
  if (!(typeof bits === 'number' && Number.isSafeInteger(bits) && bits > 0)) {
    throw new MlxBatchError('invalid_config', `config.json: ${where}.bits must be a positive integer (got ${JSON.stringify(bits)})`, file);
  }
  const { bits: okBits, groupSizes } = MLX_QUANTIZATION;
  if (!(okBits as readonly number[]).includes(bits) || !(groupSizes as readonly number[]).includes(groupSize)) {
    throw new MlxBatchError(
      'unsupported_model',
      `config.json: the model is quantized with bits ${bits}, group_size ${groupSize} (${where}); the MLX in node-mlx runs bits ` +
        `${okBits.join(', ')} with group_size ${groupSizes.join(', ')}: use a 4- or 8-bit conversion of the model ` +
        '(e.g. `mlx_lm.convert -q --q-bits 4 --q-group-size 64`) or an unquantized one',
      file,
    );
  }
  return { groupSize, bits };
}

/** `quantization` (mlx-lm) or `quantization_config` (same content in newer mlx-lm; other tools' formats are refused). */
export function parseQuantization(config: JsonObject, file = 'config.json'): Quantization | undefined {
  const key = config.quantization != null ? 'quantization' : config.quantization_config != null ? 'quantization_config' : undefined;
  if (!key) return undefined;
  const q = config[key];
  if (!isJsonObject(q)) throw new MlxBatchError('invalid_config', `config.json: "${key}" must be an object`, file);
  if (typeof q.quant_method === 'string' && q.group_size === undefined) {
    throw new MlxBatchError(
      'unsupported_model',
      `config.json: ${q.quant_method} quantization is not supported; use an MLX-quantized model (e.g. from mlx-community) or an unquantized one`,
      file,
    );
  }
  if (q.mode !== undefined && q.mode !== 'affine') {
    throw new MlxBatchError('unsupported_model', `config.json: quantization mode ${JSON.stringify(q.mode)} is not supported (only "affine")`, file);
  }
  const layers = new Map<string, QuantParams | false>();
  for (const [name, v] of Object.entries(q)) {
    if (v === false) layers.set(name, false);
    else if (isJsonObject(v)) layers.set(name, quantParams(v, `${key}["${name}"]`, file));
  }
  return { ...quantParams(q, key, file), layers };
}
