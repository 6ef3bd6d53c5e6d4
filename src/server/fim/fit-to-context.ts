// Server side of fill-in-the-middle: prefix and suffix text cut to fit the model's context,
// beside the pieces of other files that go before them.
import { extraContextThatFits, joinExtraContext, type ExtraContextTokens } from './extra-context';

/** Prefix and suffix text cut to fit a token budget. */
export interface FittedFimText {
  prefix: string;
  suffix: string;
}

/** How far a cut may move to land on a line boundary. */
const LINE_SNAP_CHARS = 240;

/**
 * Cuts FIM context to `budget` tokens, keeping what is nearest the cursor, the way editors
 * budget infill prompts: the suffix keeps its start and gets at most a quarter of the budget,
 * the prefix keeps its end and gets the rest. Cuts move to a line boundary when one is near.
 * `count(prefix, suffix)` is the whole prompt's token count; prefix and suffix are encoded
 * apart in every FIM layout, so each side is counted on its own (one encode per step).
 */
export function fitFimText(prefix: string, suffix: string, budget: number, count: (prefix: string, suffix: string) => number): FittedFimText {
  let p = prefix;
  let s = suffix;
  const overhead = count('', '');
  let pTokens = count(p, '') - overhead;
  let sTokens = count('', s) - overhead;
  if (overhead + pTokens + sTokens <= budget) return { prefix: p, suffix: s };
  const suffixBudget = Math.floor(budget / 4);
  for (let i = 0; i < 12 && s.length > 0 && sTokens > suffixBudget; i++) {
    const keep = Math.floor(s.length * (suffixBudget / sTokens) * 0.95);
    const nl = s.lastIndexOf('\n', keep - 1);
    s = s.slice(0, nl >= 0 && keep - nl <= LINE_SNAP_CHARS ? nl + 1 : keep);
    sTokens = count('', s) - overhead;
  }
  for (let i = 0; i < 12 && p.length > 0 && overhead + pTokens + sTokens > budget; i++) {
    const room = Math.max(0, budget - overhead - sTokens);
    const cut = p.length - Math.floor(p.length * (room / Math.max(1, pTokens)) * 0.95);
    const nl = p.indexOf('\n', cut);
    p = p.slice(nl >= 0 && nl < p.length - 1 && nl - cut < LINE_SNAP_CHARS ? nl + 1 : cut);
    pTokens = count(p, '') - overhead;
  }
  return { prefix: p, suffix: s };
}

/** A FIM prompt's texts and how many leading pieces of extra context fit beside them. */
export interface FittedFimPrompt extends FittedFimText {
  extraChunks: number;
  /** Something was left out: a piece of extra context, or text of prefix or suffix. */
  truncated: boolean;
}

/**
 * Fits prefix, suffix and extra context to `budget` tokens. The extra context gives way first: it
 * never makes the prompt too long, only its leading pieces that fit in `extraCap` tokens are kept
 * (half the context: the same pieces whatever the prefix, suffix or answer length, so a warm-up
 * computes exactly what the completions after it start with), and prefix and suffix are cut
 * (fitFimText) only when they are longer than what those pieces leave. With `cut` false prefix
 * and suffix stay whole and the pieces keep to what they leave. `count(prefix, suffix, extra)`
 * is the whole prompt's token count.
 */
export function fitFimPrompt(
  prefix: string, suffix: string, extra: ExtraContextTokens | undefined, budget: number, extraCap: number, cut: boolean,
  count: (prefix: string, suffix: string, extra?: readonly number[]) => number,
): FittedFimPrompt {
  const body = count(prefix, suffix);
  const room = cut ? extraCap : Math.min(extraCap, budget - body);
  const extraChunks = extra ? extraContextThatFits(extra, room) : 0;
  let truncated = extra !== undefined && extraChunks < extra.chunks.length;
  const extraTokens = extra ? joinExtraContext(extra, extraChunks).length : 0;
  let text: FittedFimText = { prefix, suffix };
  if (cut && body + extraTokens > budget) {
    text = fitFimText(prefix, suffix, budget - extraTokens, count);
    truncated = true;
  }
  return { ...text, extraChunks, truncated };
}
