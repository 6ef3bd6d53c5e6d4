// The continuous-batching scheduler (after vLLM v1's scheduler.py), pure and synchronous:
// `schedule()` says what runs this step, `update(output)` applies the sampled tokens.
//
// Each step: every running request past its prompt decodes one token; then prompt chunks fill
// what is left of the step's token budget (less beside decode rows), in rank order, first for
// running requests still prefilling, then for newly admitted ones, so requests that arrive
// together finish their prompts one after another instead of all at the end. The engine runs
// the whole plan as one forward pass. Admission happens only here, at step boundaries; finished
// requests are released in `update()`, aborted ones at the next `schedule()` (the engine may be
// mid-step when an abort arrives).
import { MlxBatchError, toMlxBatchError } from '../shared/errors';
import type { BatchEngine, PrefillChunk, RequestId, StepOutput, StepPlan } from './engine';
import { Request, type TokenOutcome } from './request';
import { DEFAULT_DRAFT_OPTIONS, proposeDraft } from './ngram-drafter';
import { StepCost } from './step-cost';
import { PRIORITY_CLASSES } from '../shared/protocol';
import { DEFAULT_BATCHING, DEFAULT_KV_BUDGET_TOKENS, DEFAULT_MAX_BATCH, DEFAULT_MAX_WAITING, DEFAULT_SPECULATIVE } from '../shared/server-defaults';
import { RequestStatus, type FinishReason, type TokenLogprob } from './request-types';

export interface SchedulerOptions {
  /** Most requests running at once (rows of the batch). */
  maxBatch: number;
  /**
   * KV-cache token budget. Policy: reservation. A request reserves
   * min(prompt + max_tokens, context length) tokens when admitted and holds them until it
   * leaves, so a running request never runs out of cache and is never preempted. A request
   * larger than the whole budget runs alone rather than never.
   */
  kvBudgetTokens: number;
  /** Largest prompt chunk one request computes in one step. */
  prefillChunkTokens: number;
  /** Tokens computed per step: one per decode row first, then prompt chunks. Must exceed maxBatch. */
  maxStepTokens: number;
  /**
   * How much longer than a decode-only step a step with decode rows may grow by computing prompt
   * tokens of normal and background requests beside them: the longest gap between a running
   * stream's tokens, as a multiple of its gap alone. A decode step reads every weight once; a few
   * prompt tokens beside the rows ride along on that read (the engine packs them into the same
   * pass), a long chunk makes every running stream's next token wait for its compute. The
   * scheduler times its steps (step-cost.ts) and gives those prompts as many tokens a step as fit.
   * It holds while interactive or normal requests decode (streams someone watches) and at least as
   * many of them run as requests wait for their first token; rows that are all background work
   * are not held. Interactive requests (inline completions, a user waiting on them) are not
   * limited: they take the step budget. 0: no limit beyond maxStepTokens.
   */
  decodeGapFactor: number;
  /**
   * Aging: a waiting request moves up one priority class for every `agingMs` it has waited
   * (background -> normal -> interactive); within a class the earliest arrival goes first.
   * So nothing waits forever behind a stream of more urgent requests. 0 turns aging off.
   */
  agingMs: number;
  /** Most requests waiting; past it `add` throws `overloaded` (HTTP 429). */
  maxWaiting: number;
  /** Off: one request at a time (max batch 1) through the same engine. Switchable live. */
  batching: boolean;
  /**
   * Speculative decoding by prompt lookup: decode rows propose the tokens that followed the
   * latest earlier occurrence of their last few tokens, and the engine checks them in the same
   * pass. Draft tokens count against the step budget after prompt chunks. Switchable live.
   */
  speculative: boolean;
  /**
   * Most tokens the decode rows compute in a step that checks drafts: rows x (1 + the longest
   * draft), since the engine pads every row to the longest. Below it, the draft length is the one
   * the measured step costs say pays best (step-cost.ts); this bounds how wide a decode pass gets
   * (32: the model runs passes of up to 32 tokens as compiled graphs). With more rows than this,
   * nothing is drafted.
   */
  speculativeStepTokens: number;
  /** Clock in milliseconds (tests pass a fake one). */
  now: () => number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  maxBatch: DEFAULT_MAX_BATCH,
  kvBudgetTokens: DEFAULT_KV_BUDGET_TOKENS,
  prefillChunkTokens: 256,
  maxStepTokens: 256,
  decodeGapFactor: 2,
  agingMs: 10_000,
  maxWaiting: DEFAULT_MAX_WAITING,
  batching: DEFAULT_BATCHING,
  speculative: DEFAULT_SPECULATIVE === 'ngram',
  speculativeStepTokens: 32,
  now: () => performance.now(),
};

