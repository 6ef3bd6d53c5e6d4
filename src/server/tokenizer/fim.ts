// Fill-in-the-middle: find the model's FIM tokens and build a prefix-suffix-middle prompt.
import { MlxBatchError } from '../../shared/errors';
import type { Tokenizer } from './tokenizer';

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
}

interface FimSpelling {
  style: FimStyle;
  prefix: string[];
  suffix: string[];
  middle: string[];
  stops: string[];
}

// Qwen2.5-Coder (and our default model), StarCoder/SantaCoder, CodeLlama (spelled with and
// without the SentencePiece space marker).
const SPELLINGS: FimSpelling[] = [
  { style: 'qwen', prefix: ['<|fim_prefix|>'], suffix: ['<|fim_suffix|>'], middle: ['<|fim_middle|>'],
    stops: ['<|endoftext|>', '<|fim_pad|>', '<|file_sep|>', '<|repo_name|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'] },
  { style: 'starcoder', prefix: ['<fim_prefix>', '<fim-prefix>'], suffix: ['<fim_suffix>', '<fim-suffix>'], middle: ['<fim_middle>', '<fim-middle>'],
    stops: ['<|endoftext|>', '<fim_pad>', '<fim-pad>', '<file_sep>', '<reponame>', '<filename>', '<fim_prefix>', '<fim_suffix>', '<fim_middle>'] },
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
    return { style: s.style, layout: fimLayoutOf(tokenizer), prefixId, suffixId, middleId, stopIds };
  }
  return undefined;
}

export interface FimPrompt {
  ids: number[];
  stopIds: ReadonlySet<number>;
}

/**
 * PSM: <PRE> prefix <SUF> suffix <MID>; SPM: <PRE> <SUF> suffix <MID> prefix; after whatever
 * encode puts first (BOS for CodeLlama). CodeLlama's suffix is encoded without SentencePiece's
 * implicit leading space, as Meta's reference code does.
 */
export function buildFimPrompt(tokenizer: Tokenizer, prefix: string, suffix: string): FimPrompt {
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
  return { ids: [...tokenizer.prefixIds, ...body], stopIds: fim.stopIds };
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

/** Prefix and suffix text cut to fit a token budget. */
export interface FittedFimText {
  prefix: string;
  suffix: string;
}

/** How far a cut may move to land on a line boundary. */
const LINE_SNAP_CHARS = 240;

/**
 * Cuts FIM context to `budget` tokens, keeping what is nearest the cursor, the way editors
 * budget infill prompts: the suffix keeps its start and gets at most a quarter of the budget,
 * the prefix keeps its end and gets the rest. Cuts move to a line boundary when one is near.
 * `count(prefix, suffix)` is the whole prompt's token count; prefix and suffix are encoded
 * apart in every FIM layout, so each side is counted on its own (one encode per step).
 */
export function fitFimText(prefix: string, suffix: string, budget: number, count: (prefix: string, suffix: string) => number): FittedFimText {
  let p = prefix;
  let s = suffix;
  const overhead = count('', '');
  let pTokens = count(p, '') - overhead;
  let sTokens = count('', s) - overhead;
  if (overhead + pTokens + sTokens <= budget) return { prefix: p, suffix: s };
  const suffixBudget = Math.floor(budget / 4);
  for (let i = 0; i < 12 && s.length > 0 && sTokens > suffixBudget; i++) {
    const keep = Math.floor(s.length * (suffixBudget / sTokens) * 0.95);
    const nl = s.lastIndexOf('\n', keep - 1);
    s = s.slice(0, nl >= 0 && keep - nl <= LINE_SNAP_CHARS ? nl + 1 : keep);
    sTokens = count('', s) - overhead;
  }
  for (let i = 0; i < 12 && p.length > 0 && overhead + pTokens + sTokens > budget; i++) {
    const room = Math.max(0, budget - overhead - sTokens);
    const cut = p.length - Math.floor(p.length * (room / Math.max(1, pTokens)) * 0.95);
    const nl = p.indexOf('\n', cut);
    p = p.slice(nl >= 0 && nl < p.length - 1 && nl - cut < LINE_SNAP_CHARS ? nl + 1 : cut);
    pTokens = count(p, '') - overhead;
  }
  return { prefix: p, suffix: s };
}
