// The one Settings type and its sanitiser: raw `mlxBatch.*` values in, safe values out.
// vscode-free so it is unit-tested; config.ts reads the raw values from the editor. The
// fallbacks are package.json's defaults (a unit test checks they agree); the server's own come
// from src/shared/server-defaults.ts.
import { DEFAULT_BATCHING, DEFAULT_CHAT_REPETITION_PENALTY, DEFAULT_EDITOR_TRACE, DEFAULT_MAX_BATCH, DEFAULT_SPECULATIVE, type SpeculativeMode } from '../shared/server-defaults';
import { DEFAULT_COMPLETION_DEBOUNCE_MS, DEFAULT_FIM_CONTEXT_CHARS } from '../shared/fim-context';

export type Backend = 'local' | 'remote';

/** What a remote server speaks for inline completions: OpenAI's /v1/completions, or llama.cpp's /infill with context chunks. */
export type RemoteApi = 'openai' | 'llama.cpp';

/** The device the local server runs MLX on; `auto`: the server's default (gpu when Metal is available, else cpu). */
export type ServerDevice = 'auto' | 'cpu' | 'gpu';

export interface Settings {
  backend: Backend;
  /** Model folder or HF cache id; '' = the model shipped with the extension. */
  model: string;
  remote: { url: string; model: string; api: RemoteApi };
  server: {
    autoStart: boolean;
    maxBatch: number;
    device: ServerDevice;
    /** KV-cache budget in tokens; 0 = the server's default. */
    kvBudget: number;
    batching: boolean;
    /** Speculative decoding in the local server (`--speculative`). */
    speculative: SpeculativeMode;
    maxRestarts: number;
    /** Node executable for the local server; '' = the editor's own runtime. */
    nodePath: string;
  };
  completion: {
    enabled: boolean;
    debounceMs: number;
    maxTokens: number;
    temperature: number;
    maxPrefixChars: number;
    maxSuffixChars: number;
    /** Language id -> enabled; '*' is the default for languages not listed. */
    languages: Record<string, boolean>;
    /** Chunks of other files (and definitions) sent with completions to servers that take them. */
    context: {
      enabled: boolean;
      /** Lines per chunk the ring keeps. */
      chunkLines: number;
      maxChunks: number;
      /** Queued chunks enter the ring (and warm the server's cache) at most this often. */
      refreshMs: number;
      /** Larger files give no chunks. */
      maxFileKB: number;
      /** Characters of chunk text one request carries at most. */
      maxChars: number;
      /** Definitions of the symbols on the cursor's line and the line before, from the language server. */
      definitions: boolean;
      definitionTimeoutMs: number;
    };
  };
  chat: { maxTokens: number; temperature: number; repetitionPenalty: number; systemPrompt: string };
  benchmark: {
    /** The throughput scenario: concurrency levels and tokens per request. */
    concurrency: number[];
    maxTokens: number;
    keepRuns: number;
    /** The editor scenario: chats streaming beside the typing, ms between keystrokes, seconds of trace per mode. */
    editorChats: number;
    editorTypingMs: number;
    editorDurationS: number;
  };
}

/** Reads one setting by its key below `mlxBatch.` (e.g. "completion.debounceMs"). */
export type RawGetter = (key: string) => unknown;

export const DEFAULT_LANGUAGES: Record<string, boolean> = { '*': true, plaintext: false, markdown: false, scminput: false };
/**
 * The default of `mlxBatch.chat.systemPrompt`: empty, so no system message of ours is sent and the
 * model's chat template applies its own default (the shipped model's: CHAT_TEMPLATE_SYSTEM_PROMPT
 * in src/training/tokenizer-spec.ts).
 */
export const DEFAULT_SYSTEM_PROMPT = '';

function int(v: unknown, fallback: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, Math.round(n)));
}

function num(v: unknown, fallback: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, n));
}

const bool = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : fallback);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v.trim() : fallback);

/** An http(s) URL without a trailing slash or a trailing `/v1`, or '' when invalid. */
export function normaliseBaseUrl(v: unknown): string {
  const s = str(v);
  if (!s) return '';
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return '';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
  const pathname = u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${u.protocol}//${u.host}${pathname}`;
}

function languages(v: unknown): Record<string, boolean> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { ...DEFAULT_LANGUAGES };
  const out: Record<string, boolean> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (typeof val === 'boolean' && k.trim()) out[k.trim()] = val;
  if (!('*' in out)) out['*'] = true;
  return out;
}

function concurrency(v: unknown): number[] {
  const list = Array.isArray(v) ? v.filter((n): n is number => Number.isInteger(n) && n >= 1 && n <= 64) : [];
  const uniq = [...new Set(list)].sort((a, b) => a - b).slice(0, 8);
  return uniq.length ? uniq : [1, 2, 4, 8];
}

