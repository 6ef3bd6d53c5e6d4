// config.json, generation_config.json and the MLX quantization settings of a model folder.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError } from '../../shared/errors';

export type JsonObject = Record<string, unknown>;

export interface QuantParams {
  groupSize: number;
  bits: number;
}

/** MLX affine quantization: one default plus optional per-layer settings (`false` = not quantized). */
export interface Quantization extends QuantParams {
  layers: Map<string, QuantParams | false>;
}

export interface ModelConfigFiles {
  config: JsonObject;
  modelType: string;
  /** generation_config.json when the folder has one. */
  generationConfig?: JsonObject;
  quantization?: Quantization;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MlxBatchError('invalid_config', `cannot read ${what} (${file}): ${(e as Error).message}`, file);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MlxBatchError('invalid_config', `${what} is not valid JSON (${file}): ${(e as Error).message}`, file);
  }
}

/** Reads config.json (required) and generation_config.json (optional) from a model folder. */
export function readModelConfig(dir: string): ModelConfigFiles {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) {
    throw new MlxBatchError('invalid_config', `${dir} has no config.json; a model folder needs config.json, weights (*.safetensors) and tokenizer.json`, file);
  }
  const config = readJson(file, 'config.json');
  if (!isObject(config)) throw new MlxBatchError('invalid_config', `config.json must hold a JSON object (${file})`, file);
  const modelType = config.model_type;
  if (typeof modelType !== 'string' || modelType === '') {
    throw new MlxBatchError('invalid_config', `config.json has no "model_type" string (${file})`, file);
  }
  const genFile = path.join(dir, 'generation_config.json');
  let generationConfig: JsonObject | undefined;
  if (fs.existsSync(genFile)) {
    const g = readJson(genFile, 'generation_config.json');
    if (!isObject(g)) throw new MlxBatchError('invalid_config', `generation_config.json must hold a JSON object (${genFile})`, genFile);
    generationConfig = g;
  }
  return { config, modelType, generationConfig, quantization: parseQuantization(config, file) };
}

const INT_FIELDS = ['hidden_size', 'num_hidden_layers', 'intermediate_size', 'num_attention_heads', 'vocab_size'];
const OPTIONAL_INT_FIELDS = ['num_key_value_heads', 'head_dim', 'max_position_embeddings'];
const OPTIONAL_POSITIVE_FIELDS = ['rms_norm_eps', 'rope_theta'];

/** Checks the fields every supported decoder needs: present, and of the right type. */
export function checkConfigFields(config: JsonObject, file = 'config.json'): void {
  const bad = (field: string, want: string) =>
    new MlxBatchError('invalid_config', `config.json: "${field}" must be ${want} (got ${JSON.stringify(config[field])})`, file);
  const positiveInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  for (const f of INT_FIELDS) if (!positiveInt(config[f])) throw bad(f, 'a positive integer');
  for (const f of OPTIONAL_INT_FIELDS) if (config[f] != null && !positiveInt(config[f])) throw bad(f, 'a positive integer');
  for (const f of OPTIONAL_POSITIVE_FIELDS) {
    if (config[f] != null && !(typeof config[f] === 'number' && config[f] > 0)) throw bad(f, 'a positive number');
  }
  if (config.tie_word_embeddings != null && typeof config.tie_word_embeddings !== 'boolean') throw bad('tie_word_embeddings', 'true or false');
  if (config.rope_scaling != null && !isObject(config.rope_scaling)) throw bad('rope_scaling', 'an object or null');
  const heads = config.num_attention_heads as number;
  const kvHeads = (config.num_key_value_heads as number | undefined) ?? heads;
  if (heads % kvHeads !== 0) throw bad('num_key_value_heads', `a divisor of num_attention_heads (${heads})`);
}

function quantParams(v: JsonObject, where: string, file: string): QuantParams {
  const { group_size: groupSize, bits } = v;
  if (!(typeof groupSize === 'number' && Number.isSafeInteger(groupSize) && groupSize > 0)) {
    throw new MlxBatchError('invalid_config', `config.json: ${where}.group_size must be a positive integer (got ${JSON.stringify(groupSize)})`, file);
  }
  if (!(typeof bits === 'number' && [2, 3, 4, 5, 6, 8].includes(bits))) {
    throw new MlxBatchError('invalid_config', `config.json: ${where}.bits must be 2, 3, 4, 5, 6 or 8 (got ${JSON.stringify(bits)})`, file);
  }
  return { groupSize, bits };
}

/** `quantization` (mlx-lm) or `quantization_config` (same content in newer mlx-lm; other tools' formats are refused). */
export function parseQuantization(config: JsonObject, file = 'config.json'): Quantization | undefined {
  const key = config.quantization != null ? 'quantization' : config.quantization_config != null ? 'quantization_config' : undefined;
  if (!key) return undefined;
  const q = config[key];
  if (!isObject(q)) throw new MlxBatchError('invalid_config', `config.json: "${key}" must be an object`, file);
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
    else if (isObject(v)) layers.set(name, quantParams(v, `${key}["${name}"]`, file));
  }
  return { ...quantParams(q, key, file), layers };
}
