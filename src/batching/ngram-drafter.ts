// Prompt-lookup drafting (n-gram speculation): a running request proposes its next tokens by
// finding the latest earlier place where its last few tokens occurred (in its prompt, its own
// output, or a prediction the client sent) and copying what followed there. Code completion and
// edits copy heavily from their context, so these guesses are often right, and the engine checks
// all of them in the same forward pass as the row's next token. Pure token logic: no model.
//
// How long a row's drafts are follows its recent acceptance (DraftState): a row whose guesses keep
// being right drafts longer, one whose guesses keep failing stops drafting for a while.

export interface DraftOptions {
  /** Most tokens proposed in one step. */
  maxDraft: number;
  /** Longest suffix matched (tried first). */
  maxNgram: number;
  /** Shortest suffix matched. */
  minNgram: number;
}

/** Weight a draft's outcome keeps per later draft in a row's acceptance estimate. */
const RECENT_DECAY = 0.8;

/** Longest pause of a row whose drafts keep failing, in steps. */
const MAX_PAUSE_STEPS = 256;

export const DEFAULT_DRAFT_OPTIONS: DraftOptions = { maxDraft: 8, maxNgram: 4, minNgram: 2 };

/**
 * Up to `max` tokens that followed the latest earlier occurrence of the last n tokens of `tokens`
 * (n from maxNgram down to minNgram; the longest suffix that occurs wins), searched in `extra` (a
 * prediction of the output the client sent) and then in `tokens` itself. [] when nothing matches.
 * In the prediction, the occurrence that wins is the one whose continuation lies nearest
 * `extraAt` (where the output has got to in it: the output's length, as an edit's output follows
 * its prediction token for token); without it, the latest. Code repeats short runs of tokens (an
 * indent and a keyword), and the latest of them is seldom where the output is.
 */
export function proposeDraft(tokens: readonly number[], max: number, extra: readonly number[] = [], options: DraftOptions = DEFAULT_DRAFT_OPTIONS, extraAt = extra.length): number[] {
  const end = tokens.length;
  if (max <= 0) return [];
  for (let n = Math.min(options.maxNgram, end - 1); n >= options.minNgram; n--) {
    // A prediction the client sent is the better guess where it matches; then the latest
    // earlier occurrence in the row's own tokens (not the suffix itself).
    let best = -1;
    for (let at = extra.length - n - 1; at >= 0; at--) {
      if (matchesSuffixIn(extra, tokens, at, n) && (best < 0 || Math.abs(at + n - extraAt) < Math.abs(best + n - extraAt))) best = at;
    }
    if (best >= 0) return extra.slice(best + n, best + n + max);
    for (let at = end - n - 1; at >= 0; at--) {
      if (matchesSuffixIn(tokens, tokens, at, n)) return tokens.slice(at + n, Math.min(at + n + max, end));
    }
  }
  return [];
}

/** haystack[at, at + n) equals the last n tokens of `tokens`. */
function matchesSuffixIn(haystack: readonly number[], tokens: readonly number[], at: number, n: number): boolean {
  const off = tokens.length - n;
  for (let i = 0; i < n; i++) if (haystack[at + i] !== tokens[off + i]) return false;
  return true;
}

/**
 * One request's drafting: how many tokens to propose next and whether to propose at all.
 * Draft length grows by 2 after a fully accepted draft and falls to one more than was accepted
 * otherwise (the schedule Hugging Face's assisted generation uses). A row that has drafted at
 * least `probeTokens` tokens with an acceptance rate below `minAcceptance` (a moving average)
 * pauses drafting for `pauseSteps` steps, then tries again (the text it copies may change); a
 * failed retry pauses it twice as long, up to MAX_PAUSE_STEPS, and success resets the pause.
 */
export class DraftState {
  private length: number;
  private rate = 1;
  private drafted = 0;
  private pausedFor = 0;
  private pause: number;
  /** Draft tokens proposed and accepted over the request's life (usage, metrics). */
  proposedTotal = 0;
  acceptedTotal = 0;
  /** Recent accepted draft tokens and drafts cut short by a rejection, decayed (see `acceptance`). */
  private recentAccepted = 2;
  private recentRejections = 1;

  constructor(
    private readonly maxDraft = DEFAULT_DRAFT_OPTIONS.maxDraft,
    private readonly minAcceptance = 0.25,
    private readonly probeTokens = 8,
    private readonly pauseSteps = 16,
  ) {
    this.length = Math.min(4, maxDraft);
    this.pause = pauseSteps;
  }

  /** Tokens to propose this step (0 while paused); counts a paused step. */
  nextLength(): number {
    if (this.pausedFor > 0) {
      this.pausedFor--;
      return 0;
    }
    return this.length;
  }

  /**
   * The chance that a draft token is accepted given that the ones before it were: accepted tokens
   * over accepted tokens plus rejections, over recent drafts (the estimate of a geometric run's
   * continuation probability, where a draft accepted in full ends without a rejection).
   */
  get acceptance(): number {
    return this.recentAccepted / (this.recentAccepted + this.recentRejections);
  }

  /** What the engine accepted of a proposed draft of `proposed` tokens. */
  record(proposed: number, accepted: number): void {
    if (proposed <= 0) return;
    this.proposedTotal += proposed;
    this.acceptedTotal += accepted;
    this.recentAccepted = RECENT_DECAY * this.recentAccepted + accepted;
    this.recentRejections = RECENT_DECAY * this.recentRejections + (accepted < proposed ? 1 : 0);
    this.length = accepted === proposed ? Math.min(this.maxDraft, this.length + 2) : Math.max(1, accepted + 1);
    const ratio = accepted / proposed;
    this.drafted += proposed;
    this.rate = 0.7 * this.rate + 0.3 * ratio;
    if (this.rate >= this.minAcceptance) this.pause = this.pauseSteps;
    else if (this.drafted >= this.probeTokens) {
      // Paused; one failed draft after the pause pauses it again, twice as long (up to a cap).
      this.pausedFor = this.pause;
      this.pause = Math.min(this.pause * 2, MAX_PAUSE_STEPS);
      this.drafted = this.probeTokens;
      this.rate = 0;
      this.length = 1;
    }
  }
}
