// Log-probabilities of emitted tokens, for requests that ask for them (OpenAI's `logprobs`):
// the model's own distribution at each position, log-softmax of the raw logits, before
// temperature, penalties and filters change it (what vLLM reports by default), so the figures
// describe the model whatever the request sampled with.
import type { TokenLogprob } from '../../batching/request-types';
import { mx, type MxArray } from '../mlx';

/** One emitted token to report: the row of logits that produced it, the token, how many alternatives. */
export interface LogprobAsk {
  position: number;
  token: number;
  top: number;
}

/**
 * The log-probability of each asked token in its row of `logits` [P, V], and the `top` most likely
 * tokens of that row (most likely first), read back in one transfer.
 */
export function tokenLogprobs(logits: MxArray, asks: readonly LogprobAsk[]): TokenLogprob[] {
  if (asks.length === 0) return [];
  const rows = mx.take(logits, mx.array(asks.map((a) => a.position), mx.int32), 0).astype(mx.float32);
  const logp = mx.subtract(rows, mx.logsumexp(rows, -1, true));
  const chosen = mx.takeAlongAxis(logp, mx.array(asks.map((a) => a.token), mx.int32).reshape([asks.length, 1]), -1).reshape([asks.length]);
  const vocab = logp.shape[1];
  const k = Math.min(vocab, Math.max(...asks.map((a) => a.top)));
  let ids: number[][] = [];
  let values: number[][] = [];
  if (k > 0) {
    const part = k < vocab ? mx.argpartition(mx.negative(logp), k - 1, -1).index(mx.Slice(), mx.Slice(0, k)) : mx.broadcastTo(mx.arange(0, vocab, 1, mx.int32), [asks.length, vocab]);
    const topValues = mx.takeAlongAxis(logp, part, -1);
    ids = part.tolist() as number[][];
    values = topValues.tolist() as number[][];
  }
  const picked = chosen.tolist() as number[];
  return asks.map((a, i) => {
    const top = (ids[i] ?? []).map((token, j) => ({ token, logprob: values[i][j] }));
    top.sort((x, y) => y.logprob - x.logprob || x.token - y.token);
    return { token: a.token, logprob: picked[i], top: top.slice(0, a.top) };
  });
}
