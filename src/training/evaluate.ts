// `mlx-batch eval-model`: the shipped model's quality on the held-out split, through the same
// loader and tokenizer the server uses: perplexity, next-token accuracy, and the share of
// held-out fill-in-the-middle cases whose greedy completion gets the middle's first line exactly.
import fs from 'node:fs';
import path from 'node:path';
import { BatchKVCache } from '../server/cache/batch-kv-cache';
import { loadModel } from '../server/loader';
import { MemoryReclaimer } from '../server/memory';
import { mx } from '../server/mlx';
import type { LanguageModel } from '../server/model/types';
import { buildFimPrompt } from '../server/tokenizer/fim';
import { loadTokenizer } from '../server/tokenizer/tokenizer';
import type { Tokenizer } from '../server/tokenizer/tokenizer';
import { heldOutWindows } from './batches';
import { collectCorpus, type SourceFile } from './corpus';
import { cutFimCase, firstLine, type FimCase } from './fim';
import { Rng } from './rng';
import { DEFAULT_TRAIN_OPTIONS, heldOutMetrics, TRAINING_RECORD } from './train';

export interface EvalOptions {
  modelDir: string;
  corpusRoot: string;
  fimCases: number;
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
}

export interface EvalReport {
  perplexity: number;
  accuracy: number;
  tokens: number;
  fimFirstLineMatch: number;
  fim: FimResult[];
}

/** The same cases every run: `count` held-out FIM cases whose middle starts with a content line. */
export function heldOutFimCases(files: SourceFile[], count: number, seed: number): (FimCase & { file: string })[] {
  const rng = new Rng(seed);
  const usable = files.filter((f) => f.text.split('\n').length >= 8);
  const out: (FimCase & { file: string })[] = [];
  for (let attempt = 0; out.length < count && attempt < count * 20; attempt++) {
    const f = usable[rng.int(0, usable.length)];
    const c = cutFimCase(f.text, rng, { maxPrefixChars: 480, maxSuffixChars: 240, midLineShare: 0 });
    if (c && c.middle.trim().length > 0) out.push({ ...c, file: f.path });
  }
  return out;
}

/** Greedy infill of several FIM cases at once (left-padded batch, one KV cache). */
export async function completeFim(
  model: LanguageModel, tokenizer: Tokenizer, cases: Pick<FimCase, 'prefix' | 'suffix'>[], maxNewTokens: number, reclaim: MemoryReclaimer,
): Promise<string[]> {
  const prompts = cases.map((c) => buildFimPrompt(tokenizer, c.prefix, c.suffix));
  const longest = Math.max(...prompts.map((p) => p.ids.length));
  const padded = prompts.flatMap((p) => [...new Array<number>(longest - p.ids.length).fill(0), ...p.ids]);
  const cache = BatchKVCache.forPrompts(model.args.numHiddenLayers, prompts.map((p) => p.ids.length));
  let input = mx.array(padded, mx.int32).reshape([cases.length, longest]);
  const out: number[][] = cases.map(() => []);
  const done = cases.map(() => false);
  for (let step = 0; step < maxNewTokens && done.some((d) => !d); step++) {
    const logits = model.forward(input, cache, { lastOnly: true });
    const next = mx.argmax(logits, -1).astype(mx.int32);
    mx.eval(next, ...cache.arrays());
    const ids = Array.from(next.reshape([-1]).tolist() as number[]);
    ids.forEach((id, r) => {
      if (done[r]) return;
      if (prompts[r].stopIds.has(id)) { done[r] = true; return; }
      out[r].push(id);
    });
    input = next.reshape([cases.length, 1]);
    await reclaim.step();
  }
  return out.map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
}

function trainingRecord(modelDir: string): { corpusBytes: number; heldOutShare: number } {
  const file = path.join(modelDir, TRAINING_RECORD);
  const d = { corpusBytes: DEFAULT_TRAIN_OPTIONS.corpusBytes, heldOutShare: DEFAULT_TRAIN_OPTIONS.heldOutShare };
  if (!fs.existsSync(file)) return d;
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<typeof d>;
  return { corpusBytes: j.corpusBytes ?? d.corpusBytes, heldOutShare: j.heldOutShare ?? d.heldOutShare };
}

export async function evaluateDefaultModel(o: EvalOptions): Promise<EvalReport> {
  const loaded = await loadModel(o.modelDir);
  const tokenizer = await loadTokenizer(loaded.dir);
  const rec = trainingRecord(loaded.dir);
  const corpus = collectCorpus({ root: o.corpusRoot, maxBytes: rec.corpusBytes, heldOutShare: rec.heldOutShare });
  const eot = tokenizer.tokenToId('<|endoftext|>') ?? 0;
  const encode = (t: string) => tokenizer.encode(t, { addSpecialTokens: false });
  const windows = heldOutWindows(corpus.heldOut, encode, eot, o.windowLength + 1, o.windows);
  const reclaim = new MemoryReclaimer(4);
  const m = await heldOutMetrics(loaded.model, windows, o.batch, reclaim);
  o.log(`held-out: ${m.tokens} tokens in ${windows.length} windows of ${o.windowLength} from ${corpus.heldOut.length} files`);
  o.log(`perplexity ${Math.exp(m.loss).toFixed(2)} (loss ${m.loss.toFixed(3)} nats/token), next-token accuracy ${(100 * m.accuracy).toFixed(1)}%`);

  const cases = heldOutFimCases(corpus.heldOut, o.fimCases, o.seed);
  const fim: FimResult[] = [];
  for (let i = 0; i < cases.length; i += o.batch) {
    const group = cases.slice(i, i + o.batch);
    const completions = await completeFim(loaded.model, tokenizer, group, o.maxNewTokens, reclaim);
    group.forEach((c, j) => fim.push({ ...c, completion: completions[j], firstLineMatch: firstLine(completions[j]) === firstLine(c.middle) }));
  }
  const share = fim.filter((r) => r.firstLineMatch).length / Math.max(1, fim.length);
  o.log(`FIM: ${fim.filter((r) => r.firstLineMatch).length}/${fim.length} held-out cases (${(100 * share).toFixed(1)}%) complete the middle's first line exactly`);
  return { perplexity: Math.exp(m.loss), accuracy: m.accuracy, tokens: m.tokens, fimFirstLineMatch: share, fim };
}
