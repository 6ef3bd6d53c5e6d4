// Chat messages -> prompt through the model's Jinja chat template (as transformers'
// apply_chat_template). A model without a template gets mlx-lm server's plain fallback.
import { MlxBatchError } from '../../shared/errors';
import { hfJinja, type HfTemplate } from './hf';
import { tokenContent } from './special-tokens';
import type { Tokenizer } from './tokenizer';

export interface ChatMessage {
  role: string;
  content: string;
  /** Template-specific fields (reasoning_content, tool_calls, name...) pass through. */
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Ends the prompt with the assistant's turn opener. Default true. */
  addGenerationPrompt?: boolean;
  /** Extra template variables, e.g. {enable_thinking: false} for Qwen3, or tools. */
  variables?: Record<string, unknown>;
  /** Throw unsupported_feature instead of using the plain fallback when the model has no template. */
  requireTemplate?: boolean;
}

const compiled = new WeakMap<Tokenizer, HfTemplate>();

export function hasChatTemplate(tokenizer: Tokenizer): boolean {
  return tokenizer.chatTemplate !== undefined;
}

export function renderChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
  const addGenerationPrompt = opts.addGenerationPrompt ?? true;
  if (tokenizer.chatTemplate === undefined) {
    if (opts.requireTemplate) {
      throw new MlxBatchError('unsupported_feature',
        `The model ${tokenizer.name} has no chat template (chat_template in tokenizer_config.json, or chat_template.jinja); send a plain prompt to /v1/completions instead`,
        'messages');
    }
    return plainChatPrompt(messages, addGenerationPrompt);
  }
  const cfg = tokenizer.tokenizerConfig;
  const context: Record<string, unknown> = {
    bos_token: tokenContent(cfg.bos_token),
    eos_token: tokenContent(cfg.eos_token),
    unk_token: tokenContent(cfg.unk_token),
    pad_token: tokenContent(cfg.pad_token),
    ...opts.variables,
    messages,
    add_generation_prompt: addGenerationPrompt,
  };
  try {
    return template(tokenizer).render(context);
  } catch (err) {
    if (err instanceof MlxBatchError) throw err;
    throw new MlxBatchError('validation', `The chat template of ${tokenizer.name} rejected the messages: ${(err as Error).message}`, 'messages');
  }
}

/** The rendered prompt as ids; the template writes its own BOS, so encode adds none. */
export function encodeChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): number[] {
  const hasTemplate = tokenizer.chatTemplate !== undefined;
  return tokenizer.encode(renderChat(tokenizer, messages, opts), { addSpecialTokens: !hasTemplate });
}

/**
 * mlx-lm server's convert_chat, used when a model has no template (transformers raises instead):
 * "ROLE: content\n" per message, then "ASSISTANT:", right-trimmed.
 */
export function plainChatPrompt(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  const prefix: Record<string, string> = { system: "ASSISTANT's RULE: ", user: 'USER: ', assistant: 'ASSISTANT: ' };
  let prompt = '';
  for (const m of messages) prompt += `${prefix[m.role] ?? ''}${m.content}\n`;
  if (addGenerationPrompt) prompt += prefix.assistant;
  return prompt.trimEnd();
}

function template(tokenizer: Tokenizer): HfTemplate {
  let t = compiled.get(tokenizer);
  if (t === undefined) {
    try {
      t = new hfJinja.Template(tokenizer.chatTemplate ?? '');
    } catch (err) {
      throw new MlxBatchError('invalid_tokenizer', `The chat template of ${tokenizer.name} does not parse: ${(err as Error).message}`, 'chat_template');
    }
    compiled.set(tokenizer, t);
  }
  return t;
}
