// What the runner counts, as plain data: live figures for the status bar (RunnerStats) and
// counters for /metrics (RunnerMetrics), added up by RunnerCounters as requests run and finish.
import type { ErrorType } from '../shared/errors';
import type { Request } from './request';
import type { FinishReason } from './request-types';
import { Histogram, RateWindow, type HistogramSnapshot } from './stats';

/** Live figures for the status bar and /v1/stats/stream. */
export interface RunnerStats {
  running: number;
  waiting: number;
  maxBatch: number;
  batching: boolean;
  /** Generated tokens per second over the last `statsWindowMs`. */
  tokensPerSecond: number;
  kvReservedTokens: number;
  kvBudgetTokens: number;
  memoryBytes: number;
  /** Requests finished so far (any reason). */
  requestsTotal: number;
  /** Speculative decoding on. */
  speculative: boolean;
  /** Draft tokens proposed and accepted so far (speculative decoding). */
  draftTokens: number;
  draftAccepted: number;
}

/** Counters for /metrics, as plain data (the server formats them). */
export interface RunnerMetrics {
  running: number;
  waiting: number;
  requestsFinished: Record<FinishReason, number>;
  promptTokens: number;
  tokensGenerated: number;
  promptTokensCached: number;
  /** Draft tokens proposed, and those the model accepted (speculative decoding). */
  draftTokens: number;
  draftAccepted: number;
  steps: number;
  /** Requests per step (decode rows plus prompt chunks). */
  batchSize: HistogramSnapshot;
  timeToFirstTokenMs: HistogramSnapshot;
  /** Failed submissions and failed requests, by error type (aborts are not errors). */
  errors: Partial<Record<ErrorType, number>>;
}

const BATCH_BOUNDS = [1, 2, 4, 8, 16, 32, 64];
const TTFT_BOUNDS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** The runner's counters: it says what happened, these add it up. */
export class RunnerCounters {
  private readonly finished: Record<FinishReason, number> = { stop: 0, length: 0, abort: 0, error: 0 };
  private readonly errors: Partial<Record<ErrorType, number>> = {};
  private readonly batchSize = new Histogram(BATCH_BOUNDS);
  private readonly ttft = new Histogram(TTFT_BOUNDS);
  private readonly rate: RateWindow;
  private promptTokens = 0;
  private tokensGenerated = 0;
  private promptTokensCached = 0;
  private draftTokensTotal = 0;
  private draftAcceptedTotal = 0;
  private steps = 0;

  /** `windowMs`: window of the live tokens/s figure. */
  constructor(windowMs: number, now: () => number) {
    this.rate = new RateWindow(windowMs, now);
  }

  /** A step ran with this many requests (decode rows plus prompt chunks). */
  step(rows: number): void {
    this.steps += 1;
    this.batchSize.observe(rows);
  }

  /** Tokens were sampled for a request; its first ones give its time to first token. */
  sampled(r: Request, tokens: number): void {
    this.tokensGenerated += tokens;
    this.rate.add(tokens);
    if (r.outputTokens.length === tokens && r.ttftMs !== undefined) this.ttft.observe(r.ttftMs);
  }

  /** A request finished; its prompt tokens count when it is given. */
  finish(reason: FinishReason, r?: Request): void {
    this.finished[reason] += 1;
    if (!r) return;
    this.promptTokens += r.numPromptTokens;
    this.promptTokensCached += r.cachedTokens;
  }

  /** A row's draft was checked: `proposed` tokens, `accepted` of them kept. */
  drafted(proposed: number, accepted: number): void {
    this.draftTokensTotal += proposed;
    this.draftAcceptedTotal += accepted;
  }

  /** Draft tokens proposed and accepted so far. */
  get drafts(): { draftTokens: number; draftAccepted: number } {
    return { draftTokens: this.draftTokensTotal, draftAccepted: this.draftAcceptedTotal };
  }

  /** A failed submission or a failed request. */
  error(type: ErrorType): void {
    this.errors[type] = (this.errors[type] ?? 0) + 1;
  }

  /** Generated tokens per second over the window. */
  get tokensPerSecond(): number {
    return this.rate.perSecond();
  }

  /** Requests finished so far (any reason). */
  get requestsTotal(): number {
    return Object.values(this.finished).reduce((a, b) => a + b, 0);
  }

  metrics(running: number, waiting: number): RunnerMetrics {
    return {
      running,
      waiting,
      requestsFinished: { ...this.finished },
      promptTokens: this.promptTokens,
      tokensGenerated: this.tokensGenerated,
      promptTokensCached: this.promptTokensCached,
      draftTokens: this.draftTokensTotal,
      draftAccepted: this.draftAcceptedTotal,
      steps: this.steps,
      batchSize: this.batchSize.snapshot(),
      timeToFirstTokenMs: this.ttft.snapshot(),
      errors: { ...this.errors },
    };
  }
}
