// Text -> token ids for training data, with the special tokens written inline
// (`<|fim_prefix|>...`) mapped to their ids, the way the server's tokenizer reads them.
import { BpeEncoder } from './bpe-encoder';
import type { BpeModel } from './bpe-trainer';
import { SPECIAL_TOKENS, specialIds, type SpecialToken } from './tokenizer-spec';

const SPECIAL_RE = new RegExp(`(${SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, '\\|')).join('|')})`);

export class TrainingTokenizer {
  readonly encoder: BpeEncoder;
  readonly special: Record<SpecialToken, number>;
  readonly vocabSize: number;
  private readonly idToToken: string[];

  constructor(readonly model: BpeModel) {
    this.encoder = new BpeEncoder(model);
    this.special = specialIds(model);
    this.vocabSize = model.vocab.size + SPECIAL_TOKENS.length;
    this.idToToken = [...model.vocab.keys()];
  }

  /** Plain text: special-token strings in it are NOT treated as special. */
  encode(text: string): number[] {
    return this.encoder.encode(text);
  }

  /** Text with special tokens written inline. */
  encodeWithSpecials(text: string): number[] {
    const out: number[] = [];
    for (const part of text.split(SPECIAL_RE)) {
      if (!part) continue;
      const id = this.special[part as SpecialToken];
      if (id !== undefined) out.push(id);
      else for (const t of this.encoder.encode(part)) out.push(t);
    }
    return out;
  }

  /** The byte-level string of a non-special token (for debugging output). */
  tokenString(id: number): string {
    return this.idToToken[id] ?? SPECIAL_TOKENS[id - this.model.vocab.size] ?? '?';
  }
}