/** What a step (or an abort) did to one request. */
export interface RequestUpdate {
  request: Request;
  /** Tokens it emitted this step (none, its first token, or accepted draft tokens and the model's next). */
  tokens: number[];
  /** Text now final (may be ''). */
  text: string;
  /** Set when the request has finished. */
  finishReason?: FinishReason;
  /** Set when finishReason is 'error'. */
  error?: MlxBatchError;
  /** Speculative decoding: draft tokens proposed for it this step, and how many the model accepted. */
  draft?: { proposed: number; accepted: number };
  /** When the request asked for them: one per emitted token. */
  logprobs?: TokenLogprob[];
}

/** The engine methods the scheduler calls itself; `step` is the runner's. */
export type SchedulerEngine = Pick<BatchEngine, 'contextLength' | 'add' | 'release'>;

export class Scheduler {
  readonly options: SchedulerOptions;
  private readonly waiting: Request[] = [];
  private readonly running: Request[] = [];
  private readonly byId = new Map<RequestId, Request>();
  private readonly toRelease: RequestId[] = [];
  private readonly outbox: RequestUpdate[] = [];
  private inFlight?: StepPlan;
  /** When the step in flight was planned (its time goes to `cost`). */
  private plannedAt = 0;
  private reserved = 0;

  /** `cost`: the step times measured so far, from which prompt budgets and draft lengths follow. */
  constructor(
    private readonly engine: SchedulerEngine,
    options: Partial<SchedulerOptions> = {},
    readonly cost: StepCost = new StepCost(),
  ) {
    this.options = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
    checkOptions(this.options);
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  /** KV tokens reserved by running requests. */
  get reservedTokens(): number {
    return this.reserved;
  }

  get batching(): boolean {
    return this.options.batching;
  }

  /** Turns batching on or off. Off: running requests finish, then one runs at a time. */
  setBatching(enabled: boolean): void {
    this.options.batching = enabled;
  }

  /** Changes knobs live (checked as in the constructor); they apply from the next step. */
  configure(patch: Partial<Omit<SchedulerOptions, 'now'>>): void {
    const next = { ...this.options, ...patch };
    checkOptions(next);
    Object.assign(this.options, next);
  }

  /** The max batch in force (1 while batching is off). */
  get maxBatch(): number {
    return this.options.batching ? this.options.maxBatch : 1;
  }

  get(id: RequestId): Request | undefined {
    return this.byId.get(id);
  }

  /** Work left: requests to run, or rows to release. */
  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0 || this.toRelease.length > 0;
  }

  /** Queues a request. Throws `overloaded` when the waiting queue is full. */
  add(request: Request): void {
    if (this.byId.has(request.id)) throw new MlxBatchError('validation', `A request with id "${request.id}" is already running.`, 'id');
    if (this.waiting.length >= this.options.maxWaiting) {
      throw new MlxBatchError('overloaded', `The server is busy: ${this.waiting.length} requests are already waiting. Retry shortly.`);
    }
    this.byId.set(request.id, request);
    this.waiting.push(request);
  }

  /**
   * Cancels a waiting or running request. Its final update ('abort') is returned at once;
   * a running request's row is released at the next `schedule()`.
   */
  abort(id: RequestId): RequestUpdate | undefined {
    const r = this.byId.get(id);
    if (!r || r.isFinished) return undefined;
    r.finish(RequestStatus.FinishedAborted, this.options.now());
    const w = this.waiting.indexOf(r);
    if (w >= 0) this.waiting.splice(w, 1);
    else {
      this.removeRunning(r);
      this.toRelease.push(id);
    }
    this.byId.delete(id);
    return { request: r, tokens: [], text: '', finishReason: 'abort' };
  }

