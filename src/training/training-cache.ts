// The KV "cache" a training forward pass uses: nothing is kept, every row starts at position 0,
// and the mask is causal. It lets training run the server's own model code unchanged.
import { mx, type Dtype, type MxArray } from '../server/mlx';
import type { ForwardStep, KVCache } from '../server/cache/types';

export class TrainingCache implements KVCache {
  constructor(readonly numLayers: number, private readonly batch: number) {}

  beginForward(length: number, dtype: Dtype): ForwardStep {
    const positions = mx.broadcastTo(mx.arange(length, mx.int32).reshape([1, length]), [this.batch, length]);
    const i = mx.arange(length, mx.int32);
    const visible = mx.greaterEqual(i.reshape([length, 1]), i.reshape([1, length]));
    const mask = mx.where(visible, mx.array(0, dtype), mx.array(-1e9, dtype)).reshape([1, 1, length, length]);
    return { positions, mask };
  }

  updateAndFetch(_layer: number, keys: MxArray, values: MxArray): [MxArray, MxArray] {
    return [keys, values];
  }
}
