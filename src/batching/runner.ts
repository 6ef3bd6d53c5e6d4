// The async loop around the pure scheduler: owns a Scheduler and a BatchEngine, turns
// submissions into streams of events, and runs `schedule -> engine.step -> update -> deliver`
// with a yield to the event loop between steps, so aborts and new requests are seen. It idles
// (no timer, no busy loop) when there is nothing to do and wakes on the next submit or abort.
// The stream type is in generation-stream.ts, the counters in runner-metrics.ts.
import { MlxBatchError, toMlxBatchError } from '../shared/errors';
import type { StepTime } from '../shared/protocol';
import type { BatchEngine, RequestId, StepOutput } from './engine';
import { GenerationStream, type RequestTiming } from './generation-stream';
import { Request, validateParams } from './request';
import type { GenerateParams } from './request-types';
import { RunnerCounters, type RunnerMetrics, type RunnerStats } from './runner-metrics';
import { DEFAULT_SCHEDULER_OPTIONS, ENGINE_FAILED, Scheduler, type RequestUpdate, type SchedulerOptions } from './scheduler';
import type { StepCost } from './step-cost';

export interface RunnerOptions extends SchedulerOptions {
  /** Window of the live tokens/s figure. */
  statsWindowMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { ...DEFAULT_SCHEDULER_OPTIONS, statsWindowMs: 5_000 };

interface Entry {
  stream: GenerationStream;
  detach?: () => void;
}

/**
 * While the loop runs, the memory figure of `stats()` is read at most this often: reading it asks
 * the system (the resident set and its peak from /proc on Linux), about 0.5 ms, which every decode
 * step paid when it was read after each one. The status bar and metrics poll far less often.
 */
export const MEMORY_SAMPLE_MS = 250;

export class Runner {
  readonly scheduler: Scheduler;
  private readonly options: RunnerOptions;
  private readonly streams = new Map<RequestId, Entry>();
  private readonly idleWaiters: (() => void)[] = [];
  private looping = false;
  private draining = false;
  private nextId = 0;
  private lastMemory = 0;
  private lastMemoryAt = -Infinity;
  private readonly stepMs: StepTime = { promptMs: 0, decodeMs: 0 };
  private readonly counters: RunnerCounters;

  /** `cost`: the scheduler's step-cost model (step-cost.ts), measured as the runner goes. */
  constructor(private readonly engine: BatchEngine, options: Partial<RunnerOptions> = {}, cost?: StepCost) {
    this.options = { ...DEFAULT_RUNNER_OPTIONS, ...options };
    this.scheduler = new Scheduler(engine, this.options, cost);
    this.counters = new RunnerCounters(this.options.statsWindowMs, this.options.now);
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
      this.counters.error(err.type);
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

  /** Live toggle of speculative decoding (prompt-lookup drafts checked in the batch). */
  setSpeculative(enabled: boolean): void {
    this.scheduler.configure({ speculative: enabled });
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
      tokensPerSecond: this.counters.tokensPerSecond,
      kvReservedTokens: this.scheduler.reservedTokens,
      kvBudgetTokens: this.scheduler.options.kvBudgetTokens,
      memoryBytes: this.looping ? this.lastMemory : this.sampleMemory(),
      requestsTotal: this.counters.requestsTotal,
      speculative: this.scheduler.options.speculative,
      ...this.counters.drafts,
    };
  }

  metrics(): RunnerMetrics {
    return this.counters.metrics(this.scheduler.numRunning, this.scheduler.numWaiting);
  }

  /**
   * Engine time so far in steps that computed a prompt chunk (with any decode rows beside it) and
   * in decode-only steps: where a benchmark's wall time went (prompt work bounds what batching buys).
   */
  stepTime(): StepTime {
    return { ...this.stepMs };
  }

  /** The engine's highest memory since the last reset, inside steps included (benchmarks). */
  get peakMemoryBytes(): number {
    return this.engine.stats().peakMemoryBytes;
  }

  resetPeakMemory(): void {
    this.engine.resetPeakMemory();
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
        this.counters.step(rows);
        let output: StepOutput | undefined;
        let failure: MlxBatchError | undefined;
        const t0 = this.options.now();
        try {
          output = await this.engine.step(plan);
        } catch (e) {
          failure = toMlxBatchError(e, ENGINE_FAILED);
        }
        const ms = this.options.now() - t0;
        if (plan.prefill.length > 0) this.stepMs.promptMs += ms;
        else this.stepMs.decodeMs += ms;
        const updates = output ? this.scheduler.update(output) : this.scheduler.failStep(failure!);
        if (this.options.now() - this.lastMemoryAt >= MEMORY_SAMPLE_MS) this.sampleMemory();
        this.deliver(updates);
      }
    }
  }

  private deliver(updates: RequestUpdate[]): void {
    for (const u of updates) {
      const r = u.request;
      if (u.tokens.length > 0) this.counters.sampled(r, u.tokens.length);
      if (u.draft) this.counters.drafted(u.draft.proposed, u.draft.accepted);
      const entry = this.streams.get(r.id);
      if (entry && (u.tokens.length > 0 || u.text !== '')) entry.stream.push({ type: 'delta', text: u.text, tokens: u.tokens, ...(u.logprobs ? { logprobs: u.logprobs } : {}) });
      if (!u.finishReason) continue;
      this.counters.finish(u.finishReason, r);
      if (!entry) continue;
      this.streams.delete(r.id);
      entry.detach?.();
      if (u.finishReason === 'error') {
        const error = u.error ?? new MlxBatchError('internal', `Request ${r.id} failed.`);
        this.counters.error(error.type);
        entry.stream.fail(error);
      } else {
        const timing: RequestTiming = { ttftMs: r.ttftMs, meanInterTokenMs: r.meanInterTokenMs, totalMs: (r.finishedMs ?? this.options.now()) - r.arrivalMs };
        entry.stream.push({ type: 'finish', finishReason: u.finishReason, usage: r.usage, timing, ...(r.stopString !== undefined ? { stopString: r.stopString } : {}) });
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
      this.counters.error(error.type);
      entry?.stream.fail(error);
      if (update) this.counters.finish('error');
    }
  }

  private sampleMemory(): number {
    this.lastMemoryAt = this.options.now();
    this.lastMemory = this.engine.stats().memoryBytes;
    return this.lastMemory;
  }
}
