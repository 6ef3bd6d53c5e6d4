// What a step costs, learned from the steps the scheduler has timed: a decode-only step for a
// given number of rows, and what each further token (a prompt token beside the rows, a draft
// token) adds to it. The scheduler uses it to give prompts of normal and background requests as
// many tokens beside running streams as keeps each stream's gap between tokens within a factor of
// a decode-only step (after Sarathi-Serve's stall-free batching, which sizes chunks to a
// time-between-tokens target). Estimates are moving averages, so they follow the contexts' growth
// and the machine's load.

/** Weight of the newest measurement in a moving average. */
const SMOOTHING = 0.25;

const average = (old: number | undefined, sample: number): number => (old === undefined ? sample : old + SMOOTHING * (sample - old));

export interface TimedStep {
  /** Decode rows in the step. */
  rows: number;
  /** Tokens beyond one per decode row: prompt tokens, draft tokens and their padding. */
  extraTokens: number;
  ms: number;
}

export class StepCost {
  /** Decode-only step time by number of rows. */
  readonly #decodeMs = new Map<number, number>();
  /** What one extra token adds to a step with decode rows. */
  #perTokenMs: number | undefined;

  observe({ rows, extraTokens, ms }: TimedStep): void {
    if (rows === 0 || !(ms >= 0)) return;
    if (extraTokens === 0) {
      this.#decodeMs.set(rows, average(this.#decodeMs.get(rows), ms));
      return;
    }
    const decode = this.decodeMs(rows);
    if (decode !== undefined) this.#perTokenMs = average(this.#perTokenMs, Math.max(0, ms - decode) / extraTokens);
  }

  /**
   * The moving average of a decode-only step of `rows` rows; for a number of rows not timed yet,
   * that of the nearest fewer rows timed (a step costs more with more rows), else of the nearest
   * more; undefined before any decode-only step.
   */
  decodeMs(rows: number): number | undefined {
    const own = this.#decodeMs.get(rows);
    if (own !== undefined) return own;
    let below: number | undefined;
    let above: number | undefined;
    for (const r of this.#decodeMs.keys()) {
      if (r < rows && (below === undefined || r > below)) below = r;
      if (r > rows && (above === undefined || r < above)) above = r;
    }
    const nearest = below ?? above;
    return nearest === undefined ? undefined : this.#decodeMs.get(nearest);
  }

  /** The moving average of what one extra token adds to a step, once one was timed. */
  get perTokenMs(): number | undefined {
    return this.#perTokenMs;
  }

  /**
   * Most extra tokens a step of `rows` decode rows may take so that it lasts at most `factor`
   * times a decode-only step: 0 before any decode-only step was timed (the next step then is
   * one), 1 until an extra token's cost is known, `ceiling` when steps or tokens take no
   * measurable time.
   */
  extraTokensWithin(rows: number, factor: number, ceiling: number): number {
    const decode = this.decodeMs(rows);
    if (decode === undefined) return 0;
    const perToken = this.#perTokenMs;
    if (decode <= 0 || perToken === 0) return ceiling;
    if (perToken === undefined) return 1;
    return Math.max(1, Math.min(ceiling, Math.floor(((factor - 1) * decode) / perToken)));
  }
}
