// Server side of fill-in-the-middle: the prompt's token ids in the model's layout (PSM or SPM).
import { MlxBatchError } from '../../shared/errors';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { detectFim } from './tokens';

export interface FimPrompt {
  ids: number[];
  stopIds: ReadonlySet<number>;
}

/**
 * PSM: <PRE> prefix <SUF> suffix <MID>; SPM: <PRE> <SUF> suffix <MID> prefix; after whatever
 * encode puts first (BOS for CodeLlama) and the tokens of other files' pieces (extra-context.ts).
 * CodeLlama's suffix is encoded without SentencePiece's implicit leading space, as Meta's
 * reference code does.
 */
export function buildFimPrompt(tokenizer: Tokenizer, prefix: string, suffix: string, extra: readonly number[] = []): FimPrompt {
  const fim = detectFim(tokenizer);
  if (fim === undefined) {
    throw new MlxBatchError('unsupported_feature',
      `The model ${tokenizer.name} has no fill-in-the-middle tokens (such as <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>), so it cannot complete with a suffix`,
      'suffix');
  }
  const prefixIds = tokenizer.encode(prefix, { addSpecialTokens: false });
  const suffixIds = fim.style === 'codellama' ? encodeWithoutLeadingSpace(tokenizer, suffix) : tokenizer.encode(suffix, { addSpecialTokens: false });
  const body = fim.layout === 'psm'
    ? [fim.prefixId, ...prefixIds, fim.suffixId, ...suffixIds, fim.middleId]
    : [fim.prefixId, fim.suffixId, ...suffixIds, fim.middleId, ...prefixIds];
  return { ids: [...tokenizer.prefixIds, ...extra, ...body], stopIds: fim.stopIds };
}

// Encodes "\n" + text and drops the tokens of "\n", which leaves text without the space a
// SentencePiece normalizer prepends (byte-fallback "\n" never merges with what follows).
function encodeWithoutLeadingSpace(tokenizer: Tokenizer, text: string): number[] {
  if (text.length === 0) return [];
  const marker = tokenizer.encode('\n', { addSpecialTokens: false });
  const ids = tokenizer.encode('\n' + text, { addSpecialTokens: false });
  const startsWithMarker = marker.every((id, i) => ids[i] === id);
  return startsWithMarker ? ids.slice(marker.length) : tokenizer.encode(text, { addSpecialTokens: false });
}
