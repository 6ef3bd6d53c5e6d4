// Token sampling for a batch of rows, each with its own parameters. Greedy rows share one
// argmax over the batch; sampled rows apply temperature, top-k and top-p, then draw with a
// key derived from (seed, step) so a seeded request is reproducible whatever batch it is in.
// Every row's draw stays lazy; a batch reads its tokens back in one transfer (one sync a step).
// Draft tokens (speculative decoding) are checked here too: greedy rows accept while the argmax
// agrees, sampled rows by speculative sampling, so the output follows the request's distribution.
// Penalties (presence, frequency, repetition) read the row's tokens so far, draft tokens before
// the position checked included, so a draft is checked against what one-at-a-time decoding sees.
import { mx, type MxArray } from '../mlx';
import { DEFAULT_REPETITION_WINDOW, type SamplingParams } from '../../batching/request-types';

const NEG_INF = -Infinity;
/** Keeps the accept test's uniform draw apart from the token draw of the same output position. */
const ACCEPT_SALT = 0x5bd1e995;

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

  /** Penalties that depend on the tokens so far. */
  get penalized(): boolean {
    const p = this.params;
    return (p.presencePenalty ?? 0) !== 0 || (p.frequencyPenalty ?? 0) !== 0 || ((p.repetitionPenalty ?? 1) !== 1 && (p.repetitionWindow ?? DEFAULT_REPETITION_WINDOW) !== 0);
  }

  /** Row i of `logits` with the penalties of the tokens before it (history, then draft[0, i)). */
  private position(logits: MxArray, i: number, draft: readonly number[], history?: History): MxArray {
    const row = mx.take(logits, mx.array(i, mx.int32), 0);
    if (!this.penalized || !history) return row;
    return penalize(row, this.params, history.prompt, [...history.output, ...draft.slice(0, i)]);
  }

  /**
   * The lazy int32 vector that decides a draft (see verifyBatch): greedy, the argmax of each of
   * the k + 1 rows; sampled, k accept flags, k residual draws and one draw from the last row.
   */
  verifyLazy(logits: MxArray, draft: readonly number[], history?: History): MxArray {
    const k = draft.length;
    if (this.greedy && !(this.penalized && history)) return mx.argmax(logits, -1).astype(mx.int32);
    if (this.greedy) return mx.stack(Array.from({ length: k + 1 }, (_, i) => mx.argmax(this.position(logits, i, draft, history)).astype(mx.int32)));
    const flags: MxArray[] = [];
    const residuals: MxArray[] = [];
    for (let i = 0; i < k; i++) {
      const t = this.step + 1 + i;
      const filtered = filterLogits(this.position(logits, i, draft, history), this.params);
      const d = mx.array(draft[i], mx.int32);
      const pd = mx.take(mx.softmax(filtered, -1), d);
      const u = mx.random.uniform(0, 1, [], mx.float32, mx.random.key(mixSeed(this.seed ^ ACCEPT_SALT, t)));
      flags.push(mx.less(u, pd).astype(mx.int32).reshape([1]));
      const vocab = filtered.shape[filtered.shape.length - 1];
      const withoutDraft = mx.where(mx.equal(mx.arange(0, vocab, 1, mx.int32), d), mx.array(NEG_INF, mx.float32), filtered);
      residuals.push(mx.random.categorical(withoutDraft, -1, undefined, undefined, mx.random.key(mixSeed(this.seed, t))).astype(mx.int32).reshape([1]));
    }
    const last = filterLogits(this.position(logits, k, draft, history), this.params);
    const bonus = mx.random.categorical(last, -1, undefined, undefined, mx.random.key(mixSeed(this.seed, this.step + 1 + k))).astype(mx.int32).reshape([1]);
    return mx.concatenate([...flags, ...residuals, bonus], 0);
  }

  /** Reads verifyLazy's values: the verdict, and the draws it used are counted. */
  settle(values: readonly number[], draft: readonly number[]): Verdict {
    const k = draft.length;
    let accepted = 0;
    let token: number;
    if (this.greedy) {
      while (accepted < k && values[accepted] === draft[accepted]) accepted++;
      token = values[accepted];
    } else {
      while (accepted < k && values[accepted] === 1) accepted++;
      token = accepted < k ? values[k + accepted] : values[2 * k];
    }
    this.step += accepted + 1;
    return { accepted, token };
  }

  /** Samples one token from a [V] row of logits: a check of an empty draft (its next token). */
  sample(row: MxArray): number {
    const values = this.verifyLazy(row.reshape([1, -1]), []).tolist() as number[];
    return this.settle(values, []).token;
  }
}

/** What checking a row's draft gave: how many draft tokens the model accepted, and the token after them. */
export interface Verdict {
  accepted: number;
  token: number;
}

/**
 * A row to check: its sampler and its draft. Its rows of logits (draft.length + 1 of them, one
 * after another in the batch's logits) give the distribution of the token after each input: the
 * first after the row's last real token, row i after draft token i.
 */
