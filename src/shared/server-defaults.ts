// The server's defaults, written once: what `mlx-batch serve` takes when a flag is absent, what
// the scheduler starts with, and what the extension's settings fall back to. package.json's
// `contributes.configuration` repeats the editor's; a unit test checks that they agree.

/** Most requests running at once, the rows of the batch (`--max-batch`, `mlxBatch.server.maxBatch`). */
export const DEFAULT_MAX_BATCH = 8;

/**
 * KV-cache token budget: the scheduler's, and the most the loader picks from the memory left after
 * the weights when none is given (`--kv-budget`; `mlxBatch.server.kvBudget` 0).
 */
export const DEFAULT_KV_BUDGET_TOKENS = 65_536;

/** Most requests waiting for a row; past it, 429 (`--max-waiting`). */
export const DEFAULT_MAX_WAITING = 256;

/** Continuous batching on (`--no-batching` turns it off; `mlxBatch.server.batching`). */
export const DEFAULT_BATCHING = true;

/**
 * Speculative decoding: `ngram` drafts by prompt lookup and checks the drafts in the batch, `off`
 * decodes one token per step (`--speculative`, `mlxBatch.server.speculative`).
 */
export const SPECULATIVE_MODES = ['ngram', 'off'] as const;
export type SpeculativeMode = (typeof SPECULATIVE_MODES)[number];
export const DEFAULT_SPECULATIVE: SpeculativeMode = 'ngram';

/**
 * Shortest run of a prompt that the prefix store reuses from another position, keys moved to
 * their new positions (`--cache-reuse`, llama.cpp's flag); 0: only exact prefixes are reused. The
 * editor's server turns it on for repository context, where a piece leaving the ring moves every
 * piece after it.
 */
export const DEFAULT_CACHE_REUSE = 0;
/** The run length the extension's server reuses (its `--cache-reuse`) while repository context is on. */
export const EDITOR_CACHE_REUSE = 64;

/** The chat panel's repetition penalty (`mlxBatch.chat.repetitionPenalty`; measured in docs/DEFAULT_MODEL.md), which the editor benchmark's chats use too. */
export const DEFAULT_CHAT_REPETITION_PENALTY = 1.1;

/**
 * The editor benchmark's trace unless asked otherwise (`mlx-batch bench --scenario editor`, POST
 * /v1/benchmark, `mlxBatch.benchmark.editor*`): 2 chats, a keystroke every 150 ms, a minute, seed 1.
 */
export const DEFAULT_EDITOR_TRACE = { seed: 1, chats: 2, typingMs: 150, durationS: 60 };

/** Address the server binds (`--host`): loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Largest request body in bytes (`--body-limit`). */
export const DEFAULT_BODY_LIMIT_BYTES = 1 << 20;

/** max_tokens of /v1/completions when the request names none (`--max-tokens-default`; OpenAI's is 16). */
export const DEFAULT_COMPLETION_TOKENS = 16;

/** How long SIGTERM waits for running requests, in seconds (`--drain-timeout`). */
export const DEFAULT_DRAIN_TIMEOUT_S = 30;

/** Interval of GET /v1/stats/stream events in milliseconds (`--stats-interval-ms`). */
export const DEFAULT_STATS_INTERVAL_MS = 500;
