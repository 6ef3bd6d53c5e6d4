// What a model's forward pass needs from its KV cache. Batching details (rows at different
// lengths, left padding, masks) live behind this interface, so model files know nothing of them.
import type { Dtype, MxArray } from '../mlx';

/** What one forward pass of L new tokens per row sees. */
export interface ForwardStep {
  /** [B, L] int32: the position of every new token in its own sequence. */
  positions: MxArray;
  /**
   * Additive attention mask [B, 1, L, S] in the compute dtype (0 = visible, large negative =
   * hidden), S = the key columns `updateAndFetch` returns; undefined when every query may see
   * every key.
   */
  mask: MxArray | undefined;
}

export interface KVCache {
  /** Number of transformer layers the cache holds keys and values for. */
  readonly numLayers: number;
  /**
   * Called once by the model at the start of a forward pass of `length` new tokens per row,
   * before any `updateAndFetch`. `dtype` is the compute dtype (for the mask).
   */
  beginForward(length: number, dtype: Dtype): ForwardStep;
  /**
   * Appends this pass's keys and values ([B, kvHeads, L, headDim]) of one layer and returns
   * all of that layer's keys and values ([B, kvHeads, S, headDim]; S may include padding and
   * spare columns, which the mask hides).
   */
  updateAndFetch(layer: number, keys: MxArray, values: MxArray): [MxArray, MxArray];
}
