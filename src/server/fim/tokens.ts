// Server side of fill-in-the-middle: the FIM tokens of each model family (their spellings in a
// vocabulary) and the layout a model folder names.
import { MlxBatchError } from '../../shared/errors';
import type { Tokenizer } from '../tokenizer/tokenizer';

export type FimStyle = 'qwen' | 'starcoder' | 'codellama';

/**
 * The order of an infill prompt: prefix-suffix-middle (what Qwen2.5-Coder, StarCoder and
 * CodeLlama serve by default) or the FIM paper's suffix-prefix-middle, `<PRE><SUF>suffix<MID>prefix`,
 * where the middle continues the prefix directly, as plain text continues (CodeLlama's SPM; our
 * default model is trained that way). A model folder names it in tokenizer_config.json as
 * `fim_layout`; without it, PSM.
 */
export type FimLayout = 'psm' | 'spm';

export const FIM_LAYOUTS: readonly FimLayout[] = ['psm', 'spm'];

export interface FimTokens {
  style: FimStyle;
  layout: FimLayout;
  prefixId: number;
  suffixId: number;
  middleId: number;
  /** Ids that end an infill: end-of-generation ids plus the style's end and separator tokens present. */
  stopIds: ReadonlySet<number>;
  /**
   * Repository-level tokens (Qwen2.5-Coder's `<|repo_name|>` and `<|file_sep|>`, StarCoder's
   * `<reponame>` and `<file_sep>`), when the vocabulary has both: other files go before the FIM
   * prompt as the model saw them in training.
   */
  repo?: { repoNameId: number; fileSepId: number };
}

interface FimSpelling {
  style: FimStyle;
  prefix: string[];
  suffix: string[];
  middle: string[];
  stops: string[];
  repoName?: string[];
  fileSep?: string[];
}

// Qwen2.5-Coder (and our default model), StarCoder/SantaCoder, CodeLlama (spelled with and
// without the SentencePiece space marker).
const SPELLINGS: FimSpelling[] = [
  { style: 'qwen', prefix: ['<|fim_prefix|>'], suffix: ['<|fim_suffix|>'], middle: ['<|fim_middle|>'],
    stops: ['<|endoftext|>', '<|fim_pad|>', '<|file_sep|>', '<|repo_name|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'],
    repoName: ['<|repo_name|>'], fileSep: ['<|file_sep|>'] },
  { style: 'starcoder', prefix: ['<fim_prefix>', '<fim-prefix>'], suffix: ['<fim_suffix>', '<fim-suffix>'], middle: ['<fim_middle>', '<fim-middle>'],
    stops: ['<|endoftext|>', '<fim_pad>', '<fim-pad>', '<file_sep>', '<reponame>', '<filename>', '<fim_prefix>', '<fim_suffix>', '<fim_middle>'],
    repoName: ['<reponame>', '<repo_name>'], fileSep: ['<file_sep>'] },
  { style: 'codellama', prefix: ['▁<PRE>', '<PRE>'], suffix: ['▁<SUF>', '<SUF>'], middle: ['▁<MID>', '<MID>'],
    stops: ['▁<EOT>', '<EOT>', '</s>'] },
];

export function fimLayoutOf(tokenizer: Tokenizer): FimLayout {
  const v = tokenizer.tokenizerConfig.fim_layout;
  if (v === undefined || v === null) return 'psm';
  if (FIM_LAYOUTS.includes(v as FimLayout)) return v as FimLayout;
  throw new MlxBatchError('invalid_tokenizer',
    `tokenizer_config.json of ${tokenizer.name} has fim_layout ${JSON.stringify(v)}: it must be "psm" (prefix, suffix, middle) or "spm" (suffix, prefix, middle)`,
    'fim_layout');
}

export function detectFim(tokenizer: Tokenizer): FimTokens | undefined {
  const first = (names: string[]) => names.map((n) => tokenizer.tokenToId(n)).find((id) => id !== undefined);
  for (const s of SPELLINGS) {
    const prefixId = first(s.prefix);
    const suffixId = first(s.suffix);
    const middleId = first(s.middle);
    if (prefixId === undefined || suffixId === undefined || middleId === undefined) continue;
    const stopIds = new Set(tokenizer.endOfGenerationIds);
    for (const name of s.stops) {
      const id = tokenizer.tokenToId(name);
      if (id !== undefined) stopIds.add(id);
    }
    const repoNameId = first(s.repoName ?? []);
    const fileSepId = first(s.fileSep ?? []);
    const repo = repoNameId !== undefined && fileSepId !== undefined ? { repo: { repoNameId, fileSepId } } : {};
    return { style: s.style, layout: fimLayoutOf(tokenizer), prefixId, suffixId, middleId, stopIds, ...repo };
  }
  return undefined;
}
