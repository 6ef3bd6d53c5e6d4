// A model's tokenizer: tokenizer.json through @huggingface/tokenizers, plus what the config
// files say about special tokens (BOS/EOS), the chat template and space clean-up.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MlxBatchError } from '../../shared/errors';
import type { IncrementalDecoder } from '../../batching/request-types';
import { readJsonObject, type JsonObject } from '../json-file';
import { hfTokenizers, type HfTokenizer } from './hf';
import { endOfGenerationIds, resolveBosId, resolveEosIds, tokenContent } from './special-tokens';
import { StreamingDetokenizer } from './detokenizer';
import { cleanUpTokenization } from './cleanup';
import { tokenBytesOf, type TokenBytes } from './token-bytes';
import { EncodeMemo } from './encode-memo';

export interface EncodeOptions {
  /** Add what the tokenizer adds around a text (BOS for Llama 2, nothing for Qwen). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Overrides tokenizer_config.json clean_up_tokenization_spaces (default false, as transformers). */
  cleanUpTokenizationSpaces?: boolean;
}

export interface TokenizerSources {
  tokenizerJson: JsonObject;
  tokenizerConfig?: JsonObject;
  config?: JsonObject;
  generationConfig?: JsonObject;
  /** From chat_template.jinja / chat_template.json; like transformers, it wins over tokenizer_config.json's. */
  chatTemplate?: string;
  /** Shown in error messages (the model folder). */
  name?: string;
}

