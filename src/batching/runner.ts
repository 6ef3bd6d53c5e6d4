// The async loop around the pure scheduler: owns a Scheduler and a BatchEngine, turns
// submissions into streams of events, and runs `schedule -> engine.step -> update -> deliver`
// with a yield to the event loop between steps, so aborts and new requests are seen. It idles
// (no timer, no busy loop) when there is nothing to do and wakes on the next submit or abort.
import { MlxBatchError, toMlxBatchError, type ErrorType } from '../shared/errors';
import type { BatchEngine, RequestId, StepOutput } from './engine';
import { Request, validateParams } from './request';
import type { FinishReason, GenerateParams, TokenUsage } from './request-types';
import { DEFAULT_SCHEDULER_OPTIONS, ENGINE_FAILED, Scheduler, type RequestUpdate, type SchedulerOptions } from './scheduler';
import { Histogram, RateWindow, type HistogramSnapshot } from './stats';

export interface RunnerOptions extends SchedulerOptions {
  /** Window of the live tokens/s figure. */
  statsWindowMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { ...DEFAULT_SCHEDULER_OPTIONS, statsWindowMs: 5_000 };

export interface RequestTiming {
  /** Submit to first token. */
  ttftMs?: number;
  /** Mean gap between consecutive tokens. */
  meanInterTokenMs?: number;
  /** Submit to finish. */
  totalMs: number;
}

/**
 * A stream's events, the same from the runner to the HTTP edge: text deltas (one per sampled
 * token, text may be ''), then one `finish` (finishReason 'abort' when cancelled).
 */
export type GenerationEvent =
  | { type: 'delta'; text: string; tokens: number[] }
  | { type: 'finish'; finishReason: Exclude<FinishReason, 'error'>; usage: TokenUsage; timing: RequestTiming };

/** A whole generation, for callers that do not stream. */
export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: Exclude<FinishReason, 'error'>;
  usage: TokenUsage;
  timing: RequestTiming;
}

/**
 * One request's events, for one consumer. Iteration throws the request's `MlxBatchError` if it
 * fails; an abort is not an error (it ends with finishReason 'abort'). Leaving the loop early
 * (break, return, throw) aborts the request.
 */
export class GenerationStream implements AsyncIterable<GenerationEvent> {
  private readonly queue: GenerationEvent[] = [];
  private ended = false;
  private failure?: MlxBatchError;
  private wake?: () => void;

  constructor(readonly id: RequestId, private readonly cancel: () => void) {}

