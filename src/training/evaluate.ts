// `mlx-batch eval-model`: the shipped model's quality on the held-out split, through the same
// loader and tokenizer the server uses: perplexity, next-token accuracy, and the share of
// held-out fill-in-the-middle cases whose greedy completion gets the middle's first line exactly.
import fs from 'node:fs';
import path from 'node:path';
import { MlxBatchError } from '../shared/errors';
import { readJsonObject } from '../server/json-file';
import { BatchKVCache } from '../server/cache/batch-kv-cache';
import { loadModel } from '../server/loader';
import { MemoryReclaimer } from '../server/memory';
import { mx } from '../server/mlx';
import type { LanguageModel } from '../server/model/types';
import { encodeChat } from '../server/tokenizer/chat-template';
import { buildFimPrompt, encodeExtraContext, fitFimPrompt, joinExtraContext, type FimLayout, type FimPrompt } from '../server/fim';
import type { ExtraContextChunk } from '../shared/protocol';
import { repoContextFor, type RepoContextOptions } from './repo-context';
import { loadTokenizer } from '../server/tokenizer/tokenizer';
import type { Tokenizer } from '../server/tokenizer/tokenizer';
import { heldOutWindows, languageOf } from './batches';
import { chatForDeclaration, findDeclarations } from './chat-examples';
import { collectCorpus, type SourceFile } from './corpus';
import { cutFimCase, firstLine, scoreFim, type FimCase, type FimScore } from './fim-examples';
import { firstLineBeams } from './first-line-beam';
import { COPY_SHARE, scanHeldOutCopies } from './held-out-copies';
import { Rng } from '../shared/rng';
import { heldOutMetrics } from './train';
import { DEFAULT_TRAIN_OPTIONS, TRAINING_RECORD } from './train-options';

export interface EvalOptions {
  modelDir: string;
  corpusRoot: string;
  fimCases: number;
  /** Context cut around each FIM case; prompts longer than the model's context are fitted as the server fits them. */
  fimPrefixChars: number;
  fimSuffixChars: number;
  /** Build FIM prompts in this layout instead of the one the model folder names. */
  fimLayout?: FimLayout;
  /** Draw the held-out split from a corpus of this many bytes instead of the one the model was trained on (to compare models trained on corpora of different sizes on the same cases). */
  splitBytes?: number;
  /** Also search each case's first line with this many beams (what greedy decoding leaves on the table). */
  firstLineBeams?: number;
  /** Also continue each case's prefix alone, as plain text (what the suffix and FIM training add over it). */
  prefixOnly: boolean;
  /** Also complete each case with pieces of other files of its package before the prompt (repo-context.ts). */
  repoContext?: RepoContextOptions;
  chatCases: number;
  /** Held-out windows of `windowLength` tokens for perplexity and accuracy. */
  windows: number;
  windowLength: number;
  maxNewTokens: number;
  batch: number;
  seed: number;
  log: (line: string) => void;
}

export interface FimResult extends FimCase {
  file: string;
  completion: string;
  firstLineMatch: boolean;
  /** The largest share of the case's file that one of the model's training files holds (held-out-copies.ts). */
  copyShare: number;
  /** The training file that holds it. */
  copySource?: string;
}

/** Exact first lines among the cases whose file one training file holds `from` to `to` (a share) of. */
export interface CopyShareBucket { from: number; to: number; cases: number; exact: number }

export interface EvalReport {
  perplexity: number;
  accuracy: number;
  tokens: number;
  fimFirstLineMatch: number;
  fimScore: FimScore;
  fim: FimResult[];
  /** Exact first lines by how much of the case's file the training files hold: what the model generalizes to, against what it may recall. */
  fimByCopyShare: CopyShareBucket[];
  /** With `firstLineBeams`: cases whose most likely beam is the real first line, and cases where any finished beam is. */
  beamScore?: { beams: number; best: number; among: number };
  /** With `prefixOnly`: the same cases continued from the prefix alone. */
  prefixOnlyScore?: FimScore;
  /** With `repoContext`: first lines exact without and with the other files' pieces, on the same cases. */
  repoContext?: { options: RepoContextOptions; cases: number; casesWithContext: number; exactWithout: number; exactWith: number; meanPieces: number; meanExtraTokens: number };
  /** Share of held-out chat questions answered with a fenced code block holding the exact declaration. */
  chatExact: number;
  chat: { question: string; expected: string; answer: string }[];
}

