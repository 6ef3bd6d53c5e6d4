// One generation request through its lifecycle (vLLM's v1/request.py): it knows how many of
// its prompt tokens are computed, what it generated, and when it must stop. No separate
// prefill/decode phases: a request is prefilling while numComputedTokens < prompt length.
import { MlxBatchError } from '../shared/errors';
import type { RequestId } from './engine';
import type { PriorityClass } from '../shared/protocol';
import {
  GREEDY, RequestStatus, finishReason, isFinished,
  type FinishReason, type GenerateParams, type IncrementalDecoder, type SamplingParams, type TokenUsage,
} from './request-types';
import { StopChecker } from './stop-checker';
import { DraftState } from './ngram-drafter';

/** What one sampled token did to a request. */
export interface TokenOutcome {
  /** Text that became final with this token (stop-string prefixes held back, stop string cut). */
  text: string;
  finished: boolean;
  /** The token was an end-of-sequence token: it ended the request and stands for no text. */
  endOfSequence?: boolean;
}

export class Request {
  readonly id: RequestId;
  readonly priority: PriorityClass;
  readonly promptTokens: readonly number[];
  readonly maxTokens: number;
  readonly sampling: SamplingParams;
  readonly ignoreEos: boolean;
  readonly outputTokens: number[] = [];
  /** Its drafting state, when speculative decoding is allowed for it. */
  readonly draft?: DraftState;
  readonly prediction: readonly number[];
  status = RequestStatus.Waiting;
  /** Tokens whose keys and values are in the engine's cache (prompt first, then output). */
  numComputedTokens = 0;
  /** Prompt tokens the engine reused from its prefix store. */
  cachedTokens = 0;
  error?: MlxBatchError;
  /** The stop string that ended it, when one did. */
  stopString?: string;
  readonly arrivalMs: number;
  firstTokenMs?: number;
  lastTokenMs?: number;
  finishedMs?: number;
  private itlSumMs = 0;
  private readonly eos: ReadonlySet<number>;
  private readonly stop: StopChecker;
  private readonly decoder?: IncrementalDecoder;

  constructor(id: RequestId, params: GenerateParams, arrivalMs: number) {
    this.id = id;
    this.priority = params.priority ?? 'normal';
    this.promptTokens = params.promptTokens;
    this.maxTokens = params.maxTokens;
    this.sampling = params.sampling ?? GREEDY;
    this.ignoreEos = params.ignoreEos ?? false;
    this.eos = new Set(params.eosTokenIds ?? []);
    this.stop = new StopChecker(params.stop ?? []);
    this.decoder = params.decoder;
    this.arrivalMs = arrivalMs;
    if (params.speculative !== false) this.draft = new DraftState();
    this.prediction = params.prediction ?? [];
  }

  get numPromptTokens(): number {
    return this.promptTokens.length;
  }

  /** Prompt plus generated tokens. */
  get numTokens(): number {
    return this.promptTokens.length + this.outputTokens.length;
  }

  get isPrefilling(): boolean {
    return this.numComputedTokens < this.promptTokens.length;
  }

  get isFinished(): boolean {
    return isFinished(this.status);
  }

  get finishReason(): FinishReason | undefined {
    return finishReason(this.status);
  }

  get usage(): TokenUsage {
    const proposed = this.draft?.proposedTotal ?? 0;
    const accepted = this.draft?.acceptedTotal ?? 0;
    return {
      promptTokens: this.promptTokens.length,
      completionTokens: this.outputTokens.length,
      cachedTokens: this.cachedTokens,
      acceptedDraftTokens: accepted,
      rejectedDraftTokens: proposed - accepted,
    };
  }

  get ttftMs(): number | undefined {
    return this.firstTokenMs === undefined ? undefined : this.firstTokenMs - this.arrivalMs;
  }

  /** Mean time between consecutive tokens, once there are two. */
  get meanInterTokenMs(): number | undefined {
    return this.outputTokens.length > 1 ? this.itlSumMs / (this.outputTokens.length - 1) : undefined;
  }

  /**
   * Appends a sampled token and checks the stop conditions in vLLM's order: EOS, stop strings,
   * max_tokens, context length (prompt + output reaching `contextLength` finishes as 'length').
   */
  appendToken(token: number, nowMs: number, contextLength: number): TokenOutcome {
    this.outputTokens.push(token);
    if (this.firstTokenMs === undefined) this.firstTokenMs = nowMs;
    else this.itlSumMs += nowMs - (this.lastTokenMs ?? nowMs);
    this.lastTokenMs = nowMs;

    if (!this.ignoreEos && this.eos.has(token)) return { ...this.end(RequestStatus.FinishedStopped, '', nowMs), endOfSequence: true };
    const step = this.stop.push(this.decoder?.push(token) ?? '');
    if (step.stopped) {
      this.stopString = step.word;
      return this.end(RequestStatus.FinishedStopped, step.text, nowMs, false);
    }
    if (this.outputTokens.length >= this.maxTokens || this.numTokens >= contextLength) {
      return this.end(RequestStatus.FinishedLength, step.text, nowMs);
    }
    return { text: step.text, finished: false };
  }

  /** Ends the request without a token (abort, error). Nothing held back is emitted. */
  finish(status: RequestStatus, nowMs: number, error?: MlxBatchError): void {
    if (this.isFinished) return;
    this.status = status;
    this.finishedMs = nowMs;
    this.error = error;
  }

  private end(status: RequestStatus, text: string, nowMs: number, flush = true): TokenOutcome {
    let out = text;
    let final = status;
    if (flush) {
      // The decoder's held-back bytes may still complete a stop string.
      const tail = this.stop.push(this.decoder?.flush() ?? '');
      out += tail.text;
      if (tail.stopped) {
        final = RequestStatus.FinishedStopped;
        this.stopString = tail.word;
      }
      else out += this.stop.flush();
    }
    this.finish(final, nowMs);
    return { text: out, finished: true };
  }
}

/** Checks what a request asks for before it is queued. */
export function validateParams(params: GenerateParams, contextLength: number): void {
  const n = params.promptTokens.length;
  if (n === 0) throw new MlxBatchError('validation', 'The prompt is empty: send at least one token.', 'prompt');
  if (n >= contextLength) {
    throw new MlxBatchError('context_length_exceeded',
      `The prompt has ${n} tokens; the model's context is ${contextLength}, which leaves no room to generate. Shorten the prompt.`, 'prompt');
  }
  if (!Number.isInteger(params.maxTokens) || params.maxTokens < 0) {
    throw new MlxBatchError('validation', `max_tokens must be an integer >= 0 (got ${params.maxTokens}).`, 'max_tokens');
  }
  if ((params.stop ?? []).some((s) => s.length > 0) && !params.decoder) {
    throw new MlxBatchError('validation', 'Stop strings need a decoder to match text against.', 'stop');
  }
}
