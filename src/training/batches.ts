// Training rows: each row of seqLen+1 tokens holds whole FIM and chat examples, and plain code
// windows fill the rest. Everything is drawn from one seeded generator, so a run is repeatable
// and a resumed run continues the same sequence of batches. Each token also gets a loss weight:
// the middle of a FIM example (and the end-of-text that closes it) can weigh more than the rest.
import type { FimLayout } from '../server/fim';
import { chatForDeclaration, findDeclarations, type Declaration } from './chat-examples';
import type { SourceFile } from './corpus';
import { cutFimCase, fimPrompt, type FimOptions } from './fim-examples';
import { Rng } from '../shared/rng';
import { renderChat } from './tokenizer-spec';
import type { TrainingTokenizer } from './tokens';

export interface MixOptions {
  /** Probability that the next example in a row is fill-in-the-middle. */
  fimShare: number;
  /** Probability that the next example in a row is a chat exchange. */
  chatShare: number;
  fim: FimOptions;
  /** The order of FIM prompts; written to the model's tokenizer_config.json so the server builds the same. */
  fimLayout: FimLayout;
  /** Loss weight of a FIM example's middle and its closing end-of-text; every other token weighs 1. */
  fimMiddleWeight: number;
}

export const DEFAULT_MIX: MixOptions = {
  fimShare: 0.3,
  chatShare: 0.08,
  fim: { maxPrefixChars: 480, maxSuffixChars: 240, midLineShare: 0.25 },
  fimLayout: 'spm',
  fimMiddleWeight: 1,
};

/** A batch: `batch` rows of tokens, flat, and each token's loss weight as a target. */
export interface TrainingBatch { tokens: Int32Array; weights: Float32Array }

interface Example { ids: number[]; /** Index of the first weighted token (the middle); ids.length when none. */ weightedFrom: number }

export function languageOf(path: string): Declaration['language'] {
  return /\.[mc]?ts$/.test(path) ? 'typescript' : 'javascript';
}

/** Token counts per kind, to report the mix actually trained on. */
export interface MixCounts { plain: number; fim: number; chat: number }

export class BatchSource {
  private readonly fileTokens: Int32Array[];
  private readonly cumulative: number[] = [];
  private readonly declarations: Declaration[];
  readonly counts: MixCounts = { plain: 0, fim: 0, chat: 0 };

  constructor(
    private readonly files: SourceFile[],
    private readonly tok: TrainingTokenizer,
    private readonly rng: Rng,
    private readonly mix: MixOptions,
  ) {
    const eot = tok.special['<|endoftext|>'];
    this.fileTokens = files.map((f) => Int32Array.from([...tok.encode(f.text), eot]));
    let total = 0;
    for (const t of this.fileTokens) this.cumulative.push((total += t.length));
    this.declarations = files.flatMap((f) => findDeclarations(f.text, languageOf(f.path)));
  }

  get totalTokens(): number {
    return this.cumulative[this.cumulative.length - 1] ?? 0;
  }

  /** A file chosen in proportion to its token count. */
  private pickFile(): number {
    const x = this.rng.next() * this.totalTokens;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > x) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  private fimExample(): Example | undefined {
    const f = this.files[this.pickFile()];
    const c = cutFimCase(f.text, this.rng, this.mix.fim);
    if (!c) return undefined;
    const prompt = this.tok.encodeWithSpecials(fimPrompt(c, this.mix.fimLayout));
    return { ids: prompt.concat(this.tok.encode(c.middle), [this.tok.special['<|endoftext|>']]), weightedFrom: prompt.length };
  }

  private chatExample(): Example | undefined {
    if (this.declarations.length === 0) return undefined;
    const d = this.declarations[this.rng.int(0, this.declarations.length)];
    const msgs = chatForDeclaration(d, this.rng);
    const ids = this.tok.encodeWithSpecials(renderChat(msgs, false));
    ids.push(this.tok.special['<|endoftext|>']);
    return { ids, weightedFrom: ids.length };
  }

  /** `n` tokens of plain code from a random place in a random file (running on into others). */
  private plain(n: number, out: number[]): void {
    let fi = this.pickFile();
    let pos = this.rng.int(0, this.fileTokens[fi].length);
    while (n > 0) {
      const t = this.fileTokens[fi];
      const take = Math.min(n, t.length - pos);
      for (let i = 0; i < take; i++) out.push(t[pos + i]);
      n -= take;
      fi = this.pickFile();
      pos = 0;
    }
  }

  /** One row of `length` tokens, with each token's loss weight (as the target of the one before). */
  row(length: number): { tokens: Int32Array; weights: Float32Array } {
    const out: number[] = [];
    const weights = new Float32Array(length).fill(1);
    while (out.length < length) {
      const r = this.rng.next();
      const kind = r < this.mix.fimShare ? 'fim' : r < this.mix.fimShare + this.mix.chatShare ? 'chat' : 'plain';
      const ex = kind === 'fim' ? this.fimExample() : kind === 'chat' ? this.chatExample() : undefined;
      if (ex && (ex.ids.length <= length - out.length || out.length === 0)) {
        const take = Math.min(ex.ids.length, length - out.length);
        const at = out.length;
        for (let i = 0; i < take; i++) out.push(ex.ids[i]);
        weights.fill(this.mix.fimMiddleWeight, at + Math.min(ex.weightedFrom, take), at + take);
        this.counts[kind as 'fim' | 'chat'] += take;
        continue;
      }
      const n = length - out.length;
      this.plain(n, out);
      this.counts.plain += n;
    }
    return { tokens: Int32Array.from(out), weights };
  }

  /** `batch` rows of `length` tokens, flat ([batch * length]); weights are for targets 1..length-1 of each row. */
  batch(batch: number, length: number): TrainingBatch {
    const tokens = new Int32Array(batch * length);
    const weights = new Float32Array(batch * (length - 1));
    for (let b = 0; b < batch; b++) {
      const r = this.row(length);
      tokens.set(r.tokens, b * length);
      weights.set(r.weights.subarray(1), b * (length - 1));
    }
    return { tokens, weights };
  }
}

/** Held-out evaluation windows, spread evenly over the held-out files joined by end-of-text. */
export function heldOutWindows(files: SourceFile[], encode: (text: string) => number[], eot: number, length: number, maxWindows: number): Int32Array[] {
  const stream: number[] = [];
  for (const f of files) { for (const t of encode(f.text)) stream.push(t); stream.push(eot); }
  const windows: Int32Array[] = [];
  const count = Math.min(maxWindows, Math.floor(stream.length / length));
  const stride = Math.floor(stream.length / Math.max(1, count));
  for (let i = 0; i < count; i++) windows.push(Int32Array.from(stream.slice(i * stride, i * stride + length)));
  return windows;
}