/** Context around the eval's FIM cases unless asked otherwise (what the shipped model's first phases trained on). */
export const EVAL_FIM_CONTEXT = { prefixChars: 480, suffixChars: 240 };

/**
 * The same cases every run: `count` held-out FIM cases whose middle starts with a content line.
 * The context sizes do not change which middles are drawn, only how much text surrounds them.
 */
export function heldOutFimCases(files: SourceFile[], count: number, seed: number, context = EVAL_FIM_CONTEXT): (FimCase & { file: string })[] {
  const rng = new Rng(seed);
  const usable = files.filter((f) => f.text.split('\n').length >= 8);
  const out: (FimCase & { file: string })[] = [];
  for (let attempt = 0; out.length < count && attempt < count * 20; attempt++) {
    const f = usable[rng.int(0, usable.length)];
    const c = cutFimCase(f.text, rng, { maxPrefixChars: context.prefixChars, maxSuffixChars: context.suffixChars, midLineShare: 0 });
    if (c && c.middle.trim().length > 0) out.push({ ...c, file: f.path });
  }
  return out;
}

/** Greedy continuation of several prompts at once (left-padded batch, one KV cache). */
export async function greedyBatch(
  model: LanguageModel, prompts: number[][], stopIds: ReadonlySet<number>, maxNewTokens: number, reclaim: MemoryReclaimer,
): Promise<number[][]> {
  const longest = Math.max(...prompts.map((p) => p.length));
  const padded = prompts.flatMap((p) => [...new Array<number>(longest - p.length).fill(0), ...p]);
  const cache = BatchKVCache.forPrompts(model.args.numHiddenLayers, prompts.map((p) => p.length));
  let input = mx.array(padded, mx.int32).reshape([prompts.length, longest]);
  const out: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  for (let step = 0; step < maxNewTokens && done.some((d) => !d); step++) {
    const logits = model.forward(input, cache, { lastOnly: true });
    const next = mx.argmax(logits, -1).astype(mx.int32);
    mx.eval(next, ...cache.arrays());
    (next.reshape([-1]).tolist() as number[]).forEach((id, r) => {
      if (done[r]) return;
      if (stopIds.has(id)) done[r] = true;
      else out[r].push(id);
    });
    input = next.reshape([prompts.length, 1]);
    await reclaim.step();
  }
  return out;
}

/**
 * The infill prompt the server would send for a case, fitted to leave `maxNewTokens` of the
 * model's context: prefix and suffix first, then the leading pieces of `extra` that fit.
 */
function fittedFimPrompt(model: LanguageModel, tokenizer: Tokenizer, c: Pick<FimCase, 'prefix' | 'suffix'>, maxNewTokens: number, extra: readonly ExtraContextChunk[] = []): FimPrompt {
  const budget = model.args.maxPositionEmbeddings - maxNewTokens;
  const pieces = extra.length > 0 ? encodeExtraContext(tokenizer, extra) : undefined;
  const fitted = fitFimPrompt(c.prefix, c.suffix, pieces, budget, Math.floor(model.args.maxPositionEmbeddings / 2), true, (p, s, e) => buildFimPrompt(tokenizer, p, s, e).ids.length);
  return buildFimPrompt(tokenizer, fitted.prefix, fitted.suffix, pieces ? joinExtraContext(pieces, fitted.extraChunks) : undefined);
}

/** Greedy infill of FIM cases, as the server builds the prompt and fits it to the model's context; `extras[i]`: case i's other files. */
export async function completeFim(
  model: LanguageModel, tokenizer: Tokenizer, cases: Pick<FimCase, 'prefix' | 'suffix'>[], maxNewTokens: number, reclaim: MemoryReclaimer,
  extras?: readonly (readonly ExtraContextChunk[])[],
): Promise<string[]> {
  const prompts = cases.map((c, i) => fittedFimPrompt(model, tokenizer, c, maxNewTokens, extras?.[i]));
  const ids = await greedyBatch(model, prompts.map((p) => p.ids), prompts[0].stopIds, maxNewTokens, reclaim);
  return ids.map((t) => tokenizer.decode(t, { skipSpecialTokens: true }));
}

