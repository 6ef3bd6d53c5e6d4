// Token sampling for a batch of rows, each with its own parameters. Greedy rows share one
// argmax over the batch; sampled rows apply temperature, top-k and top-p, then draw with a
// key derived from (seed, step) so a seeded request is reproducible whatever batch it is in.
// Every row's draw stays lazy; a batch reads its tokens back in one transfer (one sync a step).
import { mx, type MxArray } from '../mlx';
import type { SamplingParams } from '../../batching/request-types';

const NEG_INF = -Infinity;

/** One request's sampling state: its parameters, seed and how many tokens it has drawn. */
export class RowSampler {
  private step = 0;
  readonly seed: number;

  constructor(readonly params: SamplingParams) {
    this.seed = params.seed ?? Math.floor(Math.random() * 0x7fffffff);
  }

  get greedy(): boolean {
    return this.params.temperature <= 0;
  }

  /** Samples one token from a [V] row of logits. */
  sample(row: MxArray): number {
    return this.draw(row).item() as number;
  }

  /** The token drawn from a [V] row, as a lazy int32 scalar (nothing is evaluated). */
  draw(row: MxArray): MxArray {
    this.step += 1;
    if (this.greedy) return mx.argmax(row).astype(mx.int32);
    const key = mx.random.key(mixSeed(this.seed, this.step));
    const logits = filterLogits(row, this.params);
    return mx.random.categorical(logits, -1, undefined, undefined, key).astype(mx.int32);
  }
}

/** Samples one token per row of `logits` [B, V]; `rows[i]` samples row i. */
export function sampleBatch(logits: MxArray, rows: RowSampler[]): number[] {
  if (rows.length === 0) return [];
  if (rows.every((r) => r.greedy)) return mx.argmax(logits, -1).tolist() as number[];
  const tokens = rows.map((r, i) => r.draw(mx.take(logits, mx.array(i, mx.int32), 0)));
  return mx.stack(tokens).tolist() as number[];
}

/** Temperature, then top-k, then top-p (nucleus) over one row of logits; lazy (no read-back). */
export function filterLogits(row: MxArray, p: SamplingParams): MxArray {
  let logits = mx.divide(row.astype(mx.float32), mx.array(p.temperature, mx.float32));
  const vocab = logits.shape[logits.shape.length - 1];
  if (p.topK > 0 && p.topK < vocab) {
    const kth = mx.min(mx.topk(logits, p.topK, -1));
    logits = mx.where(mx.less(logits, kth), mx.array(NEG_INF, mx.float32), logits);
  }
  if (p.topP > 0 && p.topP < 1) {
    const probs = mx.softmax(logits, -1);
    const desc = mx.negative(mx.sort(mx.negative(probs), -1));
    const cum = mx.cumsum(desc, -1);
    // Keep the smallest prefix of the sorted tokens whose mass reaches topP.
    // The last kept index is the count of tokens below topP (the prefix plus one, less one).
    const below = mx.sum(mx.less(cum, mx.array(p.topP, mx.float32))).astype(mx.int32);
    const last = mx.minimum(below, mx.array(vocab - 1, mx.int32));
    const threshold = mx.take(desc, last);
    logits = mx.where(mx.less(probs, threshold), mx.array(NEG_INF, mx.float32), logits);
  }
  return logits;
}

function mixSeed(seed: number, step: number): number {
  let h = (seed ^ Math.imul(step, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
