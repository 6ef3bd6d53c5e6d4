// The contract every architecture file implements, and what the loader and engine rely on.
import type { MxArray, nn } from '../mlx';
import type { KVCache } from '../cache/types';

/**
 * config.json as the loader checked it (`checkModelConfig` in src/server/loader/config.ts): a
 * supported model_type and the fields a decoder reads, present where required, of the right type.
 */
export interface ModelConfig {
  model_type: string;
  hidden_size: number;
  num_hidden_layers: number;
  intermediate_size: number;
  num_attention_heads: number;
  vocab_size: number;
  num_key_value_heads?: number | null;
  head_dim?: number | null;
  max_position_embeddings?: number | null;
  rms_norm_eps?: number | null;
  rope_theta?: number | null;
  rope_scaling?: Record<string, unknown> | null;
  tie_word_embeddings?: boolean | null;
  attention_bias?: boolean | null;
  mlp_bias?: boolean | null;
  [field: string]: unknown;
}

/** Hyper-parameters after defaults are applied (mlx-lm's ModelArgs). */
export interface ModelArgs {
  modelType: string;
  hiddenSize: number;
  numHiddenLayers: number;
  intermediateSize: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** e.g. {rope_type: 'llama3', factor, low_freq_factor, high_freq_factor, original_max_position_embeddings} */
  ropeScaling?: Record<string, unknown>;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  /** Bias on q/k/v projections (qwen2 always; llama's `attention_bias` also biases o_proj). */
  attentionBias: boolean;
  /** llama's `mlp_bias`: bias on gate/up/down projections. */
  mlpBias: boolean;
  /** qwen3: RMSNorm on q and k per head. */
  qkNorm: boolean;
}

export interface ForwardOptions {
  /** Logits of the last position only ([B, 1, vocab]): prefill needs no more. */
  lastOnly?: boolean;
  /**
   * Logits of these tokens only, as rows of their own: [pick.length, 1, vocab]. Indices count
   * the pass's tokens in packed order (each part's rows one after another, a row's tokens in
   * order): a row checking a draft needs the logits of several of its positions.
   */
  pick?: readonly number[];
}

/** One part of a packed forward pass: rows of new tokens that share one KV cache. */
export interface ForwardPart {
  /** [B, L] int32 token ids. */
  inputs: MxArray;
  cache: KVCache;
}

export interface LanguageModel extends nn.Module {
  readonly args: ModelArgs;
  /**
   * inputs: [B, L] int32 token ids. The cache knows every row's positions and padding;
   * the model knows nothing of batches. Returns logits [B, L, vocab] (float32), or
   * [B, 1, vocab] with `lastOnly`.
   */
  forward(inputs: MxArray, cache: KVCache, options?: ForwardOptions): MxArray;
  /**
   * One pass over several parts, each with its own cache (decode rows, prompt chunks of other
   * requests): the linear layers run once over all their tokens, attention per part. A layer at a
   * time: yields the hidden state after each layer (the caller may evaluate it and let what came
   * before be collected) and returns the logits, [1, N, vocab] packed over the parts' tokens in
   * order (each part's rows one after another), or with `lastOnly` the last token of every row
   * of every part, [rows, 1, vocab]. With one part it returns what `forward` does.
   */
  forwardSteps(parts: readonly ForwardPart[], options?: ForwardOptions): Generator<MxArray, MxArray>;
  /**
   * Cached keys [1, kvHeads, L, headDim] of positions p, as the keys of positions p + distance
   * (rotary embeddings compose: a rotation by the distance). Lets the cache reuse keys and values
   * of tokens that now sit elsewhere in a prompt.
   */
  shiftKeys(keys: MxArray, distance: number): MxArray;
  /** Maps checkpoint tensor names to this module's (drops rotary buffers, tied lm_head...). */
  sanitize(weights: Map<string, MxArray>): Map<string, MxArray>;
}
