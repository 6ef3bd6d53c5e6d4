// Fits a tokenized prompt into the model's context: a prompt that leaves no room to generate is
// a 400, unless the client asked for `truncate_prompt: "left"` (the oldest text goes; for
// fill-in-the-middle, the far ends of prefix and suffix); max_tokens is then capped by the room left.
// A FIM prefix loses its trailing blanks (src/server/fim/typed-blanks.ts).
import { MlxBatchError } from '../../shared/errors';
import type { ChatMessage } from '../../shared/protocol';
import { fitFimText, splitTrailingBlanks } from '../fim';
import type { InferenceService } from './service';

export interface FittedPrompt {
  tokens: number[];
  maxTokens: number;
  /** A fill-in-the-middle prompt (it ends at the model's infill stop tokens too). */
  fim: boolean;
  /** Blanks taken off the end of a FIM prefix (typed-blanks.ts): dropped from the answer's start as far as it repeats them. */
  typedBlanks: string;
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

function fit(tokens: number[], context: number, maxTokens: number | undefined, defaultMax: number, fim = false, typedBlanks = ''): FittedPrompt {
  if (tokens.length >= context) throw tooLong(tokens.length, context);
  return { tokens, maxTokens: Math.min(maxTokens ?? defaultMax, context - tokens.length), fim, typedBlanks };
}

/** A plain or fill-in-the-middle completion prompt. */
export function completionPrompt(
  service: InferenceService, prompt: string, suffix: string | undefined,
  maxTokens: number | undefined, truncateLeft: boolean, defaultMax: number,
): FittedPrompt {
  const context = service.model.contextLength;
  const { prefix, blanks } = suffix === undefined ? { prefix: prompt, blanks: '' } : splitTrailingBlanks(prompt);
  let tokens = service.completionPrompt(prefix, suffix);
  if (truncateLeft && tokens.length >= context) {
    const budget = context - reserve(context, maxTokens, defaultMax);
    if (suffix === undefined) {
      tokens = tokens.slice(tokens.length - budget);
    } else {
      // FIM prompts have structure (prefix, suffix and marker tokens): cut the texts, nearest the cursor kept.
      const fitted = fitFimText(prefix, suffix, budget, (p, s) => service.completionPrompt(p, s).length);
      tokens = service.completionPrompt(fitted.prefix, fitted.suffix);
    }
  }
  return fit(tokens, context, maxTokens, defaultMax, suffix !== undefined, blanks);
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
