// Fits a tokenized prompt into the model's context: a prompt that leaves no room to generate is
// a 400, unless the client asked for `truncate_prompt: "left"` (the oldest text goes; for
// fill-in-the-middle, the far ends of prefix and suffix); max_tokens is then capped by the room left.
// A FIM prefix loses its trailing blanks (src/server/fim/typed-blanks.ts).
import { MlxBatchError } from '../../shared/errors';
import type { ChatMessage, ExtraContextChunk } from '../../shared/protocol';
import { extraContextThatFits, fitFimText, joinExtraContext, splitTrailingBlanks } from '../fim';
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
 * A plain or fill-in-the-middle completion prompt. A FIM prompt's extra context (other files'
 * pieces) gives way first: it never makes a prompt too long (the pieces that do not fit are left
 * out, the leading ones kept), and with `truncateLeft` it is cut to at most half of the room
 * before the far ends of prefix and suffix are cut to the other half, as llama.cpp's server keeps
 * a share of the context for it beside the text around the cursor.
 */
export function completionPrompt(
  service: InferenceService, prompt: string, suffix: string | undefined,
  maxTokens: number | undefined, truncateLeft: boolean, defaultMax: number, extra?: ExtraContext,
): FittedPrompt {
  const context = service.model.contextLength;
  const budget = context - reserve(context, maxTokens, defaultMax);
  const { prefix, blanks } = suffix === undefined ? { prefix: prompt, blanks: '' } : splitTrailingBlanks(prompt);
  const pieces = extra && extra.chunks.length > 0 && suffix !== undefined ? service.extraContext(extra.chunks, extra.currentFile) : undefined;
  const extraShare = pieces ? Math.min(joinExtraContext(pieces, pieces.chunks.length).length, Math.floor(budget / 2)) : 0;
  let tokens = service.completionPrompt(prefix, suffix);
  let truncated = false;
  let fitted = { prefix, suffix };
  // Without extra context a prompt is cut only when it does not fit at all; beside it, to its share.
  if (truncateLeft && (tokens.length >= context || (extraShare > 0 && tokens.length > budget - extraShare))) {
    truncated = true;
    if (suffix === undefined) {
      tokens = tokens.slice(tokens.length - budget);
    } else {
      // FIM prompts have structure (prefix, suffix and marker tokens): cut the texts, nearest the cursor kept.
      fitted = fitFimText(prefix, suffix, budget - extraShare, (p, s) => service.completionPrompt(p, s).length);
      tokens = service.completionPrompt(fitted.prefix, fitted.suffix);
    }
  }
  let extraChunks = 0;
  if (pieces && fitted.suffix !== undefined) {
    extraChunks = extraContextThatFits(pieces, budget - tokens.length);
    if (extraChunks < pieces.chunks.length) truncated = true;
    if (extraChunks > 0) tokens = service.completionPrompt(fitted.prefix, fitted.suffix, joinExtraContext(pieces, extraChunks));
  }
  return fit(tokens, context, maxTokens, defaultMax, { fim: suffix !== undefined, typedBlanks: blanks, truncated, extraChunks });
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
