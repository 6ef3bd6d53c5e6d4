// The bodies of fill-in-the-middle requests: /v1/completions (our server, OpenAI-compatible ones)
// and llama.cpp's /infill, with the fields and sampling llama.vscode sends, including the warm-up
// that only computes the context chunks.
import type { CompletionRequest, ExtraContextChunk, InfillRequest } from '../../shared/protocol';
import { stopStrings, type CompletionMode } from './completion-mode';

export interface FimText {
  prefix: string;
  suffix: string;
}

export interface FimSampling {
  maxTokens: number;
  temperature: number;
  model?: string;
  truncatePrompt?: boolean;
}

/** `suffix` false: a prefix-only prompt, for servers that refuse a suffix (then no chunks either). */
export function completionRequest(t: FimText, s: FimSampling, mode: CompletionMode, suffix: boolean, extra: ExtraContextChunk[]): CompletionRequest {
  return {
    prompt: t.prefix,
    ...(suffix ? { suffix: t.suffix } : {}),
    ...(suffix && extra.length ? { input_extra: extra } : {}),
    max_tokens: s.maxTokens,
    temperature: s.temperature,
    stop: stopStrings(mode),
    ...(s.model ? { model: s.model } : {}),
    ...(s.truncatePrompt ? { truncate_prompt: 'left' as const } : {}),
  };
}

/** llama.vscode's limits: half a second for the prompt, and generation ends at the first new line after a second. */
export const INFILL_MAX_PROMPT_MS = 500;
export const INFILL_MAX_PREDICT_MS = 1000;

/** llama.cpp's /infill, as llama.vscode asks it: the cursor's line so far is `prompt`, the lines before it `input_prefix`. */
export function infillRequest(t: FimText, s: FimSampling, extra: ExtraContextChunk[]): InfillRequest {
  const lineStart = t.prefix.lastIndexOf('\n') + 1;
  return {
    input_prefix: t.prefix.slice(0, lineStart),
    input_suffix: t.suffix,
    input_extra: extra,
    prompt: t.prefix.slice(lineStart),
    n_predict: s.maxTokens,
    top_k: 40,
    top_p: 0.99,
    samplers: ['top_k', 'top_p', 'infill'],
    cache_prompt: true,
    t_max_prompt_ms: INFILL_MAX_PROMPT_MS,
    t_max_predict_ms: INFILL_MAX_PREDICT_MS,
    stream: true,
  };
}

/** Computes the chunks' prompt and generates nothing, so the next completion finds them in the server's cache. */
export function warmupRequest(extra: ExtraContextChunk[]): InfillRequest {
  return {
    input_prefix: '',
    input_suffix: '',
    input_extra: extra,
    prompt: '',
    n_predict: 0,
    samplers: [],
    cache_prompt: true,
    t_max_predict_ms: 1,
  };
}