export class Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  /** EOS as the config files name it (config.json, generation_config.json, tokenizer_config.json). */
  readonly eosIds: ReadonlySet<number>;
  /** eosIds plus the end-of-turn/end-of-text special tokens present (<|im_end|>, <|endoftext|>...). */
  readonly endOfGenerationIds: ReadonlySet<number>;
  readonly padId: number | undefined;
  /** Added tokens (never split by encode), by content; `specialTokens` is the subset marked special. */
  readonly addedTokens: ReadonlyMap<string, number>;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly chatTemplate: string | undefined;
  readonly tokenizerConfig: JsonObject;
  /** Whether decode applies transformers' clean_up_tokenization (" ." -> "." ...). */
  readonly cleansUpSpaces: boolean;
  /** Ids encode adds before and after a text when addSpecialTokens is true. */
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
  private readonly hf: HfTokenizer;
  /** Recent long texts' ids: completions encode the same context pieces, suffix and prefix again and again. */
  private readonly memo = new EncodeMemo();
  private readonly specialIds: ReadonlySet<number>;
  private readonly sources: TokenizerSources;
  private bytesOf?: TokenBytes;

  constructor(src: TokenizerSources) {
    this.sources = src;
    this.name = src.name ?? 'tokenizer';
    this.tokenizerConfig = src.tokenizerConfig ?? {};
    this.cleansUpSpaces = this.tokenizerConfig.clean_up_tokenization_spaces === true;
    try {
      // We apply space clean-up ourselves, so the library never does.
      this.hf = new hfTokenizers.Tokenizer(src.tokenizerJson, { ...this.tokenizerConfig, clean_up_tokenization_spaces: false });
    } catch (err) {
      throw new MlxBatchError('invalid_tokenizer', `The tokenizer of ${this.name} could not be loaded: ${(err as Error).message}`, 'tokenizer.json');
    }
    const added = new Map<string, number>();
    const special = new Map<string, number>();
    for (const [id, token] of this.hf.get_added_tokens_decoder()) {
      added.set(token.content, id);
      if (token.special) special.set(token.content, id);
    }
    this.addedTokens = added;
    this.specialTokens = special;
    this.specialIds = new Set(special.values());
    let maxId = -1;
    for (const id of this.hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const lookup = { config: src.config, tokenizerConfig: this.tokenizerConfig, tokenToId: (t: string) => this.tokenToId(t) };
    this.bosId = resolveBosId(lookup);
    const isSpecial = (id: number) => this.isSpecial(id);
    this.eosIds = resolveEosIds({ ...lookup, generationConfig: src.generationConfig, isSpecial });
    this.endOfGenerationIds = endOfGenerationIds(this.eosIds, { tokenToId: lookup.tokenToId, isSpecial });
    const pad = tokenContent(this.tokenizerConfig.pad_token);
    this.padId = pad === undefined ? undefined : this.tokenToId(pad);
    this.chatTemplate = src.chatTemplate ?? pickTemplate(this.tokenizerConfig.chat_template);
    [this.prefixIds, this.suffixIds] = this.specialAffixes();
  }

  /** The same tokenizer with some tokenizer_config.json fields replaced (e.g. `fim_layout`, to compare prompt layouts). */
  withTokenizerConfig(fields: JsonObject): Tokenizer {
    return new Tokenizer({ ...this.sources, tokenizerConfig: { ...this.tokenizerConfig, ...fields } });
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = text.length === 0 ? [] : this.memo.encode(text, (t) => this.hf.encode(t, { add_special_tokens: false }).ids);
    if (opts.addSpecialTokens === false || (this.prefixIds.length === 0 && this.suffixIds.length === 0)) return ids;
    return [...this.prefixIds, ...ids, ...this.suffixIds];
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const known = ids.filter((id) => this.idToToken(id) !== undefined);
    if (known.length === 0) return '';
    const text = this.hf.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
    return opts.cleanUpTokenizationSpaces ?? this.cleansUpSpaces ? cleanUpTokenization(text) : text;
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.hf.id_to_token(id) : undefined;
  }

  /** The bytes token `id` stands for (a token may hold part of a multi-byte character). */
  tokenBytes(id: number): Uint8Array {
    this.bytesOf ??= tokenBytesOf(this.sources.tokenizerJson, this);
    return this.bytesOf(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** A streaming decoder whose pushes and flush together equal decode(allIds). */
  createDecoder(opts: { skipSpecialTokens?: boolean } = {}): IncrementalDecoder {
    return new StreamingDetokenizer(this, opts.skipSpecialTokens ?? false);
  }

  // What the post-processor puts around one sequence, then add_bos_token / add_eos_token of
  // tokenizer_config.json on top (transformers' Llama fast tokenizer rebuilds it from those).
  private specialAffixes(): [number[], number[]] {
    const bare: number[] = this.hf.encode('a', { add_special_tokens: false }).ids;
    const full: number[] = this.hf.encode('a', { add_special_tokens: true }).ids;
    const at = full.findIndex((_, i) => bare.every((id, j) => full[i + j] === id));
    let prefix = at < 0 ? [] : full.slice(0, at);
    let suffix = at < 0 ? [] : full.slice(at + bare.length);
    const cfg = this.tokenizerConfig;
    const bos = this.bosId;
    if (bos !== undefined && cfg.add_bos_token === true && !prefix.includes(bos)) prefix = [bos, ...prefix];
    if (bos !== undefined && cfg.add_bos_token === false) prefix = prefix.filter((id) => id !== bos);
    const eos = tokenContent(cfg.eos_token);
    const eosId = eos === undefined ? undefined : this.tokenToId(eos);
    if (eosId !== undefined && cfg.add_eos_token === true && !suffix.includes(eosId)) suffix = [...suffix, eosId];
    if (eosId !== undefined && cfg.add_eos_token === false) suffix = suffix.filter((id) => id !== eosId);
    return [prefix, suffix];
  }
}

/** chat_template may be a string or a list of {name, template} (then the one named default). */
function pickTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return undefined;
  const named = value.filter((t): t is { name: string; template: string } =>
    t !== null && typeof t === 'object' && typeof t.template === 'string');
  return (named.find((t) => t.name === 'default') ?? named[0])?.template;
}

export interface LoadTokenizerOptions {
  /** Parsed config.json / generation_config.json; read from the folder when not given. */
  config?: JsonObject;
  generationConfig?: JsonObject;
}

export async function loadTokenizer(modelDir: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const tokenizerPath = path.join(modelDir, 'tokenizer.json');
  const tokenizerJson = readJsonObject(tokenizerPath, { type: 'invalid_tokenizer', optional: true });
  if (tokenizerJson === undefined) {
    throw new MlxBatchError('tokenizer_missing',
      `No tokenizer.json in ${modelDir}: copy tokenizer.json (and tokenizer_config.json) from the original model into this folder`,
      tokenizerPath);
  }
  const tokenizerConfig = readJsonObject(path.join(modelDir, 'tokenizer_config.json'), { type: 'invalid_tokenizer', optional: true });
  const config = opts.config ?? readJsonObject(path.join(modelDir, 'config.json'), { optional: true });
  const generationConfig = opts.generationConfig ?? readJsonObject(path.join(modelDir, 'generation_config.json'), { optional: true });
  let chatTemplate = await readOptional(path.join(modelDir, 'chat_template.jinja'));
  if (chatTemplate === undefined) {
    const json = readJsonObject(path.join(modelDir, 'chat_template.json'), { type: 'invalid_tokenizer', optional: true });
    chatTemplate = typeof json?.chat_template === 'string' ? json.chat_template : undefined;
  }
  return new Tokenizer({ tokenizerJson, tokenizerConfig, config, generationConfig, chatTemplate, name: modelDir });
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
