// The contract between the pure scheduler (src/batching) and the model side that runs it
// (src/server/engine). The scheduler decides WHAT runs each step; the engine runs it: one
// forward pass for all decode rows, plus prompt chunks, and samples the next tokens.
import type { SamplingParams, TokenLogprob } from './request-types';

export type RequestId = string;

/** What the engine must know of a request when it is admitted. */
export interface EngineRequest {
  id: RequestId;
  promptTokens: readonly number[];
  sampling: SamplingParams;
}

/** A slice of a prompt to compute this step: tokens [start, end) of the request's prompt. */
export interface PrefillChunk {
  id: RequestId;
  start: number;
  end: number;
}

/**
 * One step of work. Every decode row runs in ONE batched forward pass. A request appears at
 * most once per plan; a chunk starts where that request's computed tokens end.
 */
export interface StepPlan {
  /** Running requests that decode one token each (their last sampled token is the input). */
  decode: RequestId[];
  /** Prompt chunks; a request whose chunk reaches the prompt's end samples its first token. */
  prefill: PrefillChunk[];
  /**
   * Speculative decoding: tokens proposed to follow a decode row's last token, checked in the
   * same pass. The row emits the longest accepted prefix and then the model's own next token.
   */
  drafts?: ReadonlyMap<RequestId, readonly number[]>;
}

/** Tokens sampled this step, by request (decode rows, and prefills that completed). */
export interface StepOutput {
  /** The model's own next token of every row that sampled. */
  tokens: Map<RequestId, number>;
  /** Draft tokens accepted this step, emitted in order before the row's entry in `tokens`. */
  accepted?: Map<RequestId, number[]>;
  /**
   * For rows whose sampling asks for logprobs: one entry per emitted token, the accepted draft
   * tokens' and then the model's own.
   */
  logprobs?: Map<RequestId, TokenLogprob[]>;
}

export interface EngineStats {
  /** Bytes the engine's process holds for model, caches and scratch (the same figure on every backend). */
  memoryBytes: number;
  /** The highest memoryBytes since the last resetPeakMemory(), moments inside steps included. */
  peakMemoryBytes: number;
  /** Tokens held in per-request KV caches. */
  cacheTokens: number;
  /** Tokens held by the prefix-reuse store. */
  prefixStoreTokens: number;
}

export interface BatchEngine {
  /** Context length of the model: prompt + generated tokens may not exceed it. */
  readonly contextLength: number;
  /**
   * Admits a request (called by the scheduler at a step boundary, never during a step).
   * Returns how many leading prompt tokens are already computed (prefix reuse); the scheduler
   * starts that request's prefill there, using at most promptTokens.length - 1 of them (the
   * last prompt token is always computed, its logits give the first token).
   */
  add(req: EngineRequest): { cachedTokens: number };
  /** Runs one step; resolves once its tokens are sampled. */
  step(plan: StepPlan): Promise<StepOutput>;
  /** Frees the request's row and cache at once (finished, cancelled or failed); never during a step. */
  release(id: RequestId): void;
  stats(): EngineStats;
  /** Starts a new peak (benchmarks measure each mode's own). */
  resetPeakMemory(): void;
}