export function sanitizeSettings(get: RawGetter): Settings {
  return {
    backend: get('backend') === 'remote' ? 'remote' : 'local',
    model: str(get('model')),
    remote: { url: normaliseBaseUrl(get('remote.url')), model: str(get('remote.model')), api: get('remote.api') === 'llama.cpp' ? 'llama.cpp' : 'openai' },
    server: {
      autoStart: bool(get('server.autoStart'), true),
      maxBatch: int(get('server.maxBatch'), DEFAULT_MAX_BATCH, 1, 64),
      device: get('server.device') === 'cpu' || get('server.device') === 'gpu' ? (get('server.device') as ServerDevice) : 'auto',
      kvBudget: int(get('server.kvBudget'), 0, 0, 10_000_000),
      batching: bool(get('server.batching'), DEFAULT_BATCHING),
      speculative: get('server.speculative') === 'off' ? 'off' : get('server.speculative') === 'ngram' ? 'ngram' : DEFAULT_SPECULATIVE,
      maxRestarts: int(get('server.maxRestarts'), 3, 0, 20),
      nodePath: str(get('server.nodePath')),
    },
    completion: {
      enabled: bool(get('completion.enabled'), true),
      debounceMs: int(get('completion.debounceMs'), DEFAULT_COMPLETION_DEBOUNCE_MS, 0, 2000),
      maxTokens: int(get('completion.maxTokens'), 64, 1, 1024),
      temperature: num(get('completion.temperature'), 0, 0, 2),
      maxPrefixChars: int(get('completion.maxPrefixChars'), DEFAULT_FIM_CONTEXT_CHARS.prefix, 100, 100_000),
      maxSuffixChars: int(get('completion.maxSuffixChars'), DEFAULT_FIM_CONTEXT_CHARS.suffix, 0, 100_000),
      languages: languages(get('completion.languages')),
      context: {
        enabled: bool(get('completion.context.enabled'), true),
        chunkLines: int(get('completion.context.chunkLines'), 64, 8, 1024),
        maxChunks: int(get('completion.context.maxChunks'), 16, 1, 128),
        refreshMs: int(get('completion.context.refreshMs'), 1000, 100, 60_000),
        maxFileKB: int(get('completion.context.maxFileKB'), 1024, 1, 100_000),
        maxChars: int(get('completion.context.maxChars'), 8000, 0, 1_000_000),
        definitions: bool(get('completion.context.definitions'), true),
        definitionTimeoutMs: int(get('completion.context.definitionTimeoutMs'), 150, 10, 5000),
      },
    },
    chat: {
      maxTokens: int(get('chat.maxTokens'), 512, 1, 32_768),
      temperature: num(get('chat.temperature'), 0.7, 0, 2),
      repetitionPenalty: num(get('chat.repetitionPenalty'), DEFAULT_CHAT_REPETITION_PENALTY, 1, 2),
      systemPrompt: typeof get('chat.systemPrompt') === 'string' ? (get('chat.systemPrompt') as string) : DEFAULT_SYSTEM_PROMPT,
    },
    benchmark: {
      concurrency: concurrency(get('benchmark.concurrency')),
      maxTokens: int(get('benchmark.maxTokens'), 32, 1, 4096),
      keepRuns: int(get('benchmark.keepRuns'), 10, 1, 100),
      editorChats: int(get('benchmark.editorChats'), DEFAULT_EDITOR_TRACE.chats, 0, 8),
      editorTypingMs: int(get('benchmark.editorTypingMs'), DEFAULT_EDITOR_TRACE.typingMs, 20, 2000),
      editorDurationS: int(get('benchmark.editorDurationS'), DEFAULT_EDITOR_TRACE.durationS, 5, 600),
    },
  };
}

/** True when a change between two settings needs the local server restarted. */
export function needsRestart(a: Settings, b: Settings): boolean {
  return a.backend !== b.backend || a.model !== b.model || a.remote.url !== b.remote.url || a.remote.model !== b.remote.model ||
    a.server.maxBatch !== b.server.maxBatch || a.server.device !== b.server.device || a.server.kvBudget !== b.server.kvBudget ||
    a.server.batching !== b.server.batching || a.server.speculative !== b.server.speculative || a.server.nodePath !== b.server.nodePath ||
    a.completion.context.enabled !== b.completion.context.enabled;
}

/**
 * What every generation request carries for the configured backend: the model name a remote
 * server needs (`remote.model`, else the first model the remote listed, `listedModel`), and
 * whether to ask the server to fit prompts to the model's context (`truncate_prompt`, our own
 * server's extension, so never sent to a remote one).
 */
export function backendRequestFields(s: Settings, listedModel?: string): { model?: string; truncatePrompt: boolean } {
  if (s.backend === 'remote') {
    const model = s.remote.model || listedModel;
    return model ? { model, truncatePrompt: false } : { truncatePrompt: false };
  }
  return { truncatePrompt: true };
}

/**
 * Where inline completions go: `/v1/completions`, or llama.cpp's `/infill` for a remote that speaks
 * it; and whether they carry context chunks (`input_extra`: our server and llama.cpp's take them,
 * an OpenAI-compatible server does not know the field).
 */
export function fimRoute(s: Settings): { fimApi: 'completions' | 'infill'; extraContext: boolean } {
  const enabled = s.completion.context.enabled;
  if (s.backend === 'remote') return s.remote.api === 'llama.cpp' ? { fimApi: 'infill', extraContext: enabled } : { fimApi: 'completions', extraContext: false };
  return { fimApi: 'completions', extraContext: enabled };
}
