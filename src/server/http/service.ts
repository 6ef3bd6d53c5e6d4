// What the HTTP layer needs from the inference side, and nothing more: prompt building,
// generation as a stream of events, live counters, the batching switch and the benchmark.
// runner-service.ts implements it over the batch runner and the model's tokenizer.
import type { GenerateParams } from '../../batching/request-types';
import type { GenerationEvent } from '../../batching/generation-stream';
import type { RunnerMetrics, RunnerStats } from '../../batching/runner-metrics';
import type { BenchmarkEvent, BenchmarkReport, BenchmarkRequest, ChatMessage, EditorBenchmarkReport, ExtraContextChunk, KernelChoices } from '../../shared/protocol';
import type { ExtraContextTokens } from '../fim';

/**
 * One generation request as the HTTP layer hands it over: tokenized, fitted into the context and
 * every field decided. The service makes the runner's GenerateParams of it, adding the
 * tokenizer's decoder and the stop tokens (the infill ones when `fim`).
 */
export interface GenerationRequest extends Required<Pick<GenerateParams, 'promptTokens' | 'maxTokens' | 'sampling' | 'priority' | 'ignoreEos'>> {
  /** The HTTP request id (logs and errors name it). */
  id: string;
  /** Strings that end generation; never part of the output. */
  stop: readonly string[];
  /** A fill-in-the-middle prompt: generation also ends at the model's infill stop tokens. */
  fim: boolean;
  /** Speculative decoding allowed for this request (the server's setting still rules). */
  speculative: boolean;
  /** Text the output is expected to resemble (OpenAI's predicted output): drafts copy from it. */
  prediction?: string;
}

export interface ModelInfo {
  id: string;
  contextLength: number;
  /** Unix seconds the model was loaded. */
  created: number;
}

export interface InferenceService {
  readonly model: ModelInfo;
  /** The CPU kernels generation runs on, when it runs on MLX. */
  readonly kernels?: KernelChoices;
  /**
   * Tokens of a plain prompt, or of a fill-in-the-middle prompt when `suffix` is given, with
   * `extra` (extraContext's tokens, joined) before it.
   */
  completionPrompt(prompt: string, suffix: string | undefined, extra?: readonly number[]): number[];
  /** Other files' pieces (a FIM request's `input_extra`) as tokens, each piece on its own. */
  extraContext(chunks: readonly ExtraContextChunk[], currentFile?: string): ExtraContextTokens;
  /** Tokens of a chat rendered by the model's chat template, ready for the assistant's turn. */
  chatPrompt(messages: ChatMessage[]): number[];
  /** The bytes one token stands for (logprobs report them). */
  tokenBytes(id: number): Uint8Array;
  /**
   * Starts a request and returns the runner's events for it. Throws at once (before any response
   * is written) when the queue is full (`overloaded`). Aborting `signal` frees the request's row
   * and ends the stream with finishReason 'abort'.
   */
  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationEvent>;
  stats(): RunnerStats;
  metrics(): RunnerMetrics;
  setBatching(enabled: boolean): void;
  /** Runs the sequential-vs-batched comparison on this model, reporting progress. */
  benchmark(req: BenchmarkRequest, onEvent: (e: BenchmarkEvent) => void, signal: AbortSignal): Promise<BenchmarkReport | EditorBenchmarkReport>;
  /** Refuses new requests and resolves once running and waiting ones finish. */
  drain(): Promise<void>;
}