  /** Plans one step. Call `update` (or `failStep`) with the engine's answer before the next. */
  schedule(): StepPlan {
    if (this.inFlight) throw new Error('schedule() called twice without update()');
    for (const id of this.toRelease.splice(0)) this.engine.release(id);

    const now = this.options.now();
    let budget = this.options.maxStepTokens;
    // Prompt tokens a step with decode rows may spend on requests that are not interactive by
    // their own priority (aging orders admission; it does not lift this limit).
    let beside = Infinity;
    const decode: RequestId[] = [];
    const prefill: PrefillChunk[] = [];
    // An interactive prompt may also take the decode rows' share of the budget: they ride along in
    // the same pass at little cost, and its prompt is not split into a last sliver a step later.
    const chunk = (r: Request): void => {
      const room = r.priority === 'interactive' ? budget + decode.length : Math.min(budget, beside);
      const n = Math.min(this.options.prefillChunkTokens, r.numPromptTokens - r.numComputedTokens, room);
      if (n <= 0) return;
      prefill.push({ id: r.id, start: r.numComputedTokens, end: r.numComputedTokens + n });
      budget -= n;
      beside -= n;
    };

    for (const r of this.running) if (!r.isPrefilling) decode.push(r.id);
    budget -= decode.length;
    // The gaps held to decodeGapFactor are those of streams someone watches: a step whose decode
    // rows are all background work (a benchmark, a batch job) takes prompts up to the budget, and
    // so does one where more requests wait for their first token than watched streams run (a wave
    // that arrived together: holding its prompts would keep more users waiting than it spares).
    const prefilling = this.running.filter((r) => r.isPrefilling).sort(this.byRank(now));
    // Only streams that were streaming before the oldest request still awaiting its first token
    // arrived hold prompts: requests that arrived together (a wave) do not hold each other's.
    const awaitingSince = Math.min(...this.waiting.map((r) => r.arrivalMs), ...prefilling.map((r) => r.arrivalMs));
    const streams = decode.filter((id) => {
      const r = this.byId.get(id)!;
      return r.priority !== 'background' && r.firstTokenMs !== undefined && r.firstTokenMs <= awaitingSince;
    }).length;
    const awaiting = this.waiting.length + prefilling.length;
    const watched = this.options.decodeGapFactor > 0 && streams > 0 && streams >= awaiting;
    // Before any decode-only step was timed, prompts waiting to run beside watched rows make this
    // step one (no normal or background prompt beside, no drafts).
    const measuring = watched && this.cost.decodeMs(decode.length) === undefined;
    if (watched) {
      beside = this.cost.promptTokensWithin(decode.length, this.options.decodeGapFactor, this.options.maxStepTokens);
    }

    for (const r of prefilling) {
      if (budget <= 0) break;
      chunk(r);
    }

    this.waiting.sort(this.byRank(now));
    while (this.waiting.length > 0 && this.running.length < this.maxBatch && budget > 0) {
      const r = this.waiting[0];
      const need = this.reservation(r);
      // Head of line: a request that does not fit blocks those behind it, so it is not starved.
      if (this.running.length > 0 && this.reserved + need > this.options.kvBudgetTokens) break;
      this.waiting.shift();
      let cached: number;
      try {
        cached = this.engine.add({ id: r.id, promptTokens: r.promptTokens, sampling: r.sampling }).cachedTokens;
      } catch (e) {
        this.byId.delete(r.id);
        const error = toMlxBatchError(e, ENGINE_FAILED);
        r.finish(RequestStatus.FinishedError, now, error);
        this.outbox.push({ request: r, tokens: [], text: '', finishReason: 'error', error });
        continue;
      }
      r.cachedTokens = Math.max(0, Math.min(cached, r.numPromptTokens - 1));
      r.numComputedTokens = r.cachedTokens;
      r.status = RequestStatus.Running;
      this.running.push(r);
      this.reserved += need;
      chunk(r);
    }

    const held = measuring && (this.waiting.length > 0 || this.running.some((r) => r.isPrefilling && r.priority !== 'interactive'));
    // Drafts ride only in steps without a prompt chunk: beside one the pass has several parts (not
    // compiled), drafts cost more than the steps that priced them, and a held prompt's step is
    // already as long as the gap factor allows.
    const drafts = held || prefill.length > 0 ? new Map<RequestId, number[]>() : this.draft(decode, budget);
    const plan: StepPlan = drafts.size > 0 ? { decode, prefill, drafts } : { decode, prefill };
    if (decode.length > 0 || prefill.length > 0) {
      this.inFlight = plan;
      this.plannedAt = this.options.now();
    }
    return plan;
  }

