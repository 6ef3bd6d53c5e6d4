// A deterministic fake BatchEngine (after vLLM's tests/v1/core/utils.py): the next token is
// f(last token, request), every plan is recorded and checked against the engine contract.
// Requests asking for logprobs get fakeLogprob(token, alternatives) for each emitted token.
import type { BatchEngine, EngineRequest, EngineStats, RequestId, StepOutput, StepPlan } from '../../../../src/batching/engine';
import type { TokenLogprob } from '../../../../src/batching/request-types';

interface Row {
  prompt: readonly number[];
  /** Alternatives per token when the request asks for logprobs. */
  logprobs?: number;
  computed: number;
  last: number;
  sampled: number;
}

export interface FakeEngineOptions {
  contextLength?: number;
  /** Next token from the last one; default last + 1. */
  next?: (last: number, id: RequestId, index: number) => number;
  /** Prompt tokens reported as cached on add. */
  cached?: (req: EngineRequest) => number;
  /** Throw from step when this returns true. */
  failWhen?: (plan: StepPlan, stepIndex: number) => boolean;
  /** Throw from add for these ids. */
  failAdd?: (req: EngineRequest) => boolean;
  /** Milliseconds step() takes (a timer), 0 = resolve on the next macrotask. */
  stepMs?: number;
  /** Called at the start of each step (e.g. to advance a fake clock). */
  onStep?: (plan: StepPlan) => void;
}

/** The fake's log-probabilities: the token at -0.5 and alternatives token + 1, + 2... at -1.5, -2.5... */
export function fakeLogprob(token: number, alternatives: number): TokenLogprob {
  return { token, logprob: -0.5, top: Array.from({ length: alternatives }, (_, i) => ({ token: token + i, logprob: -0.5 - i })) };
}

export class FakeEngine implements BatchEngine {
  readonly contextLength: number;
  readonly plans: StepPlan[] = [];
  readonly added: RequestId[] = [];
  /** Every request as added, kept after release (prompts and sampling for assertions). */
  readonly requests = new Map<RequestId, EngineRequest>();
  readonly released: RequestId[] = [];
  readonly rows = new Map<RequestId, Row>();
  /** Rows that were alive at each step (after the step's releases). */
  readonly occupancy: number[] = [];
  private steps = 0;
  /** Memory is 1000 bytes per row; the peak counts rows alive at any add or step since the reset. */
  private peak = 0;

  constructor(private readonly opts: FakeEngineOptions = {}) {
    this.contextLength = opts.contextLength ?? 4096;
  }

  add(req: EngineRequest): { cachedTokens: number } {
    if (this.opts.failAdd?.(req)) throw new Error(`cannot add ${req.id}`);
    if (this.rows.has(req.id)) throw new Error(`add: ${req.id} already has a row`);
    const cachedTokens = this.opts.cached?.(req) ?? 0;
    this.rows.set(req.id, { prompt: req.promptTokens, logprobs: req.sampling.logprobs, computed: Math.min(cachedTokens, req.promptTokens.length - 1), last: -1, sampled: 0 });
    this.added.push(req.id);
    this.requests.set(req.id, req);
    this.peak = Math.max(this.peak, this.rows.size * 1000);
    return { cachedTokens };
  }

  release(id: RequestId): void {
    if (!this.rows.delete(id)) throw new Error(`release: ${id} has no row`);
    this.released.push(id);
  }

  stats(): EngineStats {
    return {
      memoryBytes: this.rows.size * 1000,
      peakMemoryBytes: Math.max(this.peak, this.rows.size * 1000),
      cacheTokens: [...this.rows.values()].reduce((a, r) => a + r.computed, 0),
      prefixStoreTokens: 0,
    };
  }

  resetPeakMemory(): void {
    this.peak = this.rows.size * 1000;
  }

  async step(plan: StepPlan): Promise<StepOutput> {
    const ms = this.opts.stepMs ?? 0;
    await new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
    return this.stepSync(plan);
  }

  /** The step without waiting, for synchronous scheduler tests. */
  stepSync(plan: StepPlan): StepOutput {
    const index = this.steps++;
    this.opts.onStep?.(plan);
    const recorded: StepPlan = { decode: [...plan.decode], prefill: plan.prefill.map((c) => ({ ...c })) };
    if (plan.drafts) recorded.drafts = new Map([...plan.drafts].map(([id, d]) => [id, [...d]]));
    this.plans.push(recorded);
    this.occupancy.push(this.rows.size);
    if (this.opts.failWhen?.(plan, index)) throw new Error(`step ${index} failed`);
    const seen = new Set<RequestId>();
    const tokens = new Map<RequestId, number>();
    const sample = (id: RequestId, row: Row): void => {
      const t = this.opts.next?.(row.last, id, row.sampled) ?? row.last + 1;
      row.sampled += 1;
      row.last = t;
      tokens.set(id, t);
    };
    for (const c of plan.prefill) {
      const row = this.rowOf(c.id, seen);
      if (c.start !== row.computed || c.end <= c.start || c.end > row.prompt.length) {
        throw new Error(`bad chunk ${c.id} [${c.start}, ${c.end}) with ${row.computed}/${row.prompt.length} computed`);
      }
      row.computed = c.end;
      if (c.end === row.prompt.length) {
        row.last = row.prompt[row.prompt.length - 1];
        sample(c.id, row);
      }
    }
    const accepted = new Map<RequestId, number[]>();
    for (const id of plan.decode) {
      const row = this.rowOf(id, seen);
      if (row.computed < row.prompt.length || row.sampled === 0) throw new Error(`decode of ${id} before its prompt is computed`);
      // A draft is checked as a model would: each token is kept while it is the one this engine
      // would have sampled next, then the engine's own next token follows.
      const kept: number[] = [];
      for (const d of plan.drafts?.get(id) ?? []) {
        const t = this.opts.next?.(row.last, id, row.sampled) ?? row.last + 1;
        if (t !== d) break;
        row.sampled += 1;
        row.last = t;
        row.computed += 1;
        kept.push(t);
      }
      if (plan.drafts?.has(id)) accepted.set(id, kept);
      row.computed += 1;
      if (row.computed + 1 > this.contextLength) throw new Error(`${id} overflows the context`);
      sample(id, row);
    }
    const logprobs = new Map<RequestId, TokenLogprob[]>();
    for (const [id, token] of tokens) {
      const top = this.rows.get(id)!.logprobs;
      if (top !== undefined) logprobs.set(id, [...(accepted.get(id) ?? []), token].map((t) => fakeLogprob(t, top)));
    }
    return { tokens, ...(accepted.size > 0 ? { accepted } : {}), ...(logprobs.size > 0 ? { logprobs } : {}) };
  }

  private rowOf(id: RequestId, seen: Set<RequestId>): Row {
    if (seen.has(id)) throw new Error(`${id} appears twice in one plan`);
    seen.add(id);
    const row = this.rows.get(id);
    if (!row) throw new Error(`${id} has no row`);
    return row;
  }
}
