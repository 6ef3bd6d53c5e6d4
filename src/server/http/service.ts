// What the HTTP layer needs from the inference side, and nothing more: prompt building,
// generation as a stream of events, live counters, the batching switch and the benchmark.
// runner-service.ts implements it over the batch runner and the model's tokenizer.
import type { Priority, SamplingParams } from '../../batching/request-types';
import type { RunnerMetrics, RunnerStats } from '../../batching/runner';
import type { BenchmarkEvent, BenchmarkReport, BenchmarkRequest, ChatMessage } from '../../shared/protocol';

/** One generation request, already tokenized and fitted into the context. */
export interface GenerateParams {
  /** The HTTP request id (logs and errors name it). */
  id: string;
  promptTokens: number[];
  maxTokens: number;
  sampling: SamplingParams;
  /** Strings that end generation; never part of the output. */
  stop: string[];
  priority: Priority;
  ignoreEos: boolean;
  /** A fill-in-the-middle prompt: generation also ends at the model's infill stop tokens. */
  fim: boolean;
}

export interface TokenUsage {
  prompt: number;
  completion: number;
  /** Prompt tokens reused from the prefix cache. */
  cached: number;
}

/** A request's events: text deltas, then one `finish`; an aborted request just ends. */
export type GenerateEvent =
  | { type: 'delta'; text: string }
  | { type: 'finish'; reason: 'stop' | 'length'; usage: TokenUsage };

export interface ModelInfo {
  id: string;
  contextLength: number;
  /** Unix seconds the model was loaded. */
  created: number;
}

export interface InferenceService {
  readonly model: ModelInfo;
  /** Tokens of a plain prompt, or of a fill-in-the-middle prompt when `suffix` is given. */
  completionPrompt(prompt: string, suffix: string | undefined): number[];
  /** Tokens of a chat rendered by the model's chat template, ready for the assistant's turn. */
  chatPrompt(messages: ChatMessage[]): number[];
  /**
   * Starts a request. Throws at once (before any response is written) when the queue is full
   * (`overloaded`). Aborting `signal` ends the stream and frees the request's row.
   */
  generate(params: GenerateParams, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  stats(): RunnerStats;
  metrics(): RunnerMetrics;
  setBatching(enabled: boolean): void;
  /** Runs the sequential-vs-batched comparison on this model, reporting progress. */
  benchmark(req: BenchmarkRequest, onEvent: (e: BenchmarkEvent) => void, signal: AbortSignal): Promise<BenchmarkReport>;
  /** Refuses new requests and resolves once running and waiting ones finish. */
  drain(): Promise<void>;
}
