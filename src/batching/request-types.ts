// Shapes shared by the scheduler, the engine and the server: sampling parameters, request
// status and how a finished status maps to an OpenAI finish_reason. Priority classes are the
// protocol's (PriorityClass in src/shared/protocol.ts).
import type { ChoiceFinishReason, PriorityClass } from '../shared/protocol';

/** Per-request sampling. temperature 0 means greedy; topK 0 and topP 1 disable those filters. */
export interface SamplingParams {
  temperature: number;
  topP: number;
  topK: number;
  /** Seed for reproducible sampling; a request without one gets a random seed. */
  seed?: number;
  /** Keeps tokens whose probability is at least minP x the most likely one's (0: off). */
  minP?: number;
  /** OpenAI's penalties on logits of tokens already generated: once (presence), per use (frequency). */
  presencePenalty?: number;
  frequencyPenalty?: number;
  /**
   * Divides positive logits (multiplies negative ones) of tokens among the last
   * `repetitionWindow` tokens of prompt and output (1: off), as llama.cpp's repeat_penalty.
   */
  repetitionPenalty?: number;
  /** Tokens the repetition penalty looks back over; -1: the whole prompt and output (default 64). */
  repetitionWindow?: number;
  /**
   * Report each emitted token's log-probability and this many most likely alternatives
   * (OpenAI's `logprobs` / `top_logprobs`); undefined: none reported.
   */
  logprobs?: number;
}

/** An emitted token's log-probability under the model, and the most likely tokens at its position. */
export interface TokenLogprob {
  token: number;
  logprob: number;
  /** Most likely first; as many as the request asked for. */
  top: { token: number; logprob: number }[];
}

/** Tokens the repetition penalty looks back over when a request names none (llama.cpp's repeat_last_n). */
export const DEFAULT_REPETITION_WINDOW = 64;

export const GREEDY: SamplingParams = { temperature: 0, topP: 1, topK: 0 };

/** Ordered: every status at or after FinishedStopped is final (as in vLLM's RequestStatus). */
export enum RequestStatus {
  Waiting = 0,
  Running = 1,
  FinishedStopped = 2,
  FinishedLength = 3,
  FinishedAborted = 4,
  FinishedError = 5,
}

export function isFinished(s: RequestStatus): boolean {
  return s >= RequestStatus.FinishedStopped;
}

/** Why a request ended: OpenAI's finish_reason, plus 'abort' and 'error' for requests that never finished normally. */
export type FinishReason = ChoiceFinishReason | 'abort' | 'error';

export function finishReason(s: RequestStatus): FinishReason | undefined {
  switch (s) {
    case RequestStatus.FinishedStopped: return 'stop';
    case RequestStatus.FinishedLength: return 'length';
    case RequestStatus.FinishedAborted: return 'abort';
    case RequestStatus.FinishedError: return 'error';
    default: return undefined;
  }
}

/**
 * Turns a request's generated token ids into text as they arrive, never emitting half of a
 * multi-byte character (implemented by the server's tokenizer; the scheduler needs text only
 * to match stop strings).
 */
export interface IncrementalDecoder {
  /** Adds one token; returns the text that became final with it (may be ''). */
  push(token: number): string;
  /** Returns what is still held back (e.g. at the end of generation). */
  flush(): string;
}

/** What a caller submits to the runner (the server fills it from an HTTP request). */
export interface GenerateParams {
  /** Caller's id (e.g. the HTTP request id); the runner makes one when absent. */
  id?: string;
  promptTokens: readonly number[];
  /**
   * Upper bound on generated tokens. 0 only computes the prompt: its keys and values go to the
   * prefix store (warming it for requests that start the same way) and nothing is emitted.
   */
  maxTokens: number;
  sampling?: SamplingParams;
  priority?: PriorityClass;
  /** Stop strings: generation ends before the first one and it is never emitted. */
  stop?: readonly string[];
  eosTokenIds?: readonly number[];
  /** Generate exactly maxTokens (unless the context fills): EOS is treated as an ordinary token. Benchmarks. */
  ignoreEos?: boolean;
  /** Turns tokens into text; without one, deltas carry token ids only and `stop` is refused. */
  decoder?: IncrementalDecoder;
  /** Speculative decoding for this request, when the server has it on (default true). */
  speculative?: boolean;
  /** Tokens the output is expected to resemble (a client's prediction): drafts are copied from them too. */
  prediction?: readonly number[];
}

/**
 * Token counts of a finished request, as the server passes them on (the HTTP edge writes them as
 * OpenAI's snake_case `usage`). cachedTokens: prompt tokens reused from the prefix store.
 * Accepted draft tokens are part of completionTokens.
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Draft tokens (speculative decoding) the model accepted, and those it rejected. */
  acceptedDraftTokens: number;
  rejectedDraftTokens: number;
}