/** Cases completed `batch` at a time, with their first-line match. */
async function completeInBatches(
  cases: (FimCase & { file: string })[], batch: number, complete: (group: (FimCase & { file: string })[]) => Promise<string[]>,
  copyOf: (file: string) => Pick<FimResult, 'copyShare' | 'copySource'>,
): Promise<FimResult[]> {
  const out: FimResult[] = [];
  for (let i = 0; i < cases.length; i += batch) {
    const group = cases.slice(i, i + batch);
    const completions = await complete(group);
    group.forEach((c, j) => out.push({
      ...c, completion: completions[j], firstLineMatch: firstLine(completions[j]) === firstLine(c.middle), ...copyOf(c.file),
    }));
  }
  return out;
}

const COPY_SHARE_BUCKETS: [number, number][] = [[0, 0.2], [0.2, 0.5], [0.5, COPY_SHARE], [COPY_SHARE, 1]];

export function fimByCopyShare(results: readonly Pick<FimResult, 'copyShare' | 'firstLineMatch'>[]): CopyShareBucket[] {
  return COPY_SHARE_BUCKETS.map(([from, to]) => {
    // Shares are at most 1, so the last bucket takes everything from its lower bound up.
    const inside = results.filter((r) => r.copyShare >= from && (r.copyShare < to || to === 1));
    return { from, to, cases: inside.length, exact: inside.filter((r) => r.firstLineMatch).length };
  });
}

/** Greedy plain continuation of texts, each cut to its last tokens that fit beside the generation. */
async function continuePrefix(model: LanguageModel, tokenizer: Tokenizer, texts: string[], maxNewTokens: number, reclaim: MemoryReclaimer): Promise<string[]> {
  const budget = model.args.maxPositionEmbeddings - maxNewTokens;
  const prompts = texts.map((t) => tokenizer.encode(t, { addSpecialTokens: false }).slice(-budget));
  const ids = await greedyBatch(model, prompts, tokenizer.endOfGenerationIds, maxNewTokens, reclaim);
  return ids.map((t) => tokenizer.decode(t, { skipSpecialTokens: true }));
}

/** Greedy chat answers to single user questions, through the model's chat template. */
export async function answerChat(model: LanguageModel, tokenizer: Tokenizer, questions: string[], maxNewTokens: number, reclaim: MemoryReclaimer): Promise<string[]> {
  const prompts = questions.map((q) => encodeChat(tokenizer, [{ role: 'user', content: q }], { addGenerationPrompt: true }));
  const ids = await greedyBatch(model, prompts, tokenizer.endOfGenerationIds, maxNewTokens, reclaim);
  return ids.map((t) => tokenizer.decode(t, { skipSpecialTokens: true }));
}

/** The corpus options a model folder was trained with (the held-out split is rebuilt from them), or the defaults. */
export function trainingRecord(modelDir: string): { corpusBytes: number; heldOutShare: number; dropHeldOutCopies: boolean } {
  const file = path.join(modelDir, TRAINING_RECORD);
  const d = { corpusBytes: DEFAULT_TRAIN_OPTIONS.corpusBytes, heldOutShare: DEFAULT_TRAIN_OPTIONS.heldOutShare, dropHeldOutCopies: DEFAULT_TRAIN_OPTIONS.dropHeldOutCopies };
  if (!fs.existsSync(file)) return d;
  const j = readJsonObject(file) as Partial<typeof d>;
  return { corpusBytes: j.corpusBytes ?? d.corpusBytes, heldOutShare: j.heldOutShare ?? d.heldOutShare, dropHeldOutCopies: j.dropHeldOutCopies ?? d.dropHeldOutCopies };
}