export interface DraftCheck {
  sampler: RowSampler;
  draft: readonly number[];
  /** The row's tokens before the draft, which penalties read. */
  history?: History;
}

/** A row's tokens so far: its prompt and what it has generated. */
export interface History {
  prompt: readonly number[];
  output: readonly number[];
}

/**
 * Checks every row's draft with one read-back. Greedy rows accept draft tokens while each equals
 * the argmax before it, then take the argmax after the last accepted one (exactly what decoding
 * one token at a time gives). Sampled rows use speculative sampling with a draft that is certain
 * (q = 1 on the draft token): draft token d is accepted with probability p(d); the first rejected
 * one is replaced by a draw from p without d (the residual max(p - q, 0), normalized); when all
 * are accepted the next token is drawn from the last row. Output token t uses keys derived from
 * (seed, t), so a seeded request is reproducible whatever else runs and whatever it drafts.
 */
export function verifyBatch(logits: MxArray, checks: DraftCheck[]): Verdict[] {
  if (checks.length === 0) return [];
  // Greedy rows read one argmax over all rows; sampled rows build their own draws.
  const starts: number[] = [];
  let row = 0;
  for (const c of checks) {
    starts.push(row);
    row += c.draft.length + 1;
  }
  const shared = (c: DraftCheck) => c.sampler.greedy && !(c.sampler.penalized && c.history);
  const anyGreedy = checks.some(shared);
  const sampled = checks.map((c, i) => (shared(c) ? undefined : c.sampler.verifyLazy(logits.index(mx.Slice(starts[i], starts[i] + c.draft.length + 1)), c.draft, c.history)));
  const parts = [...(anyGreedy ? [mx.argmax(logits, -1).astype(mx.int32)] : []), ...sampled.filter((a): a is MxArray => a !== undefined)];
  const flat = (parts.length === 1 ? parts[0] : mx.concatenate(parts, 0)).tolist() as number[];
  let at = anyGreedy ? row : 0;
  return checks.map((c, i) => {
    if (shared(c)) return c.sampler.settle(flat.slice(starts[i], starts[i] + c.draft.length + 1), c.draft);
    const n = sampled[i]!.shape[0];
    const verdict = c.sampler.settle(flat.slice(at, at + n), c.draft);
    at += n;
    return verdict;
  });
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
  const minP = p.minP ?? 0;
  if (minP > 0) {
    // Relative to the most likely token: logit >= max logit + log(minP).
    const floor = mx.add(mx.max(logits), mx.array(Math.log(minP), mx.float32));
    logits = mx.where(mx.less(logits, floor), mx.array(NEG_INF, mx.float32), logits);
  }
  return logits;
}

/**
 * One row of logits [V] with the request's penalties applied, lazily: presence and frequency
 * (OpenAI: subtracted per token generated, once / per use) over `output`, and the repetition
 * penalty (llama.cpp's repeat_penalty: positive logits divided, negative multiplied) over the
 * last repetitionWindow tokens of prompt and output.
 */
export function penalize(row: MxArray, p: SamplingParams, prompt: readonly number[], output: readonly number[]): MxArray {
  const presence = p.presencePenalty ?? 0;
  const frequency = p.frequencyPenalty ?? 0;
  const repetition = p.repetitionPenalty ?? 1;
  const window = p.repetitionWindow ?? DEFAULT_REPETITION_WINDOW;
  const counts = new Map<number, number>();
  if (presence !== 0 || frequency !== 0) for (const t of output) counts.set(t, (counts.get(t) ?? 0) + 1);
  const recent = new Set<number>();
  if (repetition !== 1 && window !== 0) {
    const n = window < 0 ? prompt.length + output.length : window;
    for (let i = Math.max(0, output.length - n); i < output.length; i++) recent.add(output[i]);
    for (let i = Math.max(0, prompt.length - Math.max(0, n - output.length)); i < prompt.length && n > output.length; i++) recent.add(prompt[i]);
  }
  const ids = [...new Set([...counts.keys(), ...recent])].sort((a, b) => a - b);
  if (ids.length === 0) return row;
  const at = mx.array(ids, mx.int32);
  let vals = mx.take(row, at).astype(mx.float32);
  if (recent.size > 0) {
    const hit = mx.array(ids.map((t) => (recent.has(t) ? 1 : 0)), mx.bool_);
    const scaled = mx.where(mx.greater(vals, mx.array(0, mx.float32)), mx.divide(vals, mx.array(repetition, mx.float32)), mx.multiply(vals, mx.array(repetition, mx.float32)));
    vals = mx.where(hit, scaled, vals);
  }
  if (counts.size > 0) {
    const minus = ids.map((t) => {
      const c = counts.get(t) ?? 0;
      return c > 0 ? presence + frequency * c : 0;
    });
    vals = mx.subtract(vals, mx.array(minus, mx.float32));
  }
  const out = mx.add(row.astype(mx.float32), mx.array(0, mx.float32));
  out.indexPut_(at, vals);
  return out;
}

function mixSeed(seed: number, step: number): number {
  let h = (seed ^ Math.imul(step, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
