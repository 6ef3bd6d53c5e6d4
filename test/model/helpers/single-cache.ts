// The simplest KVCache: one sequence, keys and values concatenated per layer. Enough to run a
// loaded model's forward pass in the loader tests without the batch cache.
import { mx, type Dtype, type MxArray } from '../../../src/server/mlx';
import type { ForwardStep, KVCache } from '../../../src/server/cache/types';

export class SingleSequenceCache implements KVCache {
  private offset = 0;
  private length = 0;
  private readonly keys: (MxArray | undefined)[];
  private readonly values: (MxArray | undefined)[];

  constructor(readonly numLayers: number) {
    this.keys = new Array(numLayers).fill(undefined);
    this.values = new Array(numLayers).fill(undefined);
  }

  beginForward(length: number, dtype: Dtype): ForwardStep {
    this.offset += this.length;
    this.length = length;
    const positions = mx.arange(this.offset, this.offset + length, 1, mx.int32).reshape([1, length]);
    if (length === 1) return { positions, mask: undefined };
    const total = this.offset + length;
    const q = mx.arange(this.offset, total, 1, mx.int32).reshape([length, 1]);
    const k = mx.arange(0, total, 1, mx.int32).reshape([1, total]);
    const mask = mx.where(mx.greaterEqual(q, k), mx.array(0, dtype), mx.array(-1e9, dtype)).reshape([1, 1, length, total]);
    return { positions, mask };
  }

  updateAndFetch(layer: number, keys: MxArray, values: MxArray): [MxArray, MxArray] {
    const k = this.keys[layer];
    const v = this.values[layer];
    this.keys[layer] = k ? mx.concatenate([k, keys], 2) : keys;
    this.values[layer] = v ? mx.concatenate([v, values], 2) : values;
    return [this.keys[layer] as MxArray, this.values[layer] as MxArray];
  }
}
