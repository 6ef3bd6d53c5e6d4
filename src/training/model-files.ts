// The shipped model's files in the mlx-community layout: config.json, model.safetensors,
// generation_config.json, tokenizer.json, tokenizer_config.json.
import fs from 'node:fs';
import path from 'node:path';
import { flattenParameters } from '../server/loader/check-weights';
import { readJsonObject } from '../server/json-file';
import { mx, type MxArray } from '../server/mlx';
import { checkModelConfig } from '../server/loader/config';
import type { LanguageModel, ModelConfig } from '../server/model/types';
import type { FimLayout } from '../server/fim';
import type { BpeModel } from './bpe-trainer';
import { specialIds, tokenizerConfigJson, tokenizerJson } from './tokenizer-spec';

export interface ModelShape {
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediateSize: number;
  maxPositions: number;
}

/** config.json for a Qwen2-architecture model over the trained tokenizer, checked as the loader checks every model's. */
export function modelConfig(shape: ModelShape, bpe: BpeModel, vocabSize: number, dtype: 'float32' | 'bfloat16'): ModelConfig {
  const ids = specialIds(bpe);
  return checkModelConfig({
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    max_position_embeddings: shape.maxPositions,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    use_sliding_window: false,
    vocab_size: vocabSize,
    bos_token_id: null,
    eos_token_id: [ids['<|endoftext|>'], ids['<|im_end|>']],
    torch_dtype: dtype,
  });
}

export function writeTokenizerFiles(dir: string, bpe: BpeModel, maxLength: number, fimLayout: FimLayout): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(bpe)));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfigJson(bpe, maxLength, fimLayout), null, 2)}\n`);
}

/** Reads the BPE back from a tokenizer.json this pipeline wrote. */
export function readBpe(dir: string): BpeModel {
  const j = readJsonObject(path.join(dir, 'tokenizer.json'), { type: 'invalid_tokenizer' }) as unknown as {
    model: { vocab: Record<string, number>; merges: [string, string][] };
  };
  return { vocab: new Map(Object.entries(j.model.vocab)), merges: j.model.merges };
}

/** Model weights with checkpoint (snake_case) names, optionally stored as bfloat16. */
export function saveWeights(file: string, model: LanguageModel, dtype: 'float32' | 'bfloat16'): void {
  const arrays: Record<string, MxArray> = {};
  for (const [name, w] of flattenParameters(model)) arrays[name] = dtype === 'bfloat16' ? w.astype(mx.bfloat16) : w;
  mx.saveSafetensors(file, arrays, { format: 'mlx' });
}

export function writeModelFolder(
  dir: string, model: LanguageModel, config: Record<string, unknown>, bpe: BpeModel, dtype: 'float32' | 'bfloat16', fimLayout: FimLayout,
): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'generation_config.json'), `${JSON.stringify({ eos_token_id: config.eos_token_id, do_sample: false }, null, 2)}\n`);
  writeTokenizerFiles(dir, bpe, config.max_position_embeddings as number, fimLayout);
  saveWeights(path.join(dir, 'model.safetensors'), model, dtype);
}
