// `mlx-batch train`: corpus -> BPE tokenizer -> Qwen2-architecture model trained with node-mlx
// autograd (AdamW, cosine schedule with warmup, gradient clipping), held-out loss and accuracy
// as it goes, checkpoints and --resume, and the final model folder.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readModelConfig } from '../server/loader/config';
import { MemoryReclaimer } from '../server/memory';
import { MlxBatchError } from '../shared/errors';
import { mx, nn, optimizers, type MxArray } from '../server/mlx';
import { createModel, parseModelArgs } from '../server/model';
import type { LanguageModel } from '../server/model/types';
import { BatchSource, heldOutWindows } from './batches';
import { countPieces, trainBpe, type BpeModel } from './bpe-trainer';
import { loadCheckpoint, saveCheckpoint, type LoopState } from './checkpoint';
import { collectCorpus, sourcesMarkdown } from './corpus';
import { growLayers } from './grow';
import { modelConfig, readBpe, writeModelFolder, writeTokenizerFiles } from './model-files';
import { formatSeconds, ProgressBar } from './progress';
import { Rng } from '../shared/rng';
import { SPECIAL_TOKENS } from './tokenizer-spec';
import { TrainingTokenizer } from './tokens';
import { TRAINING_RECORD, type TrainOptions } from './train-options';
import { TrainingCache } from './training-cache';
import { flatValueAndGrad } from './value-and-grad';

/** Cosine decay from lr to minLr after a linear warmup. */
export function learningRate(step: number, o: Pick<TrainOptions, 'steps' | 'warmup' | 'lr' | 'minLr'>): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const t = Math.min(1, (step - o.warmup) / Math.max(1, o.steps - o.warmup));
  return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + Math.cos(Math.PI * t));
}

function fingerprint(o: TrainOptions): string {
  const { corpusRoot, corpusBytes, heldOutShare, dropHeldOutCopies, vocabSize, shape, seqLen, mix, batch, steps, warmup, lr, minLr, weightDecay, clip, seed, initFrom } = o;
  // Options added later join the fingerprint only when set, so older checkpoints still resume.
  const added = dropHeldOutCopies ? { dropHeldOutCopies } : {};
  return createHash('sha1').update(JSON.stringify({ corpusRoot, corpusBytes, heldOutShare, vocabSize, shape, seqLen, mix, batch, steps, warmup, lr, minLr, weightDecay, clip, seed, initFrom, ...added })).digest('hex').slice(0, 12);
}

