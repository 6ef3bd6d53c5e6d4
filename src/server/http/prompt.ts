// Fits a tokenized prompt into the model's context: a prompt that leaves no room to generate is
// a 400, unless the client asked for `truncate_prompt: "left"` (the oldest text goes; for
// fill-in-the-middle, the far ends of prefix and suffix); max_tokens is then capped by the room left.
// A FIM prefix loses its trailing blanks (src/server/fim/typed-blanks.ts).
import { MlxBatchError } from '../../shared/errors';
import type { ChatMessage, ExtraContextChunk } from '../../shared/protocol';
import { fitFimPrompt, fitFimText, joinExtraContext, splitTrailingBlanks } from '../fim';
import type { InferenceService } from './service';

export interface FittedPrompt {
  tokens: number[];
  maxTokens: number;
  /** A fill-in-the-middle prompt (it ends at the model's infill stop tokens too). */
  fim: boolean;
  /** Blanks taken off the end of a FIM prefix (typed-blanks.ts): dropped from the answer's start as far as it repeats them. */
  typedBlanks: string;
  /** Text was cut to fit the context (pieces of extra context left out, or prefix and suffix cut). */
  truncated: boolean;
  /** Pieces of extra context in the prompt (the leading ones of those sent). */
  extraChunks: number;
}

/** A FIM request's pieces of other files, and the name of the file being completed. */
export interface ExtraContext {
  chunks: readonly ExtraContextChunk[];
  currentFile?: string;
}

const tooLong = (length: number, context: number) => new MlxBatchError(
  'context_length_exceeded',
  `the prompt is ${length} tokens but the model's context is ${context} tokens (prompt plus at least one generated token must fit); shorten it or send "truncate_prompt": "left"`,
  'prompt',
);

/** Room kept for generation when truncating: what was asked, at most half the context. */
function reserve(context: number, maxTokens: number | undefined, fallback: number): number {
  return Math.max(1, Math.min(maxTokens ?? fallback, Math.floor(context / 2)));
}

interface Shape {
  fim?: boolean;
  typedBlanks?: string;
  truncated?: boolean;
  extraChunks?: number;
}

function fit(tokens: number[], context: number, maxTokens: number | undefined, defaultMax: number, shape: Shape = {}): FittedPrompt {
  if (tokens.length >= context) throw tooLong(tokens.length, context);
  return {
    tokens, maxTokens: Math.min(maxTokens ?? defaultMax, context - tokens.length),
    fim: shape.fim ?? false, typedBlanks: shape.typedBlanks ?? '', truncated: shape.truncated ?? false, extraChunks: shape.extraChunks ?? 0,
  };
}

/**
 * A plain or fill-in-the-middle completion prompt. A prompt too long for the context is a 400, or
 * with `truncateLeft` loses its oldest tokens (a FIM prompt: the far ends of prefix and suffix).
 * Other files' pieces before a FIM prompt never make it too long: fitFimPrompt keeps the leading
 * ones that fit in half the context, prefix and suffix cut beside them with `truncateLeft`.
 */
export function completionPrompt(
  service: InferenceService, prompt: string, suffix: string | undefined,
  maxTokens: number | undefined, truncateLeft: boolean, defaultMax: number, extra?: ExtraContext,
): FittedPrompt {
  const context = service.model.contextLength;
  const budget = context - reserve(context, maxTokens, defaultMax);
  const { prefix, blanks } = suffix === undefined ? { prefix: prompt, blanks: '' } : splitTrailingBlanks(prompt);
  if (suffix !== undefined && extra && extra.chunks.length > 0) {
    const pieces = service.extraContext(extra.chunks, extra.currentFile);
    const count = (p: string, s: string, e?: readonly number[]) => service.completionPrompt(p, s, e).length;
    const fitted = fitFimPrompt(prefix, suffix, pieces, budget, Math.floor(context / 2), truncateLeft, count);
    const tokens = service.completionPrompt(fitted.prefix, fitted.suffix, joinExtraContext(pieces, fitted.extraChunks));
    return fit(tokens, context, maxTokens, defaultMax, { fim: true, typedBlanks: blanks, truncated: fitted.truncated, extraChunks: fitted.extraChunks });
  }
  let tokens = service.completionPrompt(prefix, suffix);
  const truncated = truncateLeft && tokens.length >= context;
  if (truncated && suffix === undefined) {
    tokens = tokens.slice(tokens.length - budget);
  } else if (truncated) {
    // FIM prompts have structure (prefix, suffix and marker tokens): cut the texts, nearest the cursor kept.
    const text = fitFimText(prefix, suffix!, budget, (p, s) => service.completionPrompt(p, s).length);
    tokens = service.completionPrompt(text.prefix, text.suffix);
  }
  return fit(tokens, context, maxTokens, defaultMax, { fim: suffix !== undefined, typedBlanks: blanks, truncated });
}

/** A chat prompt; truncation drops the oldest non-system messages, keeping the last one. */
export function chatPrompt(
  service: InferenceService, messages: ChatMessage[],
  maxTokens: number | undefined, truncateLeft: boolean, defaultMax: number,
): FittedPrompt {
  const context = service.model.contextLength;
  let list = messages;
  let tokens = service.chatPrompt(list);
  if (truncateLeft) {
    const budget = context - reserve(context, maxTokens, defaultMax);
    while (tokens.length > budget) {
      const drop = list.findIndex((m, i) => m.role !== 'system' && i < list.length - 1);
      if (drop < 0) break;
      list = list.filter((_, i) => i !== drop);
      tokens = service.chatPrompt(list);
    }
  }
  return fit(tokens, context, maxTokens, defaultMax);
}
