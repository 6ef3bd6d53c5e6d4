// The one protocol module: every HTTP request, response and stream event between the editor
// (or any OpenAI client) and the server, declared once. OpenAI shapes keep OpenAI's
// snake_case field names; mlx-batch's own endpoints use the same convention.

import type { ErrorType } from './errors';

/** Scheduling class of a request: header `x-mlx-batch-priority` or body field `priority`. */
export type PriorityClass = 'interactive' | 'normal' | 'background';
/** The priority classes, most urgent first (the scheduler's order). */
export const PRIORITY_CLASSES: readonly PriorityClass[] = ['interactive', 'normal', 'background'];
export const PRIORITY_HEADER = 'x-mlx-batch-priority';

/** Sampling and stopping fields shared by both generation endpoints. */
export interface SamplingFields {
  /** Upper bound on generated tokens (default: server's, capped by the context). */
  max_tokens?: number;
  /** 0 = greedy. Default 1 (OpenAI's). */
  temperature?: number;
  /** Nucleus sampling mass, (0, 1]. */
  top_p?: number;
  /** Keep the k most likely tokens; 0 disables (mlx-batch, vLLM and llama.cpp extension). */
  top_k?: number;
  /** Up to 4 strings that end generation; never included in the output. */
  stop?: string | string[];
  /** Makes sampling reproducible. */
  seed?: number;
  /** Stream as server-sent events ending with `data: [DONE]`. */
  stream?: boolean;
  /** With `stream`, `include_usage` adds a final chunk carrying `usage`. */
  stream_options?: { include_usage?: boolean };
  /** Choices generated from the one prompt, 1-16 (each a row of the batch; the prompt is computed once). */
  n?: number;
  /** Scheduling class; the header wins when both are given. */
  priority?: PriorityClass;
  /** 'left' drops the oldest prompt tokens instead of rejecting a prompt longer than the context. */
  truncate_prompt?: 'left' | 'none';
  /** Generate exactly max_tokens, ignoring end-of-sequence (benchmarks). */
  ignore_eos?: boolean;
  /** Keep tokens at least min_p x as likely as the most likely one. */
  min_p?: number;
  /** OpenAI's penalties, in [-2, 2]. */
  presence_penalty?: number;
  frequency_penalty?: number;
  /** Positive logits of recent tokens divided by it, negative multiplied (1: off); llama.cpp spells it repeat_penalty. */
  repetition_penalty?: number;
  repeat_penalty?: number;
  /** Tokens the repetition penalty looks back over (-1: all, 0: off; default 64). */
  repeat_last_n?: number;
  /** false opts the request out of speculative decoding. */
  speculative?: boolean;
  /** OpenAI's predicted output: drafts are copied from it. */
  prediction?: { type: 'content'; content: string | { type: 'text'; text: string }[] };
  /** Accepted and ignored (OpenAI clients send it). */
  user?: string;
  /** Model id; must be the loaded model's id, or omitted. */
  model?: string;
}

/**
 * A piece of another file given to a fill-in-the-middle prompt as context (llama.cpp's
 * `input_extra` entries): placed before the FIM prefix, with the model's repository-level tokens
 * (`<|file_sep|>` + filename) where its tokenizer has them.
 */
export interface ExtraContextChunk {
  filename: string;
  text: string;
}

/** POST /v1/completions. `suffix` asks for fill-in-the-middle with the model's FIM tokens. */
export interface CompletionRequest extends SamplingFields {
  prompt: string | [string];
  suffix?: string;
  /** With `suffix`: pieces of other files, in a stable order (mlx-batch extension, llama.cpp's field). */
  input_extra?: ExtraContextChunk[];
  echo?: boolean;
  /** Report each generated token's log-probability and this many alternatives (0-20). */
  logprobs?: number | null;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** POST /v1/chat/completions. */
export interface ChatCompletionRequest extends SamplingFields {
  messages: ChatMessage[];
  /** Report each generated token's log-probability. */
  logprobs?: boolean | null;
  /** With `logprobs`: this many most likely alternatives per token (0-20). */
  top_logprobs?: number | null;
}

/** A token and its log-probability, as chat's `logprobs.content` lists them. */
export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  /** The token's bytes (a token may hold part of a multi-byte character). */
  bytes: number[];
}

/** A choice's `logprobs` in /v1/chat/completions: one entry per generated token. */
export interface ChatLogprobs {
  content: (ChatTokenLogprob & { top_logprobs: ChatTokenLogprob[] })[];
  refusal: null;
}

/** A choice's `logprobs` in /v1/completions (the legacy shape): parallel lists, one entry per token. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  /** The most likely tokens at each position, token text to log-probability. */
  top_logprobs: Record<string, number>[];
  /** Where each token's text starts in the choice's text. */
  text_offset: number[];
}

