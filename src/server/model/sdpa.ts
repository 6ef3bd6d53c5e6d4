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

/** The switch as this process started, read once: attention runs every layer of every step. */
const CPU_ATTENTION = cpuAttentionOn();

/** Whether attention runs as compiled pieces here: on the CPU backend, unless switched off. */
export function cpuAttentionRuns(): boolean {
  return CPU_ATTENTION && currentDevice() === 'cpu';
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
  if (!cpuAttentionRuns() || q.dtype !== mx.float32) {
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
  const half = keys.shape[1] / 2;
  const scores = scaledScores(q, keys, scale);
  const withOnes = valuesWithOnes(values);
  const outs = lanes.map((ln, i) => {
    const at = mx.Slice(i * half, (i + 1) * half);
    const weights = onStream(ln, () => expWeights(scores.index(mx.Slice(), at), mask, l, ln));
    const both = mx.matmul(weights, withOnes.index(mx.Slice(), at));
    return onStream(ln, () => dividedBySums(both, d, ln));
  });
  return mx.concatenate(outs, 1).reshape([b, heads, l, d]);
}

/** The compiled pieces for all heads at once, on the default stream. */
function attendBlock(q: MxArray, keys: MxArray, values: MxArray, scale: number, mask: MxArray | undefined, ln: Lane): MxArray {
  const [b, heads, l, d] = q.shape;
  const weights = expWeights(scaledScores(q, keys, scale), mask, l, ln);
  const out = weights.shape[2] >= SUMS_FROM_PRODUCT_ROWS
    ? dividedBySums(mx.matmul(weights, valuesWithOnes(values)), d, ln)
    : ln.divided(mx.matmul(weights, values), mx.sum(weights, -1, true));
  return out.reshape([b, heads, l, d]);
}

/** Scores [B, kvHeads, G x L, S]: the queries of each key/value head's group as one block of rows. */
function scaledScores(q: MxArray, keys: MxArray, scale: number): MxArray {
  const [b, heads, l, d] = q.shape;
  const kvHeads = keys.shape[1];
  return mx.matmul(mx.multiply(q, mx.array(scale, q.dtype)).reshape([b, kvHeads, (heads / kvHeads) * l, d]), mx.swapaxes(keys, 2, 3));
}

/** exp(scores + mask - row max) for scores [B, kvHeads, G x L, S] of L queries. */
function expWeights(scores: MxArray, mask: MxArray | undefined, l: number, ln: Lane): MxArray {
  const [b, kvHeads, rows, s] = scores.shape;
  const masked = mask ? mx.add(scores.reshape([b, kvHeads, rows / l, l, s]), mask.reshape([mask.shape[0], 1, 1, l, s])).reshape([b, kvHeads, rows, s]) : scores;
  // The max only keeps exp in range: the weights do not depend on it, nor does their gradient.
  return ln.expShifted(masked, mx.stopGradient(mx.max(masked, -1, true)));
}

/** Values [B, kvHeads, S, D] with a column of ones: the product with the weights carries their row sums. */
function valuesWithOnes(values: MxArray): MxArray {
  const [b, kvHeads, s] = values.shape;
  return mx.concatenate([values, mx.ones([b, kvHeads, s, 1], values.dtype)], 3);
}

/** The first `d` columns of a product with valuesWithOnes, divided by its last (the row sums). */
function dividedBySums(both: MxArray, d: number, ln: Lane): MxArray {
  return ln.divided(both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(0, d)), both.index(mx.Slice(), mx.Slice(), mx.Slice(), mx.Slice(d, d + 1)));
}
