// InferenceService over the batch runner (src/batching/runner.ts) and a model's tokenizer.
import type { IncrementalDecoder } from '../../batching/request-types';
import { benchmarkPrompts, EDITOR_SOURCE_FILES } from '../../batching/benchmark/prompts';
import { runEditorScenario } from '../../batching/benchmark/editor-scenario';
import { editorTrace } from '../../batching/benchmark/editor-trace';
import { DEFAULT_EDITOR_TRACE } from '../../shared/server-defaults';
import { editorTarget } from './editor-target';
import { runComparisonBenchmark } from '../../batching/benchmark/report';
import { runnerTarget } from '../../batching/benchmark/runner-target';
import type { Runner } from '../../batching/runner';
import type { BenchmarkEvent, BenchmarkReport, BenchmarkRequest, ChatMessage, EditorBenchmarkReport, ExtraContextChunk, KernelChoices } from '../../shared/protocol';
import type { ExtraContextTokens } from '../fim';
import { describeMachine } from '../machine';
import type { GenerationEvent } from '../../batching/generation-stream';
import type { GenerationRequest, InferenceService, ModelInfo } from './service';

/** What the service needs of a tokenizer. */
export interface PromptTokenizer {
  encode(text: string): number[];
  /** Renders the chat template (generation prompt added) and encodes it. */
  encodeChat(messages: ChatMessage[]): number[];
  /**
   * Fill-in-the-middle prompt, `extra` (encodeExtra's tokens) before it; throws
   * `unsupported_feature` for a model without FIM tokens.
   */
  encodeFim(prefix: string, suffix: string, extra?: readonly number[]): number[];
  /** Other files' pieces as tokens, each on its own (src/server/fim/extra-context.ts). */
  encodeExtra(chunks: readonly ExtraContextChunk[], currentFile?: string): ExtraContextTokens;
  /** Tokens that end a plain or chat generation (EOS, end of turn). */
  readonly eosTokenIds: readonly number[];
  /** Tokens that end an infill (the above plus the FIM style's end tokens). */
  readonly fimStopIds: readonly number[];
  decoder(): IncrementalDecoder;
  /** The bytes one token stands for. */
  tokenBytes(id: number): Uint8Array;
}

export interface RunnerServiceOptions {
  /** 'cpu' or 'metal', reported by benchmarks. */
  backend: string;
  /** Defaults of POST /v1/benchmark. */
  benchmarkConcurrency: number[];
  benchmarkMaxTokens: number;
  /** The CPU kernels the engine runs with (none for an engine without MLX). */
  kernels?: KernelChoices;
}

export class RunnerService implements InferenceService {
  constructor(
    readonly model: ModelInfo,
    private readonly runner: Runner,
    private readonly tokenizer: PromptTokenizer,
    private readonly options: RunnerServiceOptions,
  ) {}

  get kernels(): KernelChoices | undefined {
    return this.options.kernels;
  }

  completionPrompt(prompt: string, suffix: string | undefined, extra?: readonly number[]): number[] {
    return suffix === undefined ? this.tokenizer.encode(prompt) : this.tokenizer.encodeFim(prompt, suffix, extra);
  }

  extraContext(chunks: readonly ExtraContextChunk[], currentFile?: string): ExtraContextTokens {
    return this.tokenizer.encodeExtra(chunks, currentFile);
  }

  chatPrompt(messages: ChatMessage[]): number[] {
    return this.tokenizer.encodeChat(messages);
  }

  tokenBytes(id: number): Uint8Array {
    return this.tokenizer.tokenBytes(id);
  }

  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationEvent> {
    const { fim, prediction, ...params } = request;
    return this.runner.submit({
      ...params,
      ...(prediction ? { prediction: this.tokenizer.encode(prediction) } : {}),
      eosTokenIds: fim ? this.tokenizer.fimStopIds : this.tokenizer.eosTokenIds,
      decoder: this.tokenizer.decoder(),
    }, signal);
  }

  stats() {
    return this.runner.stats();
  }

  metrics() {
    return this.runner.metrics();
  }

  setBatching(enabled: boolean): void {
    this.runner.setBatching(enabled);
  }

  benchmark(req: BenchmarkRequest, onEvent: (e: BenchmarkEvent) => void, signal: AbortSignal): Promise<BenchmarkReport | EditorBenchmarkReport> {
    if (req.scenario === 'editor') {
      const trace = editorTrace(req.files ?? EDITOR_SOURCE_FILES, {
        seed: req.seed ?? DEFAULT_EDITOR_TRACE.seed, chats: req.chats ?? DEFAULT_EDITOR_TRACE.chats,
        typingMs: req.typing_ms ?? DEFAULT_EDITOR_TRACE.typingMs, durationS: req.duration ?? DEFAULT_EDITOR_TRACE.durationS,
      });
      return runEditorScenario(editorTarget(this), trace, {
        model: this.model.id, machine: describeMachine(this.options.backend), signal,
        onProgress: (mode, elapsedMs, totalMs) => onEvent({ type: 'editor-progress', mode, elapsedMs, totalMs }),
      });
    }
    const target = runnerTarget(this.runner, this.tokenizer, 'background');
    return runComparisonBenchmark(target, {
      model: this.model.id,
      concurrencies: req.concurrency ?? this.options.benchmarkConcurrency,
      maxTokens: req.max_tokens ?? this.options.benchmarkMaxTokens,
      prompts: benchmarkPrompts(req.prompts ?? ['short', 'medium']),
      machine: describeMachine(this.options.backend),
      signal,
      onProgress: (p) => onEvent({ type: 'progress', mode: p.mode, concurrency: p.concurrency, done: p.done, total: p.total }),
    });
  }

  drain(): Promise<void> {
    return this.runner.drain();
  }
}
