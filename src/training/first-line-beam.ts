// Beam search over the first line of an infill: the lines the model itself ranks highest at the
// cursor. `eval-model --first-line-beams N` uses it to tell "greedy decoding misses a line the
// model ranks first" from "the model does not have the line among its best N at all".
import { BatchKVCache } from '../server/cache/batch-kv-cache';
import type { MemoryReclaimer } from '../server/memory';
import { mx } from '../server/mlx';
import type { LanguageModel } from '../server/model/types';
import type { Tokenizer } from '../server/tokenizer/tokenizer';

export interface LineCandidate {
  /** The first line, without its newline. */
  line: string;
  /** Sum of the log-probabilities of its tokens, the one that ends it (newline or stop token) included. */
  logprob: number;
  /** Its tokens, the ending one included. */
  ids: number[];
}

interface Beam { ids: number[]; logprob: number; parent: number; last: number }

/**
 * The finished first lines of a `width`-beam search from `promptIds`, most likely first. A beam
 * finishes at the token that brings a newline or at a stop token; the search ends when no live
 * beam can still beat the best finished line (log-probabilities only fall) or after `maxNewTokens`.
 */
export async function firstLineBeams(
  model: LanguageModel, tokenizer: Tokenizer, promptIds: readonly number[], stopIds: ReadonlySet<number>,
  width: number, maxNewTokens: number, reclaim: MemoryReclaimer,
): Promise<LineCandidate[]> {
  const cache = BatchKVCache.forPrompts(model.args.numHiddenLayers, [promptIds.length]);
  let logits = model.forward(mx.array([...promptIds], mx.int32).reshape([1, promptIds.length]), cache, { lastOnly: true });
  let beams: Beam[] = [{ ids: [], logprob: 0, parent: 0, last: -1 }];
  const finished: LineCandidate[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const flat = logits.reshape([beams.length, -1]).astype(mx.float32);
    const logprobs = mx.subtract(flat, mx.logsumexp(flat, -1, true));
    const top = mx.argsort(mx.negative(logprobs), -1).index(mx.Slice(), mx.Slice(0, width));
    const values = mx.takeAlongAxis(logprobs, top, -1);
    mx.eval(top, values, ...cache.arrays());
    const ids = top.tolist() as number[][];
    const lps = values.tolist() as number[][];
    const candidates: Beam[] = beams.flatMap((b, r) => ids[r].map((id, j) => ({ ids: [...b.ids, id], logprob: b.logprob + lps[r][j], parent: r, last: id })));
    candidates.sort((a, b) => b.logprob - a.logprob);
    const live: Beam[] = [];
    for (const c of candidates) {
      if (live.length === width) break;
      const text = tokenizer.decode(c.ids, { skipSpecialTokens: true });
      const nl = text.indexOf('\n');
      if (stopIds.has(c.last) || nl >= 0) finished.push({ line: nl >= 0 ? text.slice(0, nl) : text, logprob: c.logprob, ids: c.ids });
      else live.push(c);
    }
    const best = Math.max(-Infinity, ...finished.map((f) => f.logprob));
    beams = live.filter((b) => b.logprob > best);
    if (beams.length === 0) break;
    cache.keep(beams.map((b) => b.parent));
    logits = model.forward(mx.array(beams.map((b) => b.last), mx.int32).reshape([beams.length, 1]), cache, { lastOnly: true });
    await reclaim.step();
  }
  return finished.sort((a, b) => b.logprob - a.logprob);
}