export async function evaluateDefaultModel(o: EvalOptions): Promise<EvalReport> {
  const loaded = await loadModel(o.modelDir);
  if (o.windowLength > loaded.model.args.maxPositionEmbeddings) {
    throw new MlxBatchError('validation', `--window-length ${o.windowLength} is longer than the model's context (${loaded.model.args.maxPositionEmbeddings} tokens)`, 'window-length');
  }
  const folderTokenizer = await loadTokenizer(loaded.dir);
  const tokenizer = o.fimLayout ? folderTokenizer.withTokenizerConfig({ fim_layout: o.fimLayout }) : folderTokenizer;
  const rec = trainingRecord(loaded.dir);
  const trained = collectCorpus({ root: o.corpusRoot, maxBytes: rec.corpusBytes, heldOutShare: rec.heldOutShare, dropHeldOutCopies: rec.dropHeldOutCopies });
  // Held-out files are chosen by a hash of their module, so a split drawn from another corpus size
  // holds none of the files this model trained on.
  const corpus = o.splitBytes === undefined || o.splitBytes === rec.corpusBytes
    ? trained
    : collectCorpus({ root: o.corpusRoot, maxBytes: o.splitBytes, heldOutShare: rec.heldOutShare });
  const scan = scanHeldOutCopies(trained.train, corpus.heldOut);
  const copies = new Map(corpus.heldOut.map((f, i) => {
    const source = scan.heldOutSource[i];
    return [f.path, { copyShare: scan.heldOutShare[i], copySource: source === undefined ? undefined : trained.train[source].path }];
  }));
  const copyOf = (file: string) => copies.get(file) ?? { copyShare: 0 };
  const eot = tokenizer.tokenToId('<|endoftext|>') ?? 0;
  const encode = (t: string) => tokenizer.encode(t, { addSpecialTokens: false });
  const windows = heldOutWindows(corpus.heldOut, encode, eot, o.windowLength + 1, o.windows);
  const reclaim = new MemoryReclaimer(4);
  const m = await heldOutMetrics(loaded.model, windows, o.batch, reclaim);
  o.log(`held-out: ${m.tokens} tokens in ${windows.length} windows of ${o.windowLength} from ${corpus.heldOut.length} files` +
    (corpus === trained ? '' : ` (the split of a ${o.splitBytes}-byte corpus; the model trained on ${rec.corpusBytes} bytes)`));
  o.log(`perplexity ${Math.exp(m.loss).toFixed(2)} (loss ${m.loss.toFixed(3)} nats/token), next-token accuracy ${(100 * m.accuracy).toFixed(1)}%`);

  const cases = heldOutFimCases(corpus.heldOut, o.fimCases, o.seed, { prefixChars: o.fimPrefixChars, suffixChars: o.fimSuffixChars });
  const fim = await completeInBatches(cases, o.batch, (group) => completeFim(loaded.model, tokenizer, group, o.maxNewTokens, reclaim), copyOf);
  const share = fim.filter((r) => r.firstLineMatch).length / Math.max(1, fim.length);
  o.log(`FIM (context up to ${o.fimPrefixChars} + ${o.fimSuffixChars} characters): ${fim.filter((r) => r.firstLineMatch).length}/${fim.length} held-out cases (${(100 * share).toFixed(1)}%) complete the middle's first line exactly`);
  const fimScore = scoreFim(fim);
  o.log(`FIM first line: right indentation ${fimScore.indentation}/${fimScore.cases}, first 8 characters right ${fimScore.first8}/${fimScore.cases}` +
    ` (indenting like the last prefix line would be right ${fimScore.indentationBaseline}/${fimScore.cases})`);
  const byCopy = fimByCopyShare(fim);
  o.log(`FIM first line exact, by how much of the case's file one training file holds: ${byCopy.map((b) =>
    `${Math.round(100 * b.from)}-${Math.round(100 * b.to)}% ${b.exact}/${b.cases}`).join(', ')}`);
  let repoContext: EvalReport['repoContext'];
  if (o.repoContext) {
    const files = [...corpus.train, ...corpus.heldOut];
    const extras = new Map(cases.map((c) => [c, repoContextFor(c, files, o.repoContext)]));
    const withContext = await completeInBatches(cases, o.batch, (group) =>
      completeFim(loaded.model, tokenizer, group, o.maxNewTokens, reclaim, group.map((c) => extras.get(c)!)), copyOf);
    const promptTokens = (c: FimCase, extra?: ExtraContextChunk[]) => fittedFimPrompt(loaded.model, tokenizer, c, o.maxNewTokens, extra).ids.length;
    const extraTokens = cases.map((c) => promptTokens(c, extras.get(c)) - promptTokens(c));
    repoContext = {
      options: o.repoContext,
      cases: cases.length,
      casesWithContext: cases.filter((c) => extras.get(c)!.length > 0).length,
      exactWithout: fim.filter((r) => r.firstLineMatch).length,
      exactWith: withContext.filter((r) => r.firstLineMatch).length,
      meanPieces: cases.reduce((a, c) => a + extras.get(c)!.length, 0) / Math.max(1, cases.length),
      meanExtraTokens: extraTokens.reduce((a, b) => a + b, 0) / Math.max(1, cases.length),
    };
    o.log(`FIM with repository context (up to ${o.repoContext.maxChunks} pieces of ${o.repoContext.chunkLines} lines from other files of the case's package, ` +
      `${repoContext.casesWithContext}/${cases.length} cases found some, ${repoContext.meanExtraTokens.toFixed(0)} tokens of it in the prompt on average): ` +
      `first line exact ${repoContext.exactWith}/${cases.length}, without it ${repoContext.exactWithout}/${cases.length}`);
  }
  let beamScore: EvalReport['beamScore'];
  if (o.firstLineBeams) {
    beamScore = { beams: o.firstLineBeams, best: 0, among: 0 };
    for (const c of cases) {
      const prompt = fittedFimPrompt(loaded.model, tokenizer, c, o.maxNewTokens);
      const lines = await firstLineBeams(loaded.model, tokenizer, prompt.ids, prompt.stopIds, o.firstLineBeams, o.maxNewTokens, reclaim);
      const want = firstLine(c.middle);
      if (lines[0]?.line === want) beamScore.best++;
      if (lines.some((l) => l.line === want)) beamScore.among++;
    }
    o.log(`FIM first line with ${o.firstLineBeams} beams: the most likely line is exact ${beamScore.best}/${cases.length}; the real line is among the finished beams ${beamScore.among}/${cases.length}`);
  }
  let prefixOnlyScore: FimScore | undefined;
  if (o.prefixOnly) {
    const plain = await completeInBatches(cases, o.batch, (group) => continuePrefix(loaded.model, tokenizer, group.map((c) => c.prefix), o.maxNewTokens, reclaim), copyOf);
    prefixOnlyScore = scoreFim(plain);
    o.log(`the prefix alone, continued as plain text: first line exact ${prefixOnlyScore.exact}/${prefixOnlyScore.cases}, right indentation ${prefixOnlyScore.indentation}, first 8 characters ${prefixOnlyScore.first8}`);
  }

  const rng = new Rng(o.seed);
  const decls = corpus.heldOut.flatMap((f) => findDeclarations(f.text, languageOf(f.path)));
  const picked = Array.from({ length: Math.min(o.chatCases, decls.length) }, () => decls[rng.int(0, decls.length)]);
  const chat: EvalReport['chat'] = [];
  for (let i = 0; i < picked.length; i += o.batch) {
    const group = picked.slice(i, i + o.batch).map((d) => ({ d, question: chatForDeclaration(d, rng)[0].content }));
    const answers = await answerChat(loaded.model, tokenizer, group.map((g) => g.question), 160, reclaim);
    group.forEach((g, j) => chat.push({ question: g.question, expected: g.d.code, answer: answers[j] }));
  }
  const chatExact = chat.filter((c) => c.answer.includes(`\n${c.expected}\n\`\`\``)).length / Math.max(1, chat.length);
  const fenced = chat.filter((c) => /```\w*\n[\s\S]*```/.test(c.answer)).length;
  o.log(`chat: ${fenced}/${chat.length} held-out questions answered with a fenced code block, ${(100 * chatExact).toFixed(1)}% with the exact declaration`);
  return { perplexity: Math.exp(m.loss), accuracy: m.accuracy, tokens: m.tokens, fimFirstLineMatch: share, fimScore, fim, fimByCopyShare: byCopy, repoContext, beamScore, prefixOnlyScore, chatExact, chat };
}