/**
 * POST /infill, llama.cpp server's fill-in-the-middle endpoint (what llama.vscode sends).
 * `n_predict` 0 only computes the prompt (warming the cache) and generates nothing.
 */
export interface InfillRequest {
  input_prefix?: string;
  input_suffix?: string;
  input_extra?: ExtraContextChunk[];
  /** Text after `input_prefix` on the cursor's line (llama.vscode sends what was typed since). */
  prompt?: string;
  /** Tokens to generate; -1 = up to the context; 0 = only compute the prompt. Default -1. */
  n_predict?: number;
  /** Stop once a new line is less indented than this many columns (llama.cpp's n_indent). */
  n_indent?: number;
  /** Stop generating after this many milliseconds (0: no limit). */
  t_max_predict_ms?: number;
  /** Accepted (llama.cpp gives up a prompt after it; here prompts always finish). */
  t_max_prompt_ms?: number;
  cache_prompt?: boolean;
  samplers?: string[] | string;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  seed?: number;
  stop?: string[];
  stream?: boolean;
  /** Accepted and ignored: one batch serves every request here. */
  id_slot?: number;
  /** Scheduling class (mlx-batch extension; the header wins). */
  priority?: PriorityClass;
}

/** The answer of POST /infill (and each streamed event, `content` then being a delta), llama.cpp's shape. */
export interface InfillResponse {
  index: 0;
  content: string;
  /** Always 0: one batch serves every request (llama.cpp names its slot). */
  id_slot: 0;
  /** true on the last event of a stream, and in a whole answer. */
  stop: boolean;
  /**
   * Why it stopped: 'eos' (end of sequence or infill end), 'word' (a stop string), 'limit'
   * (n_predict, the context, n_indent or t_max_predict_ms); 'none' before the end.
   */
  stop_type: 'none' | 'eos' | 'word' | 'limit';
  /** The stop string that ended it ('' otherwise). */
  stopping_word: string;
  /** The answer holds a new line. */
  has_new_line: boolean;
  model: string;
  tokens_predicted: number;
  tokens_evaluated: number;
  /** Prompt tokens whose keys and values were reused from an earlier request. */
  tokens_cached: number;
  /** The prompt was cut to fit the context. */
  truncated: boolean;
  timings: {
    prompt_n: number;
    prompt_ms: number;
    prompt_per_token_ms: number;
    prompt_per_second: number;
    predicted_n: number;
    predicted_ms: number;
    predicted_per_token_ms: number;
    predicted_per_second: number;
  };
}

/** Why a choice ended: OpenAI's `finish_reason` (null in a chunk that does not end the stream). */
export type ChoiceFinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens whose keys and values were reused from an earlier request. */
  prompt_tokens_details: { cached_tokens: number };
  /**
   * Speculative decoding, in OpenAI's fields for predicted outputs: draft tokens the model
   * accepted (counted in completion_tokens) and those it rejected.
   */
  completion_tokens_details: { accepted_prediction_tokens: number; rejected_prediction_tokens: number };
}

export interface CompletionChoice {
  index: number;
  text: string;
  finish_reason: ChoiceFinishReason | null;
  logprobs: CompletionLogprobs | null;
}

/** Response of /v1/completions; also each streamed chunk (then `text` is a delta). */
export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage?: Usage | null;
}

export interface ChatChoice {
  index: number;
  message: { role: 'assistant'; content: string };
  finish_reason: ChoiceFinishReason | null;
  logprobs: ChatLogprobs | null;
}

/** Response of /v1/chat/completions without `stream`. */
export interface ChatCompletionResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage: Usage;
}

export interface ChatChunkChoice {
  index: number;
  delta: { role?: 'assistant'; content?: string };
  finish_reason: ChoiceFinishReason | null;
  logprobs: ChatLogprobs | null;
}

/** One streamed chunk of /v1/chat/completions. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChatChunkChoice[];
  usage?: Usage | null;
}

/** Every error response: OpenAI's shape. `type` is one of ErrorType. */
export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

/** GET /v1/models. */
export interface ModelList {
  object: 'list';
  data: { id: string; object: 'model'; created: number; owned_by: string; context_length: number }[];
}

export type HealthStatus = 'loading' | 'ready' | 'draining';

/** GET /health. 200 when ready, 503 otherwise. */
export interface Health {
  status: HealthStatus;
  model: string | null;
  /** Model loading progress in [0, 1] while loading. */
  progress?: number;
}

/** GET/POST /v1/batching. POST takes `{enabled}`; both answer the current state. */
export interface BatchingState {
  enabled: boolean;
  /** Most requests running at once now: the configured max batch, or 1 while batching is off. */
  max_batch: number;
}

