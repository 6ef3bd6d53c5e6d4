// What a step costs, learned from the steps the scheduler has timed: a decode-only step for a
// given number of rows, what each prompt token beside the rows adds, and what each draft token
// (a checked guess, padding included) adds. Prompt tokens and draft tokens are learned apart:
// a prompt chunk runs as a part of its own with attention over its own cache, while draft tokens
// ride in the decode rows' part, so the two cost differently per token.
//
// The scheduler uses it twice. Prompts of normal and background requests get as many tokens
// beside running streams as keep each stream's gap between tokens within a factor of a
// decode-only step (after Sarathi-Serve's stall-free batching, which sizes chunks to a
// time-between-tokens target). Drafts get the length that makes a step yield the most expected
// tokens per millisecond, from each row's acceptance (the choice of draft length in speculative
// decoding, made per step for the whole batch since every row is padded to the longest draft).
// A drafting step costs a decode-only step plus, for each row, a fixed part (checking drafts at
// all: a wider pass, the verification) and a part per draft token (bench/draft-step.ts measures
// both); on a small model the fixed part is most of it, on a large one on the CPU the per-token
// part. Both are fitted to drafting steps of different widths. Estimates forget old steps, so
// they follow the contexts' growth and the machine's load.

/** Weight of the newest measurement in a moving average. */
const SMOOTHING = 0.25;
/**
 * A sample counts as at most this many times the current estimate (the moving average, or what
 * the fitted line says): a step that ran a full collection or waited on the machine is not what
 * tokens cost.
 */
const OUTLIER_RATIO = 3;
/** Weight a drafting step keeps per later one in the fit of what drafts cost. */
const DRAFT_FORGET = 0.95;
/**
 * Draft lengths chosen from the estimates after which a decode-only step and steps of one- and
 * two-token drafts measure them again.
 */
const DRAFT_REFRESH_STEPS = 64;
/** The widths of the steps that measure what drafts cost (two, for a line). */
const PROBE_LENGTHS = [1, 2];

/**
 * A step beside decode rows takes at most this many times the prompt tokens of the last such step,
 * plus one: the cost of a prompt token is measured one step at a time, and a single step that
 * timed under the decode steps' median (the machine's noise, not a free token) must not hand the
 * next step the whole budget (a 1,500-token prompt's 255-token chunk beside a chat: a 1.4 s gap).
 */
const PROMPT_GROWTH = 8;

/** Decode-only step times kept per row count (their median is the estimate). */
const DECODE_SAMPLES = 7;

const lowMedian = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];
const average = (old: number | undefined, sample: number): number => (old === undefined ? sample : old + SMOOTHING * (sample - old));
const bounded = (old: number | undefined, sample: number): number => (old === undefined || old <= 0 ? sample : Math.min(sample, OUTLIER_RATIO * old));

export interface TimedStep {
  /** Decode rows in the step. */
  rows: number;
  /** Prompt tokens computed beside them. */
  promptTokens: number;
  /** Draft tokens checked, padding included: rows x the longest draft. */
  draftTokens: number;
  ms: number;
  /** Tokens the decode rows got from the step (accepted drafts included); drafting steps only need it. */
  tokens?: number;
}

/** A decode row that proposes a draft: how long, and how likely each of its tokens is accepted. */
export interface DraftingRow {
  /** Tokens it proposes (the step may check fewer). */
  tokens: number;
  /** Chance that a draft token is accepted given the tokens before it were. */
  acceptance: number;
}

/** What a drafting step adds to a decode-only step of as many rows, for each row. */
export interface DraftCost {
  /** For checking drafts at all. */
  fixedMs: number;
  /** For each draft token (the row's own or padding). */
  perTokenMs: number;
}

/**
 * y = fixed + perToken x, fitted by least squares with exponential forgetting. With too little
 * spread in x for a slope, all of y is taken as proportional to x (the dearer reading of drafts).
 */
class LineFit {
  #w = 0;
  #x = 0;
  #y = 0;
  #xx = 0;
  #xy = 0;
  /** Distinct x among the samples, up to two (a line needs two). */
  readonly #xs = new Set<number>();

