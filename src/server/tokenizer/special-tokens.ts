// Which ids end a generation and which one begins it, from config.json, generation_config.json
// and tokenizer_config.json (mlx-lm and transformers take the union of all three).
import type { JsonObject } from '../json-file';

/** EOS names tried, in this order, when no file names an end token. */
const FALLBACK_EOS = ['</s>', '<|endoftext|>', '<|im_end|>', '<|end_of_text|>', '<|eot_id|>', '<eos>'];

/** End-of-turn and end-of-text tokens that end a generation whatever the configs say (as llama.cpp's EOG list). */
const END_OF_GENERATION = ['<|im_end|>', '<|endoftext|>', '<|end_of_text|>', '<|eot_id|>', '<|eom_id|>', '<|end|>', '<end_of_turn>', '</s>', '<eos>'];

/** eosIds plus the special tokens of END_OF_GENERATION the vocabulary has. */
export function endOfGenerationIds(eosIds: ReadonlySet<number>, src: Pick<EosSources, 'tokenToId' | 'isSpecial'>): Set<number> {
  const ids = new Set(eosIds);
  for (const name of END_OF_GENERATION) {
    const id = src.tokenToId(name);
    if (id !== undefined && src.isSpecial(id)) ids.add(id);
  }
  return ids;
}

/** A token field of tokenizer_config.json: a string, an AddedToken object {content}, or null. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as JsonObject).content === 'string') {
    return (value as JsonObject).content as string;
  }
  return undefined;
}

/** eos_token_id / bos_token_id of config.json or generation_config.json: a number or a list. */
export function tokenIds(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0);
}

export interface EosSources {
  config?: JsonObject;
  generationConfig?: JsonObject;
  tokenizerConfig?: JsonObject;
  tokenToId(token: string): number | undefined;
  isSpecial(id: number): boolean;
}

export function resolveEosIds(src: EosSources): Set<number> {
  const ids = new Set<number>([
    ...tokenIds(src.config?.eos_token_id),
    ...tokenIds(src.generationConfig?.eos_token_id),
  ]);
  const named = src.tokenizerConfig?.eos_token;
  for (const item of Array.isArray(named) ? named : [named]) {
    const content = tokenContent(item);
    const id = content === undefined ? undefined : src.tokenToId(content);
    if (id !== undefined) ids.add(id);
  }
  if (ids.size === 0) {
    for (const name of FALLBACK_EOS) {
      const id = src.tokenToId(name);
      if (id !== undefined && src.isSpecial(id)) {
        ids.add(id);
        break;
      }
    }
  }
  return ids;
}

export function resolveBosId(src: Omit<EosSources, 'generationConfig' | 'isSpecial'>): number | undefined {
  const content = tokenContent(src.tokenizerConfig?.bos_token);
  const named = content === undefined ? undefined : src.tokenToId(content);
  return named ?? tokenIds(src.config?.bos_token_id)[0];
}
