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
// MLX runs each operation on one core; a large single-row attention (a prompt chunk over a long
// context) is split in two halves of its key/value heads, each on its own CPU stream, which MLX
// runs on its own thread.
import { mx, type MxArray } from '../mlx';
import { currentDevice } from '../device';
import { compiled } from './compiled';

/** The CPU path is on (MLX_BATCH_CPU_ATTENTION=0 turns it off). */
export function cpuAttentionOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MLX_BATCH_CPU_ATTENTION !== '0';
}

/** Blocks of at least this many query rows take their row sums from the product with the values. */
const SUMS_FROM_PRODUCT_ROWS = 64;
/** Scores (query rows x keys, all heads) from which a single-row attention runs on two streams. */
export const TWO_STREAM_SCORES = 1 << 20;

/**
 * Where one block of attention runs: a CPU stream and the compiled kernels traced on it (a
 * compiled graph replays on the stream it was traced on, so each stream has its own).
 */
interface Lane {
  stream: ReturnType<typeof mx.newStream> | typeof mx.cpu;
  expShifted: (s: MxArray, max: MxArray) => MxArray;
  divided: (o: MxArray, sums: MxArray) => MxArray;
}

function lane(stream: Lane['stream']): Lane {
  return {
    stream,
    expShifted: compiled((s: MxArray, max: MxArray) => mx.exp(mx.subtract(s, max))),
    divided: compiled((o: MxArray, sums: MxArray) => mx.divide(o, sums)),
  };
}

let mainLane: Lane | undefined;
let sideLanes: [Lane, Lane] | undefined;

/**
 * Attention of queries [B, heads, L, D] over keys and values [B, kvHeads, S, D], with an additive
 * mask [B or 1, 1, L, S] (or already [B or 1, 1, 1, L, S]); returns [B, heads, L, D].
 */
export function scaledDotProductAttention(q: MxArray, keys: MxArray, values: MxArray, scale: number, mask: MxArray | undefined): MxArray {
  const [b, heads, l] = q.shape;
  const kvHeads = keys.shape[1];
  if (currentDevice() !== 'cpu' || !cpuAttentionOn() || q.dtype !== mx.float32) {
    // MLX's grouped-query path needs the mask as [B, 1, 1, L, S]: a 4-D one is broadcast against the wrong axes.
    const m = mask && heads !== kvHeads && mask.ndim === 4 ? mask.reshape([mask.shape[0], 1, 1, l, -1]) : mask;
    return mx.fast.scaledDotProductAttention(q, keys, values, scale, m);
  }
  mainLane ??= lane(mx.cpu);
  if (b === 1 && kvHeads % 2 === 0 && heads * l * keys.shape[2] >= TWO_STREAM_SCORES) {
    sideLanes ??= [lane(mx.newStream(mx.cpu)), lane(mx.newStream(mx.cpu))];
    return attendSplit(q, keys, values, scale, mask, sideLanes);
  }
  return attendBlock(q, keys, values, scale, mask, mainLane);
}

/** `fn` with `ln`'s stream as the CPU's default stream, so that compiled kernels traced inside it run there. */
function onStream<T>(ln: Lane, fn: () => T): T {
  const scope = mx.stream(ln.stream);
  try {
    return fn();
  } finally {
    scope[Symbol.dispose]();
  }
}

/**
 * The products on the default stream (OpenBLAS threads them), the elementwise passes over the
 * scores of each half of the key/value heads on a stream of its own.
 */
function attendSplit(q: MxArray, keys: MxArray, values: MxArray, scale: number, mask: MxArray | undefined, lanes: [Lane, Lane]): MxArray {
  const [b, heads, l, d] = q.shape;
  const [, kvHeads, s] = keys.shape;
  const group = heads / kvHeads;
  const rows = group * l;
  const half = kvHeads / 2;
  const scores = mx.matmul(mx.multiply(q, mx.array(scale, q.dtype)).reshape([b, kvHeads, rows, d]), mx.swapaxes(keys, 2, 3));
  const withOnes = mx.concatenate([values, mx.ones([b, kvHeads, s, 1], values.dtype)], 3);
  const outs = lanes.map((ln, i) => {
    const at = mx.Slice(i * half, (i + 1) * half);
    const weights = onStream(ln, () => {
      const part = scores.index(mx.Slice(), at);
      const masked = mask ? mx.add(part.reshape([b, half, group, l, s]), mask.reshape([mask.shape[0], 1, 1, l, s])).reshape([b, half, rows, s]) : part;
      return ln.expShifted(masked, mx.stopGradient(mx.max(masked, -1, true)));
    });
    const both = mx.matmul(weights, withOnes.index(mx.Slice(), at));
    return onStream(ln, () => ln.divided(both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(0, d)), both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(d, d + 1))));
  });
  return mx.concatenate(outs, 1).reshape([b, heads, l, d]);
}

/** The compiled pieces for one block of heads, on `ln`'s stream. */
function attendBlock(q: MxArray, keys: MxArray, values: MxArray, scale: number, mask: MxArray | undefined, ln: Lane): MxArray {
  const [b, heads, l, d] = q.shape;
  const [, kvHeads, s] = keys.shape;
  const st = ln.stream;
  const group = heads / kvHeads;
  const rows = group * l;
  const scores = mx.matmul(mx.multiply(q, mx.array(scale, q.dtype), st).reshape([b, kvHeads, rows, d]), mx.swapaxes(keys, 2, 3, st), st);
  const masked = mask ? mx.add(scores.reshape([b, kvHeads, group, l, s]), mask.reshape([mask.shape[0], 1, 1, l, s]), st).reshape([b, kvHeads, rows, s]) : scores;
  // The max only keeps exp in range: the weights do not depend on it, nor does their gradient.
  const weights = ln.expShifted(masked, mx.stopGradient(mx.max(masked, -1, true, st), st));
  let out: MxArray;
  if (rows >= SUMS_FROM_PRODUCT_ROWS) {
    const both = mx.matmul(weights, mx.concatenate([values, mx.ones([b, kvHeads, s, 1], values.dtype, st)], 3, st), st);
    out = ln.divided(both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(0, d)), both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(d, d + 1)));
  } else {
    out = ln.divided(mx.matmul(weights, values, st), mx.sum(weights, -1, true, st));
  }
  return out.reshape([b, heads, l, d]);
}
