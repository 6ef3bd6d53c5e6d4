// ModelArgs from a checked config.json (the loader's checkModelConfig): defaults as mlx-lm
// applies them, per architecture.
import type { ModelArgs, ModelConfig } from './types';

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

export function readArgs(config: ModelConfig, d: ArgDefaults): ModelArgs {
  const numAttentionHeads = config.num_attention_heads;
  return {
    modelType: config.model_type,
    hiddenSize: config.hidden_size,
    numHiddenLayers: config.num_hidden_layers,
    intermediateSize: config.intermediate_size,
    numAttentionHeads,
    numKeyValueHeads: config.num_key_value_heads ?? numAttentionHeads,
    headDim: config.head_dim ?? config.hidden_size / numAttentionHeads,
    vocabSize: config.vocab_size,
    rmsNormEps: config.rms_norm_eps ?? d.rmsNormEps,
    ropeTheta: config.rope_theta ?? d.ropeTheta,
    ropeScaling: config.rope_scaling ?? undefined,
    tieWordEmbeddings: config.tie_word_embeddings ?? d.tieWordEmbeddings,
    maxPositionEmbeddings: config.max_position_embeddings ?? d.maxPositionEmbeddings,
    attentionBias: d.attentionBias ?? config.attention_bias ?? false,
    mlpBias: config.mlp_bias ?? false,
    qkNorm: d.qkNorm,
  };
}
