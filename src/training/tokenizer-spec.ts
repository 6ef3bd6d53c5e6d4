// What the trained tokenizer is beside its BPE: the special tokens and the ChatML chat template,
// and the JSON it is written as: a standard `tokenizer.json` (Qwen2 layout: Split + ByteLevel
// pre-tokenizer, ByteLevel decoder, BPE model, added special tokens) and a
// `tokenizer_config.json` with the chat template and the FIM layout the model was trained on.
import type { FimLayout } from '../server/fim';
import { SPLIT_PATTERN } from './byte-level';
import type { BpeModel } from './bpe-trainer';

export const SPECIAL_TOKENS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>',
  '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>',
] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/**
 * The system message the shipped model's chat template writes when a chat has none (its training
 * chats start with it). The editor sends none unless `mlxBatch.chat.systemPrompt` is set.
 */
export const CHAT_TEMPLATE_SYSTEM_PROMPT = 'You are a helpful coding assistant.';

/** Qwen2.5's ChatML template, with a default system message. */
export const CHAT_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
  `{%- else %}{{- '<|im_start|>system\\n${CHAT_TEMPLATE_SYSTEM_PROMPT}<|im_end|>\\n' }}{%- endif %}` +
  "{%- for message in messages %}{%- if not (message.role == 'system' and loop.first) %}" +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

/** The same rendering as CHAT_TEMPLATE, in TypeScript (a test checks they agree). */
export function renderChat(messages: ChatMessage[], addGenerationPrompt: boolean): string {
  let out = messages[0]?.role === 'system' ? '' : `<|im_start|>system\n${CHAT_TEMPLATE_SYSTEM_PROMPT}<|im_end|>\n`;
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  return addGenerationPrompt ? `${out}<|im_start|>assistant\n` : out;
}

/** Special token -> id: they follow the BPE vocabulary. */
export function specialIds(model: BpeModel): Record<SpecialToken, number> {
  const ids = {} as Record<SpecialToken, number>;
  SPECIAL_TOKENS.forEach((t, i) => { ids[t] = model.vocab.size + i; });
  return ids;
}

export function tokenizerJson(model: BpeModel): object {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const ids = specialIds(model);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({
      id: ids[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: SPLIT_PATTERN }, behavior: 'Isolated', invert: false }, byteLevel],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: Object.fromEntries(model.vocab),
      merges: model.merges,
    },
  };
}

export function tokenizerConfigJson(model: BpeModel, maxLength: number, fimLayout: FimLayout): object {
  const ids = specialIds(model);
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(SPECIAL_TOKENS.map((t) => [String(ids[t]), {
      content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true,
    }])),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>'],
    bos_token: null,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|endoftext|>',
    errors: 'replace',
    fim_layout: fimLayout,
    model_max_length: maxLength,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
}