  /**
   * Drafts for decode rows from what the step budget has left, in rank order: each row proposes
   * at most what its drafting state allows, and never past its max_tokens or the context. Every
   * row is padded to the longest draft, so the step's draft length is chosen for all rows at once:
   * the one that yields the most expected tokens per millisecond from the measured step costs and
   * each row's acceptance (StepCost.draftLength), within rows x (1 + length) <=
   * speculativeStepTokens. Only for steps without a prompt chunk (see schedule()).
   */
  private draft(decode: RequestId[], budget: number): Map<RequestId, number[]> {
    const drafts = new Map<RequestId, number[]>();
    if (!this.options.speculative || decode.length === 0 || budget <= 0) return drafts;
    const ceiling = Math.floor(this.options.speculativeStepTokens / decode.length) - 1;
    if (ceiling <= 0) return drafts;
    const rows = decode.map((id) => this.byId.get(id)!).filter((r) => r.draft).sort(this.byRank(this.options.now()));
    const proposals: { r: Request; tokens: number[] }[] = [];
    for (const r of rows) {
      const room = Math.min(r.maxTokens - r.outputTokens.length, this.engine.contextLength - r.numTokens) - 1;
      const want = Math.min(r.draft!.nextLength(), room, ceiling);
      if (want <= 0) continue;
      const tokens = proposeDraft([...r.promptTokens, ...r.outputTokens], want, r.prediction, DEFAULT_DRAFT_OPTIONS, r.outputTokens.length);
      if (tokens.length > 0) proposals.push({ r, tokens });
    }
    if (proposals.length === 0) return drafts;
    const length = this.cost.draftLength(decode.length, proposals.map((p) => ({ tokens: p.tokens.length, acceptance: p.r.draft!.acceptance })), ceiling);
    for (const { r, tokens } of proposals) {
      const draft = tokens.slice(0, Math.min(length, budget));
      if (draft.length === 0) break;
      drafts.set(r.id, draft);
      budget -= draft.length;
    }
    return drafts;
  }

  /** Updates produced outside a step (admission failures); the runner delivers them after `schedule()`. */
  takeUpdates(): RequestUpdate[] {
    return this.outbox.splice(0);
  }

  /** Applies the engine's sampled tokens for the planned step; finished requests are released now. */
  update(output: StepOutput): RequestUpdate[] {
    const plan = this.takePlan();
    const now = this.options.now();
    // What the decode rows got: only a drafting step's is used (StepCost.observe).
    const gave = plan.drafts ? plan.decode.reduce((n, id) => n + (output.tokens.has(id) ? 1 + (output.accepted?.get(id)?.length ?? 0) : 0), 0) : undefined;
    // A step that starts a request's prompt also pays for it joining (the engine copies its cached
    // prefix, and a row that joins the batch copies the batch): once per request, not per token,
    // so it does not price prompt tokens. Priced from such steps, a chat's question beside the
    // other chat's stream got one token a step in the editor scenario (docs/PERFORMANCE.md).
    const starts = plan.prefill.some((c) => c.start === this.byId.get(c.id)?.cachedTokens);
    if (!starts) this.cost.observe({ rows: plan.decode.length, ...extraTokens(plan), ms: now - this.plannedAt, tokens: gave });
    const updates = this.outbox.splice(0);
    const sampled: Request[] = [];
    for (const c of plan.prefill) {
      const r = this.live(c.id);
      if (!r) continue;
      r.numComputedTokens = c.end;
      if (c.end === r.numPromptTokens) sampled.push(r);
    }
    for (const id of plan.decode) {
      const r = this.live(id);
      if (!r) continue;
      sampled.push(r);
    }
    for (const r of sampled) {
      const token = output.tokens.get(r.id);
      if (token === undefined) {
        updates.push(this.fail(r, new MlxBatchError('internal', `The engine sampled no token for request ${r.id}.`), now));
        continue;
      }
      if (r.maxTokens === 0) {
        // Prompt only (a cache warm-up): the engine kept the prompt; the sampled token is dropped.
        r.finish(RequestStatus.FinishedLength, now);
        this.leave(r);
        updates.push({ request: r, tokens: [], text: '', finishReason: r.finishReason });
        continue;
      }
      const proposed = plan.drafts?.get(r.id)?.length ?? 0;
      const accepted = output.accepted?.get(r.id) ?? [];
      // Accepted draft tokens first, then the model's own; nothing past a stop is emitted.
      const emitted: number[] = [];
      let text = '';
      let eos = false;
      for (const t of [...accepted, token]) {
        const out: TokenOutcome = r.appendToken(t, now, this.engine.contextLength);
        emitted.push(t);
        text += out.text;
        eos = out.endOfSequence === true;
        if (out.finished) break;
      }
      // Accepted tokens past a stop are neither emitted nor counted.
      const kept = Math.min(accepted.length, emitted.length);
      if (proposed > 0) r.draft?.record(proposed, kept);
      if (!r.isPrefilling) r.numComputedTokens = r.numTokens - 1;
      if (r.isFinished) this.leave(r);
      const update: RequestUpdate = { request: r, tokens: emitted, text, finishReason: r.finishReason };
      if (proposed > 0) update.draft = { proposed, accepted: kept };
      const logprobs = output.logprobs?.get(r.id);
      // Logprobs describe the text: none for an end-of-sequence token (it has none), as OpenAI's.
      if (logprobs) update.logprobs = logprobs.slice(0, emitted.length - (eos ? 1 : 0));
      updates.push(update);
    }
    return updates;
  }