/** One event of GET /v1/stats/stream (server-sent, about twice a second). */
export interface LiveStats {
  running: number;
  waiting: number;
  max_batch: number;
  batching: boolean;
  /** Generated tokens per second over the last few seconds. */
  tokens_per_second: number;
  memory_mb: number;
  requests_total: number;
  /**
   * Speculative decoding: on or off, and draft tokens proposed and accepted since the server
   * started (absent from servers without it).
   */
  speculative?: boolean;
  draft_tokens?: number;
  draft_accepted?: number;
}

export type BenchmarkPromptSet = 'short' | 'medium' | 'long';

/**
 * What a benchmark runs: `throughput`, the same requests sequentially and batched at several
 * concurrencies; `editor`, the editor's real mix (completions at typing pace, most cancelled by
 * the next keystroke, while chats stream) replayed in three modes.
 */
export const BENCHMARK_SCENARIOS = ['throughput', 'editor'] as const;
export type BenchmarkScenario = (typeof BENCHMARK_SCENARIOS)[number];

/** POST /v1/benchmark body. */
export interface BenchmarkRequest {
  /** Default `throughput`. */
  scenario?: BenchmarkScenario;
  /** throughput: the concurrency levels, prompts and tokens per request. */
  concurrency?: number[];
  max_tokens?: number;
  prompts?: BenchmarkPromptSet[];
  /** editor: chat streams beside the typing (default 2), ms between keystrokes (150), seconds of trace (60), the trace's seed (1). */
  chats?: number;
  typing_ms?: number;
  duration?: number;
  seed?: number;
  /** editor: the source files typed in and asked about (default: the benchmark's own). */
  files?: { path: string; text: string }[];
}

/**
 * The modes the editor scenario replays its trace in: `sequential` (batching off: one request at
 * a time), `batched` (one batch, priorities off: every request in one class), `batched-priority`
 * (what ships: completions `interactive`, chats `normal`).
 */
export const EDITOR_BENCHMARK_MODES = ['sequential', 'batched', 'batched-priority'] as const;
export type EditorBenchmarkMode = (typeof EDITOR_BENCHMARK_MODES)[number];

/** One mode of the editor scenario. Times in milliseconds. */
export interface EditorModeResult {
  mode: EditorBenchmarkMode;
  /** Completions sent, answered (not cancelled before their first token) and cancelled by a later keystroke. */
  completionsSent: number;
  completionsServed: number;
  completionsCancelled: number;
  /** Time to first token of the completions served. */
  completionTtftMs: { p50: number; p90: number; p99: number };
  /** Every served completion's time to first token, ascending (the CDF). */
  completionTtftSamplesMs: number[];
  /** Time until a served completion's first line was complete (a new line, or its end). */
  completionLineMs: { p50: number; p90: number; p99: number };
  /** Chat tokens received over the mode's wall time. */
  chatTokens: number;
  chatTokensPerSecond: number;
  chatTtftMs: { p50: number; p99: number };
  chatInterTokenMs: { p99: number };
  /** Most requests running in one step. */
  peakBatch: number;
  wallMs: number;
}

/** What `mlx-batch bench --scenario editor --json` prints and POST /v1/benchmark ends with for it. */
export interface EditorBenchmarkReport {
  scenario: 'editor';
  model: string;
  machine: BenchmarkReport['machine'];
  startedAt: string;
  trace: {
    seed: number;
    chats: number;
    typingMs: number;
    durationS: number;
    /** Keystrokes typed, and those that ask for a completion (a pause longer than the debounce follows them). */
    keystrokes: number;
    completions: number;
    /** Chat questions the trace holds (each stream asks its own in order until the trace ends). */
    chatQuestions: number;
    /** The source files typed and asked about. */
    files: string[];
  };
  modes: EditorModeResult[];
  /**
   * batched-priority against sequential: completion time to first token p50 (sequential's over
   * batched-priority's: how many times sooner) and chat tokens per second (batched-priority's over
   * sequential's), and the sentence that says it.
   */
  verdict: { completionTtftSpeedup: number; chatThroughputSpeedup: number; text: string };
}

/** One mode at one concurrency in a benchmark report. */
export interface BenchmarkRow {
  mode: 'sequential' | 'batched';
  concurrency: number;
  requests: number;
  totalTokens: number;
  wallMs: number;
  tokensPerSecond: number;
  latencyMs: { avg: number; p50: number; p90: number; p99: number };
  ttftMs: { avg: number; p50: number; p99: number };
  interTokenMs: { avg: number; p50: number; p99: number };
  peakMemoryMb: number;
  /** Engine time of the mode in steps that computed prompt chunks and in decode-only steps (absent where the target cannot tell). */
  stepMs?: StepTime;
}