export function parameterCount(model: nn.Module): number {
  let n = 0;
  const walk = (node: unknown) => {
    if (node instanceof mx.array) n += node.size;
    else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(model.parameters());
  return n;
}

/** Mean cross-entropy and next-token accuracy of `model` over token windows. */
export async function heldOutMetrics(model: LanguageModel, windows: Int32Array[], batch: number, reclaim: MemoryReclaimer): Promise<{ loss: number; accuracy: number; tokens: number }> {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (let i = 0; i < windows.length; i += batch) {
    const group = windows.slice(i, i + batch);
    const len = group[0].length;
    const flat = new Int32Array(group.length * len);
    group.forEach((w, j) => flat.set(w, j * len));
    const all = mx.array(Array.from(flat), mx.int32).reshape([group.length, len]);
    const x = all.index(mx.Slice(), mx.Slice(0, len - 1));
    const y = all.index(mx.Slice(), mx.Slice(1, len));
    const logits = model.forward(x, new TrainingCache(model.args.numHiddenLayers, group.length));
    const ce = nn.losses.crossEntropy(logits, y, undefined, -1, 0, 'sum');
    const hits = mx.sum(mx.equal(mx.argmax(logits, -1), y));
    mx.eval(ce, hits);
    lossSum += ce.item() as number;
    correct += hits.item() as number;
    count += group.length * (len - 1);
    await reclaim.step();
  }
  return { loss: lossSum / count, accuracy: correct / count, tokens: count };
}

function prepareTokenizer(o: TrainOptions, trainTexts: string[]): BpeModel {
  const dir = path.join(o.out, 'checkpoint-tokenizer');
  if (o.resume && fs.existsSync(path.join(dir, 'tokenizer.json'))) return readBpe(dir);
  if (o.initFrom) {
    const bpe = readBpe(o.initFrom);
    writeTokenizerFiles(dir, bpe, o.shape.maxPositions, o.mix.fimLayout);
    return bpe;
  }
  const t = performance.now();
  const pieces = countPieces(trainTexts);
  const bpe = trainBpe(pieces, o.vocabSize - 256 - SPECIAL_TOKENS.length);
  writeTokenizerFiles(dir, bpe, o.shape.maxPositions, o.mix.fimLayout);
  o.log(`tokenizer: ${bpe.vocab.size} BPE tokens + ${SPECIAL_TOKENS.length} special, from ${pieces.size} distinct pieces in ${formatSeconds((performance.now() - t) / 1000)}`);
  return bpe;
}

/** Config fields a later phase must share with the folder it starts from (the layer count may grow). */
const INHERITED_CONFIG = ['hidden_size', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads', 'vocab_size'];

/** The starting weights for `--init-from`: the folder's own, or grown to more layers when the shape asks for them. */
function initialWeights(dir: string, config: Record<string, unknown>): { weights: Record<string, MxArray>; grownFrom?: number } {
  const from = readModelConfig(dir).config;
  const differ = INHERITED_CONFIG.filter((k) => from[k] !== config[k]);
  if (differ.length > 0) {
    throw new MlxBatchError('validation', `--init-from ${dir} has a different shape: ${differ.map((k) => `${k} ${String(from[k])} there, ${String(config[k])} here`).join('; ')}`, 'init-from');
  }
  const weights = mx.load(path.join(dir, 'model.safetensors')) as unknown as Record<string, MxArray>;
  const fromLayers = from.num_hidden_layers as number;
  const toLayers = config.num_hidden_layers as number;
  if (fromLayers === toLayers) return { weights };
  if (toLayers < fromLayers) throw new MlxBatchError('validation', `--init-from ${dir} has ${fromLayers} layers; --layers ${toLayers} cannot drop any`, 'layers');
  return { weights: growLayers(weights, fromLayers, toLayers), grownFrom: fromLayers };
}

export async function train(o: TrainOptions): Promise<void> {
  fs.mkdirSync(o.out, { recursive: true });
  const corpus = collectCorpus({ root: o.corpusRoot, maxBytes: o.corpusBytes, heldOutShare: o.heldOutShare, dropHeldOutCopies: o.dropHeldOutCopies });
  const bytes = (fs: { text: string }[]) => fs.reduce((s, f) => s + f.text.length, 0);
  o.log(`corpus: ${corpus.train.length} train files (${bytes(corpus.train)} bytes), ${corpus.heldOut.length} held-out files (${bytes(corpus.heldOut)} bytes)` +
    (o.dropHeldOutCopies ? `; ${corpus.droppedCopies} training files left out as copies of held-out ones` : ''));
  fs.writeFileSync(path.join(o.out, 'SOURCES.table.md'), `${sourcesMarkdown(corpus)}\n`);
  const { log: _log, out: _out, resume: _resume, stopAfter: _stop, ...recorded } = o;
  // Paths as typed from the working directory, so the record reads the same on any checkout.
  if (recorded.initFrom) recorded.initFrom = path.relative(process.cwd(), recorded.initFrom) || '.';
  fs.writeFileSync(path.join(o.out, TRAINING_RECORD), `${JSON.stringify(recorded, null, 2)}\n`);

  const bpe = prepareTokenizer(o, corpus.train.map((f) => f.text));
  const tok = new TrainingTokenizer(bpe);
  const windows = heldOutWindows(corpus.heldOut, (t) => tok.encode(t), tok.special['<|endoftext|>'], o.seqLen + 1, o.evalWindows);

  mx.random.seed(o.seed);
  const config = modelConfig(o.shape, bpe, tok.vocabSize, o.dtype);
  const model = createModel(parseModelArgs(config));
  if (o.initFrom) {
    const start = initialWeights(o.initFrom, config);
    model.loadWeights(Object.entries(start.weights).map(([k, v]) => [k, v.astype(mx.float32)]), true);
    o.log(`starting from the weights in ${o.initFrom}${start.grownFrom ? ` (grown from ${start.grownFrom} to ${o.shape.layers} layers: each new block is a copy with zeroed output projections)` : ''}`);
  }
  mx.eval(model.parameters());
  o.log(`model: qwen2 ${JSON.stringify(o.shape)}, ${(parameterCount(model) / 1e6).toFixed(2)}M parameters`);

  const opt = new optimizers.AdamW(o.lr, [0.9, 0.95], 1e-8, o.weightDecay);
  const ckptDir = path.join(o.out, 'checkpoint');
  const fp = fingerprint(o);
  let state: LoopState = { step: 0, rngState: o.seed, counts: { plain: 0, fim: 0, chat: 0 }, fingerprint: fp };
  if (o.resume && fs.existsSync(path.join(ckptDir, 'state.json'))) {
    state = loadCheckpoint(ckptDir, model, opt);
    if (state.fingerprint !== fp) throw new Error(`checkpoint in ${ckptDir} was made with different options (fingerprint ${state.fingerprint}, now ${fp})`);
    o.log(`resumed at step ${state.step}`);
  }
  const rng = new Rng(state.rngState);
  const source = new BatchSource(corpus.train, tok, rng, o.mix);
  Object.assign(source.counts, state.counts);
  o.log(`tokens: ${source.totalTokens} train, ${windows.length} held-out windows of ${o.seqLen}`);

  const cacheFor = (b: number) => new TrainingCache(model.args.numHiddenLayers, b);
  // Weighted mean cross-entropy: sum(w * ce) / sum(w) (the plain mean when every weight is 1).
  const lossFn = (x: MxArray, y: MxArray, w: MxArray) =>
    mx.divide(mx.sum(mx.multiply(nn.losses.crossEntropy(model.forward(x, cacheFor(o.batch)), y, undefined, -1, 0, 'none'), w)), mx.sum(w));
  const lossAndGrad = flatValueAndGrad(model, lossFn);
  const reclaim = new MemoryReclaimer(4);
  const bar = new ProgressBar(o.steps, state.step);
  let recent = 0;
  let recentN = 0;
  const started = performance.now();
  const last = Math.min(o.steps, o.stopAfter ?? o.steps);
  for (let step = state.step; step < last; step++) {
    opt.learningRate = learningRate(step, o);
    const b = source.batch(o.batch, o.seqLen + 1);
    const all = mx.array(Array.from(b.tokens), mx.int32).reshape([o.batch, o.seqLen + 1]);
    const x = all.index(mx.Slice(), mx.Slice(0, o.seqLen));
    const y = all.index(mx.Slice(), mx.Slice(1, o.seqLen + 1));
    const w = mx.array(Array.from(b.weights), mx.float32).reshape([o.batch, o.seqLen]);
    const [loss, grads] = lossAndGrad(x, y, w) as [MxArray, Record<string, unknown>];
    const [clipped] = optimizers.clipGradNorm(grads as never, o.clip);
    opt.update(model, clipped);
    mx.eval(model.parameters(), opt.state, loss);
    recent += loss.item() as number;
    recentN++;
    await reclaim.step();
    const done = step + 1;
    const tokPerS = ((done - state.step) * o.batch * o.seqLen) / ((performance.now() - started) / 1000);
    bar.update(done, `loss ${(recent / recentN).toFixed(3)} lr ${learningRate(step, o).toExponential(2)} ${tokPerS.toFixed(0)} tok/s`);
    if ((done % o.evalEvery === 0 || done === o.steps) && windows.length > 0) {
      const m = await heldOutMetrics(model, windows, o.batch, reclaim);
      bar.break();
      o.log(`step ${done}: train loss ${(recent / recentN).toFixed(3)}, held-out loss ${m.loss.toFixed(3)} (ppl ${Math.exp(m.loss).toFixed(2)}), next-token accuracy ${(100 * m.accuracy).toFixed(1)}%`);
      recent = 0;
      recentN = 0;
    }
    if (done % o.checkpointEvery === 0 || done === last) {
      saveCheckpoint(ckptDir, model, opt, { step: done, rngState: rng.seedState, counts: { ...source.counts }, fingerprint: fp });
    }
  }
  if (last < o.steps) {
    writeModelFolder(o.out, model, config, bpe, o.dtype, o.mix.fimLayout);
    o.log(`stopped at step ${last} of ${o.steps}: the model so far is in ${o.out}; continue with --resume`);
    return;
  }
  const c = source.counts;
  const total = c.plain + c.fim + c.chat;
  o.log(`trained tokens: ${total} (plain ${(100 * c.plain / total).toFixed(1)}%, fim ${(100 * c.fim / total).toFixed(1)}%, chat ${(100 * c.chat / total).toFixed(1)}%)`);
  writeModelFolder(o.out, model, config, bpe, o.dtype, o.mix.fimLayout);
  o.log(`model written to ${o.out}`);
}