  /** The engine failed the planned step: every request in it fails; the others carry on. */
  failStep(error: MlxBatchError): RequestUpdate[] {
    const plan = this.takePlan();
    const now = this.options.now();
    const updates = this.outbox.splice(0);
    const ids = new Set([...plan.decode, ...plan.prefill.map((c) => c.id)]);
    for (const id of ids) {
      const r = this.live(id);
      if (r) updates.push(this.fail(r, error, now));
    }
    return updates;
  }

  private fail(r: Request, error: MlxBatchError, now: number): RequestUpdate {
    r.finish(RequestStatus.FinishedError, now, error);
    this.leave(r);
    return { request: r, tokens: [], text: '', finishReason: 'error', error };
  }

  private takePlan(): StepPlan {
    const plan = this.inFlight;
    if (!plan) throw new Error('update() called without a scheduled step');
    this.inFlight = undefined;
    return plan;
  }

  /** A request still running (not aborted while the step was in flight). */
  private live(id: RequestId): Request | undefined {
    const r = this.byId.get(id);
    return r && !r.isFinished && r.status === RequestStatus.Running ? r : undefined;
  }

  private leave(r: Request): void {
    this.removeRunning(r);
    this.byId.delete(r.id);
    this.engine.release(r.id);
  }

  private removeRunning(r: Request): void {
    const i = this.running.indexOf(r);
    if (i < 0) return;
    this.running.splice(i, 1);
    this.reserved -= this.reservation(r);
  }

  private reservation(r: Request): number {
    return Math.min(r.numPromptTokens + r.maxTokens, this.engine.contextLength);
  }

  /** Effective class index after aging (0 = interactive), then arrival order. */
  effectiveClass(r: Request, now = this.options.now()): number {
    const base = PRIORITY_CLASSES.indexOf(r.priority);
    const steps = this.options.agingMs > 0 ? Math.floor((now - r.arrivalMs) / this.options.agingMs) : 0;
    return Math.max(0, base - steps);
  }

  private byRank(now: number): (a: Request, b: Request) => number {
    return (a, b) => this.effectiveClass(a, now) - this.effectiveClass(b, now) || a.arrivalMs - b.arrivalMs;
  }
}

/** A step's tokens beyond one per decode row: its prompt chunks, and its drafts with their padding. */
function extraTokens(plan: StepPlan): { promptTokens: number; draftTokens: number } {
  let longest = 0;
  for (const d of plan.drafts?.values() ?? []) longest = Math.max(longest, d.length);
  return { promptTokens: plan.prefill.reduce((n, c) => n + c.end - c.start, 0), draftTokens: plan.decode.length * longest };
}

/** What an error thrown by the engine is prefixed with (see toMlxBatchError). */
export const ENGINE_FAILED = 'The engine failed';

function checkOptions(o: SchedulerOptions): void {
  const int = (v: number, name: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new MlxBatchError('validation', `${name} must be an integer >= ${min} (got ${v}).`, name);
  };
  int(o.maxBatch, 'maxBatch', 1);
  int(o.prefillChunkTokens, 'prefillChunkTokens', 1);
  int(o.maxWaiting, 'maxWaiting', 0);
  if (!(o.decodeGapFactor === 0 || o.decodeGapFactor > 1)) {
    throw new MlxBatchError('validation', `decodeGapFactor must be 0 (no limit) or more than 1 (got ${o.decodeGapFactor}).`, 'decodeGapFactor');
  }
  int(o.speculativeStepTokens, 'speculativeStepTokens', 0);
  if (!(o.kvBudgetTokens >= 1)) throw new MlxBatchError('validation', `kvBudgetTokens must be >= 1 (got ${o.kvBudgetTokens}).`, 'kvBudgetTokens');
  if (!(o.agingMs >= 0)) throw new MlxBatchError('validation', `agingMs must be >= 0 (got ${o.agingMs}).`, 'agingMs');
  int(o.maxStepTokens, 'maxStepTokens', o.maxBatch + 1);
}