/** Engine time, in milliseconds, in steps that computed a prompt chunk (decode rows beside it included) and in decode-only steps. */
export interface StepTime {
  promptMs: number;
  decodeMs: number;
}

/** What `mlx-batch bench --json` prints and POST /v1/benchmark ends with. */
export interface BenchmarkReport {
  model: string;
  machine: { platform: string; arch: string; cpus: number; cpuModel: string; memoryGb: number; backend: string };
  startedAt: string;
  maxTokens: number;
  results: BenchmarkRow[];
  /** Batched tok/s over sequential tok/s, by concurrency. */
  speedup: Record<string, number>;
  /**
   * By concurrency, the speed-up of each part (sequential ms / batched ms of prompt steps, of
   * decode steps) and the share of the sequential mode's engine time that went to prompts:
   * the Amdahl bound of what batching can buy. Absent where the target cannot tell.
   */
  parts?: Record<string, { prompt: number; decode: number; sequentialPromptShare: number }>;
}

/** Server-sent events of POST /v1/benchmark. */
export type BenchmarkEvent =
  | { type: 'progress'; mode: 'sequential' | 'batched'; concurrency: number; done: number; total: number }
  | { type: 'editor-progress'; mode: EditorBenchmarkMode; elapsedMs: number; totalMs: number }
  | { type: 'result'; report: BenchmarkReport | EditorBenchmarkReport }
  | { type: 'error'; error: ErrorBody['error'] };

/** The editor scenario's report, told apart from the throughput one. */
export function isEditorReport(r: BenchmarkReport | EditorBenchmarkReport): r is EditorBenchmarkReport {
  return (r as EditorBenchmarkReport).scenario === 'editor';
}

/** The CPU kernels a server process runs with, as its environment chose them (docs/CONFIGURATION.md). */
export interface KernelChoices {
  /** The BLAS shim is loaded: false with MLX_BATCH_SKINNY_GEMM=0, off Linux, or without build/native/skinny-gemm.node. */
  blasShim: boolean;
  /** Most rows of a product the shim's small-M kernel takes (MLX_BATCH_SMALL_GEMM_ROWS; 0: off); null without the shim. */
  smallGemmRows: number | null;
  /**
   * mx.compile runs: SwiGLU as one fused kernel, and the layers of decode passes as compiled
   * graphs. False with MLX_BATCH_COMPILE=0, or when MLX cannot compile here.
   */
  compiled: boolean;
  /** Flags added to the compiler MLX builds its fused CPU kernels with (`-O3 -march=native ...`); null: MLX's own command (MLX_BATCH_CPU_JIT=0, off Linux, or no g++). */
  cpuJitFlags: string | null;
  /**
   * Bytes of the process's memory in transparent huge pages once the model is loaded (weights among
   * them; MLX_BATCH_HUGE_PAGES=0 leaves them off); null where the kernel does not say (off Linux).
   */
  hugePageBytes: number | null;
  /**
   * glibc's malloc keeps the buffers MLX frees for the next pass (the process started with the
   * tunables of src/shared/malloc-tunables.ts; MLX_BATCH_MALLOC_KEEP=0 leaves them out); false off Linux.
   */
  mallocKeep: boolean;
  /**
   * Attention on the CPU backend runs as compiled pieces, the queries of each key/value head in one
   * block (src/server/model/sdpa.ts), instead of MLX's own call; false with
   * MLX_BATCH_CPU_ATTENTION=0 and on Metal, where MLX's fused kernel runs.
   */
  cpuAttention: boolean;
  /**
   * The CPU family OpenBLAS chose its kernels for, as it names it ('Cooperlake', 'SkylakeX',
   * 'Haswell', ...): prompt products run on them. OPENBLAS_CORETYPE in the environment forces one
   * (an older family's kernels are slower on a newer CPU). Null without the BLAS shim or with
   * another BLAS.
   */
  blasCore: string | null;
}

/**
 * Lines the server prints on stdout for its parent (one JSON object per line), in this order:
 * `listening` as soon as the port is bound (requests then get 503 until the model is loaded),
 * `loading` progress, then `ready` (or `error` if loading failed, and the process exits 1).
 * `ready` names the CPU kernels the process chose (`kernels`, absent for a service without MLX).
 */
export type ServerEvent =
  | { event: 'listening'; url: string; model: string }
  | { event: 'loading'; progress: number; message: string }
  | { event: 'ready'; model: string; contextLength: number; kernels?: KernelChoices }
  | { event: 'error'; message: string; type: ErrorType };