  /** Cancels the request (same as its AbortSignal firing). */
  abort(): void {
    if (!this.ended) this.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationEvent> {
    try {
      for (;;) {
        const ev = this.queue.shift();
        if (ev) yield ev;
        else if (this.failure) throw this.failure;
        else if (this.ended) return;
        else await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.abort();
    }
  }

  /** Reads the stream to its end. */
  async collect(): Promise<GenerationResult> {
    let text = '';
    const tokens: number[] = [];
    for await (const ev of this) {
      if (ev.type === 'delta') {
        text += ev.text;
        tokens.push(...ev.tokens);
      } else return { text, tokens, finishReason: ev.finishReason, usage: ev.usage, timing: ev.timing };
    }
    throw new MlxBatchError('internal', `Request ${this.id} ended without a final event.`);
  }

  /** @internal */
  push(ev: GenerationEvent): void {
    this.queue.push(ev);
    if (ev.type === 'finish') this.ended = true;
    this.signal();
  }

  /** @internal */
  fail(error: MlxBatchError): void {
    this.failure = error;
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

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
}

/** Counters for /metrics, as plain data (the server formats them). */
export interface RunnerMetrics {
  running: number;
  waiting: number;
  requestsFinished: Record<FinishReason, number>;
  promptTokens: number;
  tokensGenerated: number;
  promptTokensCached: number;
  steps: number;
  /** Requests per step (decode rows plus prompt chunks). */
  batchSize: HistogramSnapshot;
  timeToFirstTokenMs: HistogramSnapshot;
  /** Failed submissions and failed requests, by error type (aborts are not errors). */
  errors: Partial<Record<ErrorType, number>>;
}

interface Entry {
  stream: GenerationStream;
  detach?: () => void;
}

const BATCH_BOUNDS = [1, 2, 4, 8, 16, 32, 64];
const TTFT_BOUNDS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

export class Runner {
  readonly scheduler: Scheduler;
  private readonly options: RunnerOptions;
  private readonly streams = new Map<RequestId, Entry>();
  private readonly idleWaiters: (() => void)[] = [];
  private looping = false;
  private draining = false;
  private nextId = 0;
  private lastMemory = 0;
  private peakMemory = 0;
  private readonly rate: RateWindow;
  private readonly finished: Record<FinishReason, number> = { stop: 0, length: 0, abort: 0, error: 0 };
  private readonly errors: Partial<Record<ErrorType, number>> = {};
  private readonly batchSize = new Histogram(BATCH_BOUNDS);
  private readonly ttft = new Histogram(TTFT_BOUNDS);
  private promptTokens = 0;
  private tokensGenerated = 0;
  private promptTokensCached = 0;
  private steps = 0;

  constructor(private readonly engine: BatchEngine, options: Partial<RunnerOptions> = {}) {
    this.options = { ...DEFAULT_RUNNER_OPTIONS, ...options };
    this.scheduler = new Scheduler(engine, this.options);
    this.rate = new RateWindow(this.options.statsWindowMs, this.options.now);
  }

  /**
   * Queues a request and returns its event stream. Throws at once (nothing queued) with
   * `validation` / `context_length_exceeded` for a bad request, `overloaded` when the waiting
   * queue is full, `unavailable` while draining. The signal cancels the request.
   */
  submit(params: GenerateParams, signal?: AbortSignal): GenerationStream {
    let request: Request;
    try {
      if (this.draining) throw new MlxBatchError('unavailable', 'The server is shutting down and takes no new requests.');
      validateParams(params, this.engine.contextLength);
      request = new Request(params.id ?? `req-${++this.nextId}`, params, this.options.now());
      this.scheduler.add(request);
    } catch (e) {
      const err = toMlxBatchError(e, ENGINE_FAILED);
      this.countError(err.type);
      throw err;
    }
    const id = request.id;
    const stream = new GenerationStream(id, () => this.abort(id));
    const entry: Entry = { stream };
    this.streams.set(id, entry);
    if (signal) {
      const onAbort = (): void => void this.abort(id);
      signal.addEventListener('abort', onAbort, { once: true });
      entry.detach = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) this.abort(id);
    }
    this.kick();
    return stream;
  }

  /** Cancels a waiting or running request; false if it is unknown or already finished. */
  abort(id: RequestId): boolean {
    const update = this.scheduler.abort(id);
    if (!update) return false;
    this.deliver([update]);
    this.kick();
    return true;
  }

  get batching(): boolean {
    return this.scheduler.batching;
  }

  /** Live toggle: off runs one request at a time through the same engine. */
  setBatching(enabled: boolean): void {
    this.scheduler.setBatching(enabled);
    this.kick();
  }

  stats(): RunnerStats {
    return {
      running: this.scheduler.numRunning,
      waiting: this.scheduler.numWaiting,
      maxBatch: this.scheduler.maxBatch,
      batching: this.scheduler.batching,
      tokensPerSecond: this.rate.perSecond(),
      kvReservedTokens: this.scheduler.reservedTokens,
      kvBudgetTokens: this.scheduler.options.kvBudgetTokens,
      memoryBytes: this.looping ? this.lastMemory : this.sampleMemory(),
      requestsTotal: Object.values(this.finished).reduce((a, b) => a + b, 0),
    };
  }

  metrics(): RunnerMetrics {
    return {
      running: this.scheduler.numRunning,
      waiting: this.scheduler.numWaiting,
      requestsFinished: { ...this.finished },
      promptTokens: this.promptTokens,
      tokensGenerated: this.tokensGenerated,
      promptTokensCached: this.promptTokensCached,
      steps: this.steps,
      batchSize: this.batchSize.snapshot(),
      timeToFirstTokenMs: this.ttft.snapshot(),
      errors: { ...this.errors },
    };
  }

  /** Highest engine memory seen after a step since the last reset (benchmarks). */
  get peakMemoryBytes(): number {
    return this.peakMemory;
  }

  resetPeakMemory(): void {
    this.peakMemory = this.sampleMemory();
  }

  /** Resolves when no request is waiting or running. */
  idle(): Promise<void> {
    if (!this.looping && !this.scheduler.hasWork()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new requests (`unavailable`) and resolves once the running and waiting ones finish. */
  drain(): Promise<void> {
    this.draining = true;
    return this.idle();
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.loop().then(
      () => this.afterLoop(),
      (e: unknown) => {
        this.failAll(toMlxBatchError(e, ENGINE_FAILED));
        this.afterLoop();
      },
    );
  }

  private afterLoop(): void {
    this.looping = false;
    if (this.scheduler.hasWork()) this.kick();
    else for (const w of this.idleWaiters.splice(0)) w();
  }

  private async loop(): Promise<void> {
    while (this.scheduler.hasWork()) {
      // Yield first: requests submitted in the same tick are admitted together, aborts are seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const plan = this.scheduler.schedule();
      this.deliver(this.scheduler.takeUpdates());
      const rows = new Set([...plan.decode, ...plan.prefill.map((c) => c.id)]).size;
      if (rows > 0) {
        this.steps += 1;
        this.batchSize.observe(rows);
        let output: StepOutput | undefined;
        let failure: MlxBatchError | undefined;
        try {
          output = await this.engine.step(plan);
        } catch (e) {
          failure = toMlxBatchError(e, ENGINE_FAILED);
        }
        const updates = output ? this.scheduler.update(output) : this.scheduler.failStep(failure!);
        this.sampleMemory();
        this.deliver(updates);
      }
    }
  }

  private deliver(updates: RequestUpdate[]): void {
    for (const u of updates) {
      const r = u.request;
      if (u.tokens.length > 0) {
        this.tokensGenerated += u.tokens.length;
        this.rate.add(u.tokens.length);
        if (r.outputTokens.length === u.tokens.length && r.ttftMs !== undefined) this.ttft.observe(r.ttftMs);
      }
      const entry = this.streams.get(r.id);
      if (entry && (u.tokens.length > 0 || u.text !== '')) entry.stream.push({ type: 'delta', text: u.text, tokens: u.tokens });
      if (!u.finishReason) continue;
      this.finished[u.finishReason] += 1;
      this.promptTokens += r.numPromptTokens;
      this.promptTokensCached += r.cachedTokens;
      if (!entry) continue;
      this.streams.delete(r.id);
      entry.detach?.();
      if (u.finishReason === 'error') {
        const error = u.error ?? new MlxBatchError('internal', `Request ${r.id} failed.`);
        this.countError(error.type);
        entry.stream.fail(error);
      } else {
        const timing: RequestTiming = { ttftMs: r.ttftMs, meanInterTokenMs: r.meanInterTokenMs, totalMs: (r.finishedMs ?? this.options.now()) - r.arrivalMs };
        entry.stream.push({ type: 'finish', finishReason: u.finishReason, usage: r.usage, timing });
      }
    }
  }

  /** Last resort when the loop itself breaks: every open request fails, the runner stays usable. */
  private failAll(error: MlxBatchError): void {
    for (const id of [...this.streams.keys()]) {
      const update = this.scheduler.abort(id);
      const entry = this.streams.get(id);
      this.streams.delete(id);
      entry?.detach?.();
      this.countError(error.type);
      entry?.stream.fail(error);
      if (update) this.finished.error += 1;
    }
  }

  private sampleMemory(): number {
    this.lastMemory = this.engine.stats().memoryBytes;
    this.peakMemory = Math.max(this.peakMemory, this.lastMemory);
    return this.lastMemory;
  }

  private countError(type: ErrorType): void {
    this.errors[type] = (this.errors[type] ?? 0) + 1;
  }
}