  /** A sample: drafts of x tokens added y ms to each row's share `rowMs` of a decode-only step. */
  add(x: number, y: number, rowMs: number): void {
    // Outliers are bounded against the line, or against a quarter of the row's share where the
    // line says drafts cost (next to) nothing, so a line at zero can still rise.
    const line = this.line();
    if (line) y = Math.min(y, OUTLIER_RATIO * Math.max(line.fixedMs + line.perTokenMs * x, rowMs / 4));
    this.#w = DRAFT_FORGET * this.#w + 1;
    this.#x = DRAFT_FORGET * this.#x + x;
    this.#y = DRAFT_FORGET * this.#y + y;
    this.#xx = DRAFT_FORGET * this.#xx + x * x;
    this.#xy = DRAFT_FORGET * this.#xy + x * y;
    if (this.#xs.size < 2) this.#xs.add(x);
  }

  /** Samples of two distinct sizes were taken. */
  get ready(): boolean {
    return this.#xs.size >= 2;
  }

  line(): DraftCost | undefined {
    if (this.#w === 0) return undefined;
    const mx = this.#x / this.#w;
    const my = Math.max(0, this.#y / this.#w);
    if (mx <= 0) return undefined;
    const vx = this.#xx / this.#w - mx * mx;
    if (vx <= (0.1 * mx) ** 2) return { fixedMs: 0, perTokenMs: my / mx };
    const slope = (this.#xy / this.#w - mx * my) / vx;
    if (slope <= 0) return { fixedMs: my, perTokenMs: 0 };
    if (slope * mx >= my) return { fixedMs: 0, perTokenMs: my / mx };
    return { fixedMs: my - slope * mx, perTokenMs: slope };
  }
}

export class StepCost {
  /** The latest decode-only step times by number of rows (DECODE_SAMPLES of them). */
  readonly #decodeMs = new Map<number, number[]>();
  /** What one prompt token beside decode rows adds to a step. */
  #perPromptTokenMs: number | undefined;
  /** Prompt tokens of the last step that computed some beside decode rows. */
  #lastBeside = 0;
  /** What drafts add to each row of a step without a prompt chunk, against the draft length. */
  readonly #drafts = new LineFit();
  /** Drafting step shapes (rows, draft tokens) timed once: the first pass of a shape may build its graph. */
  readonly #seen = new Set<string>();
  /** Draft lengths chosen from the estimates since they were last measured. */
  #sinceRefresh = 0;
  /** Lengths the next steps take to measure the estimates (0: a decode-only step). */
  #probes: number[] = [];
  /** By number of rows: the moving average of tokens per ms that drafting steps (no prompt chunk) gave. */
  readonly #draftedRate = new Map<number, number>();

  observe({ rows, promptTokens, draftTokens, ms, tokens }: TimedStep): void {
    if (rows === 0 || !(ms >= 0)) return;
    if (promptTokens === 0 && draftTokens > 0 && tokens !== undefined && ms > 0) {
      this.#draftedRate.set(rows, average(this.#draftedRate.get(rows), tokens / ms));
    }
    if (promptTokens === 0 && draftTokens === 0) {
      const times = this.#decodeMs.get(rows) ?? [];
      times.push(ms);
      if (times.length > DECODE_SAMPLES) times.shift();
      this.#decodeMs.set(rows, times);
      return;
    }
    if (promptTokens === 0) {
      // The first pass of a drafting shape may build its graph (a compiled one is traced once): not counted.
      const shape = `${rows}:${draftTokens}`;
      if (!this.#seen.has(shape)) {
        this.#seen.add(shape);
        return;
      }
    }
    const decode = this.decodeMs(rows);
    if (decode === undefined) return;
    const extra = Math.max(0, ms - decode);
    if (promptTokens > 0) {
      const drafts = draftTokens > 0 ? this.draftMs(rows, draftTokens / rows) ?? 0 : 0;
      const old = this.#perPromptTokenMs;
      const sample = bounded(old, Math.max(0, extra - drafts) / promptTokens);
      // An estimate of zero said only that one step was within the noise: the next sample replaces it.
      this.#perPromptTokenMs = old === undefined || old <= 0 ? sample : average(old, sample);
      this.#lastBeside = promptTokens;
    } else if (this.#decodeMs.has(rows)) {
      // Against a decode-only step of as many rows: another row count's would count the rows'
      // own cost as the drafts'.
      this.#drafts.add(draftTokens / rows, extra / rows, decode / rows);
    }
  }

  /**
   * A decode-only step of `rows` rows: the median of the latest ones timed (the lower middle of an
   * even count: of the first two, the cheaper), so that a step that built its graph, ran a full
   * collection or waited on the machine does not count; for a number of rows not timed yet, that
   * of the nearest fewer rows timed (a step costs more with more rows), else of the nearest more;
   * undefined before any decode-only step.
   */
  decodeMs(rows: number): number | undefined {
    const own = this.#decodeMs.get(rows);
    if (own !== undefined) return lowMedian(own);
    let below: number | undefined;
    let above: number | undefined;
    for (const r of this.#decodeMs.keys()) {
      if (r < rows && (below === undefined || r > below)) below = r;
      if (r > rows && (above === undefined || r < above)) above = r;
    }
    const nearest = below ?? above;
    return nearest === undefined ? undefined : lowMedian(this.#decodeMs.get(nearest)!);
  }

  /** The moving average of what one prompt token beside decode rows adds, once one was timed. */
  get perPromptTokenMs(): number | undefined {
    return this.#perPromptTokenMs;
  }

  /** What drafts add to each row of a step (a fixed part and a part per draft token), once measured. */
  get draftCost(): DraftCost | undefined {
    return this.#drafts.line();
  }

  /** What drafts of `length` tokens (padding included) add to a step of `rows` rows. */
  private draftMs(rows: number, length: number): number | undefined {
    const c = this.#drafts.line();
    return c && rows * (c.fixedMs + c.perTokenMs * length);
  }

  /**
   * Most prompt tokens a step of `rows` decode rows may take so that it lasts at most `factor`
   * times a decode-only step: 0 before any decode-only step was timed (the next step then is
   * one), 1 until a prompt token's cost is known, `ceiling` when steps take no measurable time;
   * never more than PROMPT_GROWTH times the last such step's prompt tokens, plus one.
   */
  promptTokensWithin(rows: number, factor: number, ceiling: number): number {
    const decode = this.decodeMs(rows);
    if (decode === undefined) return 0;
    const perToken = this.#perPromptTokenMs;
    if (decode <= 0) return ceiling;
    if (perToken === undefined) return 1;
    const grown = Math.min(ceiling, PROMPT_GROWTH * this.#lastBeside + 1);
    if (perToken === 0) return grown;
    return Math.max(1, Math.min(grown, Math.floor(((factor - 1) * decode) / perToken)));
  }

  /**
   * The draft length for a step of `rows` decode rows (and no prompt chunk), some of which propose
   * drafts: the length L (at most `ceiling`) that maximizes the step's expected tokens per
   * millisecond,
   *   (rows + sum over drafting rows of a + a^2 + ... + a^min(tokens, L)) / (decode + rows x (fixed + L x perToken)),
   * since every row is padded to L (fixed and perToken: `draftCost`).
   *
   * What it needs is measured by the steps it chooses: 0 (a decode-only step) until a step of
   * this many rows was timed twice without drafts (the first may build its graph), then one- and
   * two-token drafts until drafts of two widths were timed (each shape's first pass is not
   * counted). Rows that always draft would leave the estimates as they were first measured (the
   * contexts grow, the machine's load changes), so every DRAFT_REFRESH_STEPS choices the same
   * steps measure them again.
   */
  draftLength(rows: number, drafting: readonly DraftingRow[], ceiling: number): number {
    const longest = Math.min(ceiling, Math.max(0, ...drafting.map((d) => d.tokens)));
    if (longest === 0) return 0;
    if ((this.#decodeMs.get(rows)?.length ?? 0) < 2) return 0;
    if (this.#probes.length === 0 && !this.#drafts.ready) this.#probes = [...PROBE_LENGTHS];
    if (this.#probes.length === 0 && this.#sinceRefresh >= DRAFT_REFRESH_STEPS) this.#probes = [0, ...PROBE_LENGTHS];
    const probe = this.#probes.shift();
    if (probe !== undefined) {
      this.#sinceRefresh = 0;
      return Math.min(probe, longest);
    }
    const decode = this.decodeMs(rows)!;
    this.#sinceRefresh++;
    const decodeRate = rows / Math.max(decode, Number.EPSILON);
    let best = 0;
    let bestRate = decodeRate;
    let expected = rows;
    for (let length = 1; length <= longest; length++) {
      for (const d of drafting) if (d.tokens >= length) expected += d.acceptance ** length;
      const rate = expected / Math.max(decode + this.draftMs(rows, length)!, Number.EPSILON);
      if (rate > bestRate) {
        best = length;
        bestRate = rate;
      }
    }
    // What drafting steps of this many rows actually gave is the last word: where they gave fewer
    // tokens per ms than decoding, the estimates are off (a step's drafts also slow the steps after
    // it: their rejected tokens stay as dead columns), and the rows decode until the next refresh
    // measures again.
    const given = this.#draftedRate.get(rows);
    if (best > 0 && given !== undefined && given < decodeRate) return 0;
    return best;
  }
}
