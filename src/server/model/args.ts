// Reading config.json into ModelArgs: defaults as mlx-lm applies them, and clear errors.
import { MlxBatchError } from '../../shared/errors';
import type { ModelArgs } from './types';

/** What differs between architectures when their config is read. */
export interface ArgDefaults {
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Forced value, or undefined to read `attention_bias` (default false). */
  attentionBias?: boolean;
  qkNorm: boolean;
}

function invalid(key: string, why: string): MlxBatchError {
  return new MlxBatchError('invalid_config', `config.json: '${key}' ${why}.`, key);
}

function positiveInt(config: Record<string, unknown>, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (v === undefined || v === null) throw invalid(key, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw invalid(key, `must be a positive integer (got ${JSON.stringify(v)})`);
  }
  return v;
}

function positiveNumber(config: Record<string, unknown>, key: string, fallback: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw invalid(key, `must be a positive number (got ${JSON.stringify(v)})`);
  }
  return v;
}

function bool(config: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = config[key] ?? fallback;
  if (typeof v !== 'boolean') throw invalid(key, `must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

export function readArgs(config: Record<string, unknown>, d: ArgDefaults): ModelArgs {
  const hiddenSize = positiveInt(config, 'hidden_size');
  const numAttentionHeads = positiveInt(config, 'num_attention_heads');
  const numKeyValueHeads = positiveInt(config, 'num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw invalid('num_key_value_heads', `(${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`);
  }
  if (config.head_dim == null && hiddenSize % numAttentionHeads !== 0) {
    throw invalid('hidden_size', `(${hiddenSize}) must be a multiple of num_attention_heads (${numAttentionHeads}) when head_dim is absent`);
  }
  const headDim = positiveInt(config, 'head_dim', hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) throw invalid('head_dim', `must be even for rotary embeddings (got ${headDim})`);
  const ropeScaling = config.rope_scaling ?? undefined;
  if (ropeScaling !== undefined && (typeof ropeScaling !== 'object' || Array.isArray(ropeScaling))) {
    throw invalid('rope_scaling', 'must be an object or null');
  }
  return {
    modelType: String(config.model_type),
    hiddenSize,
    numHiddenLayers: positiveInt(config, 'num_hidden_layers'),
    intermediateSize: positiveInt(config, 'intermediate_size'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    vocabSize: positiveInt(config, 'vocab_size'),
    rmsNormEps: positiveNumber(config, 'rms_norm_eps', d.rmsNormEps),
    ropeTheta: positiveNumber(config, 'rope_theta', d.ropeTheta),
    ropeScaling: ropeScaling as Record<string, unknown> | undefined,
    tieWordEmbeddings: bool(config, 'tie_word_embeddings', d.tieWordEmbeddings),
    maxPositionEmbeddings: positiveInt(config, 'max_position_embeddings', d.maxPositionEmbeddings),
    attentionBias: d.attentionBias ?? bool(config, 'attention_bias', false),
    mlpBias: bool(config, 'mlp_bias', false),
    qkNorm: d.qkNorm,
  };
}
