// Scaled dot-product attention for every model, per backend. On Metal it is MLX's fused kernel
// (mx.fast.scaledDotProductAttention). On the CPU MLX runs that call as plain operations, slow
// here for two reasons (docs/PERFORMANCE.md, "Attention on the CPU as compiled pieces"):
// - with grouped-query attention it multiplies each query head by its own broadcast copy of the
//   keys and values, and MLX's CPU matmul copies them out (an 8-row decode step over 1,100 keys
//   spent 11 ms a layer there, 4 ms here);
// - its softmax is a kernel of its own with a scalar `exp` (16 ms for 14 heads x 125 queries x
//   2,200 keys, where the same `exp` compiled as vector code takes 4 ms).
// So on the CPU backend: the queries of the heads sharing one key/value head form one block of
// G x L rows, multiplied by those keys once; the mask added; each row's max; `exp(s - max)` as
// one compiled kernel (built as vector code, native/cpu-jit.ts); the product with the values; the
// division by the row sums. Row sums come from that product (the values get a column of ones)
// when the block is tall, else from a reduction. A fully hidden row (padding) gets uniform
// weights, as with MLX's softmax. MLX_BATCH_CPU_ATTENTION=0 runs MLX's own call on the CPU too.
import { mx, type MxArray } from '../mlx';
import { currentDevice } from '../device';
import { compiled } from './compiled';

/** The CPU path is on (MLX_BATCH_CPU_ATTENTION=0 turns it off). */
export function cpuAttentionOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MLX_BATCH_CPU_ATTENTION !== '0';
}

/** Blocks of at least this many query rows take their row sums from the product with the values. */
const SUMS_FROM_PRODUCT_ROWS = 64;

const expShifted = compiled((s: MxArray, max: MxArray) => mx.exp(mx.subtract(s, max)));
const divided = compiled((o: MxArray, sums: MxArray) => mx.divide(o, sums));

/**
 * Attention of queries [B, heads, L, D] over keys and values [B, kvHeads, S, D], with an additive
 * mask [B or 1, 1, L, S] (or already [B or 1, 1, 1, L, S]); returns [B, heads, L, D].
 */
export function scaledDotProductAttention(q: MxArray, keys: MxArray, values: MxArray, scale: number, mask: MxArray | undefined): MxArray {
  const [b, heads, l, d] = q.shape;
  const kvHeads = keys.shape[1];
  if (currentDevice() !== 'cpu' || !cpuAttentionOn() || q.dtype !== mx.float32) {
    // MLX's grouped-query path needs the mask as [B, 1, 1, L, S]: a 4-D one is broadcast against the wrong axes.
    const m = mask && heads !== kvHeads && mask.ndim === 4 ? mask.reshape([mask.shape[0], 1, 1, l, -1]) : mask;
    return mx.fast.scaledDotProductAttention(q, keys, values, scale, m);
  }
  const s = keys.shape[2];
  const group = heads / kvHeads;
  const rows = group * l;
  const scores = mx.matmul(mx.multiply(q, mx.array(scale, q.dtype)).reshape([b, kvHeads, rows, d]), mx.swapaxes(keys, 2, 3));
  const masked = mask ? mx.add(scores.reshape([b, kvHeads, group, l, s]), mask.reshape([mask.shape[0], 1, 1, l, s])).reshape([b, kvHeads, rows, s]) : scores;
  // The max only keeps exp in range: the weights do not depend on it, nor does their gradient.
  const weights = expShifted(masked, mx.stopGradient(mx.max(masked, -1, true)));
  let out: MxArray;
  if (rows >= SUMS_FROM_PRODUCT_ROWS) {
    const both = mx.matmul(weights, mx.concatenate([values, mx.ones([b, kvHeads, s, 1], values.dtype)], 3));
    out = divided(both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(0, d)), both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(d, d + 1)));
  } else {
    out = divided(mx.matmul(weights, values), mx.sum(weights, -1, true));
  }
  return out.reshape([b, heads, l, d]);
}
